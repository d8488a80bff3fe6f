"""Convolutions over NCHW / NCL inputs (cpp/kernels/conv, pydl/reference/conv)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from ._util import int_tuple
from .layout import squeeze, unsqueeze
from .registry import op


def _conv_padding(
    padding: Any, kernel: tuple[int, int], dilation: tuple[int, int], stride: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a pair, or "valid" / "same"."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"padding must be 'valid', 'same' or ints, got {padding!r}")
        if stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)  # PyTorch puts the odd element on the bottom / right
            out += [total // 2, total - total // 2]
        return tuple(out)
    ph, pw = int_tuple("padding", padding)
    return (ph, ph, pw, pw)


def _check_conv(
    xs: tuple, ws: tuple, stride: tuple, pad: tuple, dilation: tuple, groups: int
) -> None:
    """The settings against the shapes, with the C++ core's messages (both backends)."""
    if len(ws) != 4:
        raise ValueError(f"conv2d expects weight (C_out, C_in / groups, kH, kW); got {ws}")
    if groups < 1:
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
    """2-D cross-correlation of (N, C, H, W) input with (C_out, C/groups, kH, kW) weight."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"conv2d expects input (N, C, H, W); got shape {x.shape}")
    stride, dilation = int_tuple("stride", stride), int_tuple("dilation", dilation)
    pad = _conv_padding(padding, tuple(weight.shape[2:]), dilation, stride)
    _check_conv(x.shape, weight.shape, stride, pad, dilation, groups)
    b = None if bias is None else bias._array
    y = _b.active.conv2d_forward(x._array, weight._array, b, stride, pad, dilation, groups)
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
    """1-D cross-correlation of (N, C, L) input with (C_out, C/groups, k) weight (the H = 1
    case of conv2d)."""
    x = as_tensor(input)
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(
            f"conv1d expects input (N, C, L) and weight (C_out, C/groups, k); got "
            f"{x.shape} and {weight.shape}"
        )
    (s,), (d,) = int_tuple("stride", stride, 1), int_tuple("dilation", dilation, 1)
    if isinstance(padding, str):
        pad = padding
    else:
        (p,) = int_tuple("padding", padding, 1)
        pad = (0, p)
    x4 = unsqueeze(x, 2)
    w4 = unsqueeze(weight, 2)
    y = conv2d(x4, w4, bias, (1, s), pad, (1, d), groups)
    return squeeze(y, 2)
