"""Normalization (seed 000 section 3): x^ = (x - mean) / sqrt(var + eps), y = gamma x^ + beta,
with the fused backward dx = gamma invstd / M (M dy - sum dy - x^ sum dy x^)."""

import numpy as np

from .activation import _fused_forward, _fused_op


def _affine_shape(x):
    return (1, -1) + (1,) * (x.ndim - 2)


def batch_norm_forward(
    x, weight, bias, running_mean, running_var, training, momentum, eps, activation="none"
):
    """per channel over (N, *); running stats: (1 - m) r + m stat (unbiased variance); then
    the activation, if any (batch_norm then relu, as planned by pydl.compile)"""
    _fused_op(activation)  # before the running statistics change
    axes = (0,) + tuple(range(2, x.ndim))
    count = x.size // x.shape[1]
    if training and count <= 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {x.shape}"
        )
    if training:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        if running_mean is not None:
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean
            running_var[...] = (1 - momentum) * running_var + momentum * var * count / (count - 1)
    else:
        mean, var = running_mean.astype(x.dtype), running_var.astype(x.dtype)
    invstd = 1 / np.sqrt(var + eps)
    y = (x - mean.reshape(_affine_shape(x))) * invstd.reshape(_affine_shape(x))
    if weight is not None:
        y = y * weight.reshape(_affine_shape(x))
    if bias is not None:
        y = y + bias.reshape(_affine_shape(x))
    y = _fused_forward(activation, np.asarray(y, x.dtype, order="C"))
    return y, mean.astype(x.dtype), invstd.astype(x.dtype)


def batch_norm_backward(grad, x, training, weight, mean, invstd, need_x, need_weight, need_bias):
    axes = (0,) + tuple(range(2, x.ndim))
    shp = _affine_shape(x)
    xh = (x - mean.reshape(shp)) * invstd.reshape(shp)
    gw = np.asarray((grad * xh).sum(axis=axes), x.dtype) if need_weight else None
    gb = np.asarray(grad.sum(axis=axes), x.dtype) if need_bias else None
    gx = None
    if need_x:
        gamma = (weight if weight is not None else np.ones_like(mean)).reshape(shp)
        if training:
            count = x.size // x.shape[1]
            sg = grad.sum(axis=axes).reshape(shp)
            sgx = (grad * xh).sum(axis=axes).reshape(shp)
            gx = gamma * invstd.reshape(shp) / count * (count * grad - sg - xh * sgx)
        else:
            gx = grad * gamma * invstd.reshape(shp)
        gx = np.asarray(gx, x.dtype, order="C")
    return gx, gw, gb


def layer_norm_forward(x, d, weight, bias, eps):
    """statistics over the last d elements of each row"""
    x2 = x.reshape(-1, d)
    mean = x2.mean(axis=1)
    invstd = 1 / np.sqrt(x2.var(axis=1) + eps)
    y = (x2 - mean[:, None]) * invstd[:, None]
    if weight is not None:
        y = y * weight.reshape(1, d)
    if bias is not None:
        y = y + bias.reshape(1, d)
    return np.asarray(y.reshape(x.shape), x.dtype, order="C"), mean, invstd


def layer_norm_backward(
    grad, x, d, weight, mean, invstd, need_x, need_weight, need_bias, accumulate=None
):
    """with accumulate: the input's gradient plus it (layer_norm's backward then a residual
    stream's sum of gradients, as planned by pydl.compile)"""
    if accumulate is not None and (not need_x or accumulate.shape != x.shape):
        raise ValueError(
            f"layer_norm: accumulate {accumulate.shape} must match the input {x.shape}"
            " and need its gradient"
        )
    x2, g2 = x.reshape(-1, d), grad.reshape(-1, d)
    xh = (x2 - mean[:, None]) * invstd[:, None]
    gw = np.asarray((g2 * xh).sum(axis=0), x.dtype) if need_weight else None
    gb = np.asarray(g2.sum(axis=0), x.dtype) if need_bias else None
    gx = None
    if need_x:
        g = g2 * (weight.reshape(1, d) if weight is not None else 1)
        gx = (
            invstd[:, None]
            / d
            * (d * g - g.sum(axis=1, keepdims=True) - xh * (g * xh).sum(axis=1, keepdims=True))
        )
        gx = np.asarray(gx.reshape(x.shape), x.dtype, order="C")
        if accumulate is not None:
            gx = np.asarray(accumulate + gx, x.dtype, order="C")
    return gx, gw, gb


def _by_group(x, groups):
    """(N, C, ...) as (N, groups, C / groups * prod(...)): explicit sizes, for a -1 cannot be
    inferred when N is 0."""
    return x.reshape(x.shape[0], groups, x.shape[1] // groups * int(np.prod(x.shape[2:])))


def group_norm_forward(x, groups, weight, bias, eps):
    """statistics per (sample, group of channels); affine per channel"""
    n, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"group_norm: {c} channels are not divisible into {groups} groups")
    xg = _by_group(x, groups)
    mean = xg.mean(axis=2)
    invstd = 1 / np.sqrt(xg.var(axis=2) + eps)
    y = ((xg - mean[..., None]) * invstd[..., None]).reshape(x.shape)
    shp = _affine_shape(x)
    if weight is not None:
        y = y * weight.reshape(shp)
    if bias is not None:
        y = y + bias.reshape(shp)
    return np.asarray(y, x.dtype, order="C"), mean, invstd


def group_norm_backward(grad, x, groups, weight, mean, invstd, need_x, need_weight, need_bias):
    n, c = x.shape[:2]
    shp = _affine_shape(x)
    xh = ((_by_group(x, groups) - mean[..., None]) * invstd[..., None]).reshape(x.shape)
    axes = (0,) + tuple(range(2, x.ndim))
    gw = np.asarray((grad * xh).sum(axis=axes), x.dtype) if need_weight else None
    gb = np.asarray(grad.sum(axis=axes), x.dtype) if need_bias else None
    gx = None
    if need_x:
        g = _by_group(grad * (weight.reshape(shp) if weight is not None else 1), groups)
        xhg = _by_group(xh, groups)
        m = g.shape[2]
        gx = (
            invstd[..., None]
            / m
            * (m * g - g.sum(axis=2, keepdims=True) - xhg * (g * xhg).sum(axis=2, keepdims=True))
        )
        gx = np.asarray(gx.reshape(x.shape), x.dtype, order="C")
    return gx, gw, gb
