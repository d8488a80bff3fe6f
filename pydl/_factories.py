"""Tensor factories with PyTorch's signatures: zeros, ones, empty, full, rand, randn, their
`_like` forms, arange, linspace, logspace and eye; random integers, permutations and
samples (randint, randint_like, randperm, multinomial, bernoulli, normal); tril_indices and
triu_indices.

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
import sys
from typing import Any

import numpy as np

from . import _capture, _random
from . import backend as _b
from . import reference as _reference
from ._device import as_device
from ._dtypes import _PYTHON_TYPES, SUPPORTED_DTYPES, dtype_arg  # noqa: F401 - re-exported
from ._dtypes import is_floating, is_number
from .tensor import DEFAULT_DTYPE, Tensor, _constant


def get_default_dtype() -> np.dtype:
    """The dtype of floating tensors made without one: float32 (as torch's default)."""
    return DEFAULT_DTYPE


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
    _check_numel(fn, tuple(shape))
    return tuple(shape)


def _check_numel(fn: str, shape: tuple[int, ...]) -> None:
    """ValueError for a shape whose byte count overflows (NumPy's "array is too big"
    names neither the function nor the size); a size that fits in the address space but
    not in memory is NumPy's MemoryError, which says how many bytes it tried."""
    n = math.prod(shape)
    if n > sys.maxsize // 8:
        raise ValueError(f"{fn}(): size {shape} has {n} elements: too big to allocate")


def _finish(arr: np.ndarray, device: Any, requires_grad: bool, drawn: bool = False) -> Tensor:
    """The new leaf over arr, once the device is checked. Values made from the arguments
    alone are a snapshot (pydl.compile replays a copy); random draws are not."""
    as_device(device)
    arr = np.asarray(arr, order="C")
    if not drawn:
        arr = _capture.snapshot(arr)
    t = _constant(arr)  # as is: Tensor() would widen int32 to int64
    return t.requires_grad_(True) if requires_grad else t


def _float_dtype(dtype: np.dtype, fn: str) -> np.dtype:
    if not is_floating(dtype):
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
    return _finish(_draw(_size(size, "rand"), dt, normal=False), device, requires_grad, drawn=True)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws from pydl's seeded generator, of shape `size`."""
    dt = _float_dtype(dtype_arg(dtype, "randn") or DEFAULT_DTYPE, "randn")
    return _finish(_draw(_size(size, "randn"), dt, normal=True), device, requires_grad, drawn=True)


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
    return _finish(arr, device, requires_grad, drawn=True)


def randn_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal draws of input's shape and (unless given) dtype, which must be
    floating."""
    shape, dt = _like(input, dtype, "randn_like")
    arr = _draw(shape, _float_dtype(dt, "randn_like"), normal=True)
    return _finish(arr, device, requires_grad, drawn=True)


def _int(x: Any, fn: str, arg: str) -> int:
    if isinstance(x, builtins.float):
        raise TypeError(f"{fn}(): argument '{arg}' must be an int, got float ({x})")
    return operator.index(x)


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
    _check_numel("arange", (n,))
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
    _check_numel("linspace", (steps,))
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


def logspace(
    start: Any,
    end: Any,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """base ** linspace(start, end, steps): `steps` values evenly spaced in the exponent
    (float32 by default; computed in double, then rounded once)."""
    exps = linspace(start, end, steps, dtype=np.float64)._array
    dt = dtype_arg(dtype, "logspace") or DEFAULT_DTYPE
    values = np.power(float(_number(base, "logspace", "base")), exps)
    if dt.kind in "iu":
        values = np.trunc(values)
    return _finish(values.astype(dt), device, requires_grad)


def eye(
    n: int,
    m: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The n x m (m defaults to n) matrix with ones on the diagonal and zeros elsewhere."""
    rows = _size((n,), "eye")[0]
    cols = rows if m is None else _size((m,), "eye")[0]
    _check_numel("eye", (rows, cols))
    dt = dtype_arg(dtype, "eye") or DEFAULT_DTYPE
    return _finish(np.eye(rows, cols, dtype=dt), device, requires_grad)


def _words64(shape: tuple[int, ...]) -> np.ndarray:
    """Random 64-bit words from pydl's generator (two 32-bit words of its stream each, the
    same on either backend: Note [Random streams] in cpp/core/rng.h)."""
    n = math.prod(shape)
    if 16 * n > sys.maxsize:
        raise ValueError(f"{n} random 64-bit draws (shape {shape}) are too big to allocate")
    # allocated before the stream advances: a draw that cannot be made does not use it up
    counters = np.arange(2 * n, dtype=np.uint64)
    seed, offset = _random._take(2 * n)
    w = _reference.random._words(seed, offset + counters)
    return ((w[0::2] << np.uint64(32)) | w[1::2]).reshape(shape)


def _uniform64(shape: tuple[int, ...]) -> np.ndarray:
    """U[0, 1) draws with float64's 53 bits (the float fills give 24)."""
    return (_words64(shape) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _int_draws(low: int, high: int, shape: tuple[int, ...]) -> np.ndarray:
    """Integers uniform in [low, high) (int64): 64 random bits modulo the range (a bias
    below range / 2^64)."""
    span = np.uint64(high - low)
    return (low + (_words64(shape) % span).astype(np.int64)).astype(np.int64)


def _bounds(low: Any, high: Any, fn: str) -> tuple[int, int]:
    lo, hi = (_int(_number(v, fn, n), fn, n) for v, n in ((low, "low"), (high, "high")))
    if hi <= lo:
        raise RuntimeError(f"{fn}(): expects 'from' < 'to', got low={lo} and high={hi}")
    return lo, hi


def randint(
    *args: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers drawn uniformly from [low, high) by pydl's seeded generator, of shape
    size: randint(high, size) or randint(low, high, size), as PyTorch (int64 by default)."""
    if size is None and args and isinstance(args[-1], (tuple, list)):
        args, size = args[:-1], args[-1]
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint() expects (high, size) or (low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    lo, hi = _bounds(low, high, "randint")
    dt = dtype_arg(dtype, "randint") or np.dtype(np.int64)
    draws = _int_draws(lo, hi, _size(tuple(size), "randint"))
    return _finish(draws.astype(dt), device, requires_grad, drawn=True)


def randint_like(
    input: Tensor,
    low: Any = 0,
    high: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """randint of input's shape and (unless given) dtype: randint_like(x, high) or
    randint_like(x, low, high)."""
    shape, dt = _like(input, dtype, "randint_like")
    if high is None:
        low, high = 0, low
    lo, hi = _bounds(low, high, "randint_like")
    return _finish(_int_draws(lo, hi, shape).astype(dt), device, requires_grad, drawn=True)


def randperm(
    n: int, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 by default), from pydl's seeded generator."""
    count = _size((n,), "randperm")[0]
    dt = dtype_arg(dtype, "randperm") or np.dtype(np.int64)
    perm = np.argsort(_words64((count,)), kind="stable")
    return _finish(perm.astype(dt), device, requires_grad, drawn=True)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False) -> Tensor:
    """Indices drawn from the categorical distributions of input's rows (non-negative
    weights, 1-d or 2-d), num_samples per row (int64): with replacement, independent draws
    by the inverse CDF; without, each category at most once (exponential race keys)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): input must be a Tensor, not {type(input).__name__}")
    w = np.asarray(input._array, np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial(): prob_dist must be 1 or 2 dim, got shape {w.shape}")
    k = operator.index(num_samples)
    rows = w.reshape(-1, w.shape[-1])
    if k <= 0:
        raise RuntimeError(f"multinomial(): num_samples must be positive, got {k}")
    if not np.isfinite(rows).all() or (rows < 0).any() or (rows.sum(axis=1) <= 0).any():
        raise RuntimeError(
            "multinomial(): invalid distribution: weights must be finite, non-negative and "
            "have a positive sum"
        )
    if not replacement and k > rows.shape[1]:
        raise RuntimeError(
            f"multinomial(): cannot sample n_sample ({k}) > prob_dist size ({rows.shape[1]}) "
            "samples without replacement"
        )
    u = _uniform64((rows.shape[0], k if replacement else rows.shape[1]))
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        out = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        out = np.minimum(out, rows.shape[1] - 1)
    else:
        if ((rows > 0).sum(axis=1) < k).any():
            raise RuntimeError(
                "multinomial(): invalid distribution (with replacement=False, not enough "
                "non-negative categories to sample)"
            )
        with np.errstate(divide="ignore"):
            keys = -np.log1p(-u) / rows  # Exp(rate = weight): the smallest k win
        out = np.argsort(keys, axis=1, kind="stable")[:, :k]
    return _constant(np.asarray(out.reshape(w.shape[:-1] + (k,)), np.int64, order="C"))


def bernoulli(input: Tensor, p: Any = None) -> Tensor:
    """1 with probability input (or p, a number, for every element), else 0, in input's
    dtype, from pydl's seeded generator."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli(): input must be a Tensor, not {type(input).__name__}")
    prob = input._array if p is None else np.full(input.shape, float(p))
    if prob.size and ((prob < 0).any() or (prob > 1).any() or np.isnan(prob).any()):
        raise RuntimeError("bernoulli(): probabilities must be in [0, 1]")
    draws = _uniform64(input.shape) < prob
    return _constant(draws.astype(input.dtype))


def normal(
    mean: Any,
    std: Any = 1.0,
    size: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Draws from N(mean, std^2) by pydl's seeded generator: mean and std tensors
    (broadcast) or numbers (then size gives the shape)."""
    tensors = [a for a in (mean, std) if isinstance(a, Tensor)]
    if tensors:
        if size is not None:
            raise RuntimeError("normal(): size is only for a number mean and std")
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
        dt = dtype_arg(dtype, "normal") or tensors[0].dtype
    else:
        if size is None:
            raise TypeError("normal(): a number mean and std need a size")
        shape, dt = _size(tuple(size), "normal"), dtype_arg(dtype, "normal") or DEFAULT_DTYPE
    dt = _float_dtype(dt, "normal")
    m = mean._array if isinstance(mean, Tensor) else float(mean)
    s = std._array if isinstance(std, Tensor) else float(std)
    if not np.all(np.asarray(s) >= 0):  # NaN too
        raise RuntimeError(f"normal(): std must be non-negative, got {np.min(s)}")
    values = m + s * _draw(shape, dt, normal=True)
    return _finish(np.asarray(values, dt), device, requires_grad, drawn=True)


def _triangle_indices(fn: str, np_fn: Any, row: int, col: int, offset: int, dtype: Any) -> Tensor:
    r, c = _size((row, col), fn)
    dt = dtype_arg(dtype, fn) or np.dtype(np.int64)
    if dt.kind not in "iu":
        raise RuntimeError(f"{fn}(): dtype must be an integer dtype, got {dt}")
    return _finish(np.stack(np_fn(r, operator.index(offset), c)).astype(dt), None, False)


def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None
) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a row x col matrix (on
    and below the offset-th diagonal), row by row."""
    as_device(device)
    return _triangle_indices("tril_indices", np.tril_indices, row, col, offset, dtype)


def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None
) -> Tensor:
    """The (2, N) row and column indices of the upper triangle of a row x col matrix (on
    and above the offset-th diagonal), row by row."""
    as_device(device)
    return _triangle_indices("triu_indices", np.triu_indices, row, col, offset, dtype)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor over the array's memory, without a copy (writes through either are seen by
    both), as torch.from_numpy."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(ndarray).__name__}")
    if not is_number(ndarray.dtype) or ndarray.dtype.itemsize > 8:
        raise TypeError(
            f"from_numpy: can't convert an array of dtype {ndarray.dtype}; pydl supports "
            f"float64, float32, bfloat16, int64, int32, int16, int8, uint8 and bool"
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
    "bernoulli",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "get_default_dtype",
    "linspace",
    "logspace",
    "multinomial",
    "normal",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "tril_indices",
    "triu_indices",
    "zeros",
    "zeros_like",
]
