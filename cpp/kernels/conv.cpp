#include "kernels/conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "gemm/gemm.h"
#include "kernels/reduce.h"

namespace pydl {

namespace {

// col (cg * kh * kw, oh * ow) from one group of one sample's input (cg, h, w).
void im2col(const ConvShape& s, const float* x, int64_t cg, float* col) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    for (int64_t c = 0; c < cg; ++c)
        for (int64_t ki = 0; ki < s.kh; ++ki)
            for (int64_t kj = 0; kj < s.kw; ++kj) {
                float* row = col + ((c * s.kh + ki) * s.kw + kj) * oh * ow;
                const float* plane = x + c * s.h * s.w;
                for (int64_t i = 0; i < oh; ++i) {
                    const int64_t ih = i * s.stride_h - s.pad_top + ki * s.dil_h;
                    float* out = row + i * ow;
                    if (ih < 0 || ih >= s.h) {
                        std::fill(out, out + ow, 0.0f);
                        continue;
                    }
                    const float* src = plane + ih * s.w;
                    for (int64_t j = 0; j < ow; ++j) {
                        const int64_t iw = j * s.stride_w - s.pad_left + kj * s.dil_w;
                        out[j] = iw >= 0 && iw < s.w ? src[iw] : 0.0f;
                    }
                }
            }
}

// The adjoint of im2col: x (cg, h, w) += col, in a fixed order.
void col2im(const ConvShape& s, const float* col, int64_t cg, float* x) {
    const int64_t oh = s.out_h(), ow = s.out_w();
    for (int64_t c = 0; c < cg; ++c)
        for (int64_t ki = 0; ki < s.kh; ++ki)
            for (int64_t kj = 0; kj < s.kw; ++kj) {
                const float* row = col + ((c * s.kh + ki) * s.kw + kj) * oh * ow;
                float* plane = x + c * s.h * s.w;
                for (int64_t i = 0; i < oh; ++i) {
                    const int64_t ih = i * s.stride_h - s.pad_top + ki * s.dil_h;
                    if (ih < 0 || ih >= s.h) continue;
                    float* dst = plane + ih * s.w;
                    for (int64_t j = 0; j < ow; ++j) {
                        const int64_t iw = j * s.stride_w - s.pad_left + kj * s.dil_w;
                        if (iw >= 0 && iw < s.w) dst[iw] += row[i * ow + j];
                    }
                }
            }
}

// Per-thread im2col workspace, reused across calls.
float* workspace(int64_t count) {
    thread_local std::vector<float> buf;
    if (int64_t(buf.size()) < count) buf.resize(count);
    return buf.data();
}

// Samples run in parallel (each GEMM single-threaded inside) when there are enough of
// them; otherwise one at a time with threaded GEMMs. Either way every output element
// is computed the same way, so results do not depend on the thread count.
template <typename Fn>
void for_each_sample(int64_t n, Fn fn) {
    parallel_for(0, n, n >= get_num_threads() ? 1 : n, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) fn(i);
    });
}

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                    float* y) {
    const int64_t oh = s.out_h(), ow = s.out_w(), spatial = oh * ow;
    const int64_t cg = s.c / s.groups, cog = s.c_out / s.groups, k = cg * s.kh * s.kw;
    for_each_sample(s.n, [&](int64_t i) {
        const float* xi = x + i * s.c * s.h * s.w;
        float* yi = y + i * s.c_out * spatial;
        for (int64_t g = 0; g < s.groups; ++g) {
            const float* col = xi + g * cg * s.h * s.w;
            if (!s.is_pointwise()) {
                float* ws = workspace(k * spatial);
                im2col(s, col, cg, ws);
                col = ws;
            }
            // y_g (cog, spatial) = W_g (cog, k) @ col (k, spatial)
            sgemm(false, false, cog, spatial, k, 1.0f, weight + g * cog * k, k, col, spatial,
                  0.0f, yi + g * cog * spatial, spatial);
        }
        if (bias)
            for (int64_t co = 0; co < s.c_out; ++co)
                for (int64_t p = 0; p < spatial; ++p) yi[co * spatial + p] += bias[co];
    });
}

void conv2d_backward(const ConvShape& s, const float* grad, const float* x, const float* weight,
                     float* grad_x, float* grad_w, float* grad_bias) {
    const int64_t oh = s.out_h(), ow = s.out_w(), spatial = oh * ow;
    const int64_t cg = s.c / s.groups, cog = s.c_out / s.groups, k = cg * s.kh * s.kw;
    const int64_t in_size = s.c * s.h * s.w;
    if (grad_x) {
        for_each_sample(s.n, [&](int64_t i) {
            const float* gi = grad + i * s.c_out * spatial;
            float* gxi = grad_x + i * in_size;
            for (int64_t g = 0; g < s.groups; ++g) {
                const float* wg = weight + g * cog * k;
                const float* gg = gi + g * cog * spatial;
                float* gx = gxi + g * cg * s.h * s.w;
                if (s.is_pointwise()) {  // dx_g (cg, hw) = W_g^T (cg, cog) @ dy_g (cog, hw)
                    sgemm(true, false, cg, spatial, cog, 1.0f, wg, k, gg, spatial, 0.0f, gx,
                          spatial);
                    continue;
                }
                float* col = workspace(k * spatial);
                sgemm(true, false, k, spatial, cog, 1.0f, wg, k, gg, spatial, 0.0f, col, spatial);
                std::fill(gx, gx + cg * s.h * s.w, 0.0f);
                col2im(s, col, cg, gx);
            }
        });
    }
    if (grad_w) {
        // dW_g = sum_n dy_{n,g} @ col_{n,g}^T, samples accumulated in order (beta = 1).
        for (int64_t i = 0; i < s.n; ++i) {
            const float* xi = x + i * in_size;
            const float* gi = grad + i * s.c_out * spatial;
            for (int64_t g = 0; g < s.groups; ++g) {
                const float* col = xi + g * cg * s.h * s.w;
                if (!s.is_pointwise()) {
                    float* ws = workspace(k * spatial);
                    im2col(s, col, cg, ws);
                    col = ws;
                }
                sgemm(false, true, cog, k, spatial, 1.0f, gi + g * cog * spatial, spatial, col,
                      spatial, i == 0 ? 0.0f : 1.0f, grad_w + g * cog * k, k);
            }
        }
        if (s.n == 0) std::fill(grad_w, grad_w + s.c_out * k, 0.0f);
    }
    if (grad_bias)
        reduce_forward(ReduceOp::Sum, grad, {s.n, s.c_out, spatial}, {true, false, true},
                       grad_bias);
}

}  // namespace pydl
