"""Sorting along a dim: sort, and the scatter of gradients to the indices that sort, topk,
kthvalue, median, mode, cummax and cummin share.

NumPy twins of cpp/kernels/sort: each works along the last dim of x (Note [Row kernels] in
cpp/kernels/reduce.h)."""

import numpy as np


def sort_forward(rows, descending, k):
    """(values, indices) of the first k of each row sorted stably, ascending (descending),
    NaN largest"""
    if not 0 <= k <= rows.shape[-1]:
        raise IndexError(f"k={k} is out of range for rows of {rows.shape[-1]}")
    key = -_rank(rows) if descending else rows  # NumPy sorts NaN last
    idx = np.asarray(np.argsort(key, axis=-1, kind="stable")[..., :k], np.int64)
    return np.ascontiguousarray(np.take_along_axis(rows, idx, -1)), idx


def _rank(v):
    """Each value's rank along the last dim (NaN the largest; equal values share the rank
    of their first)."""
    order = np.argsort(v, axis=-1, kind="stable")
    s = np.take_along_axis(v, order, -1)
    new = np.ones(v.shape, bool)
    new[..., 1:] = ~(
        (s[..., 1:] == s[..., :-1]) | ((s[..., 1:] != s[..., 1:]) & (s[..., :-1] != s[..., :-1]))
    )
    first = np.maximum.accumulate(np.where(new, np.arange(v.shape[-1]), 0), axis=-1)
    ranks = np.empty(v.shape, np.int64)
    np.put_along_axis(ranks, order, first, -1)
    return ranks


def as_rows(a):
    """a (..., n) as a 2-d (rows, n) view (also when a is empty)."""
    return a.reshape(int(np.prod(a.shape[:-1])), a.shape[-1])


def sort_backward(grad, indices, n):
    """grad_x (last dim n) = 0, then grad_x[..., indices_j] += grad_j"""
    if np.any((indices < 0) | (indices >= n)):
        raise IndexError(f"an index is out of range for a dim of size {n}")
    gx = np.zeros(grad.shape[:-1] + (n,), grad.dtype)
    rows, g, idx = as_rows(gx), as_rows(grad), as_rows(indices)
    for r in range(rows.shape[0]):
        np.add.at(rows[r], idx[r], g[r])
    return gx
