"""Sorting and selection along a dim (cpp/kernels/sort, pydl/reference/sort): sort,
argsort, msort, topk, kthvalue, median, nanmedian, mode, quantile, nanquantile; and,
without gradients, unique, unique_consecutive, bincount, histc, searchsorted, bucketize.

Note [Selected values]: the selecting ops sort the rows of their dim (moved last: Note
[Rows of the reduced dims] in reduce.py) with the one sort kernel and pick columns of the
sorted values and of the indices; each picked value's gradient goes to the element its
index names (sort_backward, a scatter along the row), as for max(x, dim). Ties get the
stable sort's order: the first of equal values comes first.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import return_types
from ..tensor import Tensor, _constant, as_tensor, record
from ._util import axis_index
from .layout import permute, reshape
from .reduce import _kernel, _max_backward
from .registry import op
from .scan import along_last, back_from_last
from .._dtypes import is_floating


def _scatter_backward(node: Any, g: np.ndarray) -> Any:
    indices, n = node.saved
    return (_kernel("sort_backward", g, indices, n),)


def _sorted_rows(x: Any, dim: Any, descending: bool, fn: str, k: Any = None) -> tuple:
    """(x, rows (dim last), d, values, indices) of the rows sorted along dim (their first
    k: topk)."""
    x = as_tensor(x)
    rows, d = along_last(x, dim, fn)
    k = rows.shape[-1] if k is None else _k_of(k, rows.shape[-1], fn, 0)
    values, indices = _kernel("sort_forward", rows._array, descending, k)
    return x, rows, d, values, indices


def _picked(
    x: Tensor, rows: Tensor, d: int, values: np.ndarray, indices: np.ndarray, keepdim: bool
) -> tuple[Tensor, Tensor]:
    """(values, indices) picked from the sorted rows (a last dim of k), the values recorded
    with the scatter to their indices (Note [Selected values]); the last dim moved back to
    d, or (keepdim False, k = 1) dropped."""
    indices = np.ascontiguousarray(indices)
    v = record(np.ascontiguousarray(values), (rows,), _scatter_backward, (indices, rows.shape[-1]))
    i = _constant(indices)
    if keepdim:
        return back_from_last(v, d, x.ndim), back_from_last(i, d, x.ndim)
    shape = rows.shape[:-1] if x.ndim else ()
    return reshape(v, shape), reshape(i, shape)


@op(kernels=("sort",), method=True, toplevel=True)
def sort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
    """`return_types.sort(values, indices)`: x sorted along `dim` (NaN as the largest value),
    stably whatever `stable` says. The gradient goes back to where each value came from."""
    x, rows, d, values, indices = _sorted_rows(x, dim, descending, "sort")
    return return_types.sort(*_picked(x, rows, d, values, indices, keepdim=True))


@op(kernels=("sort",), method=True, toplevel=True)
def argsort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """The int64 indices that sort x along `dim` (sort's indices). Not differentiable."""
    return sort(x, dim, descending, stable=stable).indices


@op(kernels=("sort",), method=True, toplevel=True)
def msort(x: Tensor) -> Tensor:
    """x sorted along its first dim (sort(x, 0).values)."""
    return sort(x, 0).values


def _k_of(k: Any, n: int, fn: str, low: int) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"{fn}(): argument 'k' must be int, not {type(k).__name__}")
    if not low <= k <= n:
        raise RuntimeError(f"{fn}(): selected number k={k} is out of range for a dim of size {n}")
    return int(k)


@op(kernels=("sort",), method=True, toplevel=True)
def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """`return_types.topk(values, indices)`: the k largest (smallest) elements along `dim`,
    in order (NaN is the largest value), by a partial sort. RuntimeError when k exceeds the
    dim, as PyTorch."""
    x, rows, d, values, indices = _sorted_rows(x, dim, largest, "topk", k)
    return return_types.topk(*_picked(x, rows, d, values, indices, keepdim=True))


def _column(
    name: str, x: Any, dim: Any, keepdim: bool, column: Callable[[np.ndarray, int], Any]
) -> Any:
    """The return_types.<name>(values, indices) of one column of the rows sorted ascending
    along dim: column(sorted values, n) gives its position per row."""
    x, rows, d, values, indices = _sorted_rows(x, dim, False, name)
    n = rows.shape[-1]
    if n == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    at = np.expand_dims(np.asarray(column(values, n), np.int64), -1)
    at = np.broadcast_to(at, values.shape[:-1] + (1,))
    picked = np.take_along_axis(values, at, -1), np.take_along_axis(indices, at, -1)
    return getattr(return_types, name)(*_picked(x, rows, d, *picked, keepdim=keepdim))


@op(kernels=("sort",), method=True, toplevel=True)
def kthvalue(x: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """`return_types.kthvalue(values, indices)`: the k-th smallest element along `dim` (k
    from 1) and its index."""

    def column(v: np.ndarray, n: int) -> int:
        return _k_of(k, n, "kthvalue", 1) - 1

    return _column("kthvalue", x, dim, keepdim, column)


def _nan_count(v: np.ndarray) -> np.ndarray:
    return np.sum(np.isnan(v), axis=-1) if is_floating(v.dtype) else np.zeros(v.shape[:-1], int)


def _no_element_backward(node: Any, g: np.ndarray) -> Any:
    return (np.zeros(node.inputs[0].shape, g.dtype),)


def _median_of_all(x: Any, nan: bool) -> Tensor:
    """median(x) / nanmedian(x) without a dim: the lower median of all elements, whose
    gradient, as PyTorch's, is split evenly among the elements equal to it (the NaNs when
    it is NaN): amax's rule and kernel (Note [max with a dim])."""
    x = as_tensor(x)
    if x._array.size == 0:  # NaN, with the (empty) gradient of no element
        y = np.full((), np.nan if is_floating(x.dtype) else 0, x.dtype)
        return record(y, (x,), _no_element_backward, reads=False)
    flat = _constant(np.ascontiguousarray(x._array).reshape(-1))
    y = np.asarray((nanmedian if nan else median)(flat, 0).values._array)
    return record(y, (x,), _max_backward, (tuple(range(x.ndim)), y))


@op(kernels=("sort", "max"), method=True, toplevel=True)
def median(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median: `median(x)` of all elements (a 0-d tensor; its gradient split
    among the elements equal to it), or with a dim `return_types.median(values, indices)`.
    A row holding NaN has median NaN (at its first NaN)."""
    if dim is None:
        return _median_of_all(x, nan=False)
    # NaN sorts last: a row with c NaNs has its first NaN at n - c.
    return _column(
        "median", x, dim, keepdim,
        lambda v, n: np.where(_nan_count(v) > 0, n - _nan_count(v), (n - 1) // 2),
    )  # fmt: skip


@op(kernels=("sort", "max"), method=True, toplevel=True)
def nanmedian(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """median ignoring NaN: the lower median of each row's other elements (NaN where all are
    NaN)."""
    if dim is None:
        return _median_of_all(x, nan=True)
    return _column(
        "nanmedian", x, dim, keepdim,
        lambda v, n: np.maximum(n - _nan_count(v) - 1, 0) // 2,
    )  # fmt: skip


def _equal_neighbours(s: np.ndarray) -> np.ndarray:
    """s[..., i] == s[..., i - 1] (NaN equal to NaN), for i >= 1."""
    a, b = s[..., 1:], s[..., :-1]
    same = a == b
    if is_floating(s.dtype):
        same |= np.isnan(a) & np.isnan(b)
    return same


def _mode_column(v: np.ndarray, n: int) -> np.ndarray:
    """The position, in each sorted row, of the last element of its first longest run of
    equal values (the smallest most frequent value, at its last index in x)."""
    start = np.ones(v.shape, bool)
    start[..., 1:] = ~_equal_neighbours(v)
    pos = np.arange(n)
    run_start = np.maximum.accumulate(np.where(start, pos, 0), axis=-1)
    return np.argmax(pos - run_start, axis=-1)


@op(kernels=("sort",), method=True, toplevel=True)
def mode(x: Tensor, dim: int = -1, keepdim: bool = False) -> Any:
    """`return_types.mode(values, indices)`: the most frequent value along `dim` (the
    smallest of equally frequent ones) and its last index."""
    return _column("mode", x, dim, keepdim, _mode_column)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_backward(node: Any, g: np.ndarray) -> Any:
    indices, weights, n = node.saved  # each quantile's two neighbours, last dim 2k
    g2 = np.concatenate([g, g], axis=-1) * weights
    return (_kernel("sort_backward", np.asarray(g2, g.dtype), indices, n),)


def _quantile(
    fn: str, x: Any, q: Any, dim: Any, keepdim: bool, interpolation: str, ignore_nan: bool
) -> Tensor:
    """quantile / nanquantile: the sorted rows' values at q (n - 1) (n: the row's non-NaN
    count for nanquantile), between neighbours as `interpolation` says; a gradient of
    (1 - w, w) to the two neighbours (Note [Selected values])."""
    x = as_tensor(x)
    if not is_floating(x.dtype):
        raise RuntimeError(f"{fn}() input tensor must be either float or double dtype")
    if x._array.size == 0:
        raise RuntimeError(f"{fn}() input tensor must be non-empty")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"{fn}() interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}"
        )
    qa = np.asarray(q._array if isinstance(q, Tensor) else q, np.float64)
    if qa.ndim > 1:
        raise RuntimeError(f"{fn}() q must be a scalar or 1D tensor, got shape {qa.shape}")
    if not np.all((qa >= 0) & (qa <= 1)):
        raise RuntimeError(f"{fn}() q must be in the range [0, 1] but got {qa.tolist()}")
    src, d = (reshape(x, (-1,)), 0) if dim is None else (x, dim)
    rows, d = along_last(src, d, fn)
    n = rows.shape[-1]
    values, indices = _kernel("sort_forward", rows._array, False, n)
    nans = _nan_count(values)[..., None]
    count = n - nans if ignore_nan else np.full(nans.shape, n)
    pos = qa.reshape(-1) * (np.maximum(count, 1) - 1)  # (rows..., k)
    lo, hi = np.floor(pos), np.ceil(pos)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = np.round(pos)  # half to even, as PyTorch
    w = np.full(pos.shape, 0.5) if interpolation == "midpoint" else pos - lo
    if not ignore_nan:  # NaN sorts last: a row holding one has quantiles NaN
        lo, hi = np.where(nans > 0, n - 1, lo), np.where(nans > 0, n - 1, hi)
    lo, hi = lo.astype(np.int64), hi.astype(np.int64)
    v_lo, v_hi = np.take_along_axis(values, lo, -1), np.take_along_axis(values, hi, -1)
    out = np.asarray(v_lo + w * (v_hi - v_lo), x.dtype)
    neighbours = np.concatenate(
        [np.take_along_axis(indices, lo, -1), np.take_along_axis(indices, hi, -1)], axis=-1
    )
    weights = np.concatenate([1 - w, w], axis=-1)
    y = record(out, (rows,), _quantile_backward, (neighbours, weights, n))
    kept = list(y.shape[:-1])
    if keepdim and x.ndim:
        kept = [1] * x.ndim if dim is None else kept[:d] + [1] + kept[d:]
    if qa.ndim == 0:
        return reshape(y, tuple(kept))
    if y.ndim > 1:
        y = permute(y, [y.ndim - 1] + list(range(y.ndim - 1)))
    return reshape(y, (len(qa),) + tuple(kept))


@op(kernels=("sort",), method=True, toplevel=True)
def quantile(
    x: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """The q-th quantiles (q a float or a 1-d tensor in [0, 1]: a leading dim of its size)
    of x along `dim` (of all elements when None), interpolating between the sorted values
    as `interpolation` says (linear, lower, higher, midpoint, nearest); NaN where a row
    holds NaN."""
    return _quantile("quantile", x, q, dim, keepdim, interpolation, ignore_nan=False)


@op(kernels=("sort",), method=True, toplevel=True)
def nanquantile(
    x: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """quantile ignoring NaN (NaN where a row holds only NaN)."""
    return _quantile("nanquantile", x, q, dim, keepdim, interpolation, ignore_nan=True)


# ----- not differentiable: NumPy on both backends --------------------------------------------


def _unique_result(values: np.ndarray, inverse: Any, counts: Any, ret_inv: bool, ret_cnt: bool):
    out = [_constant(np.ascontiguousarray(values))]
    if ret_inv:
        out.append(_constant(np.asarray(inverse, np.int64)))
    if ret_cnt:
        out.append(_constant(np.asarray(counts, np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@op(kernels=(), method=True, toplevel=True)
def unique(
    x: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct elements of x, sorted (or the distinct slices along `dim`); with
    `return_inverse`, each element's (slice's) position among them, shaped as x (as dim);
    with `return_counts`, how often each occurs. Not differentiable."""
    a = as_tensor(x)._array
    if dim is not None:
        d = axis_index(dim, a.ndim)
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d)
        inverse = inverse.reshape(a.shape[d])
    else:
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(a.shape)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


@op(kernels=(), method=True, toplevel=True)
def unique_consecutive(
    x: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    """x with each run of equal consecutive elements (slices along `dim`) kept once; the
    inverse and the counts as unique's. Not differentiable."""
    a = as_tensor(x)._array
    if dim is None:
        rows, shape = a.reshape(-1, 1), a.shape
    else:
        d = axis_index(dim, a.ndim)
        rows, shape = np.moveaxis(a, d, 0).reshape(a.shape[d] if a.ndim else 1, -1), None
    new = np.ones(rows.shape[0], bool)
    if rows.shape[0] > 1:
        same = rows[1:] == rows[:-1]
        if is_floating(rows.dtype):
            same |= np.isnan(rows[1:]) & np.isnan(rows[:-1])
        new[1:] = ~np.all(same, axis=1)
    inverse = np.cumsum(new) - 1
    counts = np.diff(np.append(np.flatnonzero(new), rows.shape[0]))
    if dim is None:
        values = a.reshape(-1)[new]
        inverse = inverse.reshape(shape)
    else:
        values = np.moveaxis(np.compress(new, np.moveaxis(a, d, 0), axis=0), 0, d)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


@op(kernels=(), method=True, toplevel=True)
def bincount(x: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Counts of each value of the 1-d non-negative integer tensor x (length max(x) + 1, at
    least `minlength`); with `weights`, their sums instead (float32 for float32 weights,
    else float64, as PyTorch). Not differentiable."""
    a = as_tensor(x)._array
    if a.ndim != 1 or a.dtype.kind not in "iub":
        raise RuntimeError(
            f"bincount only supports 1-d non-negative integral inputs, got shape {a.shape} "
            f"of dtype {a.dtype}"
        )
    if a.size and a.min() < 0:
        raise RuntimeError("bincount(): the input must hold non-negative integers")
    if minlength < 0:
        raise RuntimeError(f"bincount(): minlength should be >= 0, got {minlength}")
    if weights is None:
        return _constant(np.bincount(a, minlength=minlength).astype(np.int64))
    w = as_tensor(weights)._array
    if w.shape != a.shape:
        raise RuntimeError(
            f"bincount(): weights should have the input's shape {a.shape}, got {w.shape}"
        )
    dt = w.dtype if w.dtype == np.float32 else np.float64
    return _constant(np.bincount(a, weights=w, minlength=minlength).astype(dt))


@op(kernels=(), method=True, toplevel=True)
def histc(x: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """A histogram of x's elements in `bins` equal bins over [min, max] (x's own range when
    both are 0); elements outside are ignored. Not differentiable."""
    a = as_tensor(x)._array
    if not is_floating(a.dtype):
        raise RuntimeError(f"histc(): input dtype must be floating point, got {a.dtype}")
    if bins <= 0:
        raise RuntimeError(f"histc(): bins must be > 0, got {bins}")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError(f"histc(): max must be larger than min, got min={lo}, max={hi}")
    if lo == hi and a.size:
        lo, hi = float(np.min(a)), float(np.max(a))
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"histc(): range of [{lo}, {hi}] is not finite")
    inside = a[(a >= lo) & (a <= hi)].astype(np.float64)
    # PyTorch's bin: floor((v - lo) * bins / (hi - lo)), the top edge in the last bin
    idx = np.minimum(((inside - lo) * bins / (hi - lo)).astype(np.int64), bins - 1)
    return _constant(np.bincount(idx, minlength=bins).astype(a.dtype))


def _search(
    fn: str, boundaries: np.ndarray, values: np.ndarray, right: bool, out_int32: bool
) -> Tensor:
    side = "right" if right else "left"
    if boundaries.ndim <= 1:
        out = np.searchsorted(boundaries.reshape(-1), values, side=side)
    else:
        if boundaries.shape[:-1] != values.shape[:-1]:
            raise RuntimeError(
                f"{fn}(): boundaries {boundaries.shape} and input {values.shape} must have the "
                "same leading dims"
            )
        b2, v2 = boundaries.reshape(-1, boundaries.shape[-1]), values.reshape(-1, values.shape[-1])
        out = np.stack([np.searchsorted(b, v, side=side) for b, v in zip(b2, v2)])
        out = out.reshape(values.shape)
    return _constant(np.asarray(out, np.int32 if out_int32 else np.int64))


@op(kernels=(), toplevel=True)
def searchsorted(
    sorted_sequence: Tensor,
    input: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Tensor | None = None,
) -> Tensor:
    """For each value of `input`, the index in the innermost dim of `sorted_sequence` where
    it would be inserted to keep it sorted: before equal elements, after them when
    `right` (or side='right'). `sorter` sorts an unsorted sequence. Not differentiable."""
    seq = as_tensor(sorted_sequence)._array
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted(): side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted(): side='left' contradicts right=True")
        right = side == "right"
    if sorter is not None:
        seq = np.take_along_axis(seq, as_tensor(sorter)._array.astype(np.int64), -1)
    values = np.asarray(getattr(input, "_array", input))
    if values.ndim == 0 and seq.ndim > 1:
        raise RuntimeError("searchsorted(): a scalar input needs a 1-d sorted_sequence")
    return _search("searchsorted", seq, values, right, out_int32)


@op(kernels=(), toplevel=True)
def bucketize(
    input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """For each element of `input`, the index of its bucket among the 1-d sorted
    `boundaries`: i with boundaries[i-1] < v <= boundaries[i] (right=False) or
    boundaries[i-1] <= v < boundaries[i] (right=True). Not differentiable."""
    b = as_tensor(boundaries)._array
    if b.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries must be 1-d, got shape {b.shape}")
    return _search("bucketize", b, np.asarray(getattr(input, "_array", input)), right, out_int32)
