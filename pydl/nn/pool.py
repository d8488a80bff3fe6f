"""Pooling layers (PyTorch's arguments and reprs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._ops.activation import int_tuple_arg
from ..tensor import Tensor
from . import _check
from . import functional as NF
from .module import Module


class _Pool(Module):
    """Keeps its arguments in `_args` (what the functional op takes, and what the ONNX
    lowerings read); `_shown` are those PyTorch's repr prints."""

    _shown: tuple[str, ...] = ()

    def __init__(self, **args: Any) -> None:
        super().__init__()
        object.__setattr__(self, "_args", args)

    def __getattr__(self, name: str) -> Any:
        args = self.__dict__.get("_args", {})
        if name in args:  # m.kernel_size, m.stride, ... as PyTorch's attributes
            return args[name]
        return super().__getattr__(name)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={self._args[k]}" for k in self._shown)


class _MaxPoolNd(_Pool):
    _fn: Any = None
    _shown = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(
            kernel_size=kernel_size,
            stride=kernel_size if stride is None else stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
        )
        object.__setattr__(self, "return_indices", return_indices)

    def forward(self, input: Tensor) -> Any:
        if self.return_indices:
            return type(self)._fn(input, **self._args, return_indices=True)
        return type(self)._fn(input, **self._args)


class MaxPool1d(_MaxPoolNd):
    """Max over windows of (N, C, L) input."""

    def forward(self, input: Tensor) -> Any:
        if self.return_indices:
            return _max_pool1d_indices(input, self._args)
        return NF.max_pool1d(input, **self._args)


def _max_pool1d_indices(x: Tensor, a: dict) -> Any:
    """max_pool1d with indices: max_pool2d(return_indices) over (N, C, 1, L)."""
    (k,), (s,) = (
        int_tuple_arg("kernel_size", a["kernel_size"], 1),
        int_tuple_arg("stride", a["stride"], 1),
    )
    (p,), (d,) = (
        int_tuple_arg("padding", a["padding"], 1),
        int_tuple_arg("dilation", a["dilation"], 1),
    )
    x4 = NF.unsqueeze(x, -2)
    y, idx = NF.max_pool2d(x4, (1, k), (1, s), (0, p), (1, d), a["ceil_mode"], True)
    return NF.squeeze(y, -2), NF.squeeze(idx, -2)


class MaxPool2d(_MaxPoolNd):
    """Max over windows of (N, C, H, W) input; return_indices: also the flat h * W + w
    index of each maximum (for MaxUnpool2d)."""

    _fn = staticmethod(NF.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """Max over windows of (N, C, D, H, W) input."""

    _fn = staticmethod(NF.max_pool3d)


class _AvgPoolNd(_Pool):
    _fn: Any = None
    _shown = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        args = dict(
            kernel_size=kernel_size,
            stride=kernel_size if stride is None else stride,
            padding=padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )
        if divisor_override is not None:
            args["divisor_override"] = divisor_override
        super().__init__(**args)

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, **self._args)


class AvgPool1d(_Pool):
    """Mean over windows of (N, C, L) input (PyTorch keeps its sizes as 1-tuples)."""

    _shown = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        k = int_tuple_arg("kernel_size", kernel_size, 1)
        super().__init__(
            kernel_size=k,
            stride=k if stride is None else int_tuple_arg("stride", stride, 1),
            padding=int_tuple_arg("padding", padding, 1),
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )

    def forward(self, input: Tensor) -> Tensor:
        return NF.avg_pool1d(input, **self._args)


class AvgPool2d(_AvgPoolNd):
    """Mean over windows of (N, C, H, W) input (padding zeros count when
    count_include_pad; divisor_override replaces the divisor)."""

    _fn = staticmethod(NF.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """Mean over windows of (N, C, D, H, W) input."""

    _fn = staticmethod(NF.avg_pool3d)


class _AdaptivePool(_Pool):
    _shown = ("output_size",)

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
        if not sizes or not all(
            n is None or (isinstance(n, (int, np.integer)) and not isinstance(n, bool))
            for n in sizes
        ):
            raise TypeError(
                f"{type(self).__name__}: output_size must be an int or a tuple of ints (or "
                f"None), got output_size={output_size!r}"
            )
        super().__init__(output_size=output_size)
        object.__setattr__(self, "return_indices", return_indices)


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average pooling of (N, C, L) input to output_size."""

    def __init__(self, output_size: Any) -> None:
        super().__init__(output_size)

    def forward(self, input: Tensor) -> Tensor:
        return NF.adaptive_avg_pool1d(input, **self._args)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average pooling to output_size; output_size=1 is global average pooling."""

    def __init__(self, output_size: Any) -> None:
        super().__init__(output_size)

    def forward(self, input: Tensor) -> Tensor:
        return NF.adaptive_avg_pool2d(input, **self._args)


class AdaptiveMaxPool1d(_AdaptivePool):
    """Max pooling of (N, C, L) input to output_size."""

    def forward(self, input: Tensor) -> Any:
        return NF.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptivePool):
    """Max pooling of (N, C, H, W) input to output_size (None keeps a dim)."""

    def forward(self, input: Tensor) -> Any:
        return NF.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class MaxUnpool2d(_Pool):
    """MaxPool2d's partial inverse: forward(input, indices, output_size=None) puts each
    value at its index in a zero plane."""

    _shown = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        def pair(name: str, value: Any, minimum: int) -> tuple[int, ...]:
            t = _check.shape("MaxUnpool2d", name, value, minimum)
            return int_tuple_arg(name, t * 2 if len(t) == 1 else t)

        k = pair("kernel_size", kernel_size, 1)
        super().__init__(
            kernel_size=k,
            stride=k if stride is None else pair("stride", stride, 1),
            padding=pair("padding", padding, 0),
        )

    def forward(self, input: Tensor, indices: Any, output_size: Any = None) -> Tensor:
        return NF.max_unpool2d(input, indices, **self._args, output_size=output_size)
