"""2-D convolution (cross-correlation), NCHW, by im2col: the formula of seed 000 section 5.

y[n, o, i, j] = sum_{c, a, b} x_pad[n, g*Cg + c, i*sh + a*dh, j*sw + b*dw] * w[o, c, a, b] + bias[o]
"""

import numpy as np

from ._bf16 import bf16_round
from .activation import _fused_backward, _fused_forward, _fused_op


def _check(x, w, stride, padding, dilation, groups):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(
            f"conv2d expects input (N, C, H, W) and weight (C_out, C_in/groups, kH, "
            f"kW); got {x.shape} and {w.shape}"
        )
    if groups < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(
            f"conv2d: invalid groups={groups}, stride={stride}, padding={padding}, "
            f"dilation={dilation}"
        )
    if x.shape[1] % groups or w.shape[0] % groups or w.shape[1] * groups != x.shape[1]:
        raise ValueError(
            f"conv2d: weight {w.shape} with groups={groups} does not match input {x.shape}"
        )


def _cols(x, kh, kw, stride, padding, dilation):
    """(N, C, kh, kw, OH, OW) view-based im2col of the zero-padded input."""
    pt, pb, pl, pr = padding
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, c, hp, wp = xp.shape
    oh = (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"conv2d: kernel {kh}x{kw} is larger than the padded input {x.shape}")
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            h0, w0 = a * dilation[0], b * dilation[1]
            cols[:, :, a, b] = xp[
                :,
                :,
                h0 : h0 + stride[0] * (oh - 1) + 1 : stride[0],
                w0 : w0 + stride[1] * (ow - 1) + 1 : stride[1],
            ]
    return cols


def _operands(fn, bf16, *arrays):
    """The arrays as the products see them: rounded to bf16 under autocast (Note [Autocast];
    einsum sums in its own order, so the results are close to the kernel's, not its bits)"""
    if bf16 and arrays[0].dtype != np.float32:
        raise ValueError(f"{fn}: bf16 products take float32 operands, got {arrays[0].dtype}")
    return [bf16_round(a) for a in arrays] if bf16 else arrays


def conv2d_forward(x, w, b, stride, padding, dilation, groups, bf16=False, activation="none"):
    """act(conv(x, w) + b): activation 'none' or a fused one (conv then relu, as planned by
    pydl.compile)"""
    _check(x, w, stride, padding, dilation, groups)
    x, w = _operands("conv2d", bf16, x, w)
    cols = _cols(x, w.shape[2], w.shape[3], stride, padding, dilation)
    n, c, kh, kw, oh, ow = cols.shape
    cg, og = c // groups, w.shape[0] // groups
    cols = cols.reshape(n, groups, cg, kh, kw, oh, ow)
    wg = w.reshape(groups, og, cg, kh, kw)
    y = np.einsum("ngcabij,gocab->ngoij", cols, wg).reshape(n, w.shape[0], oh, ow)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return _fused_forward(activation, np.asarray(y, dtype=x.dtype, order="C"))


def conv2d_backward(
    grad,
    x,
    w,
    stride,
    padding,
    dilation,
    groups,
    need_x,
    need_w,
    has_bias,
    bf16=False,
    activation="none",
    act_x=None,
    act_y=None,
):
    """dW = sum dy * cols; dcols = W^T dy scattered back (col2im); db = sum of dy; then, with
    an activation, dx back through it from its input act_x and output act_y (an activation's
    backward after the convolution's, as planned by pydl.compile)"""
    if _fused_op(activation) is not None and (not need_x or act_x is None or act_y is None):
        raise ValueError(f"conv2d: activation {activation!r} needs need_x, act_x and act_y")
    _check(x, w, stride, padding, dilation, groups)
    grad_sum = grad  # the bias gradient sums the fp32 gradient
    grad, x, w = _operands("conv2d", bf16, grad, x, w)
    kh, kw = w.shape[2], w.shape[3]
    cols = _cols(x, kh, kw, stride, padding, dilation)
    n, c, _, _, oh, ow = cols.shape
    cg, og = c // groups, w.shape[0] // groups
    gg = grad.reshape(n, groups, og, oh, ow)
    gx = gw = gb = None
    if need_w:
        gw = np.einsum("ngoij,ngcabij->gocab", gg, cols.reshape(n, groups, cg, kh, kw, oh, ow))
        gw = np.asarray(gw.reshape(w.shape), dtype=w.dtype, order="C")
    if need_x:
        dcols = np.einsum("ngoij,gocab->ngcabij", gg, w.reshape(groups, og, cg, kh, kw))
        dcols = dcols.reshape(n, c, kh, kw, oh, ow)
        pt, pb, pl, pr = padding
        gxp = np.zeros((n, c, x.shape[2] + pt + pb, x.shape[3] + pl + pr), dtype=x.dtype)
        for a in range(kh):
            for b in range(kw):
                h0, w0 = a * dilation[0], b * dilation[1]
                gxp[
                    :,
                    :,
                    h0 : h0 + stride[0] * (oh - 1) + 1 : stride[0],
                    w0 : w0 + stride[1] * (ow - 1) + 1 : stride[1],
                ] += dcols[:, :, a, b]
        gx = np.asarray(gxp[:, :, pt : pt + x.shape[2], pl : pl + x.shape[3]], order="C")
        gx = _fused_backward(activation, gx, act_x, act_y, "conv2d")
    if has_bias:
        gb = np.asarray(grad_sum.sum(axis=(0, 2, 3)), dtype=grad_sum.dtype, order="C")
    return gx, gw, gb
