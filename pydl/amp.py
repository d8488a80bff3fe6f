"""Automatic mixed precision: ``pydl.autocast`` (``torch.autocast``'s spelling).

Note [Autocast]: inside ``with pydl.autocast("cpu", dtype=pydl.bfloat16):`` the matrix
products of float32 ops (linear, matmul, attention's products, recurrent layers' gate
products, convolutions) take bf16 operands with fp32 sums (``sbgemm``, Note [bf16 GEMM] in
cpp/gemm/bf16_gemm.cpp): on a CPU with AVX512_BF16 they run at about twice the fp32 rate.
Everything else stays fp32: parameters (the master weights), optimizer state, gradients,
reductions, softmax, norms and losses. The operands are rounded to bf16 as the GEMM packs
them, so no tensor is converted and every tensor stays float32. That is one difference from
PyTorch, whose autocast returns bf16 tensors from these ops: here their outputs keep the
fp32 sums unrounded.

Each op records the precision of its forward, and its backward products use the same
precision, so ``loss.backward()`` outside the block, as PyTorch's examples write it, gives
the gradients of what the block computed. The state is per thread, as PyTorch's is.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

import numpy as np

from . import _dtypes


class _AutocastState(threading.local):
    def __init__(self) -> None:  # runs once in each thread that reads the state
        self.bf16 = False  # products of float32 ops in bf16 on this thread
        self.outer: list[bool] = []  # the states the open blocks replaced, innermost last


_state = _AutocastState()


def bf16_kwargs(array: np.ndarray) -> dict:
    """The kernel keyword for a product of `array` on this thread: {"bf16": True} inside an
    enabled autocast when `array` is float32, else {}, so the common path passes nothing."""
    return {"bf16": True} if _state.bf16 and array.dtype == np.float32 else {}


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    """torch.is_autocast_enabled: whether an autocast is on for this thread."""
    return _state.bf16 if device_type == "cpu" else False


def get_autocast_dtype(device_type: str = "cpu") -> np.dtype:
    """torch.get_autocast_dtype: the dtype autocast uses for `device_type` (bfloat16)."""
    return _dtypes.bfloat16


class autocast:
    """Context manager and decorator: float32 products in bf16 inside (Note [Autocast]).

    ``pydl.autocast("cpu", dtype=pydl.bfloat16)``, or ``pydl.autocast(dtype=pydl.bfloat16)``;
    the dtype defaults to bfloat16 as PyTorch's CPU autocast does. ``enabled=False`` turns
    an outer autocast off inside. float16 is refused: pydl's CPU kernels have no fp16
    products. ``cache_enabled`` is accepted for PyTorch's sake: there are no casts here to
    cache. One object may be entered by several threads at once, or again inside itself.
    """

    def __init__(
        self,
        device_type: str = "cpu",
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if device_type != "cpu":
            raise ValueError(
                f"autocast: pydl runs on the CPU only; device_type must be 'cpu', "
                f"got {device_type!r}"
            )
        if isinstance(dtype, str):
            raise TypeError(
                f"autocast: dtype must be a dtype such as pydl.bfloat16, not the string {dtype!r}"
            )
        # By name: pydl.bfloat16 is ml_dtypes', imported only when asked for.
        if dtype is not None and np.dtype(dtype).name != "bfloat16":
            raise ValueError(
                f"autocast: pydl's products run in bfloat16 only, got dtype {np.dtype(dtype)}"
            )
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast: enabled must be a bool, got {type(enabled).__name__}")
        self.device_type, self._enabled = device_type, enabled

    @property
    def fast_dtype(self) -> np.dtype:
        """The dtype of the products inside (PyTorch's attribute): bfloat16."""
        return _dtypes.bfloat16

    def __enter__(self) -> autocast:
        state = _state  # the calling thread's, with its own stack of open blocks
        state.outer.append(state.bf16)
        state.bf16 = self._enabled
        return self

    def __exit__(self, *exc: object) -> None:
        state = _state
        state.bf16 = state.outer.pop()

    def __call__(self, fn: Callable) -> Callable:
        device_type, enabled = self.device_type, self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with autocast(device_type, enabled=enabled):
                return fn(*args, **kwargs)

        return wrapper
