"""Transposed convolutions over NCHW / NCL inputs (cpp/kernels/conv_transpose,
pydl/reference/conv_transpose): the adjoint of conv2d, Note [Transposed convolution]."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..amp import bf16_kwargs
from ..tensor import Tensor, as_tensor, record
from .activation import int_arg, int_tuple_arg
from .linear import check_operands
from .layout import squeeze, unsqueeze
from .registry import op


def conv_transpose_output_size(
    in_size: tuple,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    output_padding: tuple,
    dilation: tuple,
) -> tuple[int, ...]:
    """(in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1 per
    spatial dim."""
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(in_size, kernel, stride, padding, output_padding, dilation)
    )


def _settings(
    name: str, dims: int, stride: Any, padding: Any, output_padding: Any, dilation: Any
) -> tuple[tuple[int, ...], ...]:
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int or a tuple of ints, got {padding!r}")
    return (
        int_tuple_arg("stride", stride, dims),
        int_tuple_arg("padding", padding, dims),
        int_tuple_arg("output_padding", output_padding, dims),
        int_tuple_arg("dilation", dilation, dims),
    )


def _check_conv_transpose(
    xs: tuple,
    ws: tuple,
    stride: tuple,
    padding: tuple,
    output_padding: tuple,
    dilation: tuple,
    groups: int,
) -> None:
    """The settings against the shapes, with the C++ core's messages (both backends)."""
    fn = "conv_transpose2d"
    if len(ws) != 4:
        raise ValueError(f"{fn} expects weight (C_in, C_out / groups, kH, kW); got {ws}")
    if int_arg(fn, "groups", groups) < 1:
        raise ValueError(f"{fn}: groups must be >= 1, got {groups}")
    if min(stride) < 1:
        raise ValueError(f"{fn}: stride must be >= 1, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"{fn}: dilation must be >= 1, got {dilation}")
    if min(padding) < 0:
        raise ValueError(f"{fn}: padding must be >= 0, got {padding}")
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ < 0 or (op_ >= s and op_ >= d):  # PyTorch's rule
            raise ValueError(
                f"{fn}: output_padding {output_padding} must be >= 0 and smaller than either "
                f"stride {stride} or dilation {dilation}"
            )
    if ws[0] % groups:
        raise ValueError(
            f"{fn}: weight {ws} has {ws[0]} input channels, not divisible by groups {groups}"
        )
    if xs[1] != ws[0]:
        raise ValueError(
            f"{fn}: weight {ws} expects {ws[0]} input channels but the input {xs} has {xs[1]}"
        )
    if min(ws[2:]) < 1:
        raise ValueError(f"{fn}: weight {ws} has an empty kernel")
    if min(xs[2:]) < 1:
        raise ValueError(f"{fn}: input {xs} has no rows or columns")
    out = conv_transpose_output_size(xs[2:], ws[2:], stride, padding, output_padding, dilation)
    if min(out) < 1:
        raise ValueError(
            f"{fn}: the output {out} of input {xs} and weight {ws} is too small (padding {padding})"
        )


@op()
def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 2-D convolution of (N, C_in, H, W) input (or unbatched (C_in, H, W)) with
    (C_in, C_out/groups, kH, kW) weight (the gradient of conv2d with respect to its input;
    PyTorch's argument order)."""
    x = as_tensor(input)
    check_operands("conv_transpose2d", x, weight, bias)
    if x.ndim == 3:
        y = conv_transpose2d(
            unsqueeze(x, 0), weight, bias, stride, padding, output_padding, groups, dilation
        )
        return squeeze(y, 0)
    if x.ndim != 4:
        raise ValueError(
            f"conv_transpose2d expects input (N, C_in, H, W) or (C_in, H, W); got shape {x.shape}"
        )
    args = _settings("conv_transpose2d", 2, stride, padding, output_padding, dilation)
    _check_conv_transpose(x.shape, weight.shape, *args, groups)
    b = None if bias is None else bias._array
    bf16 = bf16_kwargs(x._array)  # Note [Autocast]
    y = _b.active.conv_transpose2d_forward(x._array, weight._array, b, *args, groups, **bf16)
    inputs = (x, weight) if bias is None else (x, weight, bias)

    def backward(node: Any, g: np.ndarray) -> Any:
        x, w = node.inputs[0], node.inputs[1]
        return _b.active.conv_transpose2d_backward(
            g,
            x._array,
            w._array,
            *args,
            groups,
            x.requires_grad,
            w.requires_grad,
            len(node.inputs) == 3,
            **bf16,
        )

    return record(y, inputs, backward)


@op(kernels=())
def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 1-D convolution of (N, C_in, L) input (or unbatched (C_in, L)) with
    (C_in, C_out/groups, k) weight (the H = 1 case of conv_transpose2d)."""
    x = as_tensor(input)
    check_operands("conv_transpose1d", x, weight, bias)
    if x.ndim == 2:
        y = conv_transpose1d(
            unsqueeze(x, 0), weight, bias, stride, padding, output_padding, groups, dilation
        )
        return squeeze(y, 0)
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(
            f"conv_transpose1d expects input (N, C_in, L) or (C_in, L) and weight "
            f"(C_in, C_out/groups, k); got {x.shape} and {weight.shape}"
        )
    (s,), (p,), (op_,), (d,) = _settings(
        "conv_transpose1d", 1, stride, padding, output_padding, dilation
    )
    y = conv_transpose2d(
        unsqueeze(x, 2), unsqueeze(weight, 2), bias, (1, s), (0, p), (0, op_), groups, (1, d)
    )
    return squeeze(y, 2)
