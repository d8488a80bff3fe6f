"""Indexing by index tensors along one dim: gather, scatter (and its reductions),
index_select, index_add, index_copy.

NumPy twins of cpp/kernels/indexing. Every index is checked against its dim's size
first (IndexError naming the dim, the index and the size: Note [Index ranges])."""

import numpy as np

_IDENTITY = {"sum": 0, "mean": 0, "prod": 1}
_UFUNC = {
    "sum": np.add,
    "mean": np.add,
    "prod": np.multiply,
    "amax": np.maximum,
    "amin": np.minimum,
}


def _check(index, size, dim):
    index = np.asarray(index)
    bad = (index < 0) | (index >= size)
    if bad.any():
        v = int(index.reshape(-1)[int(np.argmax(bad.reshape(-1)))])
        raise IndexError(f"index {v} is out of bounds for dimension {dim} with size {size}")


def _size(shape, dim):
    return shape[dim] if len(shape) else 1


def _destinations(index, dim, x_shape):
    """The flat offsets in x (x_shape) of index's positions with `dim` replaced by the
    index: the places gather reads and scatter writes."""
    index = np.asarray(index, dtype=np.int64)
    _check(index, _size(x_shape, dim), dim)
    if index.ndim == 0:
        return index.reshape(1)
    coords = list(np.indices(index.shape, sparse=True))
    coords[dim] = index
    return np.ravel_multi_index(tuple(np.broadcast_arrays(*coords)), x_shape).reshape(-1)


def _within(a, shape):
    """a's leading block of `shape` (the positions an index of that shape covers), flat."""
    return np.asarray(a[tuple(slice(0, s) for s in shape)]).reshape(-1)


def gather_forward(x, dim, index):
    """out[p] = x[p with p[dim] = index[p]] (index's shape)"""
    d = _destinations(index, dim, x.shape)
    return x.reshape(-1)[d].reshape(np.shape(index))


def gather_backward(grad, dim, index, x_shape):
    """d/dx: grad scatter-added at the gathered places (repeats sum)"""
    x_shape = tuple(x_shape)
    d = _destinations(index, dim, x_shape)
    gx = np.zeros(int(np.prod(x_shape)), grad.dtype)
    np.add.at(gx, d, grad.reshape(-1))
    return gx.reshape(x_shape)


def scatter_forward(x, dim, index, src, reduce, include_self):
    """out = x, then out[p with p[dim] = index[p]] <- reduce(out there, src[p]) for every
    position p of index: 'none' writes (the last repeat wins), 'sum'/'prod'/'amax'/'amin'
    combine, 'mean' averages (integers rounded down); include_self false: the written places
    start from the reduction's identity, not x."""
    if reduce not in ("none", "sum", "prod", "mean", "amax", "amin"):
        raise ValueError(
            f"reduce must be 'none', 'sum', 'prod', 'mean', 'amax' or 'amin'; got {reduce!r}"
        )
    d = _destinations(index, dim, x.shape)
    s = _within(src, np.shape(index))
    out = np.array(x, copy=True).reshape(-1)
    if reduce == "none":
        out[d] = s  # repeated places: NumPy keeps the last
        return out.reshape(x.shape)
    if not include_self:
        if reduce in _IDENTITY:
            out[d] = _IDENTITY[reduce]
        else:  # amax/amin: start from the first source at each place
            out[d[::-1]] = s[::-1]
    _UFUNC[reduce].at(out, d, s)
    if reduce == "mean":
        n = np.bincount(d, minlength=out.size) + (1 if include_self else 0)
        hit = np.bincount(d, minlength=out.size) > 0
        if out.dtype.kind == "f":
            out[hit] = out[hit] / n[hit]
        else:
            out[hit] = np.floor_divide(out[hit], n[hit])
    return out.reshape(x.shape)


def scatter_backward(grad, x, dim, index, src, out, reduce, include_self):
    """(d/dx, d/dsrc) of scatter_forward (d/dsrc zero outside index's extent): 'none' and
    'sum' pass grad to the sources (x's written places get none, and 'sum' without
    include_self neither); 'mean' grad / count; 'prod' grad * (product of the others);
    'amax'/'amin' grad / (number of values equal to the result) to each of them."""
    d = _destinations(index, dim, x.shape)
    ishape = np.shape(index)
    g, y, xv = grad.reshape(-1), out.reshape(-1), x.reshape(-1)
    s = _within(src, ishape)
    hit = np.bincount(d, minlength=g.size) > 0
    gx = np.array(g, copy=True)
    if reduce in ("none", "sum"):
        gs = g[d]
        if reduce == "none" or not include_self:
            gx[hit] = 0
    elif reduce == "mean":
        n = np.bincount(d, minlength=g.size) + (1 if include_self else 0)
        gs = g[d] / n[d]
        gx[hit] = g[hit] / n[hit] if include_self else 0
    elif reduce == "prod":
        # the product of the others, computed directly (out / value fails at zeros)
        gs = np.empty(len(d), g.dtype)
        for k in range(len(d)):
            others = np.prod(s[(d == d[k]) & (np.arange(len(d)) != k)])
            gs[k] = g[d[k]] * others * (xv[d[k]] if include_self else 1)
        for p in np.flatnonzero(hit):
            gx[p] = g[p] * np.prod(s[d == p]) if include_self else 0
    else:  # amax, amin: split evenly among the ties
        ties = np.bincount(d, weights=(s == y[d]).astype(np.float64), minlength=g.size)
        self_tie = hit & include_self & (xv == y)
        ties = ties + self_tie
        gs = np.where(s == y[d], g[d] / np.maximum(ties[d], 1), 0)
        gx[hit] = np.where(self_tie[hit], g[hit] / np.maximum(ties[hit], 1), 0)
    gsrc = np.zeros(src.shape, grad.dtype)
    gsrc[tuple(slice(0, k) for k in ishape)] = gs.reshape(ishape)
    return gx.reshape(x.shape).astype(grad.dtype), gsrc


def _around(shape, dim):
    """shape as (outer, n, inner) around dim."""
    shape = tuple(shape)
    if not shape:
        return 1, 1, 1
    return int(np.prod(shape[:dim])), shape[dim], int(np.prod(shape[dim + 1 :]))


def _with_size(shape, dim, count):
    shape = list(shape)
    if shape:
        shape[dim] = count
    return tuple(shape)


def index_select_forward(x, dim, index):
    """out = the slices x[..., index[j], ...] along dim, for each j"""
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    _check(index, _size(x.shape, dim), dim)
    o, n, i = _around(x.shape, dim)
    y = x.reshape(o, n, i)[:, index, :]
    return np.asarray(y.reshape(_with_size(x.shape, dim, len(index))), order="C")


def index_select_backward(grad, dim, index, x_shape):
    """d/dx: each gradient slice added to the slice index[j] (repeats sum)"""
    return index_add_forward(np.zeros(tuple(x_shape), grad.dtype), dim, index, grad, 1.0)


def index_add_forward(x, dim, index, source, alpha):
    """out = x; out[..., index[j], ...] += alpha * source[..., j, ...] (repeats sum)"""
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    _check(index, _size(x.shape, dim), dim)
    o, n, i = _around(x.shape, dim)
    out = np.array(x, copy=True).reshape(o, n, i)
    add = source.reshape(o, len(index), i)
    if alpha != 1:
        add = add * np.asarray(alpha).astype(x.dtype)
    np.add.at(out, (slice(None), index), add.astype(x.dtype))
    return out.reshape(x.shape)


def index_add_backward(grad, dim, index, alpha):
    """d/dsource = alpha * grad's slices at index (d/dx = grad)"""
    gs = index_select_forward(grad, dim, index)
    return gs * np.asarray(alpha, grad.dtype) if alpha != 1 else gs


def index_copy_forward(x, dim, index, source):
    """out = x; out[..., index[j], ...] = source[..., j, ...] (the last repeat wins)"""
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    _check(index, _size(x.shape, dim), dim)
    o, n, i = _around(x.shape, dim)
    out = np.array(x, copy=True).reshape(o, n, i)
    src = source.reshape(o, len(index), i)
    for j, k in enumerate(index):
        out[:, k] = src[:, j]
    return out.reshape(x.shape)


def index_copy_backward(grad, dim, index):
    """(d/dx, d/dsource): grad with the copied-over slices zeroed, and grad's slices at
    index"""
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    _check(index, _size(grad.shape, dim), dim)
    o, n, i = _around(grad.shape, dim)
    gx = np.array(grad, copy=True).reshape(o, n, i)
    gx[:, index] = 0
    return gx.reshape(grad.shape), index_select_forward(grad, dim, index)
