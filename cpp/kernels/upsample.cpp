#include "kernels/upsample.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/buffer_pool.h"
#include "core/parallel.h"

namespace pydl {

namespace {

// Input index of each output index along one axis, nearest (Note [Upsampling indices]).
CheckedVector<int64_t> nearest_indices(int64_t in, int64_t out, double scale, bool exact) {
    CheckedVector<int64_t> idx(static_cast<size_t>(out));
    const float r = scale > 0.0 ? float(1.0 / scale) : float(in) / float(out);
    for (int64_t i = 0; i < out; ++i) {
        const float src = exact ? float((double(i) + 0.5) * double(r)) : float(i) * r;
        if (exact) {
            idx[i] = !(src < float(in - 1)) ? in - 1 : int64_t(std::floor(src));
        } else if (out == in) {
            idx[i] = i;
        } else if (out == 2 * in) {
            idx[i] = i / 2;
        } else {
            // `!(src < in - 1)` also catches an infinite or NaN src (r from a scale near 0)
            // before a conversion to int64 that could not hold it.
            idx[i] = !(src < float(in - 1)) ? in - 1 : int64_t(std::floor(src));
        }
    }
    return idx;
}

// Bilinear taps along one axis: output index i reads i0[i] and i1[i] with weights l0[i],
// l1[i] (Note [Upsampling indices]).
struct LinearTaps {
    CheckedVector<int64_t> i0, i1;
    CheckedVector<float> l0, l1;
};
LinearTaps linear_taps(int64_t in, int64_t out, double scale, bool align_corners) {
    const size_t n = static_cast<size_t>(out);
    LinearTaps t{CheckedVector<int64_t>(n), CheckedVector<int64_t>(n), CheckedVector<float>(n),
                 CheckedVector<float>(n)};
    double r;
    if (align_corners)
        r = out > 1 ? double(in - 1) / double(out - 1) : 0.0;
    else
        r = scale > 0.0 ? 1.0 / scale : double(in) / double(out);
    for (int64_t i = 0; i < out; ++i) {
        int64_t i0 = i;
        double l1 = 0.0;
        if (out != in) {
            double src = align_corners ? r * double(i) : r * (double(i) + 0.5) - 0.5;
            if (src < 0.0) src = 0.0;
            if (!(src < double(in - 1))) {  // past the last input (or not finite)
                i0 = in - 1;
            } else {
                i0 = int64_t(std::floor(src));
                l1 = std::min(std::max(src - double(i0), 0.0), 1.0);
            }
        }
        t.i0[i] = i0;
        // An axis that keeps its size is a copy: no second tap, whose weight 0 would make
        // 0 * inf = NaN of an infinite neighbour (as the reference's taps).
        t.i1[i] = out == in ? i0 : std::min(i0 + 1, in - 1);
        t.l1[i] = float(l1);
        t.l0[i] = float(1.0 - l1);
    }
    return t;
}

// fn(p) for every plane p, planes in parallel, about 16K output elements a task (pooling's
// grain, kernels/pool.cpp). Planes are independent: each backward's scatter-add runs in
// one fixed order whatever the thread count (Note [Determinism]).
template <typename Fn>
void for_each_plane(const UpsampleShape& s, Fn fn) {
    const int64_t work = std::max<int64_t>(1, s.out_h * s.out_w);
    parallel_for(0, s.planes, std::max<int64_t>(1, 16384 / work), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) fn(p);
    });
}

}  // namespace

void upsample_nearest2d_forward(const UpsampleShape& s, bool exact, const float* x, float* y) {
    const auto ih = nearest_indices(s.h, s.out_h, s.scale_h, exact);
    const auto iw = nearest_indices(s.w, s.out_w, s.scale_w, exact);
    for_each_plane(s, [&](int64_t p) {
        const float* xp = x + p * s.h * s.w;
        float* yp = y + p * s.out_h * s.out_w;
        for (int64_t i = 0; i < s.out_h; ++i) {
            const float* __restrict row = xp + ih[i] * s.w;
            float* __restrict dst = yp + i * s.out_w;
            for (int64_t j = 0; j < s.out_w; ++j) dst[j] = row[iw[j]];
        }
    });
}

void upsample_nearest2d_backward(const UpsampleShape& s, bool exact, const float* grad,
                                 float* grad_x) {
    const auto ih = nearest_indices(s.h, s.out_h, s.scale_h, exact);
    const auto iw = nearest_indices(s.w, s.out_w, s.scale_w, exact);
    for_each_plane(s, [&](int64_t p) {
        float* gx = grad_x + p * s.h * s.w;
        const float* gp = grad + p * s.out_h * s.out_w;
        std::fill(gx, gx + s.h * s.w, 0.0f);
        for (int64_t i = 0; i < s.out_h; ++i) {
            float* row = gx + ih[i] * s.w;
            const float* src = gp + i * s.out_w;
            for (int64_t j = 0; j < s.out_w; ++j) row[iw[j]] += src[j];
        }
    });
}

void upsample_bilinear2d_forward(const UpsampleShape& s, bool align_corners, const float* x,
                                 float* y) {
    const LinearTaps th = linear_taps(s.h, s.out_h, s.scale_h, align_corners);
    const LinearTaps tw = linear_taps(s.w, s.out_w, s.scale_w, align_corners);
    for_each_plane(s, [&](int64_t p) {
        const float* xp = x + p * s.h * s.w;
        float* yp = y + p * s.out_h * s.out_w;
        for (int64_t i = 0; i < s.out_h; ++i) {
            const float* r0 = xp + th.i0[i] * s.w;
            const float* r1 = xp + th.i1[i] * s.w;
            const float a0 = th.l0[i], a1 = th.l1[i];
            float* __restrict dst = yp + i * s.out_w;
            for (int64_t j = 0; j < s.out_w; ++j) {
                const int64_t j0 = tw.i0[j], j1 = tw.i1[j];
                const float b0 = tw.l0[j], b1 = tw.l1[j];
                dst[j] = a0 * (b0 * r0[j0] + b1 * r0[j1]) + a1 * (b0 * r1[j0] + b1 * r1[j1]);
            }
        }
    });
}

void upsample_bilinear2d_backward(const UpsampleShape& s, bool align_corners, const float* grad,
                                  float* grad_x) {
    const LinearTaps th = linear_taps(s.h, s.out_h, s.scale_h, align_corners);
    const LinearTaps tw = linear_taps(s.w, s.out_w, s.scale_w, align_corners);
    for_each_plane(s, [&](int64_t p) {
        float* gx = grad_x + p * s.h * s.w;
        const float* gp = grad + p * s.out_h * s.out_w;
        std::fill(gx, gx + s.h * s.w, 0.0f);
        for (int64_t i = 0; i < s.out_h; ++i) {
            float* r0 = gx + th.i0[i] * s.w;
            float* r1 = gx + th.i1[i] * s.w;
            const float a0 = th.l0[i], a1 = th.l1[i];
            const float* src = gp + i * s.out_w;
            for (int64_t j = 0; j < s.out_w; ++j) {
                const int64_t j0 = tw.i0[j], j1 = tw.i1[j];
                const float b0 = tw.l0[j], b1 = tw.l1[j], g = src[j];
                r0[j0] += a0 * b0 * g;
                r0[j1] += a0 * b1 * g;
                r1[j0] += a1 * b0 * g;
                r1[j1] += a1 * b1 * g;
            }
        }
    });
}

}  // namespace pydl
