"""Convolution layers (PyTorch's arguments and initialization)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import Tensor, as_tensor
from .._ops._util import int_tuple
from .._ops.conv_transpose import conv_transpose_output_size
from . import functional as NF
from . import _check, init
from .module import Module, Parameter


def _ints(name: str, value: Any, dims: int, layer: str, minimum: int) -> tuple[int, ...]:
    """A tuple of `dims` ints >= minimum from an int or a sequence of ints; TypeError
    (another type) or ValueError (a wrong length or value) naming the argument."""
    t = _check.shape(layer, name, value, minimum=-(2**63))
    if len(t) == 1 and not isinstance(value, (tuple, list)):
        t = t * dims
    if len(t) != dims:
        raise ValueError(f"{layer}: {name} must be an int or a tuple of {dims} ints, got {value}")
    t = int_tuple(name, t, dims)
    if min(t) < minimum:
        raise ValueError(f"{layer}: {name} must be >= {minimum}, got {name}={value}")
    return t


def _positive(name: str, value: Any, dims: int, layer: str) -> tuple[int, ...]:
    """A tuple of `dims` ints >= 1; TypeError / ValueError naming the argument otherwise."""
    return _ints(name, value, dims, layer, 1)


class _ConvNd(Module):
    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
        bias: bool,
        dtype: Any,
        transposed: bool = False,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        if padding_mode != "zeros":
            raise ValueError(
                f'{type(self).__name__}: only padding_mode="zeros" is supported, got '
                f"{padding_mode!r}"
            )
        layer = type(self).__name__
        in_channels = _check.size(layer, "in_channels", in_channels)
        out_channels = _check.size(layer, "out_channels", out_channels)
        groups = _check.size(layer, "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{type(self).__name__}: in_channels {in_channels} and out_channels "
                f"{out_channels} must be divisible by groups {groups}"
            )
        kernel = _positive("kernel_size", kernel_size, dims, type(self).__name__)
        stride = _positive("stride", stride, dims, type(self).__name__)
        dilation = _positive("dilation", dilation, dims, type(self).__name__)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of ('valid', 'same')"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _ints("padding", padding, dims, layer, 0)
        # PyTorch keeps the settings as tuples (its repr prints them so).
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_padding, self.transposed, self.padding_mode = (0,) * dims, transposed, "zeros"
        # PyTorch's layouts: (out, in / groups, *kernel), transposed (in, out / groups, *kernel)
        if transposed:
            channels = (in_channels, out_channels // groups)
        else:
            channels = (out_channels, in_channels // groups)
        self.weight = Parameter(np.empty(channels + kernel, dtype))
        self.bias = Parameter(np.empty((out_channels,), dtype)) if bias else None
        # PyTorch's default: kaiming_uniform(a=sqrt(5)) weights, U(+-1/sqrt(fan_in)) bias,
        # fan_in being the weight's dim 1 times the kernel size in both layouts.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = channels[1] * int(np.prod(kernel))
            init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def extra_repr(self) -> str:
        # PyTorch's: settings at their defaults are left out.
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        dims = len(self.kernel_size)
        if self.padding != (0,) * dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    _rank = 0  # the batched input's rank

    def forward(self, input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        """The convolution of (N, C, *spatial) input, or of unbatched (C, *spatial) input
        (as PyTorch: the output has no batch dim either)."""
        x = as_tensor(input)
        if x.ndim == self._rank - 1 and x.ndim > 0 and x.shape[0] == self.in_channels:
            return NF.squeeze(self._forward(NF.unsqueeze(x, 0), *args, **kwargs), 0)
        return self._forward(self._checked(x, self._rank), *args, **kwargs)

    def _forward(self, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        raise NotImplementedError

    def _checked(self, x: Tensor, rank: int) -> Tensor:
        if x.ndim != rank or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}(in_channels={self.in_channels}) expects "
                f"input with {rank} dims and {self.in_channels} channels, got "
                f"shape {x.shape}"
            )
        return x


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C, H, W) input, by im2col + GEMM."""

    _rank = 4

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(
            2,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            dtype,
            padding_mode=padding_mode,
        )

    def _forward(self, x: Tensor) -> Tensor:
        return NF.conv2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) over (N, C, L) input."""

    _rank = 3

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(
            1,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            dtype,
            padding_mode=padding_mode,
        )

    def _forward(self, x: Tensor) -> Tensor:
        return NF.conv1d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )


class Conv3d(_ConvNd):
    """3-D convolution (cross-correlation) over (N, C, D, H, W) input."""

    _rank = 5

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(
            3,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            dtype,
            padding_mode=padding_mode,
        )

    def _forward(self, x: Tensor) -> Tensor:
        return NF.conv3d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )


class _ConvTransposeNd(_ConvNd):
    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        output_padding: Any,
        groups: int,
        bias: bool,
        dilation: Any,
        padding_mode: str,
        dtype: Any,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(
                f'Only "zeros" padding_mode is supported for {type(self).__name__}, got '
                f"{padding_mode!r}"
            )
        if isinstance(padding, str):
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or a tuple of ints, got {padding!r}"
            )
        super().__init__(
            dims,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            dtype,
            transposed=True,
        )
        self.output_padding = _ints("output_padding", output_padding, dims, type(self).__name__, 0)
        if any(p >= max(s, d) for p, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(
                f"{type(self).__name__}: output_padding must be smaller than either stride or "
                f"dilation, got output_padding={output_padding}, stride={self.stride}, "
                f"dilation={self.dilation}"
            )

    def _output_padding(self, x: Tensor, output_size: Any) -> Any:
        """self.output_padding, or the one that gives `output_size` (the spatial sizes, or
        with N and C in front), as PyTorch's: it must lie in [smallest, smallest + stride)."""
        if output_size is None:
            return self.output_padding
        dims = len(self.kernel_size)
        output_size = tuple(int(n) for n in output_size)
        if len(output_size) == dims + 2:
            output_size = output_size[2:]
        if len(output_size) != dims:
            raise ValueError(
                f"{type(self).__name__}: output_size must have {dims} or {dims + 2} "
                f"elements, got {output_size}"
            )
        stride = int_tuple("stride", self.stride, dims)
        smallest = conv_transpose_output_size(
            x.shape[2:],
            self.kernel_size,
            stride,
            int_tuple("padding", self.padding, dims),
            (0,) * dims,
            int_tuple("dilation", self.dilation, dims),
        )
        largest = tuple(n + s - 1 for n, s in zip(smallest, stride))
        if not all(lo <= n <= hi for n, lo, hi in zip(output_size, smallest, largest)):
            raise ValueError(
                f"{type(self).__name__}: requested an output size of {output_size}, but "
                f"valid sizes range from {smallest} to {largest} (for an input of "
                f"{x.shape[2:]})"
            )
        return tuple(n - lo for n, lo in zip(output_size, smallest))


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution over (N, C, H, W) input (the adjoint of Conv2d; weight
    (in_channels, out_channels / groups, kH, kW)). forward(x, output_size) picks the
    output_padding that gives output_size."""

    _rank = 4

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(
            2,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
            dtype,
        )

    def _forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        return NF.conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution over (N, C, L) input (weight (in_channels,
    out_channels / groups, k))."""

    _rank = 3

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(
            1,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
            dtype,
        )

    def _forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        return NF.conv_transpose1d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )
