"""Upsampling / interpolation of NCHW and NCL inputs (cpp/kernels/upsample,
pydl/reference/upsample): nearest and (bi)linear, PyTorch's sizes and index rules (Note
[Upsampling indices] in cpp/kernels/upsample.h); "area" is adaptive average pooling."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from ._util import int_tuple
from .layout import permute, reshape, squeeze, unsqueeze
from .pool import adaptive_avg_pool2d
from .registry import op

# mode: the input ranks it takes (PyTorch's; the others are not implemented here)
_MODES = {"nearest": (3, 4), "linear": (3,), "bilinear": (4,), "area": (3, 4)}
_LINEAR = ("linear", "bilinear", "bicubic", "trilinear")


def _sizes_and_scales(
    x: Tensor, size: Any, scale_factor: Any, recompute_scale_factor: bool | None
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The output's spatial size and the scales the kernels take (0: from the sizes), as
    PyTorch's F.interpolate computes them."""
    dims = x.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "interpolate: either size or scale_factor should be defined"
            if size is None
            else "interpolate: only one of size or scale_factor should be defined"
        )
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(
                "interpolate: recompute_scale_factor is not meaningful with an explicit size"
            )
        sizes = int_tuple("size", size, dims)
        scales = (0.0,) * dims
    else:
        if isinstance(scale_factor, (int, float, np.integer, np.floating)):
            scale_factor = (scale_factor,) * dims
        scales = tuple(float(s) for s in scale_factor)
        if len(scales) != dims:
            raise ValueError(
                f"interpolate: scale_factor {scale_factor} must be a number or {dims} numbers "
                f"for an input of shape {x.shape}"
            )
        if not all(math.isfinite(s) and s > 0 for s in scales):
            raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor}")
        sizes = tuple(math.floor(n * s) for n, s in zip(x.shape[2:], scales))
        if recompute_scale_factor:
            scales = (0.0,) * dims
    if min(sizes) < 1 or min(x.shape[2:]) < 1:
        raise ValueError(
            f"interpolate: input and output sizes must be >= 1, got input {x.shape} and "
            f"output size {sizes}"
        )
    return sizes, scales


def _upsample2d(x: Tensor, mode: str, size: tuple, scales: tuple, align_corners: bool) -> Tensor:
    """One kernel call on (N, C, H, W) input, recorded with its backward."""
    extra = () if mode == "nearest" else (align_corners,)
    kernel = "upsample_nearest2d" if mode == "nearest" else "upsample_bilinear2d"
    y = getattr(_b.active, kernel + "_forward")(x._array, size, scales, *extra)

    def backward(node: Any, g: np.ndarray) -> Any:
        bwd = getattr(_b.active, kernel + "_backward")
        return (bwd(g, node.inputs[0].shape, scales, *extra),)

    return record(y, (x,), backward)


@op(kernels=("upsample_nearest2d", "upsample_bilinear2d"), aliases=("upsample",))
def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) input to `size`, or by `scale_factor` (output size
    floor(in * scale_factor)), with mode "nearest", "linear" (3-D), "bilinear" (4-D) or
    "area" (adaptive average pooling); align_corners for the linear modes only."""
    x = as_tensor(input)
    if mode not in _MODES:
        raise NotImplementedError(
            f"interpolate: mode {mode!r} is not supported; pydl has {', '.join(_MODES)}"
        )
    if x.ndim not in _MODES[mode]:
        raise ValueError(
            f"interpolate: mode {mode!r} expects a "
            f"{' or '.join(f'{r}-D' for r in _MODES[mode])} input; got shape {x.shape}"
        )
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating "
            "modes: linear | bilinear | bicubic | trilinear"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    sizes, scales = _sizes_and_scales(x, size, scale_factor, recompute_scale_factor)
    one_d = x.ndim == 3
    if one_d:  # the H = 1 case
        sizes, scales, x = (1,) + sizes, (0.0,) + scales, unsqueeze(x, 2)
    if mode == "area":
        y = adaptive_avg_pool2d(x, sizes)
    else:
        kind = "nearest" if mode == "nearest" else "bilinear"
        y = _upsample2d(x, kind, sizes, scales, bool(align_corners))
    return squeeze(y, 2) if one_d else y


@op(kernels=())
def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """interpolate(input, size, scale_factor, mode="nearest") (PyTorch's older name)."""
    return interpolate(input, size, scale_factor, mode="nearest")


@op(kernels=())
def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """interpolate(input, size, scale_factor, mode="bilinear", align_corners=True) (PyTorch's
    older name, which aligns corners)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


@op(kernels=())
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): y[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w]
    (a reshape and a permute)."""
    x, r = as_tensor(input), int(upscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-3] % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects input (*, C * {r}^2, H, W) with upscale_factor >= 1; "
            f"got shape {x.shape}"
        )
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    k = len(lead)
    y = reshape(x, lead + (c // (r * r), r, r, h, w))
    y = permute(y, *range(k), k, k + 3, k + 1, k + 4, k + 2)
    return reshape(y, lead + (c // (r * r), h * r, w * r))


@op(kernels=())
def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """pixel_shuffle's inverse: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    x, r = as_tensor(input), int(downscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-2] % r or x.shape[-1] % r:
        raise RuntimeError(
            f"pixel_unshuffle expects input (*, C, H * {r}, W * {r}) with downscale_factor "
            f">= 1; got shape {x.shape}"
        )
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    k = len(lead)
    y = reshape(x, lead + (c, h // r, r, w // r, r))
    y = permute(y, *range(k), k, k + 2, k + 4, k + 1, k + 3)
    return reshape(y, lead + (c * r * r, h // r, w // r))
