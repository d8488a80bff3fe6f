// Upsampling (resizing) of (N, C, H, W) planes by nearest neighbour or bilinear
// interpolation, with PyTorch's index rules; 1-D is the H = 1 case. Direct loops, one plane
// per task; the backward passes scatter-add into each plane in a fixed order.
#pragma once
#include <cstdint>

namespace pydl {

// Note [Upsampling indices]: along each axis, output index i of `out` reads input indices
// of `in` by PyTorch's rules (aten/src/ATen/native/UpSample.h), where `scale` is the
// user's scale factor (output per input) or 0 when the size was given (or
// recompute_scale_factor asked for it to be derived from the sizes):
//   r = 1 / scale if scale > 0, else in / out
//   nearest   out == in: i; out == 2 in: i / 2; else min(floor(i * r), in - 1) with r and
//             the product in single precision for every dtype: PyTorch's 2-D rule (its
//             nearest_idx), exact for float32 and float64 alike. PyTorch's 1-D kernel differs
//             from this H = 1 case: it skips the shortcuts (a scale_factor of 1.1 or 2.1 on
//             5 values) and multiplies in double for float64.
//   nearest-exact (exact): min(floor((i + 0.5) * r), in - 1), the product in double rounded
//             to single precision before the floor, as PyTorch's
//             nearest_neighbor_exact_compute_source_index (no shortcuts).
//   bilinear  out == in: i (a copy). Else with align_corners, r = (in - 1) / (out - 1)
//             (0 when out == 1) and src = r i; without, src = max(r (i + 0.5) - 0.5, 0).
//             i0 = min(floor(src), in - 1), i1 = min(i0 + 1, in - 1), weights
//             l1 = clamp(src - i0, 0, 1) and l0 = 1 - l1; in double precision (the
//             weights are continuous in src: no index to agree on).
// pydl.reference.upsample is the same rules in NumPy.
struct UpsampleShape {
    int64_t planes, h, w, out_h, out_w;  // N * C planes of h x w -> out_h x out_w
    double scale_h, scale_w;             // the user's scale factors, 0 for none
};

// exact: "nearest-exact"'s rule rather than "nearest"'s.
void upsample_nearest2d_forward(const UpsampleShape& s, bool exact, const float* x, float* y);
void upsample_nearest2d_backward(const UpsampleShape& s, bool exact, const float* grad,
                                 float* grad_x);
void upsample_bilinear2d_forward(const UpsampleShape& s, bool align_corners, const float* x,
                                 float* y);
void upsample_bilinear2d_backward(const UpsampleShape& s, bool align_corners, const float* grad,
                                  float* grad_x);

}  // namespace pydl
