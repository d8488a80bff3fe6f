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

from .. import backend as _b
from ..tensor import Tensor, _constant, as_tensor, record, tensors_of, view_of
from ._util import axis_index, promoted
from .registry import op

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
        if not isinstance(s, (int, np.integer)) or s < -1:
            raise ValueError(f"reshape: invalid shape {tuple(shape)} (sizes are ints >= -1)")
    try:
        y = np.reshape(x._array, shape, copy=False)
    except ValueError:
        try:
            y = x._array.reshape(shape)  # a strided input no view can express: copy
        except ValueError:
            raise ValueError(
                f"cannot reshape a tensor of shape {x.shape} ({x._array.size} elements) "
                f"into shape {tuple(shape)}"
            ) from None
        return record(y, (x,), _reshape_backward, reads=False)
    return view_of(x, y, _reshape_backward, None, lambda b: reshape(b, shape))


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
    """Drop the axes of size 1 (all of them, or dim if it has size 1)."""
    x = as_tensor(x)
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    d = axis_index(dim, x.ndim)
    if x.ndim == 0:
        return x
    return reshape(x, x.shape[:d] + x.shape[d + 1 :]) if x.shape[d] == 1 else x


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
    return record(np.array(x._array, order="C", copy=True), (x,), _pass_backward, reads=False)


@op(kernels=(), method=True, toplevel=True)
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


@op(kernels=("concat",), aliases=("concatenate",), toplevel=True)
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim."""
    ts = tensors_of(tensors)
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
    ts = tensors_of(tensors)
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
    full = np.zeros(node.inputs[0].shape, g.dtype)
    full[node.saved] = g
    return (full,)


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
    if x._array.dtype.kind != "f":  # integer/bool tensors: no gradient, plain NumPy
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
def to(x: Tensor, *args: Any, dtype: Any = None, device: Any = None, copy: bool = False) -> Tensor:
    """x in another dtype and/or on a device, as Tensor.to: `to(dtype)`, `to(device)`,
    `to(device, dtype)` or `to(other)` (other's dtype). The device is always the CPU. A cast
    between floating dtypes is differentiable (the gradient is cast back); to an integer or
    bool dtype it is not. x itself when nothing changes, unless copy."""
    x = as_tensor(x)
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, str) or type(arg).__name__ == "device":
            device = arg
        else:
            dtype = arg
    if device is not None:
        _device_is_cpu(device)
    target = x.dtype if dtype is None else np.dtype(dtype)
    if target == x.dtype and not copy:
        return x
    y = x._array.astype(target)
    if target.kind != "f":
        return _constant(y)  # as is: as_tensor would widen int32 to int64
    return record(y, (x,), _cast_backward, reads=False)


@op(kernels=(), method=True, toplevel=True)
def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """x[..., start:start + length, ...] along dim: a view (Note [Views])."""
    x = as_tensor(x)
    d = axis_index(dim, x.ndim)
    size = x.shape[d]
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


@op(kernels=(), method=True)
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
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    # asarray: a sum over every axis is a NumPy scalar, which the kernels do not take
    return np.asarray(g.sum(axis=axes)).reshape(shape) if axes else g


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
