"""Upsampling / interpolation of NCHW and NCL inputs (cpp/kernels/upsample,
pydl/reference/upsample): nearest (and nearest-exact) and (bi)linear, PyTorch's sizes and
index rules (Note [Upsampling indices] in cpp/kernels/upsample.h); "area" is adaptive
average pooling, "trilinear" two bilinear passes, "bicubic" weighted gathers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from .activation import int_arg, int_tuple_arg
from .layout import getitem, permute, reshape, squeeze, unsqueeze
from .pool import adaptive_avg_pool2d
from .reduce import sum as _sum
from .registry import op

# mode: the input ranks it takes (PyTorch's; the others are not implemented here)
_MODES = {
    "nearest": (3, 4),
    "nearest-exact": (3, 4),
    "linear": (3,),
    "bilinear": (4,),
    "bicubic": (4,),
    "trilinear": (5,),
    "area": (3, 4),
}
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
        sizes = int_tuple_arg("size", size, dims)
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
    nearest = mode.startswith("nearest")
    extra = (mode == "nearest-exact",) if nearest else (align_corners,)
    kernel = "upsample_nearest2d" if nearest else "upsample_bilinear2d"
    y = getattr(_b.active, kernel + "_forward")(x._array, size, scales, *extra)

    def backward(node: Any, g: np.ndarray) -> Any:
        bwd = getattr(_b.active, kernel + "_backward")
        return (bwd(g, node.inputs[0].shape, scales, *extra),)

    return record(y, (x,), backward)


def _cubic_taps(n_in: int, n_out: int, scale: float, align_corners: bool) -> tuple:
    """(n_out, 4) input indices and weights of PyTorch's bicubic rule along one axis:
    src = r i with align_corners (r = (in - 1) / (out - 1), 0 when out == 1), else
    r (i + 0.5) - 0.5 (r = 1 / scale, or in / out; not clamped); i0 = floor(src),
    t = src - i0; output i = sum_k w_k(t) x[clamp(i0 - 1 + k, 0, in - 1)], with Keys'
    cubic convolution weights (a = -0.75) w = (c2(t + 1), c1(t), c1(1 - t), c2(2 - t)),
    c1(d) = ((a + 2) d - (a + 3)) d^2 + 1, c2(d) = ((a d - 5a) d + 8a) d - 4a."""
    i = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        src = (1.0 / scale if scale > 0 else n_in / n_out) * (i + 0.5) - 0.5
    i0 = np.floor(src)
    t = (src - i0)[:, None]
    a = -0.75
    d = np.concatenate([t + 1, t, 1 - t, 2 - t], 1)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    weights = np.where(np.abs(d) <= 1, near, far)
    idx = np.clip(i0[:, None].astype(np.int64) - 1 + np.arange(4), 0, n_in - 1)
    return idx, weights


def _bicubic2d(x: Tensor, size: tuple, scales: tuple, align_corners: bool) -> Tensor:
    """Separable bicubic resize of (N, C, H, W) input: along H then W, a gather of the 4
    taps of every output index (getitem) weighted and summed (its gradient is the gathers'
    scatter-add)."""
    th = _cubic_taps(x.shape[2], size[0], scales[0], align_corners)
    tw = _cubic_taps(x.shape[3], size[1], scales[1], align_corners)
    rows = getitem(x, (slice(None), slice(None), th[0]))  # (N, C, oH, 4, W)
    y = _sum(rows * as_tensor(th[1][:, :, None].astype(x.dtype)), 3)
    cols = getitem(y, (Ellipsis, tw[0]))  # (N, C, oH, oW, 4)
    return _sum(cols * as_tensor(tw[1].astype(x.dtype)), 4)


def _trilinear3d(x: Tensor, size: tuple, scales: tuple, align_corners: bool) -> Tensor:
    """Trilinear resize of (N, C, D, H, W) input, separably: bilinear over (H, W) of the
    N * C * D planes, then bilinear over (D, oH oW) of the N * C planes, whose second axis
    keeps its size (a copy, Note [Upsampling indices]) so only D is interpolated."""
    n, c, d, h, w = x.shape
    planes = _upsample2d(reshape(x, (n, c * d, h, w)), "bilinear", size[1:], scales[1:],
                         align_corners)  # fmt: skip
    area = size[1] * size[2]
    flat = reshape(planes, (n, c, d, area))
    y = _upsample2d(flat, "bilinear", (size[0], area), (scales[0], 0.0), align_corners)
    return reshape(y, (n, c) + tuple(size))


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
    """Resize (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to `size`, or by
    `scale_factor` (output size floor(in * scale_factor)), with mode "nearest",
    "nearest-exact" (the input pixel whose centre is nearest), "linear" (3-D), "bilinear"
    or "bicubic" (4-D), "trilinear" (5-D) or "area" (adaptive average pooling);
    align_corners for the linear and cubic modes only."""
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
    if mode == "trilinear":
        y = _trilinear3d(x, sizes, scales, bool(align_corners))
    elif mode == "area":
        y = adaptive_avg_pool2d(x, sizes)
    elif mode == "bicubic":
        y = _bicubic2d(x, sizes, scales, bool(align_corners))
    else:
        kind = mode if mode.startswith("nearest") else "bilinear"
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
    x, r = as_tensor(input), int_arg("pixel_shuffle", "upscale_factor", upscale_factor)
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
    x, r = as_tensor(input), int_arg("pixel_unshuffle", "downscale_factor", downscale_factor)
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
