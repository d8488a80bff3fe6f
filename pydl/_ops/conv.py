"""Convolutions over NCHW / NCL inputs (cpp/kernels/conv, pydl/reference/conv)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _capture
from .. import backend as _b
from ..amp import bf16_kwargs
from ..tensor import Tensor, as_tensor, record
from .activation import int_arg, int_tuple_arg
from .linear import check_operands
from .layout import cat, getitem, permute, reshape, squeeze, stack, unsqueeze
from .registry import op


def _conv_padding(padding: Any, kernel: tuple, dilation: tuple, stride: tuple) -> tuple:
    """(before, after) per spatial dim, flattened ((top, bottom, left, right) in 2-D),
    from an int, a tuple, or "valid" / "same"."""
    dims = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * (2 * dims)
        if padding != "same":
            raise ValueError(f"padding must be 'valid', 'same' or ints, got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        out: list[int] = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)  # PyTorch puts the odd element on the bottom / right
            out += [total // 2, total - total // 2]
        return tuple(out)
    return tuple(p for p in int_tuple_arg("padding", padding, dims) for _ in range(2))


def _check_conv(
    xs: tuple, ws: tuple, stride: tuple, pad: tuple, dilation: tuple, groups: int
) -> None:
    """The settings against the shapes, with the C++ core's messages (both backends)."""
    if len(ws) != 4:
        raise ValueError(f"conv2d expects weight (C_out, C_in / groups, kH, kW); got {ws}")
    if int_arg("conv2d", "groups", groups) < 1:
        raise ValueError(f"conv2d: groups must be >= 1, got {groups}")
    if min(stride) < 1:
        raise ValueError(f"conv2d: stride must be >= 1, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"conv2d: dilation must be >= 1, got {dilation}")
    if min(pad) < 0:
        raise ValueError(f"conv2d: padding must be >= 0, got {min(pad)}")
    if xs[1] % groups or ws[0] % groups or ws[1] * groups != xs[1]:
        raise ValueError(
            f"conv2d: weight {ws} expects {ws[1] * groups} input channels "
            f"(groups={groups}) but the input {xs} has {xs[1]}"
        )
    for size, lo, hi, k, d in (
        (xs[2], pad[0], pad[1], ws[2], dilation[0]),
        (xs[3], pad[2], pad[3], ws[3], dilation[1]),
    ):
        if size + lo + hi < d * (k - 1) + 1:
            raise ValueError(
                f"conv2d: kernel {ws[2]}x{ws[3]} (dilation {dilation[0]}, "
                f"{dilation[1]}) is larger than the padded input {xs}"
            )


@op()
def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of (N, C, H, W) input (or unbatched (C, H, W)) with
    (C_out, C/groups, kH, kW) weight."""
    x = as_tensor(input)
    check_operands("conv2d", x, weight, bias)
    if x.ndim == 3:
        return squeeze(conv2d(unsqueeze(x, 0), weight, bias, stride, padding, dilation, groups), 0)
    if x.ndim != 4:
        raise ValueError(f"conv2d expects input (N, C, H, W) or (C, H, W); got shape {x.shape}")
    stride, dilation = int_tuple_arg("stride", stride), int_tuple_arg("dilation", dilation)
    pad = _conv_padding(padding, tuple(weight.shape[2:]), dilation, stride)
    _check_conv(x.shape, weight.shape, stride, pad, dilation, groups)
    b = None if bias is None else bias._array
    bf16 = bf16_kwargs(x._array)  # Note [Autocast]
    y = _b.active.conv2d_forward(x._array, weight._array, b, stride, pad, dilation, groups, **bf16)
    inputs = (x, weight) if bias is None else (x, weight, bias)

    def backward(node: Any, g: np.ndarray) -> Any:
        x, w = node.inputs[0], node.inputs[1]
        return _b.active.conv2d_backward(
            g,
            x._array,
            w._array,
            stride,
            pad,
            dilation,
            groups,
            x.requires_grad,
            w.requires_grad,
            len(node.inputs) == 3,
            **bf16,
        )

    return record(y, inputs, backward)


@op(kernels=())
def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation of (N, C, L) input (or unbatched (C, L)) with (C_out, C/groups,
    k) weight (the H = 1 case of conv2d)."""
    x = as_tensor(input)
    check_operands("conv1d", x, weight, bias)
    if x.ndim == 2:
        return squeeze(conv1d(unsqueeze(x, 0), weight, bias, stride, padding, dilation, groups), 0)
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(
            f"conv1d expects input (N, C, L) or (C, L) and weight (C_out, C/groups, k); got "
            f"{x.shape} and {weight.shape}"
        )
    (s,), (d,) = int_tuple_arg("stride", stride, 1), int_tuple_arg("dilation", dilation, 1)
    if isinstance(padding, str):
        pad = padding
    else:
        (p,) = int_tuple_arg("padding", padding, 1)
        pad = (0, p)
    x4 = unsqueeze(x, 2)
    w4 = unsqueeze(weight, 2)
    y = conv2d(x4, w4, bias, (1, s), pad, (1, d), groups)
    return squeeze(y, 2)


@op(kernels=(), toplevel=True)
def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D cross-correlation of (N, C, D, H, W) input (or unbatched (C, D, H, W)) with
    (C_out, C/groups, kD, kH, kW) weight.

    y[n, o, d] = sum_{t < kD} conv2d(x[n, :, d * sD + t * dD], w[:, :, t]): the kD depth
    taps of every output depth are stacked as channels, so the whole convolution is one
    conv2d (one GEMM, as im2col over the volume would be) over N * D_out images.
    """
    x = as_tensor(input)
    check_operands("conv3d", x, weight, bias)
    if x.ndim == 4 and weight.ndim == 5:
        return squeeze(conv3d(unsqueeze(x, 0), weight, bias, stride, padding, dilation, groups), 0)
    if x.ndim != 5 or weight.ndim != 5:
        raise ValueError(
            f"conv3d expects input (N, C, D, H, W) and weight (C_out, C/groups, kD, kH, kW); "
            f"got {x.shape} and {weight.shape}"
        )
    stride, dilation = int_tuple_arg("stride", stride, 3), int_tuple_arg("dilation", dilation, 3)
    kernel = tuple(weight.shape[2:])
    pad = _conv_padding(padding, kernel, dilation, stride)
    n, c, depth = x.shape[:3]
    groups = int_arg("conv3d", "groups", groups)
    if groups < 1 or c % groups or weight.shape[1] * groups != c or weight.shape[0] % groups:
        raise ValueError(
            f"conv3d: weight {weight.shape} expects {weight.shape[1] * groups} input channels "
            f"(groups={groups}) but the input {x.shape} has {c}"
        )
    if min(stride) < 1 or min(dilation) < 1 or min(pad) < 0:
        raise ValueError(
            f"conv3d: stride and dilation must be >= 1 and padding >= 0; got stride={stride}, "
            f"dilation={dilation}, padding={padding}"
        )
    kd, sd, dd = kernel[0], stride[0], dilation[0]
    padded = depth + pad[0] + pad[1]
    if padded < dd * (kd - 1) + 1:
        raise ValueError(f"conv3d: kernel {kernel} is larger than the padded input {x.shape}")
    d_out = (padded - dd * (kd - 1) - 1) // sd + 1
    if pad[0] or pad[1]:
        zeros = [as_tensor(_capture.snapshot(np.zeros((n, c, p) + x.shape[3:], x.dtype)))
                 for p in pad[:2]]  # fmt: skip
        x = cat([zeros[0], x, zeros[1]], 2)
    last = (d_out - 1) * sd + 1
    taps = stack(
        [
            getitem(x, (slice(None), slice(None), slice(t * dd, t * dd + last, sd)))
            for t in range(kd)
        ],
        2,
    )  # (N, C, kD, D_out, H, W)
    g, h, w = groups, x.shape[3], x.shape[4]
    # Channels of each group together, then the taps: (N, D_out, g, kD, C/g, H, W).
    taps = permute(reshape(taps, (n, g, c // g, kd, d_out, h, w)), 0, 4, 1, 3, 2, 5, 6)
    images = reshape(taps, (n * d_out, c * kd, h, w))
    w2 = reshape(permute(weight, 0, 2, 1, 3, 4), (weight.shape[0], kd * c // g) + kernel[1:])
    pad2 = padding if isinstance(padding, str) else (pad[2], pad[4])
    y = conv2d(images, w2, bias, stride[1:], pad2, dilation[1:], groups)
    y = reshape(y, (n, d_out) + y.shape[1:])
    return permute(y, 0, 2, 1, 3, 4)


def _patch_weight(channels: int, kernel: tuple, dtype: Any) -> Tensor:
    """(C kh kw, 1, kh, kw) one-hot kernels: a depthwise conv2d with it (groups=C) copies
    each patch element to its own channel, c * kh * kw + i * kw + j (PyTorch's im2col
    order)."""
    kh, kw = kernel
    eye = np.eye(kh * kw, dtype=dtype).reshape(kh * kw, 1, kh, kw)
    return as_tensor(np.ascontiguousarray(np.tile(eye, (channels, 1, 1, 1))))


def _fold_args(kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple:
    args = tuple(
        int_tuple_arg(name, v)
        for name, v in (
            ("kernel_size", kernel_size),
            ("dilation", dilation),
            ("padding", padding),
            ("stride", stride),
        )
    )
    k, d, p, s = args
    if min(k) < 1 or min(d) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(
            f"kernel_size, dilation and stride must be >= 1 and padding >= 0; got "
            f"kernel_size={k}, dilation={d}, padding={p}, stride={s}"
        )
    return args


@op(kernels=())
def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """im2col: the sliding kh x kw patches of (N, C, H, W) input as columns, (N, C kh kw,
    L): a depthwise conv2d with one-hot kernels (_patch_weight), so its backward (col2im)
    is conv2d's. (Tensor.unfold is another op: layout's unfold_windows.)"""
    x = as_tensor(input)
    if x.ndim == 3:
        return squeeze(unfold(unsqueeze(x, 0), kernel_size, dilation, padding, stride), 0)
    if x.ndim != 4:
        raise ValueError(f"unfold expects input (N, C, H, W) or (C, H, W); got {x.shape}")
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride)
    n, c = x.shape[:2]
    y = conv2d(x, _patch_weight(c, k, x.dtype), None, s, p, d, c)
    return reshape(y, (n, c * k[0] * k[1], y.shape[2] * y.shape[3]))  # -1 fails on 0 elements


@op(kernels=())
def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """col2im, unfold's adjoint: (N, C kh kw, L) columns summed back into (N, C, H, W) at
    their patches' places (overlaps add): a transposed depthwise convolution with the
    one-hot kernels."""
    from .conv_transpose import conv_transpose2d  # it imports this module

    x = as_tensor(input)
    if x.ndim == 2:
        return squeeze(
            fold(unsqueeze(x, 0), output_size, kernel_size, dilation, padding, stride), 0
        )
    if x.ndim != 3:
        raise ValueError(
            f"fold expects input (N, C * kh * kw, L) or (C * kh * kw, L); got {x.shape}"
        )
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride)
    out = int_tuple_arg("output_size", output_size)
    blocks = [
        (o + 2 * p_ - d_ * (k_ - 1) - 1) // s_ + 1 for o, k_, d_, p_, s_ in zip(out, k, d, p, s)
    ]
    n, ck, length = x.shape
    if ck % (k[0] * k[1]):
        raise RuntimeError(
            f"fold: expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size {k}, but got input.size(1)={ck}"
        )
    if min(blocks) < 1 or blocks[0] * blocks[1] != length:
        raise RuntimeError(
            f"fold: given output_size={out}, kernel_size={k}, dilation={d}, padding={p}, "
            f"stride={s}, expected input.size(2) to be {blocks[0] * blocks[1]}, but got {length}"
        )
    c = ck // (k[0] * k[1])
    extra = tuple(
        o + 2 * p_ - ((b - 1) * s_ + d_ * (k_ - 1) + 1)
        for o, b, k_, d_, p_, s_ in zip(out, blocks, k, d, p, s)
    )
    cols = reshape(x, (n, ck, blocks[0], blocks[1]))
    return conv_transpose2d(cols, _patch_weight(c, k, x.dtype), None, s, p, extra, c, d)
