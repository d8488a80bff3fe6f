"""Shape and layout: views (reshape and its relatives, permute, transpose, narrow, expand,
basic indexing), cat, indexing that copies, and writes through indices
(cpp/kernels/layout, pydl/reference/layout).

Note [Views]: as in PyTorch, a view op returns a tensor over the same memory as its input,
never a copy: reshape/view/flatten/squeeze/unsqueeze of a contiguous tensor, permute,
transpose, t, T, mT, narrow, select, expand, detach, and indexing with ints, slices, None
and Ellipsis only. The tensor holds a strided NumPy view; it shares the input's version
counter and names its base (tensor.view_of), so a write through either is seen by both and
checked by every backward that read them (Note [Version counter]). Kernels take
C-contiguous arrays: a binding handed a strided view copies it first (a parallel strided
copy in the core), which costs what the old copying permute cost, once per use. Indexing
with index arrays or masks copies, as in PyTorch. reshape of a strided tensor that no view
can express copies too (PyTorch's reshape does; view raises instead).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _capture
from .. import backend as _b
from .._dtypes import check_memory_format, dtype_arg
from ..reference._util import broadcast_axes
from ..tensor import Tensor, _constant, as_tensor, record, tensors_of, view_of
from ._util import axis_index, axis_tuple, promoted
from .registry import op
from .._dtypes import is_floating

# reshape, view, flatten, squeeze and unsqueeze only relabel a contiguous array's shape,
# so they are metadata operations without kernels.


def _reshape_backward(node: Any, g: np.ndarray) -> Any:
    return (g.reshape(node.inputs[0].shape),)


@op(kernels=(), aliases=("view",), method=True, toplevel=True)
def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same data under a new shape (one entry may be -1): a view (Note [Views]) unless
    x is strided so that none can express it; then a copy."""
    x = as_tensor(x)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(
                f"reshape(): argument 'shape' must be ints, got {type(s).__name__} ({s!r}) in "
                f"{tuple(shape)}"
            )
        if s < -1:
            raise ValueError(f"reshape: invalid shape {tuple(shape)} (sizes are ints >= -1)")
    try:
        y = np.reshape(x._array, shape, copy=False)
    except ValueError:
        try:  # a strided input no view can express: the core's strided copy, then a view
            y = _b.active.contiguous_forward(x._array).reshape(shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape a tensor of shape {x.shape} ({x._array.size} elements) "
                f"into shape {tuple(shape)}"
            ) from None
        return record(y, (x,), _reshape_backward, reads=False)
    return view_of(x, y, _reshape_backward, None, lambda b: reshape(b, shape))


@op(kernels=(), method=True, toplevel=True)
def ravel(x: Tensor) -> Tensor:
    """x as one dim (a view where x is contiguous)."""
    return reshape(as_tensor(x), (-1,))


@op(kernels=(), method=True, toplevel=True)
def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = axis_index(start_dim, x.ndim), axis_index(end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:s] + (math.prod(x.shape[s : e + 1]),) + x.shape[e + 1 :])


@op(kernels=(), method=True, toplevel=True)
def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """A new axis of size 1 at dim."""
    x = as_tensor(x)
    d = axis_index(dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


@op(kernels=(), method=True, toplevel=True)
def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """Drop the axes of size 1: all of them, or those of dim (an int or a tuple of ints)
    that have size 1."""
    x = as_tensor(x)
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = axis_tuple(dim, x.ndim)
    if x.ndim == 0:
        return x
    return reshape(x, tuple(s for d, s in enumerate(x.shape) if not (d in dims and s == 1)))


def _permute_backward(node: Any, g: np.ndarray) -> Any:
    # A C-contiguous gradient for the kernels downstream (the strided copy of the inverse
    # permutation's view).
    return (_b.active.contiguous_forward(g.transpose(np.argsort(node.saved))),)


@op(kernels=(), method=True, toplevel=True)
def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder the axes: a view (Note [Views])."""
    x = as_tensor(x)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != x.ndim:
        raise ValueError(f"permute: {len(dims)} dims given for a tensor of shape {x.shape}")
    dims = tuple(axis_index(d, x.ndim) for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the axes of shape {x.shape}")
    return view_of(x, x._array.transpose(dims), _permute_backward, dims, lambda b: permute(b, dims))


def _pass_backward(node: Any, g: np.ndarray) -> Any:
    return (g,)


@op(method=True)
def contiguous(x: Tensor) -> Tensor:
    """x itself if its array is C-contiguous, else a C-contiguous copy of the view (Note
    [Views]) by the core's strided copy; the gradient passes through."""
    x = as_tensor(x)
    if x._array.flags.c_contiguous:
        return x
    return record(_b.active.contiguous_forward(x._array), (x,), _pass_backward, reads=False)


@op(kernels=(), method=True, toplevel=True)
def clone(x: Tensor) -> Tensor:
    """A copy of x in new memory (C-contiguous); the gradient passes through."""
    x = as_tensor(x)
    return record(_capture.live(_copy, x._array), (x,), _pass_backward, reads=False)


def _copy(a: np.ndarray) -> np.ndarray:
    return np.array(a, order="C", copy=True)


@op(kernels=(), aliases=("swapdims",), method=True, toplevel=True)
def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two axes."""
    x = as_tensor(x)
    dims = list(range(x.ndim))
    a, b = axis_index(dim0, x.ndim), axis_index(dim1, x.ndim)
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


def _concat_backward(node: Any, g: np.ndarray) -> Any:
    sizes, axis = node.saved
    return _b.active.concat_backward(g, sizes, axis)


def _sequence(tensors: Any, fn: str) -> Any:
    """cat's and stack's `tensors`: a sequence, not one tensor (whose rows would be taken)."""
    if isinstance(tensors, (Tensor, np.ndarray)) or not hasattr(tensors, "__iter__"):
        raise TypeError(
            f"{fn}(): argument 'tensors' must be a sequence of tensors, got "
            f"{type(tensors).__name__}"
        )
    return tensors


@op(kernels=("concat",), aliases=("concatenate",), toplevel=True)
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim."""
    ts = tensors_of(_sequence(tensors, "cat"))
    if not ts:
        raise ValueError("cat needs at least one tensor")
    if any(t._array.dtype != ts[0]._array.dtype for t in ts):
        ts = promoted(*ts)
    axis = axis_index(dim, ts[0].ndim)
    for t in ts:
        if t.ndim != ts[0].ndim:
            raise ValueError(
                f"cat: tensors have ranks {ts[0].ndim} and {t.ndim} "
                f"(shapes {ts[0].shape} and {t.shape})"
            )
    sizes = [t.shape[axis] for t in ts]
    y = _b.active.concat_forward([t._array for t in ts], axis)
    return record(y, ts, _concat_backward, (sizes, axis), reads=False)


@op(kernels=(), toplevel=True)
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim."""
    ts = tensors_of(_sequence(tensors, "stack"))
    if not ts:
        raise ValueError("stack needs at least one tensor")
    for t in ts:
        if t.shape != ts[0].shape:
            raise ValueError(
                f"stack expects tensors of equal shape; got {ts[0].shape} and {t.shape}"
            )
    d = axis_index(dim, ts[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in ts], d)


def _flat_index(shape: tuple[int, ...], key: Any) -> np.ndarray:
    """Flat element numbers selected by a NumPy index expression, in result order."""
    size = math.prod(shape)
    base = np.arange(size, dtype=np.int32 if size < 2**31 else np.int64).reshape(shape)
    try:
        return np.asarray(base[key], dtype=np.int64, order="C")
    except IndexError as e:
        raise IndexError(f"{e} (indexing a tensor of shape {shape})") from None


def _index_backward(node: Any, g: np.ndarray) -> Any:
    return (_b.active.index_backward(g, node.saved, node.inputs[0].shape),)


def _is_basic(key: Any) -> bool:
    """Whether an index has only ints, slices, None and Ellipsis (a view, Note [Views])."""
    parts = key if type(key) is tuple else (key,)
    for k in parts:
        if not (
            k is None
            or k is Ellipsis
            or type(k) is slice
            or (isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)))
        ):
            return False
    return True


def _unwrap_key(key: Any) -> Any:
    if isinstance(key, Tensor):
        return key._array
    if isinstance(key, tuple):
        return tuple(k._array if isinstance(k, Tensor) else k for k in key)
    return key


def _is_int(k: Any) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def split_ints(key: Any) -> tuple[Any, Any] | None:
    """PyTorch applies the integers of an index before its index arrays, where NumPy counts
    them as index arrays: `x[0, :, [0, 1]]` of a (2, 3, 4) tensor is (3, 2) in PyTorch and
    (2, 3) in NumPy. For a key with both, (the basic part, the rest) such that
    a[basic][rest] is PyTorch's a[key]; None for any other key (NumPy agrees there)."""
    if type(key) is not tuple or not any(map(_is_int, key)) or _is_basic(key):
        return None
    basic, rest = [], []
    for k in key:
        if _is_int(k):
            basic.append(k)
        elif k is None or type(k) is slice:
            basic.append(k)
            rest.append(slice(None))
        elif k is Ellipsis:
            basic.append(k)
            rest.append(k)
        else:  # an index array or mask: kept for the second step, over its dims
            ndim = np.ndim(k) if np.asarray(k).dtype == np.bool_ else 1
            basic.extend([slice(None)] * ndim)
            rest.append(k)
    return tuple(basic), tuple(rest)


def _basic_index_backward(node: Any, g: np.ndarray) -> Any:
    return (_capture.live(_scatter_into_zeros, node.inputs[0].shape, node.saved, g),)


def _scatter_into_zeros(shape: tuple[int, ...], key: Any, g: np.ndarray) -> np.ndarray:
    full = np.zeros(shape, g.dtype)
    full[key] = g
    return full


@op(kernels=("index",))
def getitem(x: Tensor, key: Any) -> Tensor:
    """x[key] for any NumPy index: ints, slices, None and Ellipsis give a view (Note
    [Views]); bool masks and integer arrays a copy."""
    x = as_tensor(x)
    key = _unwrap_key(key)
    parts = split_ints(key)
    if parts is not None:
        return getitem(getitem(x, parts[0]), parts[1])
    if _is_basic(key):
        # A trailing Ellipsis makes NumPy return a 0-d view, not a scalar, for x[i] of a
        # vector, so that x[i].zero_() writes into x.
        parts = key if type(key) is tuple else (key,)
        key = parts if Ellipsis in parts else parts + (Ellipsis,)
        try:
            y = x._array[key]
        except IndexError as e:
            raise IndexError(f"{e} (indexing a tensor of shape {x.shape})") from None
        return view_of(x, y, _basic_index_backward, key, lambda b: getitem(b, key))
    if not is_floating(x._array.dtype):  # integer/bool tensors: no gradient, plain NumPy
        return as_tensor(np.asarray(x._array[key], order="C"))
    idx = _flat_index(x.shape, key)
    return record(_b.active.index_forward(x._array, idx), (x,), _index_backward, idx, reads=False)


def _cast_backward(node: Any, g: np.ndarray) -> Any:
    return (g.astype(node.inputs[0].dtype),)


def _device_is_cpu(device: Any) -> None:
    name = str(device)
    if name != "cpu" and not name.startswith("cpu:"):
        raise RuntimeError(f"pydl runs on CPUs; device {name!r} is not available (use 'cpu')")


@op(kernels=(), method=True)
def to(
    x: Tensor,
    *args: Any,
    dtype: Any = None,
    device: Any = None,
    non_blocking: bool = False,
    copy: bool = False,
    memory_format: Any = None,
) -> Tensor:
    """x in another dtype and/or on a device, as Tensor.to: `to(dtype)`, `to(device)`,
    `to(device, dtype)` or `to(other)` (other's dtype). The device is always the CPU and the
    layout always row-major (memory_format: preserve_format or contiguous_format). A cast
    between floating dtypes is differentiable (the gradient is cast back); to an integer or
    bool dtype it is not. x itself when nothing changes, unless copy."""
    x = as_tensor(x)
    check_memory_format(memory_format, "to")
    flags = [a for a in args if isinstance(a, bool)]  # positional non_blocking, copy
    if len(flags) > 2:
        raise TypeError(f"to(): expected at most non_blocking and copy flags, got {args}")
    copy = flags[1] if len(flags) == 2 else copy
    for arg in args:
        if isinstance(arg, bool):
            continue
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, str) or type(arg).__name__ == "device":
            device = arg
        else:
            dtype = arg
    if device is not None:
        _device_is_cpu(device)
    target = x.dtype if dtype is None else dtype_arg(dtype, "to")
    if target == x.dtype and not copy:
        return x
    y = x._array.astype(target)
    if not is_floating(target):
        return _constant(y)  # as is: as_tensor would widen int32 to int64
    return record(y, (x,), _cast_backward, reads=False)


@op(kernels=(), method=True, toplevel=True)
def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """x[..., start:start + length, ...] along dim: a view (Note [Views])."""
    x = as_tensor(x)
    d = axis_index(dim, x.ndim)
    size = x.shape[d]
    start, length = int(start), int(length)  # start may be a 0-d tensor, as in PyTorch
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise IndexError(
            f"narrow: [{start}, {start} + {length}) is outside dim {dim} of size {size}"
        )
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


@op(kernels=(), method=True, toplevel=True)
def select(x: Tensor, dim: int, index: int) -> Tensor:
    """x[..., index, ...] along dim, dropping it: a view (Note [Views])."""
    x = as_tensor(x)
    d = axis_index(dim, x.ndim)
    if not -x.shape[d] <= index < x.shape[d]:
        raise IndexError(
            f"select: index {index} is out of range for dim {dim} of size {x.shape[d]}"
        )
    return getitem(x, (slice(None),) * d + (int(index),))


@op(kernels=(), method=True, toplevel=True)
def t(x: Tensor) -> Tensor:
    """The transpose of a matrix (a vector or a 0-d tensor as is): a view."""
    x = as_tensor(x)
    if x.ndim > 2:
        raise ValueError(
            f"t() expects a tensor with <= 2 dims, got shape {x.shape}; use transpose(dim0, dim1)"
        )
    return transpose(x, 0, 1) if x.ndim == 2 else x


def _sum_to_shape(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """g summed over the axes that broadcasting `shape` to g's shape added or stretched."""
    axes = broadcast_axes(g.shape, shape)
    return _capture.live(_summed, g, axes, shape) if axes else g


def _summed(g: np.ndarray, axes: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    # asarray: a sum over every axis is a NumPy scalar, which the kernels do not take
    return np.asarray(g.sum(axis=axes)).reshape(shape)


def _expand_backward(node: Any, g: np.ndarray) -> Any:
    return (_sum_to_shape(g, node.inputs[0].shape),)


@op(kernels=(), method=True)
def expand(x: Tensor, *sizes: Any) -> Tensor:
    """x broadcast to `sizes` (-1 keeps a dim) without copying: a read-only view, as
    PyTorch's, whose broadcast elements share memory (writing to it raises)."""
    x = as_tensor(x)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes given for a tensor of shape {x.shape}")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    try:
        y = np.broadcast_to(x._array, shape)
    except ValueError:
        raise ValueError(f"expand: shape {x.shape} cannot be expanded to {tuple(sizes)}") from None
    return view_of(x, y, _expand_backward, None, lambda b: expand(b, shape))


@op(kernels=(), method=True)
def expand_as(x: Tensor, other: Tensor) -> Tensor:
    """x expanded to other's shape (a view)."""
    return expand(x, other.shape)


def _index_put_backward(node: Any, g: np.ndarray) -> Any:
    key = node.saved
    x, v = node.inputs
    gx = np.array(g, copy=True)
    gx[key] = 0
    gv = _sum_to_shape(np.asarray(g[key]), v.shape) if v.requires_grad else None
    return (gx, gv)


def index_put(x: Tensor, key: Any, value: Tensor) -> Tensor:
    """A copy of x with x[key] = value (value broadcast); the gradient of x is zero at the
    written places, value's is the gradient there summed over its broadcast."""
    key = _unwrap_key(key)
    y = np.array(x._array, copy=True)
    y[key] = value._array
    return record(y, (x, value), _index_put_backward, key, reads=False)


# ----- shape and layout compositions (issue 17) ---------------------------------------
# Ops that move data by index use the indexing kernels (index_select, gather, scatter:
# pydl/_ops/indexing.py, imported lazily: it imports this module); views stay views.


def _indexing() -> Any:
    from . import indexing

    return indexing


def _ints(value: Any) -> tuple[int, ...]:
    """An int or a sequence of ints (varargs unpacked by the caller) as a tuple."""
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    return tuple(int(v) for v in value)


def _varargs(args: tuple) -> tuple:
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _select_along(x: Tensor, d: int, index: np.ndarray) -> Tensor:
    """x's slices along d at index (an int64 vector): the index_select kernel."""
    return _indexing().index_select(x, d, _constant(np.asarray(index, np.int64, order="C")))


@op(kernels=(), method=True, toplevel=True)
def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    """input broadcast to size (-1 keeps a dim): a read-only view, as expand."""
    return expand(input, tuple(size))


@op(kernels=(), toplevel=True)
def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors broadcast to their common shape (views)."""
    ts = tensors_of(_varargs(tensors))
    try:
        shape = np.broadcast_shapes(*(t.shape for t in ts))
    except ValueError:
        raise RuntimeError(
            f"broadcast_tensors: shapes {[t.shape for t in ts]} do not broadcast"
        ) from None
    return tuple(expand(t, shape) for t in ts)


@op(kernels=(), method=True)
def repeat(input: Tensor, *repeats: Any) -> Tensor:
    """input tiled repeats[i] times along dim i (repeats may have more dims than input:
    leading ones are added); the gradient sums the copies."""
    x = as_tensor(input)
    reps = _ints(_varargs(repeats))
    if len(reps) < x.ndim:
        raise RuntimeError(
            f"repeat: {len(reps)} repeats given for a tensor of {x.ndim} dims (need at least "
            f"{x.ndim})"
        )
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {reps}")
    shape = (1,) * (len(reps) - x.ndim) + x.shape
    # (r0, s0, r1, s1, ...) broadcast from (1, s0, 1, s1, ...), then merged: one copy
    pairs = tuple(v for s in shape for v in (1, s))
    big = tuple(v for r, s in zip(reps, shape) for v in (r, s))
    y = expand(reshape(x, pairs), big)
    return reshape(contiguous(y), tuple(r * s for r, s in zip(reps, shape)))


@op(kernels=(), method=True, toplevel=True)
def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """repeat, with dims padded by leading ones when shorter than input's rank."""
    x = as_tensor(input)
    reps = _ints(dims)
    return repeat(x, (1,) * (x.ndim - len(reps)) + reps)


@op(kernels=(), method=True, toplevel=True)
def repeat_interleave(
    input: Any, repeats: Any = None, dim: Any = None, *, output_size: Any = None
) -> Tensor:
    """Each element (or slice along dim) repeated repeats times (an int, or one count per
    element); dim None: of the flattened input. `repeat_interleave(counts)` alone repeats
    0, 1, ... counts[i] times."""
    if repeats is None:  # repeat_interleave(repeats): arange(len) repeated
        counts = _indexing().index_array(input, "repeat_interleave", "repeats").reshape(-1)
        return _constant(np.repeat(np.arange(len(counts), dtype=np.int64), counts))
    x = as_tensor(input)
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = axis_index(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if isinstance(repeats, Tensor):
        counts = _indexing().index_array(repeats, "repeat_interleave", "repeats").reshape(-1)
    else:
        counts = np.asarray(repeats, np.int64).reshape(-1)
    if len(counts) == 1:
        counts = np.full(n, counts[0], np.int64)
    if len(counts) != n:
        raise RuntimeError(f"repeat_interleave: repeats must have {n} entries, got {len(counts)}")
    if (counts < 0).any():
        raise RuntimeError("repeat_interleave: repeats must be non-negative")
    if output_size is not None and int(output_size) != counts.sum():
        raise RuntimeError(
            f"repeat_interleave: output_size {output_size} but repeats sum to {counts.sum()}"
        )
    if x.ndim == 0:
        x = reshape(x, (1,))
    return _select_along(x, d, np.repeat(np.arange(n, dtype=np.int64), counts))


def _dims_of(dims: Any, ndim: int, fn: str) -> tuple[int, ...]:
    ds = [axis_index(int(d), ndim) for d in _ints(dims)]
    if len(set(ds)) != len(ds):
        raise RuntimeError(f"{fn}: dim {ds} appears multiple times in the list of dims")
    return tuple(ds)


@op(kernels=(), method=True, toplevel=True)
def flip(input: Tensor, dims: Any) -> Tensor:
    """input with the order of its elements reversed along dims (a copy, as PyTorch's: the
    core's strided copy of a reversed view)."""
    x = as_tensor(input)
    ds = _dims_of(dims, x.ndim, "flip")
    if x.ndim == 0:
        return clone(x)
    key = tuple(slice(None, None, -1) if d in ds else slice(None) for d in range(x.ndim))
    return contiguous(getitem(x, key)) if ds else clone(x)


@op(kernels=(), method=True, toplevel=True)
def fliplr(input: Tensor) -> Tensor:
    """flip(input, 1): left-right, for a tensor of at least 2 dims."""
    x = as_tensor(input)
    if x.ndim < 2:
        raise RuntimeError(f"fliplr: input must be at least 2-d, got shape {x.shape}")
    return flip(x, (1,))


@op(kernels=(), method=True, toplevel=True)
def flipud(input: Tensor) -> Tensor:
    """flip(input, 0): up-down, for a tensor of at least 1 dim."""
    x = as_tensor(input)
    if x.ndim < 1:
        raise RuntimeError("flipud: input must be at least 1-d")
    return flip(x, (0,))


@op(kernels=(), method=True, toplevel=True)
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """input's elements shifted by shifts along dims (wrapping around); dims None: of the
    flattened input, reshaped back."""
    x = as_tensor(input)
    sh = _ints(shifts)
    if dims is None:
        if len(sh) != 1:
            raise RuntimeError(f"roll: {len(sh)} shifts given without dims (need one)")
        return reshape(roll(reshape(x, (-1,)), sh, (0,)), x.shape)
    ds = tuple(axis_index(int(d), x.ndim) for d in _ints(dims))
    if len(sh) != len(ds):
        raise RuntimeError(f"roll: shifts {sh} and dims {ds} must have the same length")
    if x.ndim == 0:
        return clone(x)
    y = x
    for s, d in zip(sh, ds):
        n = y.shape[d]
        if n:
            y = _select_along(y, d, (np.arange(n) - s) % n)
    return y if y is not x else clone(x)


@op(kernels=(), method=True, toplevel=True)
def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """input rotated by k * 90 degrees in the plane of dims, from dims[0] towards
    dims[1]."""
    x = as_tensor(input)
    ds = _ints(dims)
    if len(ds) != 2:
        raise RuntimeError(f"rot90: expected 2 dims, got {len(ds)}")
    a, b = (axis_index(d, x.ndim) for d in ds)
    if a == b:
        raise RuntimeError(f"rot90: dims must differ, got {ds}")
    k = int(k) % 4
    if k == 1:
        return transpose(flip(x, (b,)), a, b)
    if k == 2:
        return flip(x, (a, b))
    if k == 3:
        return flip(transpose(x, a, b), (b,))
    return clone(x)


def _diagonal_view(arr: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
    """The diagonal of arr over (d1, d2) as a strided view, moved to the last dim."""
    moved = np.moveaxis(arr, (d1, d2), (-2, -1))
    sub = moved[..., :, offset:] if offset >= 0 else moved[..., -offset:, :]
    n = max(0, min(sub.shape[-2], sub.shape[-1]))
    strides = sub.strides[:-2] + (sub.strides[-2] + sub.strides[-1],)
    return np.lib.stride_tricks.as_strided(sub, sub.shape[:-2] + (n,), strides)


def _diagonal_backward(node: Any, g: np.ndarray) -> Any:
    gx = np.zeros(node.inputs[0].shape, g.dtype)
    _diagonal_view(gx, *node.saved)[...] = g
    return (gx,)


@op(kernels=(), method=True, toplevel=True)
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal over dims (dim1, dim2) (offset > 0: above it), appended as the last
    dim: a view (Note [Views])."""
    x = as_tensor(input)
    d1, d2 = axis_index(dim1, x.ndim), axis_index(dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be the same dim ({dim1}, {dim2})")
    saved = (int(offset), d1, d2)
    arr = _diagonal_view(x._array, *saved)
    return view_of(x, arr, _diagonal_backward, saved, lambda b: diagonal(b, *saved))


_diagonal = diagonal  # diag's argument `diagonal` hides the op


@op(kernels=(), method=True, toplevel=True)
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices over (dim1, dim2) whose (offset) diagonal is input's last dim, zero
    elsewhere: the scatter kernel writing into zeros."""
    x = as_tensor(input)
    nd = x.ndim + 1
    d1, d2 = axis_index(dim1, nd), axis_index(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diag_embed: dim1 and dim2 cannot be the same dim ({dim1}, {dim2})")
    n = x.shape[-1] if x.ndim else 1
    m = n + abs(int(offset))
    batch = x.shape[:-1]
    rows = np.arange(n) + max(0, -int(offset))
    cols = np.arange(n) + max(0, int(offset))
    # positions in a (batch, m, m) block, flat; then the matrix dims are moved to d1, d2
    pos = (np.arange(math.prod(batch))[:, None] * m * m + rows * m + cols).reshape(batch + (n,))
    zeros = _constant(np.zeros(batch + (m, m), x.dtype))
    y = _indexing()._put_flat(zeros, pos, reshape(x, batch + (n,)), False)
    rest = [d for d in range(nd) if d not in (d1, d2)]
    order = [0] * nd
    for src, dst in zip(range(nd - 2), rest):
        order[dst] = src
    order[d1], order[d2] = nd - 2, nd - 1
    return permute(y, order)


@op(kernels=(), method=True, toplevel=True)
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A vector's square matrix with it on the (diagonal) diagonal, or a matrix's diagonal
    (a copy)."""
    x = as_tensor(input)
    if x.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x.ndim == 2:
        return clone(_diagonal(x, diagonal, 0, 1))
    raise RuntimeError(f"diag: input must be 1-d or 2-d, got shape {x.shape}")


def _triangle(x: Tensor, diagonal: int, lower: bool, fn: str) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(f"{fn}: input must have at least 2 dims, got shape {x.shape}")
    r, c = x.shape[-2:]
    keep = np.tri(r, c, int(diagonal), dtype=np.bool_)
    if not lower:
        keep = ~np.tri(r, c, int(diagonal) - 1, dtype=np.bool_)
    from . import elementwise

    return elementwise.where(keep, x, _constant(np.zeros((), x.dtype)))


@op(kernels=(), method=True, toplevel=True)
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below the diagonal-th diagonal),
    zeros above."""
    return _triangle(as_tensor(input), diagonal, True, "tril")


@op(kernels=(), method=True, toplevel=True)
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above the diagonal-th diagonal),
    zeros below."""
    return _triangle(as_tensor(input), diagonal, False, "triu")


def _narrows(x: Tensor, d: int, sizes: Sequence[int]) -> tuple[Tensor, ...]:
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return tuple(out)


@op(kernels=(), method=True, toplevel=True)
def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of tensor along dim: pieces of split_size (the last may be smaller), or of the
    given sizes (which must sum to the dim's size)."""
    x = as_tensor(tensor)
    d = axis_index(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        k = int(split_size_or_sections)
        if k < 0 or (k == 0 and n):
            raise RuntimeError(f"split: split_size must be positive, got {k}")
        sizes = [min(k, n - s) for s in range(0, n, k)] if n else [0]
    else:
        sizes = list(_ints(split_size_or_sections))
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split: sizes {sizes} must be non-negative and sum to {n} (dim {dim}'s size)"
            )
    return _narrows(x, d, sizes)


@op(kernels=(), method=True, toplevel=True)
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most `chunks` views along dim, each of ceil(size / chunks) (the last smaller)."""
    x = as_tensor(input)
    if int(chunks) <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    d = axis_index(dim, x.ndim)
    n = x.shape[d]
    return split(x, max(1, -(-n // int(chunks))), d)


@op(kernels=(), method=True, toplevel=True)
def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Views along dim: `sections` pieces as even as possible (the first ones one longer),
    or the pieces between the given indices (as NumPy's array_split)."""
    x = as_tensor(input)
    d = axis_index(dim, x.ndim)
    n = x.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios.item() if ios.ndim == 0 else ios.tolist()
    if isinstance(ios, (int, np.integer)):
        k = int(ios)
        if k <= 0:
            raise RuntimeError(f"tensor_split: sections must be positive, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        return _narrows(x, d, sizes)
    # the pieces x[i_k-1:i_k] along d, with Python's slice rules (i_0 = 0, the last to n)
    bounds = [0] + [min(max(int(i) + (n if int(i) < 0 else 0), 0), n) for i in ios] + [n]
    return tuple(
        narrow(x, d, start, max(0, stop - start)) for start, stop in zip(bounds, bounds[1:])
    )


@op(kernels=(), method=True, toplevel=True)
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The views input.select(dim, i) for every i."""
    x = as_tensor(input)
    d = axis_index(dim, x.ndim)
    return tuple(select(x, d, i) for i in range(x.shape[d]))


@op(kernels=(), method=True, toplevel=True)
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """dim split into the dims `sizes` (one may be -1)."""
    x = as_tensor(input)
    d = axis_index(dim, x.ndim)
    sizes = _ints(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if -1 not in sizes and math.prod(sizes) != x.shape[d]:
        raise RuntimeError(
            f"unflatten: sizes {sizes} don't multiply up to dim {dim}'s size {x.shape[d]}"
        )
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1 :])


def _unfold_backward(node: Any, g: np.ndarray) -> Any:
    d, size, step = node.saved
    shape = node.inputs[0].shape
    gx = np.zeros(shape or (1,), g.dtype)
    g = g if shape else g.reshape(1, size)
    n = g.shape[d]
    for k in range(size):  # element k of every window, added back where it came from
        gx[(slice(None),) * d + (slice(k, k + step * (n - 1) + 1, step),)] += g[..., k]
    return (gx.reshape(shape),)


@op(kernels=(), method="unfold")
def unfold_windows(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """The windows of `size` elements along dimension, every `step`, as a new last dim: a
    view (Note [Views]); the gradient sums over overlapping windows."""
    x = as_tensor(input)
    d = axis_index(dimension, x.ndim)
    n = x.shape[d] if x.ndim else 1
    size, step = int(size), int(step)
    if step <= 0:
        raise RuntimeError(f"unfold: step must be positive, got {step}")
    if not 0 <= size <= n:
        raise RuntimeError(f"unfold: size {size} is larger than dimension {d}'s size {n}")
    arr = x._array if x.ndim else x._array.reshape(1)
    count = (n - size) // step + 1
    shape = arr.shape[:d] + (count,) + arr.shape[d + 1 :] + (size,)
    strides = arr.strides[:d] + (arr.strides[d] * step,) + arr.strides[d + 1 :] + (arr.strides[d],)
    y = np.lib.stride_tricks.as_strided(arr, shape, strides, writeable=False)
    if x.ndim == 0:
        y = y.reshape(size)
    saved = (d, size, step)
    return view_of(x, y, _unfold_backward, saved, lambda b: unfold_windows(b, d, size, step))


@op(kernels=(), aliases=("moveaxis",), method=True, toplevel=True)
def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """The dims `source` moved to `destination` (ints or sequences), the others keeping
    their order: a view."""
    x = as_tensor(input)
    src, dst = _ints(source), _ints(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {src} and destination {dst} differ in length")
    src = _dims_of(src, x.ndim, "movedim")
    dst = _dims_of(dst, x.ndim, "movedim")
    order = [None] * x.ndim
    for s, t in zip(src, dst):
        order[t] = s
    rest = iter(d for d in range(x.ndim) if d not in src)
    return permute(x, [o if o is not None else next(rest) for o in order])


@op(kernels=(), method=True, toplevel=True)
def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """transpose(input, axis0, axis1): NumPy's name."""
    return transpose(input, axis0, axis1)


def _atleast(tensors: tuple, n: int) -> Any:
    ts = tensors_of(_varargs(tensors))
    out = []
    for t in ts:
        if t.ndim >= n:
            out.append(t)
        elif n == 3 and t.ndim == 2:
            out.append(unsqueeze(t, -1))
        elif n == 1:
            out.append(reshape(t, (1,)))
        else:  # 0-d and 1-d: (1, k) for 2-d, (1, k, 1) for 3-d
            v = reshape(t, (1, -1) if t.ndim else (1, 1))
            out.append(reshape(v, (1, v.shape[1], 1)) if n == 3 else v)
    single = len(tensors) == 1 and not isinstance(tensors[0], (tuple, list))
    return out[0] if single else tuple(out)


@op(kernels=(), toplevel=True)
def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least 1 dim (a 0-d one becomes a 1-element vector)."""
    return _atleast(tensors, 1)


@op(kernels=(), toplevel=True)
def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least 2 dims (a vector becomes a row)."""
    return _atleast(tensors, 2)


@op(kernels=(), toplevel=True)
def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least 3 dims (a vector (k,) becomes (1, k, 1), a matrix (r, c)
    (r, c, 1))."""
    return _atleast(tensors, 3)


@op(kernels=(), toplevel=True)
def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """cat along dim 1 (dim 0 for vectors)."""
    ts = atleast_1d(tuple(tensors))
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


@op(kernels=(), aliases=("row_stack",), toplevel=True)
def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """cat along dim 0 of the tensors made at least 2-d."""
    return cat(atleast_2d(tuple(tensors)), 0)


@op(kernels=(), toplevel=True)
def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """cat along dim 2 of the tensors made at least 3-d."""
    return cat(atleast_3d(tuple(tensors)), 2)


@op(kernels=(), toplevel=True)
def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors as columns: vectors (and 0-d) become (k, 1), then cat along dim 1."""
    ts = [reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in tensors_of(tensors)]
    return cat(ts, 1)


@op(kernels=(), toplevel=True)
def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids of 1-d tensors (views): indexing 'ij' (matrix: the first vector
    along dim 0) or 'xy' (Cartesian: the first two swapped)."""
    ts = tensors_of(_varargs(tensors))
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expects 0-d or 1-d tensors, got shape {t.shape}")
    sizes = [t.numel() for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(ts):
        axis = {0: 1, 1: 0}.get(i, i) if swap else i
        shape = [1] * len(ts)
        shape[axis] = -1
        out.append(expand(reshape(t, tuple(shape)), tuple(sizes)))
    return tuple(out)


def _pad_positions(n: int, left: int, right: int, mode: str) -> np.ndarray:
    """The source positions of a dim of size n padded by (left, right) (negative: cropped)
    in mode reflect, replicate or circular."""
    i = np.arange(-left, n + right)
    if mode == "reflect":
        if n and (left >= n or right >= n):
            raise RuntimeError(
                f"pad: padding ({left}, {right}) should be less than the dim's size {n} for "
                "mode 'reflect'"
            )
        period = 2 * (n - 1) if n > 1 else 1
        i = np.abs(i) % period
        return np.where(i >= n, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if left > n or right > n:
        raise RuntimeError(
            f"pad: padding ({left}, {right}) must be at most the dim's size {n} for mode 'circular'"
        )
    # PyTorch crops first, then wraps around what is left
    core = np.arange(max(0, -left), n - max(0, -right))
    return core[np.arange(-max(0, left), len(core) + max(0, right)) % max(1, len(core))]


@op(kernels=())
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Any = None) -> Tensor:
    """input padded along its last len(pad) // 2 dims, PyTorch's order: (left, right) of the
    last dim first, then of the one before... Negative pads crop. mode 'constant' (value,
    default 0), 'reflect' (mirror without repeating the edge), 'replicate' (the edge) or
    'circular' (wrap around); the other modes read the input through the index_select
    kernel, whose backward adds the copies' gradients back."""
    x = as_tensor(input)
    p = _ints(pad)
    if len(p) % 2 or len(p) // 2 > x.ndim:
        raise RuntimeError(
            f"pad: padding length {len(p)} must be even and at most twice the input's rank {x.ndim}"
        )
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if mode != "constant" and value not in (None, 0, 0.0):
        raise RuntimeError(f"pad: value {value} is only for mode 'constant'")
    if mode != "constant" and len(p) // 2 > 3:
        raise NotImplementedError(f"pad: mode {mode!r} pads at most 3 trailing dims")
    y = x
    for k in range(len(p) // 2):
        d, left, right = x.ndim - 1 - k, p[2 * k], p[2 * k + 1]
        n = y.shape[d]
        if mode == "constant":
            lo, hi = max(0, -left), n - max(0, -right)
            if hi < lo:
                raise RuntimeError(f"pad: cropping ({left}, {right}) removes more than dim {d}")
            if lo or hi != n:
                y = narrow(y, d, lo, hi - lo)
            if left > 0 or right > 0:
                fill = 0 if value is None else value
                parts = []
                for width in (max(0, left), None, max(0, right)):
                    if width is None:
                        parts.append(y)
                    elif width:
                        shape = y.shape[:d] + (width,) + y.shape[d + 1 :]
                        parts.append(_constant(_capture.snapshot(np.full(shape, fill, y.dtype))))
                y = cat(parts, d)
        elif left or right:
            if n == 0:
                raise RuntimeError(f"pad: mode {mode!r} cannot pad dim {d} of size 0")
            y = _select_along(y, d, _pad_positions(n, left, right, mode))
    return y if y is not x else clone(x)


@op(kernels=(), toplevel=True)
def cartesian_prod(*tensors: Tensor) -> Tensor:
    """All combinations of the vectors' elements, one per row (the first varying slowest);
    one vector is returned as is."""
    ts = tensors_of(_varargs(tensors))
    if len(ts) == 1:
        return ts[0]
    return stack([reshape(g, (-1,)) for g in meshgrid(*ts, indexing="ij")], 1)
