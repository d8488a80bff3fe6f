"""Argument helpers shared by the op families."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import _capture, _dtypes
from ..tensor import Tensor, _constant
from .._dtypes import is_floating


def axis_index(axis: int, ndim: int, what: str = "dim") -> int:
    """axis in [0, ndim) from a possibly negative one; IndexError naming the rank. A 0-d
    tensor takes dim 0 or -1, as PyTorch's (its callers treat it as one element)."""
    if type(axis) is not int:
        axis = _int_arg(axis, what)
    n = builtins.max(ndim, 1)
    if not -n <= axis < n:
        raise IndexError(f"{what} {axis} is out of range for a tensor of rank {ndim}")
    return axis % n


def _int_arg(value: Any, what: str) -> int:
    """An integer argument (a Python or NumPy int, not a bool or a float); TypeError
    naming it otherwise."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    raise TypeError(f"{what} must be an int, got {type(value).__name__} ({value!r:.40})")


def axis_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    """Sorted distinct axes from an int, a sequence, or None (all of them); a dim given
    twice is a RuntimeError, as PyTorch's."""
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, (tuple, list, range)):
        return (axis_index(axis, ndim),)
    axes = [axis_index(a, ndim) for a in axis]
    unique = sorted(set(axes))
    if len(unique) != len(axes):
        twice = next(a for a in unique if axes.count(a) > 1)
        raise RuntimeError(f"dim {twice} appears multiple times in the list of dims {axis}")
    return tuple(unique)


def promoted(*operands: Any, floating: bool = False) -> list[Tensor]:
    """The operands as tensors of their promoted dtype (Note [Type promotion] in
    pydl/_dtypes.py); floating: an integer or bool result becomes float32 (true division).
    A cast of a tensor that requires grad is differentiable."""
    dtype = _dtypes.result_type(*operands)
    if floating and not is_floating(dtype):
        dtype = _dtypes.float32
    out = []
    for x in operands:
        if isinstance(x, Tensor):
            out.append(x if x._array.dtype == dtype else _ops_layout().to(x, dtype))
        else:
            src = getattr(x, "_array", x)
            arr = np.asarray(src, dtype=dtype)
            if not isinstance(src, np.ndarray):  # from Python numbers: pydl.compile copies it
                arr = _capture.snapshot(arr)
            out.append(_constant(arr))
    return out


def tensor_pair(a: Any, b: Any, floating: bool = False) -> tuple[Tensor, Tensor]:
    """Both operands as tensors of their promoted dtype (`promoted`)."""
    a, b = promoted(a, b, floating=floating)
    return a, b


def _ops_layout() -> Any:
    from . import layout  # layout imports this module

    return layout


def int_tuple(name: str, value: Any, n: int = 2) -> tuple[int, ...]:
    """(v,) * n from an int, or the n ints of a sequence; ValueError otherwise."""
    if isinstance(value, (int, np.integer)):
        value = (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value}")
    if not all(-(2**63) <= v < 2**63 for v in value):  # the kernels' sizes are int64
        raise ValueError(f"{name} {value} does not fit in a 64-bit integer")
    return value


def data_or_none(t: Tensor | None) -> Any:
    return None if t is None else t._array
