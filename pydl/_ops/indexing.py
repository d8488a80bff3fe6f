"""Indexing by index tensors and masks: gather, scatter (scatter_add, scatter_reduce),
index_select, index_add, index_copy, index_fill, index_put, masked_fill, masked_select,
masked_scatter, nonzero, argwhere, take, take_along_dim (cpp/kernels/indexing,
pydl/reference/indexing).

Five kernels move data by index: gather (its backward a scatter-add), scatter (with
PyTorch's reductions, its backward for each), index_select (backward: an index_add into
zeros), index_add and index_copy. The other ops compose them: index_put and masked_scatter
are a scatter into the flattened tensor at flat positions, take an index_select of the
flattened tensor, take_along_dim a gather of broadcast operands.

Note [Index ranges] (cpp/kernels/indexing.h): index tensors are checked here, with
PyTorch's IndexError naming the dim, the index and the size, and again by the kernels,
before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _capture
from .. import backend as _b
from ..tensor import Tensor, _constant, as_tensor, record
from . import elementwise, layout
from ._util import axis_index
from .registry import op


def index_array(index: Any, fn: str, what: str = "index") -> np.ndarray:
    """An index tensor's values as a C-contiguous int64 array; TypeError for another dtype
    (PyTorch takes int64 index tensors; pydl any integer dtype)."""
    arr = index._array if isinstance(index, Tensor) else np.asarray(index)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{fn}(): {what} must be an integer tensor, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.int64, order="C")


def check_range(index: np.ndarray, size: int, dim: int) -> None:
    """Note [Index ranges]: IndexError for the first index outside [0, size)."""
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.reshape(-1)[np.argmax(((index < 0) | (index >= size)).reshape(-1))]
        raise IndexError(f"index {int(bad)} is out of bounds for dimension {dim} with size {size}")


def _size(x: Tensor, d: int) -> int:
    return x.shape[d] if x.ndim else 1


def _check_fits(fn: str, index: np.ndarray, x: Tensor, d: int, what: str, all_dims: bool) -> None:
    """PyTorch's shape rule for gather/scatter: index has x's rank and is no larger in any
    dim but d (in any dim at all for scatter's src)."""
    if index.ndim != x.ndim:
        raise RuntimeError(
            f"{fn}(): index {index.shape} and {what} {x.shape} must have the same number of dims"
        )
    for k in range(x.ndim):
        if index.shape[k] > x.shape[k] and (all_dims or k != d):
            raise RuntimeError(
                f"{fn}(): index {index.shape} is larger than {what} {x.shape} in dim {k}"
            )


def _gather_backward(node: Any, g: np.ndarray) -> Any:
    d, idx = node.saved
    return (_b.active.gather_backward(g, d, idx, node.inputs[0].shape),)


@op(method=True, toplevel=True)
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j][k] = input[i][index[i][j][k]][k] (dim 1; the same for any dim): index has
    input's rank, no dim but `dim` larger than input's; the gradient is scatter-added."""
    x = as_tensor(input)
    idx = index_array(index, "gather")
    d = axis_index(dim, x.ndim)
    _check_fits("gather", idx, x, d, "input", False)
    check_range(idx, _size(x, d), d)
    y = _b.active.gather_forward(x._array, d, idx)
    return record(y, (x,), _gather_backward, (d, idx), reads=False)


# PyTorch's scatter(reduce=) names of the scatter_reduce reductions
_SCATTER_REDUCE = {None: "none", "add": "sum", "multiply": "prod"}
_VALUES_READ = ("prod", "amax", "amin")  # the reductions whose backward reads the values


def _scatter_backward(node: Any, g: np.ndarray) -> Any:
    d, idx, reduce, include_self, y = node.saved
    x, src = node.inputs
    return _b.active.scatter_backward(
        g, x._array, d, idx, src._array, x._array if y is None else y, reduce, include_self
    )


def _scatter(
    fn: str, input: Any, dim: int, index: Any, src: Any, reduce: str, include_self: bool
) -> Tensor:
    x = as_tensor(input)
    idx = index_array(index, fn)
    if isinstance(src, (int, float, np.integer, np.floating, np.bool_)):  # a value
        src = _constant(_capture.snapshot(np.full(idx.shape, src, x.dtype)))
    elif not isinstance(src, Tensor):  # an array or list (str, None, complex: TypeError)
        src = as_tensor(src)
        src = _constant(src._array.astype(x.dtype, copy=False))
    if src.dtype != x.dtype:
        raise RuntimeError(
            f"{fn}(): expected self.dtype to be equal to src.dtype; got {x.dtype} and {src.dtype}"
        )
    d = axis_index(dim, x.ndim)
    _check_fits(fn, idx, x, d, "self", False)
    _check_fits(fn, idx, src, d, "src", True)
    check_range(idx, _size(x, d), d)
    y = _b.active.scatter_forward(x._array, d, idx, src._array, reduce, include_self)
    reads = reduce in _VALUES_READ
    saved = (d, idx, reduce, include_self, y if reads else None)
    return record(y, (x, src), _scatter_backward, saved, reads=reads)


@op(method=True, toplevel=True)
def scatter(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Any = None,
    value: Any = None,
    *,
    reduce: Any = None,
) -> Tensor:
    """A copy of input with input[...][index[i][j][k]][...] = src[i][j][k] along dim (src a
    tensor, or a number `value` everywhere); reduce='add' or 'multiply' combines instead of
    writing. Repeated indices: the last write wins."""
    if (src is None) == (value is None):
        raise TypeError("scatter(): give exactly one of src (a tensor or a number) and value")
    if reduce not in _SCATTER_REDUCE:
        raise ValueError(f"scatter(): reduce must be 'add' or 'multiply', got {reduce!r}")
    return _scatter(
        "scatter", input, dim, index, value if src is None else src, _SCATTER_REDUCE[reduce], True
    )


@op(kernels=(), method=True, toplevel=True)
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of input with src[i][j][k] added at input[...][index[i][j][k]][...] along dim
    (repeated indices accumulate, in index order)."""
    return _scatter("scatter_add", input, dim, index, src, "sum", True)


@op(kernels=(), method=True, toplevel=True)
def scatter_reduce(
    input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """scatter with a reduction of the values landing on one place: 'sum', 'prod', 'mean',
    'amax' or 'amin' (include_self: input's value takes part; else only the sources)."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ValueError(
            "scatter_reduce(): reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', "
            f"got {reduce!r}"
        )
    return _scatter("scatter_reduce", input, dim, index, src, reduce, bool(include_self))


def _vector_index(index: Any, fn: str) -> np.ndarray:
    idx = index_array(index, fn)
    if idx.ndim > 1:
        raise IndexError(f"{fn}(): index must be a vector (0-d or 1-d), got shape {idx.shape}")
    return idx.reshape(-1)


def _with_size(shape: tuple, d: int, n: int) -> tuple:
    return shape[:d] + (n,) + shape[d + 1 :] if shape else shape


def _index_select_backward(node: Any, g: np.ndarray) -> Any:
    d, idx = node.saved
    return (_b.active.index_select_backward(g, d, idx, node.inputs[0].shape),)


@op(method=True, toplevel=True)
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of input along dim at the entries of a 1-D index (a copy, in index
    order; repeats allowed); the gradient is added back slice by slice."""
    x = as_tensor(input)
    idx = _vector_index(index, "index_select")
    d = axis_index(dim, x.ndim)
    check_range(idx, _size(x, d), d)
    y = _b.active.index_select_forward(x._array, d, idx)
    return record(y, (x,), _index_select_backward, (d, idx), reads=False)


def _source(fn: str, x: Tensor, d: int, idx: np.ndarray, source: Any) -> Tensor:
    src = as_tensor(source)
    want = _with_size(x.shape, d, len(idx))
    if src.shape != want:
        raise RuntimeError(f"{fn}(): source has shape {src.shape}; expected {want}")
    if src.dtype != x.dtype:
        raise RuntimeError(f"{fn}(): self ({x.dtype}) and source ({src.dtype}) must have one dtype")
    return src


def _index_add_backward(node: Any, g: np.ndarray) -> Any:
    d, idx, alpha = node.saved
    gs = _b.active.index_add_backward(g, d, idx, alpha) if node.inputs[1].requires_grad else None
    return (g, gs)


@op(method=True, toplevel=True)
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """A copy of input with alpha * source's slices added to the slices at index along dim
    (repeats accumulate)."""
    x = as_tensor(input)
    idx = _vector_index(index, "index_add")
    d = axis_index(dim, x.ndim)
    src = _source("index_add", x, d, idx, source)
    check_range(idx, _size(x, d), d)
    y = _b.active.index_add_forward(x._array, d, idx, src._array, float(alpha))
    return record(y, (x, src), _index_add_backward, (d, idx, float(alpha)), reads=False)


def _index_copy_backward(node: Any, g: np.ndarray) -> Any:
    d, idx = node.saved
    return _b.active.index_copy_backward(g, d, idx)


@op(method=True, toplevel=True)
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of input with the slices at index along dim replaced by source's (for a
    repeated index the last one wins)."""
    x = as_tensor(input)
    idx = _vector_index(index, "index_copy")
    d = axis_index(dim, x.ndim)
    src = _source("index_copy", x, d, idx, source)
    check_range(idx, _size(x, d), d)
    y = _b.active.index_copy_forward(x._array, d, idx, src._array)
    return record(y, (x, src), _index_copy_backward, (d, idx), reads=False)


def _scalar_like(value: Any, x: Tensor, fn: str) -> Tensor:
    """value (a number or a 0-d tensor) as a 0-d tensor of x's dtype."""
    v = as_tensor(value, like=x)
    if v.ndim:
        raise RuntimeError(f"{fn}(): value must be a number or a 0-d tensor, got shape {v.shape}")
    return v if v.dtype == x.dtype else layout.to(v, x.dtype)


@op(kernels=(), method=True, toplevel=True)
def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of input with the slices at index along dim set to value (a number or a 0-d
    tensor, which gets the sum of their gradient)."""
    x = as_tensor(input)
    idx = _vector_index(index, "index_fill")
    d = axis_index(dim, x.ndim)
    fill = layout.expand(_scalar_like(value, x, "index_fill"), _with_size(x.shape, d, len(idx)))
    return index_copy(x, d, _constant(idx), fill)


def _flat_positions(shape: tuple, key: Any) -> np.ndarray:
    """The flat element numbers x[key] selects (layout's, with PyTorch's errors)."""
    return layout._flat_index(shape, layout._unwrap_key(key))


def _put_flat(x: Tensor, pos: np.ndarray, values: Tensor, accumulate: bool) -> Tensor:
    """x with its elements at the flat positions pos set to (or, accumulate, increased by)
    values (pos's shape): a scatter into the flattened x."""
    flat = layout.reshape(x, (-1,))
    vals = layout.reshape(values, (-1,))
    out = _scatter(
        "index_put", flat, 0, pos.reshape(-1), vals, "sum" if accumulate else "none", True
    )
    return layout.reshape(out, x.shape)


@op(kernels=(), method=True, toplevel=True)
def index_put(
    input: Tensor, indices: Sequence[Any], values: Any, accumulate: bool = False
) -> Tensor:
    """A copy of input with input[indices] = values (values broadcast to the indexed shape;
    indices a tuple of index tensors or masks, as in input[indices]); accumulate adds
    instead, repeated indices summing."""
    x = as_tensor(input)
    if not isinstance(indices, (tuple, list)):
        raise TypeError(
            f"index_put(): indices must be a tuple of tensors, got {type(indices).__name__}"
        )
    pos = _flat_positions(x.shape, tuple(indices))
    v = values if isinstance(values, Tensor) else as_tensor(values, like=x)
    if v.dtype != x.dtype:
        v = layout.to(v, x.dtype)
    try:
        v = layout.expand(v, pos.shape)
    except ValueError:
        raise RuntimeError(
            f"index_put(): values of shape {v.shape} cannot be broadcast to the indexed shape "
            f"{pos.shape}"
        ) from None
    return _put_flat(x, pos, v, bool(accumulate))


def _mask_array(mask: Any, fn: str) -> np.ndarray:
    m = mask._array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"{fn}(): mask must be a bool tensor, got dtype {m.dtype}")
    return m


@op(kernels=(), method=True, toplevel=True)
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """A copy of input with value (a number or a 0-d tensor) where mask (broadcast to
    input's shape) is true."""
    x = as_tensor(input)
    m = _mask_array(mask, "masked_fill")
    if np.broadcast_shapes(m.shape, x.shape) != x.shape:
        raise RuntimeError(f"masked_fill(): mask {m.shape} does not broadcast to input {x.shape}")
    return elementwise.where(m, _scalar_like(value, x, "masked_fill"), x)


@op(kernels=(), method=True, toplevel=True)
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of input where mask is true, as a vector (input and mask broadcast)."""
    x = as_tensor(input)
    m = _mask_array(mask, "masked_select")
    shape = np.broadcast_shapes(x.shape, m.shape)
    return layout.getitem(layout.expand(x, shape), np.broadcast_to(m, shape))


@op(kernels=(), method=True, toplevel=True)
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of input whose elements where mask is true are source's first elements, in
    order (source needs at least as many); mask and input broadcast together, as PyTorch's
    (the in-place form keeps input's shape)."""
    x = as_tensor(input)
    src = as_tensor(source)
    m = _mask_array(mask, "masked_scatter")
    try:
        shape = np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise RuntimeError(
            f"masked_scatter(): mask {m.shape} and input {x.shape} do not broadcast"
        ) from None
    if shape != x.shape:
        x = layout.expand(x, shape)  # its gradient sums back over the broadcast dims
    if src.dtype != x.dtype:
        raise RuntimeError(f"masked_scatter(): self ({x.dtype}) and source ({src.dtype}) differ")
    pos = np.flatnonzero(np.broadcast_to(m, shape))
    if len(pos) > src.numel():
        raise RuntimeError(
            f"masked_scatter(): the mask selects {len(pos)} elements but source has only "
            f"{src.numel()}"
        )
    vals = layout.getitem(layout.reshape(src, (-1,)), slice(0, len(pos)))
    return _put_flat(x, pos, vals, False)


@op(kernels=(), method=True, toplevel=True)
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """The indices of input's nonzero elements: an (n, input.ndim) int64 tensor in C order,
    or (as_tuple) one int64 vector per dim (a 0-d input counts as a vector)."""
    arr = as_tensor(input)._array
    if as_tuple:
        return tuple(
            _constant(np.asarray(i, np.int64, order="C")) for i in np.nonzero(np.atleast_1d(arr))
        )
    return _constant(np.asarray(np.argwhere(arr), np.int64, order="C"))


@op(kernels=(), method=True, toplevel=True)
def argwhere(input: Tensor) -> Tensor:
    """nonzero(input): the (n, ndim) indices of the nonzero elements."""
    return nonzero(input)


@op(kernels=(), method=True, toplevel=True)
def take(input: Tensor, index: Tensor) -> Tensor:
    """input read as a vector at index (any shape; negative entries count from the end)."""
    x = as_tensor(input)
    idx = index_array(index, "take")
    n = x.numel()
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.reshape(-1)[np.argmax(((idx < -n) | (idx >= n)).reshape(-1))]
        raise IndexError(f"take(): index {int(bad)} is out of range for a tensor of {n} elements")
    flat = np.where(idx < 0, idx + n, idx).reshape(-1)
    y = index_select(layout.reshape(x, (-1,)), 0, _constant(flat))
    return layout.reshape(y, idx.shape)


@op(kernels=(), method=True, toplevel=True)
def take_along_dim(input: Tensor, indices: Tensor, dim: Any = None) -> Tensor:
    """gather with input and indices broadcast in every dim but dim; dim None: both read
    as vectors."""
    x = as_tensor(input)
    idx = index_array(indices, "take_along_dim", "indices")
    if dim is None:
        return gather(layout.reshape(x, (-1,)), 0, _constant(idx.reshape(-1)))
    if idx.ndim != x.ndim:
        raise RuntimeError(
            f"take_along_dim(): input {x.shape} and indices {idx.shape} must have the same "
            "number of dims"
        )
    d = axis_index(dim, x.ndim)
    try:
        other = np.broadcast_shapes(_with_size(x.shape, d, 1), _with_size(idx.shape, d, 1))
    except ValueError:
        raise RuntimeError(
            f"take_along_dim(): input {x.shape} and indices {idx.shape} do not broadcast "
            f"outside dim {d}"
        ) from None
    xb = layout.expand(x, _with_size(other, d, x.shape[d]))
    ib = np.broadcast_to(idx, _with_size(other, d, idx.shape[d]))
    return gather(xb, d, _constant(np.asarray(ib, order="C")))


@op(kernels=())
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot vectors of the class indices in tensor (a new last dim of num_classes;
    -1: one more than the largest index)."""
    idx = index_array(tensor, "one_hot", "tensor")
    if idx.size and idx.min() < 0:
        raise RuntimeError("one_hot: class values must be non-negative")
    n = int(num_classes)
    if n == -1:
        if not idx.size:
            raise RuntimeError(
                "one_hot: can not infer the total number of classes from an empty tensor"
            )
        n = int(idx.max()) + 1
    check_range(idx, n, -1)
    out = np.zeros(idx.shape + (n,), np.int64)
    np.put_along_axis(out, idx[..., None], 1, axis=-1)
    return _constant(out)
