"""sum, mean, max over a tuple of axes."""

import numpy as np


def _kept(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def sum_forward(x, axes, keepdim):
    """sum over axes"""
    return np.asarray(np.sum(x, axis=tuple(axes), keepdims=keepdim), dtype=x.dtype, order="C")


def sum_backward(grad, x_shape, axes):
    """every element gets the gradient of its group"""
    g = np.reshape(grad, _kept(x_shape, axes))
    return np.asarray(np.broadcast_to(g, tuple(x_shape)), order="C")


def mean_forward(x, axes, keepdim):
    """mean over axes"""
    return np.asarray(np.mean(x, axis=tuple(axes), keepdims=keepdim), dtype=x.dtype, order="C")


def mean_backward(grad, x_shape, axes):
    """gradient / group size"""
    count = int(np.prod([x_shape[a] for a in axes])) if axes else 1
    return (sum_backward(grad, x_shape, axes) / count).astype(grad.dtype)


def max_forward(x, axes, keepdim):
    """maximum over axes (NaN propagates)"""
    if x.size == 0:
        raise ValueError(f"max of an empty tensor of shape {x.shape}")
    return np.asarray(np.max(x, axis=tuple(axes), keepdims=keepdim), dtype=x.dtype, order="C")


def max_backward(grad, x, out, axes):
    """gradient split evenly among the elements equal to the maximum"""
    kept = _kept(x.shape, axes)
    m = np.reshape(out, kept)
    mask = (x == m) | (np.isnan(x) & np.isnan(m))
    count = mask.sum(axis=tuple(axes), keepdims=True)
    return np.asarray(mask * (np.reshape(grad, kept) / count), dtype=grad.dtype, order="C")


# Row reductions (Note [Row kernels] in cpp/kernels/reduce.h): x's last dim is the row.


def var_forward(rows, correction):
    """(var, mean) of each row: var = sum (x - mean)^2 / max(0, n - correction)."""
    n = rows.shape[-1]
    mean = np.mean(rows, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.sum((rows - mean) ** 2, axis=-1) / max(0.0, n - correction)
    return np.asarray(var, rows.dtype), np.asarray(mean[..., 0], rows.dtype)


def var_backward(grad_var, grad_mean, rows, mean, correction):
    """d var / dx = 2 (x - mean) / max(0, n - correction); d mean / dx = 1 / n (a None
    gradient counts as zeros)."""
    n = rows.shape[-1]
    gx = np.zeros(rows.shape, rows.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        if grad_var is not None:
            gx += grad_var[..., None] * 2 * (rows - mean[..., None]) / max(0.0, n - correction)
        if grad_mean is not None:
            gx += grad_mean[..., None] / n
    return np.asarray(gx, rows.dtype)


def prod_forward(rows):
    """prod_i x[..., i]"""
    return np.asarray(np.prod(rows, axis=-1), rows.dtype)


def prod_backward(grad, rows):
    """d/dx_i = prod_{j != i} x_j (the product of the others, right where x has zeros)"""
    n = rows.shape[-1]
    gx = np.empty(rows.shape, rows.dtype)
    for i in range(n):
        gx[..., i] = np.prod(np.delete(rows, i, axis=-1), axis=-1)
    return np.asarray(gx * grad[..., None], rows.dtype)


def logsumexp_forward(rows):
    """log sum exp x = m + log sum exp(x - m), m = max x (an infinite or NaN m is the
    result)"""
    m = np.max(rows, axis=-1, keepdims=True, initial=-np.inf)
    finite = np.isfinite(m)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sum(np.exp(rows - np.where(finite, m, 0)), axis=-1, keepdims=True)
        out = np.where(finite, m + np.log(s), m)
    return np.asarray(out[..., 0], rows.dtype)


def logsumexp_backward(grad, rows, out):
    """d/dx = exp(x - out), softmax (NaN on rows of -inf, as PyTorch)"""
    with np.errstate(invalid="ignore"):
        return np.asarray(grad[..., None] * np.exp(rows - out[..., None]), rows.dtype)


def norm_forward(rows, p):
    """the vector p-norm of each row: max |x| (inf), min |x| (-inf), count of nonzeros (0),
    else (sum |x|^p)^(1/p)"""
    a = np.abs(rows)
    if p == np.inf:
        out = np.max(a, axis=-1, initial=0)
    elif p == -np.inf:
        out = np.min(a, axis=-1, initial=np.inf)
    elif p == 0:
        out = np.sum(a != 0, axis=-1)
    else:
        out = np.sum(a**p, axis=-1) ** (1 / p)
    return np.asarray(out, rows.dtype)


def norm_backward(grad, rows, out, p):
    """d/dx = sign(x) |x|^(p-1) / out^(p-1) (0 where out is 0 for p > 1); inf norms: sign(x)
    split evenly among the elements whose |x| is out; p = 0: 0"""
    a, s, o, g = np.abs(rows), np.sign(rows), out[..., None], grad[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 0:
            gx = np.zeros_like(rows)
        elif np.isinf(p):
            tied = a == o
            gx = g * s * tied / np.sum(tied, axis=-1, keepdims=True)
        elif p == 1:
            gx = g * s
        else:
            gx = g * s * a ** (p - 1) / o ** (p - 1)
            if p > 1:
                gx = np.where(o == 0, 0, gx)
    return np.asarray(gx, rows.dtype)
