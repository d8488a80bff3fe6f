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
