"""Shape and layout: reshape and its relatives (metadata only), permute, cat, indexing
(cpp/kernels/layout, pydl/reference/layout)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, _constant, as_tensor, record, tensors_of
from ._util import axis_index
from .registry import op

# reshape, view, flatten, squeeze and unsqueeze only relabel a contiguous array's shape,
# so they are metadata operations without kernels.


def _reshape_backward(node: Any, g: np.ndarray) -> Any:
    return (g.reshape(node.inputs[0].shape),)


@op(kernels=(), aliases=("view",), method=True, toplevel=True)
def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same data under a new shape (one entry may be -1)."""
    x = as_tensor(x)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        y = x._array.reshape(shape)
    except ValueError:
        raise ValueError(
            f"cannot reshape a tensor of shape {x.shape} ({x._array.size} elements) "
            f"into shape {tuple(shape)}"
        ) from None
    return record(y, (x,), _reshape_backward)


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
    return reshape(x, x.shape[:d] + x.shape[d + 1 :]) if x.shape[d] == 1 else x


def _permute_backward(node: Any, g: np.ndarray) -> Any:
    return (_b.active.permute_backward(g, node.saved),)


@op(method=True, toplevel=True)
def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder the axes (a copy into C order)."""
    x = as_tensor(x)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != x.ndim:
        raise ValueError(f"permute: {len(dims)} dims given for a tensor of shape {x.shape}")
    dims = tuple(axis_index(d, x.ndim) for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the axes of shape {x.shape}")
    return record(_b.active.permute_forward(x._array, dims), (x,), _permute_backward, dims)


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
    axis = axis_index(dim, ts[0].ndim)
    for t in ts:
        if t.ndim != ts[0].ndim:
            raise ValueError(
                f"cat: tensors have ranks {ts[0].ndim} and {t.ndim} "
                f"(shapes {ts[0].shape} and {t.shape})"
            )
    sizes = [t.shape[axis] for t in ts]
    y = _b.active.concat_forward([t._array for t in ts], axis)
    return record(y, ts, _concat_backward, (sizes, axis))


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


@op(kernels=("index",))
def getitem(x: Tensor, key: Any) -> Tensor:
    """x[key] for any NumPy index (ints, slices, None, Ellipsis, bool masks, integer arrays)."""
    x = as_tensor(x)
    if isinstance(key, Tensor):
        key = key._array
    elif isinstance(key, tuple):
        key = tuple(k._array if isinstance(k, Tensor) else k for k in key)
    if x._array.dtype.kind != "f":  # integer/bool tensors: no gradient, plain NumPy
        return as_tensor(np.asarray(x._array[key], order="C"))
    idx = _flat_index(x.shape, key)
    return record(_b.active.index_forward(x._array, idx), (x,), _index_backward, idx)


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
    return record(y, (x,), _cast_backward)


@op(kernels=(), method=True, toplevel=True)
def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """x[start:start + length] along dim 0 as a view (no kernel: a contiguous row range)."""
    if dim != 0:
        raise ValueError("narrow is implemented for dim 0 (rows of a contiguous tensor)")
    if not 0 <= start <= start + length <= x.shape[0]:
        raise IndexError(f"narrow: rows [{start}, {start + length}) outside {x.shape[0]}")

    def backward(node: Any, g: np.ndarray) -> Any:
        full = np.zeros(node.inputs[0].shape, g.dtype)
        full[start : start + length] = g
        return (full,)

    return record(x._array[start : start + length], (x,), backward)
