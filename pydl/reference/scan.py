"""Cumulative scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

NumPy twins of cpp/kernels/scan: each scans the last dim of x (Note [Row kernels] in
cpp/kernels/reduce.h)."""

import numpy as np

from .sort import as_rows, sort_backward


def cumsum_forward(rows):
    """out_i = sum_{j <= i} x_j"""
    return np.asarray(np.cumsum(rows, axis=-1), rows.dtype)


def cumsum_backward(grad):
    """d/dx_i = sum_{j >= i} grad_j (a reversed cumsum)"""
    return np.asarray(np.flip(np.cumsum(np.flip(grad, -1), axis=-1), -1), grad.dtype)


def cumprod_forward(rows):
    """out_i = prod_{j <= i} x_j"""
    return np.asarray(np.cumprod(rows, axis=-1), rows.dtype)


def cumprod_backward(grad, rows):
    """d/dx_i = sum_{j >= i} grad_j prod_{k <= j, k != i} x_k (no division: right with zeros)"""
    n = rows.shape[-1]
    gx = np.zeros(rows.shape, rows.dtype)
    for i in range(n):
        others = rows.copy()
        others[..., i] = 1
        gx[..., i] = np.sum(grad[..., i:] * np.cumprod(others, axis=-1)[..., i:], axis=-1)
    return gx


def cummax_forward(rows, largest):
    """(values, indices): the running maximum (minimum when not largest) and its position,
    the last of tied extremes; from a NaN on, NaN at the last NaN's position (PyTorch's)"""
    values, indices = np.empty(rows.shape, rows.dtype), np.zeros(rows.shape, np.int64)
    flat_x, flat_v, flat_i = as_rows(rows), as_rows(values), as_rows(indices)
    for r in range(flat_x.shape[0]):
        best, at = None, 0
        for i, v in enumerate(flat_x[r]):
            if best is None or v != v or (best == best and (v >= best if largest else v <= best)):
                best, at = v, i
            flat_v[r, i], flat_i[r, i] = best, at
    return values, indices


def cummax_backward(grad, indices):
    """each grad_j goes to the element indices_j names"""
    return sort_backward(grad, indices, grad.shape[-1])


def logcumsumexp_forward(rows):
    """out_i = log sum_{j <= i} exp x_j"""
    return np.asarray(np.logaddexp.accumulate(rows, axis=-1), rows.dtype)


def logcumsumexp_backward(grad, rows, out):
    """d/dx_i = sum_{j >= i} grad_j exp(x_i - out_j)"""
    n = rows.shape[-1]
    gx = np.zeros(rows.shape, rows.dtype)
    with np.errstate(invalid="ignore"):
        for i in range(n):
            gx[..., i] = np.sum(grad[..., i:] * np.exp(rows[..., i : i + 1] - out[..., i:]), -1)
    return gx
