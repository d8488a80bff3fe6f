"""Tensor factories with PyTorch's signatures: zeros, ones, empty, full, rand, randn, their
`_like` forms, arange and linspace.

Each takes `dtype=None` (the default dtype float32, or what PyTorch infers from the
arguments: `full` from the fill value, `arange` from start/end/step, `_like` from the
input), `device=None` (checked by pydl.device: only CPUs) and `requires_grad=False`
(floating dtypes only, as PyTorch). A dtype is a pydl dtype (`pydl.float32`), a NumPy dtype
or scalar type, or Python's bool/int/float (torch.zeros(2, dtype=float) is float64);
strings are refused, as PyTorch refuses them.
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any

import numpy as np

from . import _random
from . import backend as _b
from . import reference as _reference
from ._device import as_device
from .tensor import DEFAULT_DTYPE, Tensor, _constant

#: The dtypes a pydl tensor may hold (PyTorch's CPU dtypes that NumPy has, but float16).
SUPPORTED_DTYPES = tuple(
    np.dtype(t)
    for t in (np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float32, np.float64)
)
_PYTHON_TYPES = {builtins.bool: np.dtype(np.bool_), builtins.int: np.dtype(np.int64)}
_PYTHON_TYPES[builtins.float] = np.dtype(np.float64)


def get_default_dtype() -> np.dtype:
    """The dtype of floating tensors made without one: float32 (as torch's default)."""
    return DEFAULT_DTYPE


def dtype_arg(dtype: Any, fn: str, arg: str = "dtype") -> np.dtype | None:
    """`dtype` as a NumPy dtype pydl supports (None stays None); TypeError naming fn and the
    value otherwise."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        raise TypeError(
            f"{fn}(): argument '{arg}' must be a dtype such as pydl.float32, not the string "
            f"{dtype!r}"
        )
    if isinstance(dtype, type) and dtype in _PYTHON_TYPES:
        return _PYTHON_TYPES[dtype]
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        dt = np.dtype(dtype)
        if dt in SUPPORTED_DTYPES:
            return dt
        raise TypeError(
            f"{fn}(): dtype {dt} is not supported by pydl (it has "
            f"{', '.join(str(d) for d in SUPPORTED_DTYPES)})"
        )
    raise TypeError(
        f"{fn}(): argument '{arg}' must be a dtype such as pydl.float32, "
        f"not {type(dtype).__name__} ({dtype!r})"
    )


def _size(size: tuple, fn: str) -> tuple[int, ...]:
    """The shape from `*size`: ints, or one sequence of ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = []
    for i, s in enumerate(size):
        if isinstance(s, builtins.bool) or not hasattr(s, "__index__"):
            raise TypeError(
                f"{fn}(): argument 'size' must be ints or one tuple of ints, but element {i} "
                f"is {type(s).__name__} ({s!r})"
            )
        n = operator.index(s)
        if n < 0:
            raise RuntimeError(f"{fn}: Dimension size must be non-negative, got size {size}")
        shape.append(n)
    return tuple(shape)


def _finish(arr: np.ndarray, device: Any, requires_grad: bool) -> Tensor:
    """The new leaf over arr, once the device is checked."""
    as_device(device)
    t = _constant(np.asarray(arr, order="C"))  # as is: Tensor() would widen int32 to int64
    return t.requires_grad_(True) if requires_grad else t


def _float_dtype(dtype: np.dtype, fn: str) -> np.dtype:
    if dtype.kind != "f":
        raise NotImplementedError(
            f"{fn}(): random draws are implemented for floating dtypes, not {dtype}"
        )
    return dtype


def _draw(shape: tuple[int, ...], dtype: np.dtype, normal: builtins.bool) -> np.ndarray:
    """Draws from pydl's generator: by the active backend in float32; by the NumPy
    reference in other dtypes (the core's fills take float32; the reference computes the
    same stream in the array's own dtype)."""
    arr = np.empty(shape, dtype)
    kernels = _b.active if dtype == np.float32 else _reference
    if normal:
        seed, offset = _random._take(2 * arr.size)
        kernels.normal_fill(arr, 0.0, 1.0, seed, offset)
    else:
        seed, offset = _random._take(arr.size)
        kernels.uniform_fill(arr, 0.0, 1.0, seed, offset)
    return arr


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of shape `size` (ints, or one sequence)."""
    dt = dtype_arg(dtype, "zeros") or DEFAULT_DTYPE
    return _finish(np.zeros(_size(size, "zeros"), dt), device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of shape `size` (ints, or one sequence)."""
    dt = dtype_arg(dtype, "ones") or DEFAULT_DTYPE
    return _finish(np.ones(_size(size, "ones"), dt), device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of shape `size` (ints, or one sequence)."""
    dt = dtype_arg(dtype, "empty") or DEFAULT_DTYPE
    return _finish(np.empty(_size(size, "empty"), dt), device, requires_grad)


def _fill_dtype(fill_value: Any, fn: str) -> np.dtype:
    """PyTorch's dtype for a fill value: bool, int64 for an integer, float32 for a float."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if isinstance(fill_value, (builtins.bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(fill_value, (builtins.int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(fill_value, (builtins.float, np.floating)):
        return DEFAULT_DTYPE
    raise TypeError(f"{fn}(): fill_value must be a number, not {type(fill_value).__name__}")


def full(
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of shape `size` (a sequence) filled with fill_value; without a dtype, bool
    for a bool, int64 for an int and float32 for a float, as PyTorch."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"full(): argument 'size' must be a tuple of ints, not {type(size).__name__}"
        )
    dt = dtype_arg(dtype, "full") or _fill_dtype(fill_value, "full")
    value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    return _finish(np.full(_size(tuple(size), "full"), value, dt), device, requires_grad)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """U[0, 1) draws from pydl's seeded generator, of shape `size`."""
    dt = _float_dtype(dtype_arg(dtype, "rand") or DEFAULT_DTYPE, "rand")
    return _finish(_draw(_size(size, "rand"), dt, normal=False), device, requires_grad)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws from pydl's seeded generator, of shape `size`."""
    dt = _float_dtype(dtype_arg(dtype, "randn") or DEFAULT_DTYPE, "randn")
    return _finish(_draw(_size(size, "randn"), dt, normal=True), device, requires_grad)


def _like(input: Any, dtype: Any, fn: str) -> tuple[tuple[int, ...], np.dtype]:
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    return input.shape, dtype_arg(dtype, fn) or input.dtype


def zeros_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Zeros of input's shape and (unless given) dtype."""
    shape, dt = _like(input, dtype, "zeros_like")
    return _finish(np.zeros(shape, dt), device, requires_grad)


def ones_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Ones of input's shape and (unless given) dtype."""
    shape, dt = _like(input, dtype, "ones_like")
    return _finish(np.ones(shape, dt), device, requires_grad)


def empty_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialised tensor of input's shape and (unless given) dtype."""
    shape, dt = _like(input, dtype, "empty_like")
    return _finish(np.empty(shape, dt), device, requires_grad)


def full_like(
    input: Tensor,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """fill_value in input's shape and (unless given) dtype: full_like(int_tensor, 2.7) is 2."""
    shape, dt = _like(input, dtype, "full_like")
    _fill_dtype(fill_value, "full_like")  # a number
    value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    return _finish(np.full(shape, value).astype(dt), device, requires_grad)


def rand_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """U[0, 1) draws of input's shape and (unless given) dtype, which must be floating."""
    shape, dt = _like(input, dtype, "rand_like")
    arr = _draw(shape, _float_dtype(dt, "rand_like"), normal=False)
    return _finish(arr, device, requires_grad)


def randn_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal draws of input's shape and (unless given) dtype, which must be
    floating."""
    shape, dt = _like(input, dtype, "randn_like")
    arr = _draw(shape, _float_dtype(dt, "randn_like"), normal=True)
    return _finish(arr, device, requires_grad)


def _number(x: Any, fn: str, arg: str) -> Any:
    if isinstance(x, Tensor):
        x = x.item()
    if isinstance(x, np.generic):
        x = x.item()
    if not isinstance(x, (builtins.int, builtins.float)):  # bool is an int here, as in torch
        raise TypeError(f"{fn}(): argument '{arg}' must be a number, not {type(x).__name__}")
    return x


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """start, start + step, ... up to (not including) end; `arange(end)` starts at 0.
    Without a dtype: int64 when every argument is an integer, else float32 (PyTorch).
    With an integer dtype the arguments are truncated to integers first, as PyTorch does."""
    if end is None:
        start, end = 0, start
    start, end, step = (
        _number(v, "arange", n) for v, n in ((start, "start"), (end, "end"), (step, "step"))
    )
    dt = dtype_arg(dtype, "arange")
    if dt is None:
        ints = all(isinstance(v, builtins.int) for v in (start, end, step))
        dt = np.dtype(np.int64) if ints else DEFAULT_DTYPE
    if dt.kind == "b":
        raise NotImplementedError("arange(): not implemented for dtype bool")
    if dt.kind in "iu":
        start, end, step = builtins.int(start), builtins.int(end), builtins.int(step)
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"arange(): unsupported range: {start} -> {end} (step {step})")
    if (end - start) * step < 0:
        raise RuntimeError("arange(): upper bound and lower bound inconsistent with step sign")
    n = math.ceil((end - start) / step)
    if dt.kind in "iu":
        arr = (start + step * np.arange(n, dtype=np.int64)).astype(dt)
    else:  # computed in double, as PyTorch's CPU kernel does, then rounded once
        arr = (start + step * np.arange(n, dtype=np.float64)).astype(dt)
    return _finish(arr, device, requires_grad)


def linspace(
    start: Any,
    end: Any,
    steps: int,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """`steps` evenly spaced values from start to end inclusive (float32 by default, whatever
    the arguments). Computed as PyTorch does: the first half stepping up from start, the
    second half stepping down from end, so both ends are exact; an integer dtype truncates."""
    start, end = _number(start, "linspace", "start"), _number(end, "linspace", "end")
    if isinstance(steps, builtins.bool) or not hasattr(steps, "__index__"):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    steps = operator.index(steps)
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    dt = dtype_arg(dtype, "linspace") or DEFAULT_DTYPE
    i = np.arange(steps, dtype=np.float64)
    if steps == 1:
        values = np.full(1, start, np.float64)
    else:
        step = (end - start) / builtins.max(steps - 1, 1)
        half = steps // 2
        values = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    if dt.kind in "iu":
        values = np.trunc(values)
    return _finish(values.astype(dt), device, requires_grad)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor over the array's memory, without a copy (writes through either are seen by
    both), as torch.from_numpy."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(ndarray).__name__}")
    if ndarray.dtype.kind not in "fiub" or ndarray.dtype.itemsize > 8:
        raise TypeError(
            f"from_numpy: can't convert an array of dtype {ndarray.dtype}; pydl supports "
            f"float64, float32, int64, int32, int16, int8, uint8 and bool"
        )
    return _constant(ndarray)


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A tensor over another library's CPU tensor (anything with __dlpack__: a PyTorch or
    JAX tensor, a NumPy array) without copying, as torch.from_dlpack."""
    try:
        arr = np.from_dlpack(ext_tensor)
    except (AttributeError, TypeError, BufferError, RuntimeError) as e:
        raise TypeError(f"from_dlpack: cannot take {type(ext_tensor).__name__}: {e}") from None
    return from_numpy(arr)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """data as a tensor, sharing memory when it already is one (or a NumPy array) of the
    asked dtype, else a converted copy, as torch.as_tensor."""
    as_device(device)
    dt = dtype_arg(dtype, "as_tensor")
    if isinstance(data, Tensor):
        return data if dt is None or data.dtype == dt else data.to(dt)
    if isinstance(data, np.ndarray) and (dt is None or data.dtype == dt):
        return from_numpy(data)
    return Tensor(data, dtype=dt)


__all__ = [
    "arange",
    "as_tensor",
    "from_dlpack",
    "from_numpy",
    "empty",
    "empty_like",
    "full",
    "full_like",
    "get_default_dtype",
    "linspace",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "zeros",
    "zeros_like",
]
