"""Pooling layers (PyTorch's arguments)."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as NF
from .module import Module


class _Pool(Module):
    def __init__(self, **args: Any) -> None:
        super().__init__()
        object.__setattr__(self, "_args", args)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self._args.items())


class MaxPool2d(_Pool):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
        )

    def forward(self, x: Tensor) -> Tensor:
        return NF.max_pool2d(x, **self._args)


class MaxPool1d(MaxPool2d):
    def forward(self, x: Tensor) -> Tensor:
        return NF.max_pool1d(x, **self._args)


class AvgPool2d(_Pool):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )

    def forward(self, x: Tensor) -> Tensor:
        return NF.avg_pool2d(x, **self._args)


class AvgPool1d(AvgPool2d):
    def forward(self, x: Tensor) -> Tensor:
        return NF.avg_pool1d(x, **self._args)


class AdaptiveAvgPool2d(_Pool):
    """Average pooling to output_size; output_size=1 is global average pooling."""

    def __init__(self, output_size: Any) -> None:
        super().__init__(output_size=output_size)

    def forward(self, x: Tensor) -> Tensor:
        return NF.adaptive_avg_pool2d(x, **self._args)
