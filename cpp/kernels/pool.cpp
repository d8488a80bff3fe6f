#include "kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"

namespace pydl {

namespace {

template <typename Fn>
void for_each_plane(int64_t planes, int64_t plane_work, Fn fn) {
    parallel_for(0, planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(plane_work, 1)),
                 [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) fn(p);
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

void maxpool2d_forward(const PoolShape& s, const float* x, float* y, int64_t* indices) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    for_each_plane(s.planes, oh * ow * s.kh * s.kw, [&](int64_t p) {
        const float* xp = x + p * s.h * s.w;
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) {
                float best = -std::numeric_limits<float>::infinity();
                int64_t arg = -1;
                for (int64_t a = 0; a < s.kh; ++a) {
                    const int64_t r = i * s.stride_h - s.pad_h + a * s.dil_h;
                    if (r < 0 || r >= s.h) continue;
                    for (int64_t b = 0; b < s.kw; ++b) {
                        const int64_t c = j * s.stride_w - s.pad_w + b * s.dil_w;
                        if (c < 0 || c >= s.w) continue;
                        const float v = xp[r * s.w + c];
                        // The first maximum wins; a NaN wins and then stays (as PyTorch).
                        const bool take = arg < 0 || (!std::isnan(best) && (v > best || std::isnan(v)));
                        if (take) best = v, arg = r * s.w + c;
                    }
                }
                y[(p * oh + i) * ow + j] = best;
                indices[(p * oh + i) * ow + j] = arg;
            }
    });
}

void maxpool2d_backward(const PoolShape& s, const float* grad, const int64_t* indices,
                        float* grad_x) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    for_each_plane(s.planes, s.h * s.w, [&](int64_t p) {
        float* gx = grad_x + p * s.h * s.w;
        std::fill(gx, gx + s.h * s.w, 0.0f);
        for (int64_t k = 0; k < oh * ow; ++k) {  // overlapping windows add in order
            const int64_t idx = indices[p * oh * ow + k];
            if (idx >= 0) gx[idx] += grad[p * oh * ow + k];
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
