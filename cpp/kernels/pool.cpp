#include "kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/parallel.h"
#include "core/vec.h"
#include "kernels/activation.h"

namespace pydl {

namespace {

// Planes per task: about 16K window elements.
int64_t plane_grain(int64_t plane_work) {
    return std::max<int64_t>(1, 16384 / std::max<int64_t>(plane_work, 1));
}
// fn(p) for every plane, planes in parallel, in the copy for the widest instruction set
// (vec::simd_chunks): an always-inline fn's loops are compiled into each copy (max
// pooling's 2x2 rows, 64x16 planes of 32x32 on 1 thread: 400-480 -> 295-300 us).
template <typename Fn>
void for_each_plane(int64_t planes, int64_t plane_work, Fn fn) {
    parallel_for(0, planes, plane_grain(plane_work),
                 vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                     for (int64_t p = lo; p < hi; ++p) fn(p);
                 }));
}
// The same with fn(slot, p): `slot` is the call's share of scratch taken before the region
// (Note [Scratch before regions]), `slots` of them.
template <typename Fn>
void for_each_plane_slots(int64_t planes, int64_t grain, int slots, Fn fn) {
    parallel_for_slots(0, planes, grain, slots, [&](int slot, int64_t lo, int64_t hi) {
        vec::simd_call([&]() PYDL_INLINE_LAMBDA {
            for (int64_t p = lo; p < hi; ++p) fn(slot, p);
        });
    });
}

// The average window of output (i, j): bounds clipped to the input, and the divisor.
struct AvgWindow {
    int64_t h0, h1, w0, w1, divisor;
};
AvgWindow avg_window(const PoolShape& s, bool count_include_pad, int64_t i, int64_t j) {
    int64_t h0 = i * s.stride_h - s.pad_h, w0 = j * s.stride_w - s.pad_w;
    int64_t h1 = std::min(h0 + s.kh, s.h + s.pad_h), w1 = std::min(w0 + s.kw, s.w + s.pad_w);
    const int64_t padded = (h1 - h0) * (w1 - w0);
    h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0);
    h1 = std::min(h1, s.h), w1 = std::min(w1, s.w);
    return {h0, h1, w0, w1, count_include_pad ? padded : (h1 - h0) * (w1 - w0)};
}

inline int64_t start_index(int64_t i, int64_t in, int64_t out) { return i * in / out; }
inline int64_t end_index(int64_t i, int64_t in, int64_t out) {
    return ((i + 1) * in + out - 1) / out;
}

}  // namespace

// [lo, hi) of window offsets a (0 <= a < k) whose position o*s - p + a*d lies in [0, n).
inline void window_range(int64_t o, int64_t n, int64_t k, int64_t s, int64_t p, int64_t d,
                         int64_t& lo, int64_t& hi) {
    const int64_t start = o * s - p;
    if (start >= 0 && start + (k - 1) * d < n) {  // interior: no divisions
        lo = 0, hi = k;
        return;
    }
    lo = start >= 0 ? 0 : (-start + d - 1) / d;
    hi = start + (k - 1) * d < n ? k : (n - 1 - start) / d + 1;
    hi = std::max(hi, lo);
}

// One window of output (i, j), scalar: the first maximum wins; a NaN wins and stays.
inline void max_window(const PoolShape& s, const float* xp, int64_t i, int64_t j, float* y,
                       int64_t* arg_out) {
    int64_t a0, a1, b0, b1;
    window_range(i, s.h, s.kh, s.stride_h, s.pad_h, s.dil_h, a0, a1);
    window_range(j, s.w, s.kw, s.stride_w, s.pad_w, s.dil_w, b0, b1);
    const int64_t r_base = i * s.stride_h - s.pad_h, c_base = j * s.stride_w - s.pad_w;
    float best = -std::numeric_limits<float>::infinity();
    int64_t arg = -1;
    for (int64_t a = a0; a < a1; ++a)
        for (int64_t b = b0; b < b1; ++b) {
            const int64_t k = (r_base + a * s.dil_h) * s.w + c_base + b * s.dil_w;
            const float v = xp[k];
            if (arg < 0 || (best == best && (v > best || v != v))) best = v, arg = k;
        }
    *y = best;
    *arg_out = arg;
}

// Interior columns [j0, j1) of output row i, vectorized across j: every window element
// (a, b) updates all the row's running maxima (the same first-maximum/NaN rule).
PYDL_INLINE void max_row_body(const PoolShape& s, const float* xp, int64_t i, int64_t a0,
                              int64_t a1, int64_t j0, int64_t j1, float* __restrict best,
                              int64_t* __restrict arg) {
    const int64_t r_base = i * s.stride_h - s.pad_h;
    bool first = true;
    for (int64_t a = a0; a < a1; ++a) {
        const int64_t r = r_base + a * s.dil_h;
        const float* row = xp + r * s.w;
        for (int64_t b = 0; b < s.kw; ++b) {
            const int64_t off = b * s.dil_w - s.pad_w;
            if (first) {
                for (int64_t j = j0; j < j1; ++j) {
                    best[j] = row[j * s.stride_w + off];
                    arg[j] = r * s.w + j * s.stride_w + off;
                }
                first = false;
                continue;
            }
            for (int64_t j = j0; j < j1; ++j) {
                const float v = row[j * s.stride_w + off];
                const bool take = (v > best[j]) | ((v != v) & (best[j] == best[j]));
                best[j] = take ? v : best[j];
                arg[j] = take ? r * s.w + j * s.stride_w + off : arg[j];
            }
        }
    }
}

// The common 2x2, stride 2 window (dilation 1) on interior columns [j0, j1) of output row i.
// Written so GCC vectorizes it (3-5x faster than the general body): a plain first-maximum
// pass, then NaNs patched in from independent masks (the first NaN in window order wins).
// Carrying the NaN rule through the running selects, as the general body does, makes GCC
// select between masks, which it cannot vectorize.
PYDL_INLINE void max_row_2x2_body(const PoolShape& s, const float* xp, int64_t i, int64_t j0,
                                  int64_t j1, float* __restrict best, int64_t* __restrict arg) {
    const int64_t w = s.w, r = 2 * i - s.pad_h;  // locals: arg's stores may alias s
    const float* row0 = xp + r * w - s.pad_w;
    const float* row1 = row0 + w;
    const int64_t base = r * w - s.pad_w;
    for (int64_t j = j0; j < j1; ++j) {
        const float v0 = row0[2 * j], v1 = row0[2 * j + 1], v2 = row1[2 * j], v3 = row1[2 * j + 1];
        float b = v0;
        int32_t k = 0;
        k = v1 > b ? 1 : k, b = v1 > b ? v1 : b;
        k = v2 > b ? 2 : k, b = v2 > b ? v2 : b;
        k = v3 > b ? 3 : k, b = v3 > b ? v3 : b;
        k = v3 != v3 ? 3 : k, k = v2 != v2 ? 2 : k, k = v1 != v1 ? 1 : k, k = v0 != v0 ? 0 : k;
        const bool nan = (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);
        best[j] = nan ? v0 + v1 + v2 + v3 : b;
        arg[j] = base + 2 * j + (k & 1) + int64_t(k >> 1) * w;
    }
}

void maxpool2d_forward(const PoolShape& s, const float* x, float* y, int64_t* indices) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    // Columns whose whole window is inside the input.
    int64_t j0 = 0, j1 = ow;
    while (j0 < ow && j0 * s.stride_w - s.pad_w < 0) ++j0;
    while (j1 > j0 && (j1 - 1) * s.stride_w - s.pad_w + (s.kw - 1) * s.dil_w >= s.w) --j1;
    const bool two_by_two = s.kh == 2 && s.kw == 2 && s.stride_h == 2 && s.stride_w == 2 &&
                            s.dil_h == 1 && s.dil_w == 1;
    // Without `indices` (no backward) each slot's argmaxes go to one plane of scratch.
    const int64_t grain = plane_grain(oh * ow * s.kh * s.kw);
    const int slots = parallel_slots(0, s.planes, grain);
    const Scratch<int64_t> spare(indices ? 0 : slots * oh * ow);
    for_each_plane_slots(s.planes, grain, slots, [&](int slot, int64_t p) PYDL_INLINE_LAMBDA {
        const float* xp = x + p * s.h * s.w;
        float* yp = y + p * oh * ow;
        int64_t* ip = indices ? indices + p * oh * ow : spare.data() + slot * oh * ow;
        for (int64_t i = 0; i < oh; ++i) {
            const auto scalar = [&](int64_t lo, int64_t hi) {
                for (int64_t j = lo; j < hi; ++j)
                    max_window(s, xp, i, j, yp + i * ow + j, ip + i * ow + j);
            };
            int64_t a0, a1;
            window_range(i, s.h, s.kh, s.stride_h, s.pad_h, s.dil_h, a0, a1);
            if (a0 >= a1 || j0 >= j1) {  // no interior window on this row
                scalar(0, ow);
                continue;
            }
            if (a0 == 0 && a1 == 2 && two_by_two)
                max_row_2x2_body(s, xp, i, j0, j1, yp + i * ow, ip + i * ow);
            else
                max_row_body(s, xp, i, a0, a1, j0, j1, yp + i * ow, ip + i * ow);
            scalar(0, j0);
            scalar(j1, ow);
        }
    });
}

void maxpool2d_backward(const PoolShape& s, const float* grad, const int64_t* indices,
                        float* grad_x, std::optional<UnaryOp> act, const float* act_x,
                        const float* act_y) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    // The indices may come from the user: check them before any write (-1: empty window).
    const int64_t bad = find_out_of_range(indices, s.planes * oh * ow, -1, s.h * s.w);
    PYDL_CHECK(bad < 0, IndexError, "max_pool2d: index ", indices[bad], " is outside a ", s.h, "x",
               s.w, " plane");
    PYDL_CHECK(!act || (fusable(*act) && act_x && act_y), ValueError,
               "max_pool2d: a fused activation is a fusable one and needs its input and output");
    for_each_plane(s.planes, s.h * s.w, [&](int64_t p) {
        float* gx = grad_x + p * s.h * s.w;
        std::fill(gx, gx + s.h * s.w, 0.0f);
        for (int64_t k = 0; k < oh * ow; ++k) {  // overlapping windows add in order
            const int64_t idx = indices[p * oh * ow + k];
            if (idx >= 0) gx[idx] += grad[p * oh * ow + k];
        }
        if (act) {
            const int64_t at = p * s.h * s.w;
            unary_backward_serial(*act, gx, act_x + at, act_y + at, gx, s.h * s.w);
        }
    });
}

void avgpool2d_forward(const PoolShape& s, bool count_include_pad, const float* x, float* y) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    for_each_plane(s.planes, oh * ow * s.kh * s.kw, [&](int64_t p) {
        const float* xp = x + p * s.h * s.w;
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) {
                const AvgWindow win = avg_window(s, count_include_pad, i, j);
                float acc = 0.0f;
                for (int64_t r = win.h0; r < win.h1; ++r)
                    for (int64_t c = win.w0; c < win.w1; ++c) acc += xp[r * s.w + c];
                y[(p * oh + i) * ow + j] = win.divisor > 0 ? acc / float(win.divisor) : 0.0f;
            }
    });
}

void avgpool2d_backward(const PoolShape& s, bool count_include_pad, const float* grad,
                        float* grad_x) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    for_each_plane(s.planes, s.h * s.w, [&](int64_t p) {
        float* gx = grad_x + p * s.h * s.w;
        std::fill(gx, gx + s.h * s.w, 0.0f);
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) {
                const AvgWindow win = avg_window(s, count_include_pad, i, j);
                if (win.divisor <= 0) continue;
                const float g = grad[(p * oh + i) * ow + j] / float(win.divisor);
                for (int64_t r = win.h0; r < win.h1; ++r)
                    for (int64_t c = win.w0; c < win.w1; ++c) gx[r * s.w + c] += g;
            }
    });
}

void adaptive_avgpool2d_forward(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                const float* x, float* y) {
    for_each_plane(planes, h * w, [&](int64_t p) {
        const float* xp = x + p * h * w;
        for (int64_t i = 0; i < oh; ++i) {
            const int64_t r0 = start_index(i, h, oh), r1 = end_index(i, h, oh);
            for (int64_t j = 0; j < ow; ++j) {
                const int64_t c0 = start_index(j, w, ow), c1 = end_index(j, w, ow);
                double acc = 0.0;
                for (int64_t r = r0; r < r1; ++r)
                    for (int64_t c = c0; c < c1; ++c) acc += xp[r * w + c];
                y[(p * oh + i) * ow + j] = float(acc / double((r1 - r0) * (c1 - c0)));
            }
        }
    });
}

void adaptive_avgpool2d_backward(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                 const float* grad, float* grad_x) {
    for_each_plane(planes, h * w, [&](int64_t p) {
        float* gx = grad_x + p * h * w;
        std::fill(gx, gx + h * w, 0.0f);
        for (int64_t i = 0; i < oh; ++i) {
            const int64_t r0 = start_index(i, h, oh), r1 = end_index(i, h, oh);
            for (int64_t j = 0; j < ow; ++j) {
                const int64_t c0 = start_index(j, w, ow), c1 = end_index(j, w, ow);
                const float g = grad[(p * oh + i) * ow + j] / float((r1 - r0) * (c1 - c0));
                for (int64_t r = r0; r < r1; ++r)
                    for (int64_t c = c0; c < c1; ++c) gx[r * w + c] += g;
            }
        }
    });
}

}  // namespace pydl
