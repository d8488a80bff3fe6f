"""Transposed 2-D convolution, NCHW: the adjoint of conv2d (Note [Transposed convolution] in
cpp/kernels/conv_transpose.h). With Ci = C_in / groups and Co = C_out / groups, every input
pixel is scattered through the kernel:

y[n, g*Co + o, i*sh - ph + a*dh, j*sw - pw + b*dw] += x[n, g*Ci + c, i, j] * w[g*Ci + c, o, a, b]

plus bias[g*Co + o]; positions outside [0, oH) x [0, oW) are dropped, where
oH = (H - 1)*sh - 2*ph + dh*(kH - 1) + oph + 1 (and likewise oW). Its derivatives gather
from the same positions (dy is 0 outside the output):

dx[n, g*Ci + c, i, j] = sum_{o, a, b} dy[n, g*Co + o, i*sh - ph + a*dh, j*sw - pw + b*dw] * w[g*Ci + c, o, a, b]
dw[g*Ci + c, o, a, b] = sum_{n, i, j} x[n, g*Ci + c, i, j] * dy[n, g*Co + o, i*sh - ph + a*dh, j*sw - pw + b*dw]
db[o] = sum_{n, i, j} dy[n, o, i, j]
"""  # noqa: E501

import numpy as np

from .conv import _operands


def _check(x, w, stride, padding, output_padding, dilation, groups):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(
            f"conv_transpose2d expects input (N, C_in, H, W) and weight (C_in, "
            f"C_out/groups, kH, kW); got {x.shape} and {w.shape}"
        )
    if groups < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(
            f"conv_transpose2d: invalid groups={groups}, stride={stride}, "
            f"padding={padding}, dilation={dilation}"
        )
    for op, s, d in zip(output_padding, stride, dilation):
        if op < 0 or (op >= s and op >= d):
            raise ValueError(
                f"conv_transpose2d: output_padding {tuple(output_padding)} must be >= 0 and "
                f"smaller than either stride {tuple(stride)} or dilation {tuple(dilation)}"
            )
    if w.shape[0] % groups or w.shape[0] != x.shape[1]:
        raise ValueError(
            f"conv_transpose2d: weight {w.shape} with groups={groups} does not match input "
            f"{x.shape}"
        )
    if min(w.shape[2:]) < 1 or min(x.shape[2:]) < 1:
        raise ValueError(f"conv_transpose2d: empty kernel {w.shape} or input {x.shape}")
    out = _out_size(x.shape, w.shape, stride, padding, output_padding, dilation)
    if min(out) < 1:
        raise ValueError(
            f"conv_transpose2d: the output {out} of input {x.shape} and weight {w.shape} is "
            f"too small (padding {tuple(padding)})"
        )
    return out


def _out_size(xs, ws, stride, padding, output_padding, dilation):
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(xs[2:], ws[2:], stride, padding, output_padding, dilation)
    )


def _frame(x, w, stride, padding, output_padding, dilation):
    """The extent of the uncropped output: every position i*s + a*d, and the output's
    [p, p + oH), which reaches past them by output_padding - padding when that is > 0."""
    return tuple(
        max((n - 1) * s + d * (k - 1) + 1, p + o)
        for n, k, s, p, d, o in zip(
            x.shape[2:],
            w.shape[2:],
            stride,
            padding,
            dilation,
            _out_size(x.shape, w.shape, stride, padding, output_padding, dilation),
        )
    )


def _tap(a, b, h, wd, stride, dilation):
    """The frame positions (i*sh + a*dh, j*sw + b*dw) of tap (a, b), as slices."""
    return (
        slice(a * dilation[0], a * dilation[0] + stride[0] * (h - 1) + 1, stride[0]),
        slice(b * dilation[1], b * dilation[1] + stride[1] * (wd - 1) + 1, stride[1]),
    )


def conv_transpose2d_forward(
    x, w, b, stride, padding, output_padding, dilation, groups, bf16=False
):
    oh, ow = _check(x, w, stride, padding, output_padding, dilation, groups)
    x, w = _operands("conv_transpose2d", bf16, x, w)
    n, c, h, wd = x.shape
    _, co, kh, kw = w.shape
    ci = c // groups
    taps = np.einsum(
        "ngcij,gcoab->ngoabij", x.reshape(n, groups, ci, h, wd), w.reshape(groups, ci, co, kh, kw)
    ).reshape(n, groups * co, kh, kw, h, wd)
    frame = np.zeros((n, groups * co) + _frame(x, w, stride, padding, output_padding, dilation))
    frame = frame.astype(np.result_type(x, w))
    for a in range(kh):
        for b_ in range(kw):
            rows, cols = _tap(a, b_, h, wd, stride, dilation)
            frame[:, :, rows, cols] += taps[:, :, a, b_]
    y = frame[:, :, padding[0] : padding[0] + oh, padding[1] : padding[1] + ow]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return np.asarray(y, dtype=x.dtype, order="C")


def conv_transpose2d_backward(
    grad, x, w, stride, padding, output_padding, dilation, groups, need_x, need_w, has_bias,
    bf16=False,
):  # fmt: skip
    """dx and dw gather dy at the positions the forward scattered to; db sums dy."""
    oh, ow = _check(x, w, stride, padding, output_padding, dilation, groups)
    grad_sum = grad  # the bias gradient sums the fp32 gradient
    grad, x, w = _operands("conv_transpose2d", bf16, grad, x, w)
    n, c, h, wd = x.shape
    _, co, kh, kw = w.shape
    ci = c // groups
    frame = np.zeros((n, groups * co) + _frame(x, w, stride, padding, output_padding, dilation))
    frame = frame.astype(grad.dtype)
    frame[:, :, padding[0] : padding[0] + oh, padding[1] : padding[1] + ow] = grad
    taps = np.empty((n, groups * co, kh, kw, h, wd), dtype=grad.dtype)
    for a in range(kh):
        for b_ in range(kw):
            rows, cols = _tap(a, b_, h, wd, stride, dilation)
            taps[:, :, a, b_] = frame[:, :, rows, cols]
    taps = taps.reshape(n, groups, co, kh, kw, h, wd)
    xg, wg = x.reshape(n, groups, ci, h, wd), w.reshape(groups, ci, co, kh, kw)
    gx = gw = gb = None
    if need_x:
        gx = np.asarray(
            np.einsum("ngoabij,gcoab->ngcij", taps, wg).reshape(x.shape), dtype=x.dtype, order="C"
        )
    if need_w:
        gw = np.asarray(
            np.einsum("ngcij,ngoabij->gcoab", xg, taps).reshape(w.shape), dtype=w.dtype, order="C"
        )
    if has_bias:
        gb = np.asarray(grad_sum.sum(axis=(0, 2, 3)), dtype=grad_sum.dtype, order="C")
    return gx, gw, gb
