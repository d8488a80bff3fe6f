"""Pooling over NCHW / NCL inputs (cpp/kernels/pool, pydl/reference/pool)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import _capture
from .. import backend as _b
from ..tensor import Tensor, as_tensor, grad_needed, record
from . import layout, reduce
from .layout import cat, getitem, reshape, squeeze, stack, unsqueeze
from .activation import int_tuple_arg
from .registry import op


def _pool_tuple(name: str, value: Any) -> tuple[int, ...]:
    """A 2-D pooling setting: an int, a pair, or a 1-tuple meaning both dims (PyTorch's)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return int_tuple_arg(name, value)


def _default_stride(stride: Any) -> bool:
    """stride None or () is PyTorch's default, the kernel size."""
    return stride is None or isinstance(stride, (tuple, list)) and len(stride) == 0


def _pool_stride(kernel: tuple, stride: Any) -> tuple[int, ...]:
    return kernel if _default_stride(stride) else _pool_tuple("stride", stride)


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
            f"{fn}: kernel_size, stride and dilation must be >= 1; got kernel_size="
            f"{kernel}, stride={stride}, dilation={dilation}"
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
    return_indices: bool = False,
) -> Any:
    """Max over each window of (N, C, H, W) input (or unbatched (C, H, W)); stride
    defaults to the kernel size. return_indices: also the int64 flat index (h * W + w) of
    each maximum in its plane, as PyTorch's (what max_unpool2d takes)."""
    x = as_tensor(input)
    if x.ndim == 3:
        out = max_pool2d(unsqueeze(x, 0), kernel_size, stride, padding, dilation, ceil_mode,
                         return_indices)  # fmt: skip
        return tuple(squeeze(t, 0) for t in out) if return_indices else squeeze(out, 0)
    if x.ndim != 4:
        raise ValueError(f"max_pool2d expects input (N, C, H, W); got shape {x.shape}")
    k = _pool_tuple("kernel_size", kernel_size)
    args = (
        k,
        _pool_stride(k, stride),
        _pool_tuple("padding", padding),
        _pool_tuple("dilation", dilation),
        ceil_mode,
    )
    _check_pool("max_pool2d", x.shape, *args)
    y, idx = _b.active.maxpool2d_forward(x._array, *args, save=return_indices or grad_needed(x))

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.maxpool2d_backward(g, idx, node.inputs[0].shape, *args),)

    out = record(y, (x,), backward)
    return (out, as_tensor(idx)) if return_indices else out


@op(kernels=("avgpool2d",))
def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each window of (N, C, H, W) input (padding zeros count when
    count_include_pad); stride defaults to the kernel size. divisor_override: the window
    sums divided by it instead."""
    x = as_tensor(input)
    if x.ndim == 3:
        return squeeze(avg_pool2d(unsqueeze(x, 0), kernel_size, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override), 0)  # fmt: skip
    if x.ndim != 4:
        raise ValueError(f"avg_pool2d expects input (N, C, H, W); got shape {x.shape}")
    k = _pool_tuple("kernel_size", kernel_size)
    args = (
        k,
        _pool_stride(k, stride),
        _pool_tuple("padding", padding),
        ceil_mode,
        count_include_pad,
    )
    _check_pool("avg_pool2d", x.shape, args[0], args[1], args[2], (1, 1), ceil_mode)
    y = _b.active.avgpool2d_forward(x._array, *args)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.avgpool2d_backward(g, node.inputs[0].shape, *args),)

    out = record(y, (x,), backward)
    if divisor_override is None:
        return out
    if int(divisor_override) == 0:
        raise ValueError("avg_pool2d: divisor_override must be non-zero")
    # the means times their divisors are the window sums
    counts = [
        _window_counts(n, *a, o, count_include_pad)
        for n, a, o in zip(x.shape[2:], zip(*args[:3]), y.shape[2:])
    ]
    scale = np.outer(counts[0], counts[1]) / float(divisor_override)
    return out * as_tensor(scale.astype(y.dtype))


def _window_counts(n: int, k: int, s: int, p: int, out: int, include_pad: bool) -> np.ndarray:
    """PyTorch's average-pooling divisor along one dim: each window's size clipped to the
    padded input (include_pad) or to the input."""
    counts = np.empty(out, np.float64)
    for o in range(out):
        start = o * s - p
        end = builtins.min(start + k, n + p)
        counts[o] = end - start if include_pad else builtins.min(end, n) - builtins.max(start, 0)
    return counts


def _pool_out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooled size: floor or ceil, and with ceil the last window starts inside
    the input or its left padding (cpp/kernels/pool.h, PoolShape::out_size)."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _depth_taps(x: Tensor, k: int, s: int, p: int, d: int, ceil_mode: bool, fill: float) -> Any:
    """(taps (N, C, k, D_out, H, W), D_out): for each of the k taps of a depth window, the
    depth slices it reads for every output depth; x padded along depth with `fill` (also
    past the end, where a ceil_mode window overhangs)."""
    n, c, depth = x.shape[:3]
    d_out = _pool_out_size(depth, k, s, p, d, ceil_mode)
    last = (d_out - 1) * s + d * (k - 1) + 1  # padded depth the windows reach
    back = builtins.max(p, last - depth - p)
    if p or back:
        pads = [as_tensor(_capture.snapshot(np.full((n, c, m) + x.shape[3:], fill, x.dtype)))
                for m in (p, back)]  # fmt: skip
        x = cat([pads[0], x, pads[1]], 2)
    span = (d_out - 1) * s + 1
    taps = [getitem(x, (slice(None), slice(None), slice(t * d, t * d + span, s))) for t in range(k)]
    return stack(taps, 2), d_out


def _pool3d_args(fn: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, ceil_mode: bool) -> tuple:  # fmt: skip
    if x.ndim != 5:
        raise ValueError(f"{fn} expects input (N, C, D, H, W) or (C, D, H, W); got {x.shape}")
    k = int_tuple_arg("kernel_size", kernel_size, 3)
    args = (
        k,
        int_tuple_arg("stride", k if stride is None else stride, 3),
        int_tuple_arg("padding", padding, 3),
        int_tuple_arg("dilation", dilation, 3),
    )
    _check_pool(fn, x.shape, *args, ceil_mode)
    return args


@op(kernels=(), toplevel=True)
def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over each window of (N, C, D, H, W) input: max_pool2d over (H, W) of every
    depth slice a window reads, then the max over the window's depth taps (the gradient
    goes to the first maximum in (d, h, w) order, as PyTorch's). return_indices: also the
    flat index d * H * W + h * W + w of each maximum."""
    x = as_tensor(input)
    if x.ndim == 4:
        out = max_pool3d(unsqueeze(x, 0), kernel_size, stride, padding, dilation, ceil_mode,
                         return_indices)  # fmt: skip
        return tuple(squeeze(t, 0) for t in out) if return_indices else squeeze(out, 0)
    (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), (dd, dh, dw) = _pool3d_args(
        "max_pool3d", x, kernel_size, stride, padding, dilation, ceil_mode
    )
    n, c, _, h, w = x.shape
    taps, d_out = _depth_taps(x, kd, sd, pd, dd, ceil_mode, -np.inf)
    planes = reshape(taps, (n, c * kd * d_out, h, w))
    y2, idx2 = max_pool2d(planes, (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode, True)
    y2 = reshape(y2, (n, c, kd, d_out) + y2.shape[2:])
    y, tap = reduce.max(y2, 2)
    if not return_indices:
        return y
    idx2 = idx2._array.reshape(y2.shape)
    t = tap._array[:, :, None]
    depth = np.arange(d_out)[:, None, None] * sd - pd + t[:, :, 0] * dd
    flat = np.take_along_axis(idx2, t, 2)[:, :, 0] + depth * (h * w)
    return y, as_tensor(flat.astype(np.int64))


@op(kernels=(), toplevel=True)
def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each window of (N, C, D, H, W) input: avg_pool2d over (H, W) of every depth
    slice a window reads, summed over the depth taps and divided by the window's depth
    count (PyTorch's divisor is the product of the per-dim counts)."""
    x = as_tensor(input)
    if x.ndim == 4:
        return squeeze(avg_pool3d(unsqueeze(x, 0), kernel_size, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override), 0)  # fmt: skip
    (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), _ = _pool3d_args(
        "avg_pool3d", x, kernel_size, stride, padding, 1, ceil_mode
    )
    n, c, depth, h, w = x.shape
    taps, d_out = _depth_taps(x, kd, sd, pd, 1, ceil_mode, 0.0)
    planes = reshape(taps, (n, c * kd * d_out, h, w))
    y2 = avg_pool2d(planes, (kh, kw), (sh, sw), (ph, pw), ceil_mode, count_include_pad)
    y = reduce.sum(reshape(y2, (n, c, kd, d_out) + y2.shape[2:]), 2)
    depth_counts = _window_counts(depth, kd, sd, pd, d_out, count_include_pad)
    if divisor_override is None:
        scale = (1.0 / depth_counts)[:, None, None]
    else:
        if int(divisor_override) == 0:
            raise ValueError("avg_pool3d: divisor_override must be non-zero")
        hw = [
            _window_counts(m, k, s_, p, o, count_include_pad)
            for m, k, s_, p, o in zip((h, w), (kh, kw), (sh, sw), (ph, pw), y2.shape[2:])
        ]
        scale = np.outer(hw[0], hw[1]) / float(divisor_override)
    return y * as_tensor(scale.astype(x.dtype))


def _keep_none(output_size: Any, sizes: tuple) -> Any:
    """An adaptive pooling's output_size with each None replaced by the input's size."""
    if isinstance(output_size, (tuple, list)):
        return tuple(n if s is None else s for s, n in zip(output_size, sizes))
    return output_size


@op(kernels=("adaptive_avgpool2d",))
def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, H, W) input (or (C, H, W)) to a fixed (oH, oW) (None keeps
    that dim); output_size 1 is global average pooling."""
    x = as_tensor(input)
    if x.ndim == 3:
        return squeeze(adaptive_avg_pool2d(unsqueeze(x, 0), output_size), 0)
    if x.ndim != 4:
        raise ValueError(
            f"adaptive_avg_pool2d expects input (N, C, H, W) or (C, H, W); got {x.shape}"
        )
    size = int_tuple_arg("output_size", _keep_none(output_size, x.shape[2:]))
    y = _b.active.adaptive_avgpool2d_forward(x._array, size)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.adaptive_avgpool2d_backward(g, node.inputs[0].shape),)

    return record(y, (x,), backward)


def _pool1d(
    pool2d: Any, input: Tensor, kernel_size: Any, stride: Any, padding: Any, **kwargs: Any
) -> Tensor:
    """pool2d over (N, C, 1, L) (or unbatched (C, 1, L)); max_pool2d's (values, indices)
    when return_indices (an index h * L + w with h = 0 is the position along L)."""
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"1-D pooling expects input (N, C, L) or (C, L); got shape {x.shape}")
    (k,) = int_tuple_arg("kernel_size", kernel_size, 1)
    (s,) = int_tuple_arg("stride", k if _default_stride(stride) else stride, 1)
    (p,) = int_tuple_arg("padding", padding, 1)
    out = pool2d(unsqueeze(x, -2), (1, k), (1, s), (0, p), **kwargs)
    return tuple(squeeze(t, -2) for t in out) if isinstance(out, tuple) else squeeze(out, -2)


@op(kernels=())
def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over each window of (N, C, L) input (or (C, L)); return_indices: also the int64
    position of each maximum along L."""
    (d,) = int_tuple_arg("dilation", dilation, 1)
    return _pool1d(max_pool2d, input, kernel_size, stride, padding, dilation=(1, d),
                   ceil_mode=ceil_mode, return_indices=return_indices)  # fmt: skip


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


@op(kernels=(), toplevel=True)
def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, L) input to output_size (the H = 1 case of
    adaptive_avg_pool2d)."""
    x = as_tensor(input)
    if x.ndim == 2:
        return squeeze(adaptive_avg_pool1d(unsqueeze(x, 0), output_size), 0)
    if x.ndim != 3:
        raise ValueError(
            f"adaptive_avg_pool1d expects input (N, C, L) or (C, L); got shape {x.shape}"
        )
    (size,) = int_tuple_arg("output_size", output_size, 1)
    return squeeze(adaptive_avg_pool2d(unsqueeze(x, 2), (1, size)), 2)


def _adaptive_windows(n: int, out: int) -> np.ndarray:
    """(out, widest window) input positions of PyTorch's adaptive windows [floor(i n /
    out), ceil((i + 1) n / out)); a narrower window repeats its first position (which
    leaves its max unchanged and sends its gradient to the same element)."""
    start = (np.arange(out) * n) // out
    end = -((-(np.arange(out) + 1) * n) // out)
    width = int((end - start).max())
    pos = start[:, None] + np.arange(width)[None, :]
    return np.where(pos < end[:, None], pos, start[:, None])


@op(kernels=(), toplevel=True)
def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of (N, C, H, W) input (or (C, H, W)) to output_size (None keeps that
    dim): each output cell takes the max of its adaptive window (the gradient goes to the
    first maximum); return_indices: also each maximum's flat index h * W + w."""
    x = as_tensor(input)
    if x.ndim == 3:
        out = adaptive_max_pool2d(unsqueeze(x, 0), output_size, return_indices)
        return tuple(squeeze(t, 0) for t in out) if return_indices else squeeze(out, 0)
    if x.ndim != 4:
        raise ValueError(f"adaptive_max_pool2d expects input (N, C, H, W); got {x.shape}")
    h, w = x.shape[2:]
    oh, ow = int_tuple_arg("output_size", _keep_none(output_size, (h, w)))
    if oh < 0 or ow < 0 or (h == 0 or w == 0) and oh * ow > 0:
        raise ValueError(f"adaptive_max_pool2d: cannot pool {x.shape} to {(oh, ow)}")
    rows, cols = _adaptive_windows(h, oh), _adaptive_windows(w, ow)
    # (oh, ow, kh * kw) flat positions of every window, gathered then reduced
    flat = (rows[:, None, :, None] * w + cols[None, :, None, :]).reshape(oh, ow, -1)
    windows = getitem(reshape(x, x.shape[:2] + (h * w,)), (Ellipsis, flat))
    y, arg = reduce.max(windows, -1)
    if not return_indices:
        return y
    idx = np.take_along_axis(np.broadcast_to(flat, arg.shape + (flat.shape[-1],)),
                             arg._array[..., None], -1)[..., 0]  # fmt: skip
    return y, as_tensor(idx.astype(np.int64))


@op(kernels=(), toplevel=True)
def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of (N, C, L) input to output_size (adaptive_max_pool2d with H = 1)."""
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise ValueError(
            f"adaptive_max_pool1d expects input (N, C, L) or (C, L); got shape {x.shape}"
        )
    (size,) = int_tuple_arg("output_size", output_size, 1)
    out = adaptive_max_pool2d(unsqueeze(x, -2), (1, size), return_indices)
    return tuple(squeeze(t, -2) for t in out) if return_indices else squeeze(out, -2)


@op(kernels=(), toplevel=True)
def max_unpool2d(
    input: Tensor,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """max_pool2d's partial inverse: zeros of the unpooled size with each input value at
    its index (the flat h * W + w that max_pool2d(return_indices=True) gave); the gradient
    of input is the output's gradient read back at the indices."""
    x = as_tensor(input)
    idx = np.asarray(indices._array if isinstance(indices, Tensor) else indices)
    if x.ndim not in (3, 4) or idx.shape != x.shape:
        raise ValueError(
            f"max_unpool2d expects input (N, C, H, W) or (C, H, W) and indices of its shape; "
            f"got {x.shape} and {idx.shape}"
        )
    if idx.dtype.kind not in "iu":
        raise TypeError(f"max_unpool2d: indices must be integers, got dtype {idx.dtype}")
    k = int_tuple_arg("kernel_size", kernel_size)
    s = int_tuple_arg("stride", k if stride is None else stride)
    p = int_tuple_arg("padding", padding)
    default = tuple((n - 1) * s_ - 2 * p_ + k_ for n, k_, s_, p_ in zip(x.shape[-2:], k, s, p))
    if output_size is None:
        size = default
    else:
        size = tuple(int(n) for n in output_size)[-2:]
        if len(size) != 2 or any(not d - s_ < n < d + s_ for n, d, s_ in zip(size, default, s)):
            raise ValueError(
                f"max_unpool2d: output_size {tuple(output_size)} must be within a stride "
                f"{s} of the default {default}"
            )
    plane = size[0] * size[1]
    lead = x.shape[:-2]
    flat_idx = idx.reshape(-1, idx.shape[-2] * idx.shape[-1]).astype(np.int64)
    if flat_idx.size and (flat_idx.min() < 0 or flat_idx.max() >= plane):
        raise IndexError(
            f"max_unpool2d: an index lies outside the output plane of {plane} elements "
            f"(output size {size})"
        )
    planes = flat_idx.shape[0]
    zeros = as_tensor(np.zeros((planes, plane), x.dtype))
    key = (np.arange(planes)[:, None], flat_idx)
    values = reshape(x, (planes, flat_idx.shape[1]))
    return reshape(layout.index_put(zeros, key, values), lead + size)
