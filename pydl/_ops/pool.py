"""Pooling over NCHW / NCL inputs (cpp/kernels/pool, pydl/reference/pool)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, grad_needed, record
from ._util import int_tuple
from .layout import squeeze, unsqueeze
from .registry import op


def _check_pool(
    fn: str,
    xs: tuple,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    dilation: tuple,
    ceil_mode: bool,
) -> None:
    """The settings against the input, with the C++ core's messages (both backends)."""
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(
            f"{fn}: kernel_size, stride and dilation must be >= 1; got kernel "
            f"{kernel}, stride {stride}"
        )
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or 2 * p > d * (k - 1) + 1:
            raise ValueError(
                f"{fn}: padding {padding} must be >= 0 and at most half the kernel size {kernel}"
            )
    for n, k, p, d in zip(xs[2:], kernel, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        if span < 0:
            raise ValueError(f"{fn}: kernel {kernel} is larger than the padded input {xs}")


@op(kernels=("maxpool2d",))
def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """Max over each window of (N, C, H, W) input; stride defaults to the kernel size."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"max_pool2d expects input (N, C, H, W); got shape {x.shape}")
    k = int_tuple("kernel_size", kernel_size)
    args = (
        k,
        int_tuple("stride", k if stride is None else stride),
        int_tuple("padding", padding),
        int_tuple("dilation", dilation),
        ceil_mode,
    )
    _check_pool("max_pool2d", x.shape, *args)
    y, idx = _b.active.maxpool2d_forward(x._array, *args, save=grad_needed(x))

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.maxpool2d_backward(g, idx, node.inputs[0].shape, *args),)

    return record(y, (x,), backward)


@op(kernels=("avgpool2d",))
def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over each window of (N, C, H, W) input (padding zeros count when
    count_include_pad); stride defaults to the kernel size."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"avg_pool2d expects input (N, C, H, W); got shape {x.shape}")
    k = int_tuple("kernel_size", kernel_size)
    args = (
        k,
        int_tuple("stride", k if stride is None else stride),
        int_tuple("padding", padding),
        ceil_mode,
        count_include_pad,
    )
    _check_pool("avg_pool2d", x.shape, args[0], args[1], args[2], (1, 1), ceil_mode)
    y = _b.active.avgpool2d_forward(x._array, *args)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.avgpool2d_backward(g, node.inputs[0].shape, *args),)

    return record(y, (x,), backward)


@op(kernels=("adaptive_avgpool2d",))
def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed (oH, oW); output_size 1 is global average pooling."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d expects input (N, C, H, W); got {x.shape}")
    size = int_tuple("output_size", output_size)
    y = _b.active.adaptive_avgpool2d_forward(x._array, size)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.adaptive_avgpool2d_backward(g, node.inputs[0].shape),)

    return record(y, (x,), backward)


def _pool1d(
    pool2d: Any, input: Tensor, kernel_size: Any, stride: Any, padding: Any, **kwargs: Any
) -> Tensor:
    x = as_tensor(input)
    if x.ndim != 3:
        raise ValueError(f"1-D pooling expects input (N, C, L); got shape {x.shape}")
    (k,) = int_tuple("kernel_size", kernel_size, 1)
    (s,) = int_tuple("stride", k if stride is None else stride, 1)
    (p,) = int_tuple("padding", padding, 1)
    return squeeze(pool2d(unsqueeze(x, 2), (1, k), (1, s), (0, p), **kwargs), 2)


@op(kernels=())
def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Tensor:
    (d,) = int_tuple("dilation", dilation, 1)
    return _pool1d(
        max_pool2d, input, kernel_size, stride, padding, dilation=(1, d), ceil_mode=ceil_mode
    )


@op(kernels=())
def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    return _pool1d(
        avg_pool2d,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
