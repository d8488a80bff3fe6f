"""Upsampling of (N, C, H, W) planes, PyTorch's index rules (Note [Upsampling indices] in
cpp/kernels/upsample.h). Along each axis, output index i reads input indices computed from
r = 1/scale (scale > 0: the user's scale factor) or in/out:

nearest:   y[.., i, j] = x[.., ih(i), iw(j)],  ih(i) = min(floor(i * r_h), H - 1) in float32
           (ih(i) = i when oH == H, i // 2 when oH == 2 H); nearest-exact (exact=True):
           ih(i) = min(floor((i + 0.5) * r_h), H - 1), the product in float64 rounded to
           float32 before the floor
bilinear:  y[.., i, j] = sum over the two rows h0(i), h1(i) and two columns w0(j), w1(j) of
           lh(i) * lw(j) * x[.., h, w], with src = r*(i + 0.5) - 0.5 clamped at 0 (or r*i,
           r = (in - 1)/(out - 1), with align_corners), h0 = floor(src), h1 = h0 + 1 (both at
           most in - 1), weights src - h0 for h1 and 1 - (src - h0) for h0; out == in copies.

Both are linear in x, so the input gradient sends each dy[.., i, j] back to the inputs it
read, with the same weights (a scatter-add).
"""

import numpy as np


def _check(fn, x_shape, size):
    if len(x_shape) != 4:
        raise ValueError(f"{fn} expects input (N, C, H, W); got {tuple(x_shape)}")
    if min(x_shape[2:]) < 1 or min(size) < 1:
        raise ValueError(
            f"{fn}: input and output sizes must be >= 1, got input {tuple(x_shape)} and "
            f"size {tuple(size)}"
        )


def _ratio(n_in, n_out, scale):
    return 1.0 / scale if scale > 0 else n_in / n_out


def _nearest_indices(n_in, n_out, scale, exact=False):
    """ih(i) for i < n_out: a copy, a halving, or a single-precision product (PyTorch's
    nearest_idx); exact: nearest-exact's (PyTorch's
    nearest_neighbor_exact_compute_source_index)."""
    if not exact and n_out == n_in:
        return np.arange(n_out)
    if not exact and n_out == 2 * n_in:
        return np.arange(n_out) // 2
    with np.errstate(over="ignore", invalid="ignore"):  # a scale near 0: clamped below
        r = np.float32(1.0 / scale) if scale > 0 else np.float32(n_in) / np.float32(n_out)
        if exact:
            src = ((np.arange(n_out) + 0.5) * np.float64(r)).astype(np.float32)
        else:
            src = np.arange(n_out, dtype=np.float32) * r
        big = ~(src < n_in - 1)
    return np.where(big, n_in - 1, np.floor(np.where(big, 0, src))).astype(np.int64)


def _linear_taps(n_in, n_out, scale, align_corners):
    """(i0, i1, l0, l1) for i < n_out: output i = l0 * x[i0] + l1 * x[i1]."""
    i = np.arange(n_out, dtype=np.float64)
    if n_out == n_in:
        i0 = np.arange(n_out)
        return i0, i0, np.ones(n_out), np.zeros(n_out)
    if align_corners:
        src = i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        src = np.maximum(_ratio(n_in, n_out, scale) * (i + 0.5) - 0.5, 0.0)
    with np.errstate(invalid="ignore"):
        big = ~(src < n_in - 1)  # past the last input, or not finite
    src = np.where(big, n_in - 1, src)
    i0 = np.floor(src).astype(np.int64)
    l1 = np.clip(src - i0, 0.0, 1.0)
    return i0, np.minimum(i0 + 1, n_in - 1), 1.0 - l1, l1


def upsample_nearest2d_forward(x, size, scales, exact=False):
    _check("upsample_nearest2d", x.shape, size)
    ih = _nearest_indices(x.shape[2], size[0], scales[0], exact)
    iw = _nearest_indices(x.shape[3], size[1], scales[1], exact)
    return np.ascontiguousarray(x[:, :, ih[:, None], iw[None, :]])


def upsample_nearest2d_backward(grad, x_shape, scales, exact=False):
    _check("upsample_nearest2d", x_shape, grad.shape[2:])
    ih = _nearest_indices(x_shape[2], grad.shape[2], scales[0], exact)
    iw = _nearest_indices(x_shape[3], grad.shape[3], scales[1], exact)
    gx = np.zeros(tuple(x_shape), dtype=grad.dtype)
    np.add.at(gx, (slice(None), slice(None), ih[:, None], iw[None, :]), grad)
    return gx


def upsample_bilinear2d_forward(x, size, scales, align_corners):
    _check("upsample_bilinear2d", x.shape, size)
    h0, h1, a0, a1 = _linear_taps(x.shape[2], size[0], scales[0], align_corners)
    w0, w1, b0, b1 = _linear_taps(x.shape[3], size[1], scales[1], align_corners)
    a0, a1 = a0[:, None].astype(x.dtype), a1[:, None].astype(x.dtype)
    b0, b1 = b0.astype(x.dtype), b1.astype(x.dtype)
    r0, r1 = x[:, :, h0, :], x[:, :, h1, :]
    y = a0 * (b0 * r0[..., w0] + b1 * r0[..., w1]) + a1 * (b0 * r1[..., w0] + b1 * r1[..., w1])
    return np.asarray(y, dtype=x.dtype, order="C")


def upsample_bilinear2d_backward(grad, x_shape, scales, align_corners):
    _check("upsample_bilinear2d", x_shape, grad.shape[2:])
    h0, h1, a0, a1 = _linear_taps(x_shape[2], grad.shape[2], scales[0], align_corners)
    w0, w1, b0, b1 = _linear_taps(x_shape[3], grad.shape[3], scales[1], align_corners)
    gx = np.zeros(tuple(x_shape), dtype=grad.dtype)
    for hi, a in ((h0, a0), (h1, a1)):
        for wi, b in ((w0, b0), (w1, b1)):
            weight = (a[:, None] * b[None, :]).astype(grad.dtype)
            np.add.at(gx, (slice(None), slice(None), hi[:, None], wi[None, :]), weight * grad)
    return gx
