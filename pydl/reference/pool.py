"""2-D pooling over (N, C, H, W) (seed 000 section 6): max, average, adaptive average."""

import numpy as np

from .activation import _fused_backward


def _out(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    if out < 1:
        raise ValueError(f"pooling kernel {k} is larger than the padded input size {n}")
    return out


def _windows(h, w, kernel, stride, padding, dilation, ceil_mode):
    """For each output (i, j): the in-bounds flat indices of its window."""
    oh = _out(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = _out(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    wins = {}
    for i in range(oh):
        rows = [i * stride[0] - padding[0] + a * dilation[0] for a in range(kernel[0])]
        for j in range(ow):
            cols = [j * stride[1] - padding[1] + b * dilation[1] for b in range(kernel[1])]
            wins[i, j] = [r * w + c for r in rows if 0 <= r < h for c in cols if 0 <= c < w]
    return oh, ow, wins


def maxpool2d_forward(x, kernel, stride, padding, dilation, ceil_mode, save=True):
    """y = max over each window (padding is -inf); also the flat argmax in the plane, for
    the backward (None unless save)"""
    n, c, h, w = x.shape
    oh, ow, wins = _windows(h, w, kernel, stride, padding, dilation, ceil_mode)
    flat = x.reshape(n, c, h * w)
    y = np.empty((n, c, oh, ow), x.dtype)
    idx = np.empty((n, c, oh, ow), np.int64)
    for (i, j), members in wins.items():
        vals = flat[:, :, members]
        k = np.argmax(vals, axis=2)  # first maximum; a NaN counts as the maximum
        idx[:, :, i, j] = np.asarray(members)[k]
        y[:, :, i, j] = np.take_along_axis(vals, k[..., None], axis=2)[..., 0]
    return y, (idx if save else None)


def maxpool2d_backward(
    grad,
    indices,
    x_shape,
    kernel,
    stride,
    padding,
    dilation,
    ceil_mode,
    activation="none",
    act_x=None,
    act_y=None,
):
    """the gradient goes to each window's maximum (overlapping windows add); then, with an
    activation, back through it from its input act_x and output act_y (an activation's
    backward after the pool's, as planned by pydl.compile)"""
    n, c, h, w = x_shape
    gx = np.zeros((n * c, h * w), grad.dtype)
    rows = np.repeat(np.arange(n * c), indices.shape[2] * indices.shape[3])  # N or C may be 0
    np.add.at(gx, (rows, indices.reshape(-1)), grad.reshape(-1))
    return _fused_backward(activation, gx.reshape(x_shape), act_x, act_y, "max_pool2d")


def _avg_windows(h, w, kernel, stride, padding, ceil_mode, count_include_pad):
    oh = _out(h, kernel[0], stride[0], padding[0], 1, ceil_mode)
    ow = _out(w, kernel[1], stride[1], padding[1], 1, ceil_mode)
    wins = {}
    for i in range(oh):
        h0 = i * stride[0] - padding[0]
        h1 = min(h0 + kernel[0], h + padding[0])
        for j in range(ow):
            w0 = j * stride[1] - padding[1]
            w1 = min(w0 + kernel[1], w + padding[1])
            padded = (h1 - h0) * (w1 - w0)
            rs, cs = range(max(h0, 0), min(h1, h)), range(max(w0, 0), min(w1, w))
            members = [r * w + cc for r in rs for cc in cs]
            wins[i, j] = (members, padded if count_include_pad else len(members))
    return oh, ow, wins


def avgpool2d_forward(x, kernel, stride, padding, ceil_mode, count_include_pad):
    """y = mean over each window (divisor counts padding when count_include_pad)"""
    n, c, h, w = x.shape
    oh, ow, wins = _avg_windows(h, w, kernel, stride, padding, ceil_mode, count_include_pad)
    flat = x.reshape(n, c, h * w)
    y = np.empty((n, c, oh, ow), x.dtype)
    for (i, j), (members, divisor) in wins.items():
        y[:, :, i, j] = flat[:, :, members].sum(axis=2) / divisor
    return y


def avgpool2d_backward(grad, x_shape, kernel, stride, padding, ceil_mode, count_include_pad):
    """each window's gradient spread evenly over its members"""
    n, c, h, w = x_shape
    _, _, wins = _avg_windows(h, w, kernel, stride, padding, ceil_mode, count_include_pad)
    gx = np.zeros((n, c, h * w), grad.dtype)
    for (i, j), (members, divisor) in wins.items():
        gx[:, :, members] += (grad[:, :, i, j] / divisor)[..., None]
    return gx.reshape(x_shape)


def _adaptive_bounds(n, out):
    return [(i * n // out, -(-(i + 1) * n // out)) for i in range(out)]


def adaptive_avgpool2d_forward(x, out_size):
    """cell (i, j) averages rows [floor(i H / oh), ceil((i + 1) H / oh)) and likewise columns"""
    n, c, h, w = x.shape
    y = np.empty((n, c) + tuple(out_size), x.dtype)
    for i, (r0, r1) in enumerate(_adaptive_bounds(h, out_size[0])):
        for j, (c0, c1) in enumerate(_adaptive_bounds(w, out_size[1])):
            y[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y


def adaptive_avgpool2d_backward(grad, x_shape):
    n, c, h, w = x_shape
    gx = np.zeros(x_shape, grad.dtype)
    oh, ow = grad.shape[2:]
    for i, (r0, r1) in enumerate(_adaptive_bounds(h, oh)):
        for j, (c0, c1) in enumerate(_adaptive_bounds(w, ow)):
            gx[:, :, r0:r1, c0:c1] += (grad[:, :, i, j] / ((r1 - r0) * (c1 - c0)))[..., None, None]
    return gx
