#include "kernels/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/parallel.h"
#include "core/vec.h"
#include "gemm/microkernel.h"

namespace pydl {

namespace {

// Normalize `count` rows of `len` contiguous values each, where row r's values use
// statistics index stat_of(r) and affine index affine_of(r, j). Each statistics group is
// one task. Used by group norm (and layer norm with one group per row).
struct Moments {
    double mean, invstd;
};

PYDL_INLINE Moments moments(const float* x, int64_t len, float eps) {
    const double mean = vec::lane_sum(len, [&](int64_t i) { return x[i]; }) / double(len);
    const double sq = vec::lane_sum(len, [&](int64_t i) {
        const double d = x[i] - mean;
        return d * d;
    });
    return {mean, 1.0 / std::sqrt(sq / double(len) + eps)};
}

// Layer norm's rows [lo, hi): statistics in double lanes, the normalization in float.
PYDL_INLINE void layer_norm_rows_body(const float* x, int64_t lo, int64_t hi, int64_t d,
                                      const float* weight, const float* bias, float eps, float* y,
                                      float* mean, float* invstd) {
    for (int64_t r = lo; r < hi; ++r) {
        const float* xr = x + r * d;
        const Moments m = moments(xr, d, eps);
        mean[r] = float(m.mean);
        invstd[r] = float(m.invstd);
        const float mu = float(m.mean), is = float(m.invstd);
        float* __restrict yr = y + r * d;
        if (weight && bias)
            for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - mu) * is * weight[j] + bias[j];
        else
            for (int64_t j = 0; j < d; ++j)
                yr[j] = (xr[j] - mu) * is * (weight ? weight[j] : 1.0f) + (bias ? bias[j] : 0.0f);
    }
}

// dx of layer norm's rows [lo, hi), with g = dy * gamma:
// dx = invstd / d * (d g - sum g - x^ sum g x^).
PYDL_INLINE void layer_norm_grad_rows_body(const float* grad, const float* x, int64_t lo,
                                           int64_t hi, int64_t d, const float* weight,
                                           const float* mean, const float* invstd, float* grad_x) {
    for (int64_t r = lo; r < hi; ++r) {
        const float* xr = x + r * d;
        const float* gr = grad + r * d;
        const float mu = mean[r], is = invstd[r];
        float* __restrict gx = grad_x + r * d;  // holds g first
        if (weight)
            for (int64_t j = 0; j < d; ++j) gx[j] = gr[j] * weight[j];
        else
            std::copy(gr, gr + d, gx);
        const double sum_g = vec::lane_sum(d, [&](int64_t j) { return gx[j]; });
        const double sum_gx =
            vec::lane_sum(d, [&](int64_t j) { return gx[j] * ((xr[j] - mu) * is); });
        const float a = is / float(d), sg = float(sum_g), sgx = float(sum_gx), fd = float(d);
        for (int64_t j = 0; j < d; ++j) gx[j] = a * (fd * gx[j] - sg - (xr[j] - mu) * is * sgx);
    }
}

}  // namespace

void batch_norm_forward(const float* x, ChannelShape shape, const float* weight, const float* bias,
                        RunningStats running, BatchNormOptions opt, float* y, float* save_mean,
                        float* save_invstd, std::optional<UnaryOp> act) {
    PYDL_CHECK(!act || fusable(*act), ValueError, "batch_norm: ", unary_op_info(*act).name,
               " is not a fusable activation");
    const int64_t n = shape.n, c = shape.c, s = shape.s;
    const bool training = opt.training;
    const float momentum = opt.momentum, eps = opt.eps;
    float* running_mean = running.mean;
    float* running_var = running.var;
    const int64_t count = n * s;
    parallel_for(0, c, std::max<int64_t>(1, 16384 / std::max<int64_t>(count, 1)),
                 vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                     for (int64_t ch = lo; ch < hi; ++ch) {
                         double mean, var;
                         if (training) {  // sums per sample in lanes, then over samples in order
                             double sum = 0.0;
                             for (int64_t i = 0; i < n; ++i) {
                                 const float* xr = x + (i * c + ch) * s;
                                 sum += vec::lane_sum(s, [&](int64_t k) { return xr[k]; });
                             }
                             mean = sum / double(count);
                             double sq = 0.0;
                             for (int64_t i = 0; i < n; ++i) {
                                 const float* xr = x + (i * c + ch) * s;
                                 sq += vec::lane_sum(s, [&](int64_t k) {
                                     const double d = xr[k] - mean;
                                     return d * d;
                                 });
                             }
                             var = sq / double(count);
                             if (running_mean) {
                                 running_mean[ch] =
                                     float((1.0 - momentum) * running_mean[ch] + momentum * mean);
                                 const double unbiased =
                                     count > 1 ? var * double(count) / double(count - 1) : var;
                                 running_var[ch] = float((1.0 - momentum) * running_var[ch] +
                                                         momentum * unbiased);
                             }
                         } else {
                             mean = running_mean[ch];
                             var = running_var[ch];
                         }
                         const double invstd = 1.0 / std::sqrt(var + eps);
                         save_mean[ch] = float(mean);
                         save_invstd[ch] = float(invstd);
                         const float scale = float(invstd) * (weight ? weight[ch] : 1.0f);
                         const float shift = (bias ? bias[ch] : 0.0f) - float(mean) * scale;
                         for (int64_t i = 0; i < n; ++i) {
                             const float* xr = x + (i * c + ch) * s;
                             float* yr = y + (i * c + ch) * s;
                             for (int64_t k = 0; k < s; ++k) yr[k] = xr[k] * scale + shift;
                         }
                         // the channel's n rows of s values, c * s apart
                         if (act) gemm::apply_activation_rows(act, y + ch * s, c * s, n, s);
                     }
                 }));
}

void batch_norm_backward(const float* grad, const float* x, ChannelShape shape, const float* weight,
                         const float* save_mean, const float* save_invstd, bool training,
                         float* grad_x, float* grad_weight, float* grad_bias) {
    const int64_t n = shape.n, c = shape.c, s = shape.s;
    const int64_t count = n * s;
    parallel_for(0, c, std::max<int64_t>(1, 16384 / std::max<int64_t>(count, 1)),
                 vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                     for (int64_t ch = lo; ch < hi; ++ch) {
                         const double mean = save_mean[ch], invstd = save_invstd[ch];
                         double sum_g = 0.0,
                                sum_gx = 0.0;  // sum dy, sum dy * x^ (lanes per sample)
                         const float mu = float(mean), is = float(invstd);
                         for (int64_t i = 0; i < n; ++i) {
                             const float* gr = grad + (i * c + ch) * s;
                             const float* xr = x + (i * c + ch) * s;
                             sum_g += vec::lane_sum(s, [&](int64_t k) { return gr[k]; });
                             sum_gx += vec::lane_sum(
                                 s, [&](int64_t k) { return gr[k] * ((xr[k] - mu) * is); });
                         }
                         if (grad_weight) grad_weight[ch] = float(sum_gx);
                         if (grad_bias) grad_bias[ch] = float(sum_g);
                         if (!grad_x) continue;
                         // training: dx = gamma invstd / M (M dy - sum dy - x^ sum dy x^); eval:
                         // the statistics are constants, dx = gamma invstd dy.
                         const float gamma = weight ? weight[ch] : 1.0f, fm = float(count);
                         const float a = gamma * is / fm, sg = float(sum_g), sgx = float(sum_gx);
                         for (int64_t i = 0; i < n; ++i) {
                             const float* __restrict gr = grad + (i * c + ch) * s;
                             const float* __restrict xr = x + (i * c + ch) * s;
                             float* __restrict gx = grad_x + (i * c + ch) * s;
                             if (training)
                                 for (int64_t k = 0; k < s; ++k)
                                     gx[k] = a * (fm * gr[k] - sg - (xr[k] - mu) * is * sgx);
                             else
                                 for (int64_t k = 0; k < s; ++k) gx[k] = gr[k] * (gamma * is);
                         }
                     }
                 }));
}

void layer_norm_forward(const float* x, int64_t rows, int64_t d, const float* weight,
                        const float* bias, float eps, float* y, float* mean, float* invstd) {
    parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1)),
                 vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                     layer_norm_rows_body(x, lo, hi, d, weight, bias, eps, y, mean, invstd);
                 }));
}

void layer_norm_backward(const float* grad, const float* x, int64_t rows, int64_t d,
                         const float* weight, const float* mean, const float* invstd, float* grad_x,
                         float* grad_weight, float* grad_bias, const float* accumulate) {
    if (grad_x) {
        parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1)),
                     vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                         layer_norm_grad_rows_body(grad, x, lo, hi, d, weight, mean, invstd,
                                                   grad_x);
                         // A separate pass over the block (in cache), so that the sum is
                         // rounded on its own as add's is, not fused into the last multiply.
                         if (accumulate)
                             for (int64_t i = lo * d; i < hi * d; ++i)
                                 grad_x[i] = accumulate[i] + grad_x[i];
                     }));
    }
    if (grad_weight || grad_bias) {
        // Per column, rows summed in order; rows outer so the columns of a block vectorize.
        parallel_for(0, d, 64, vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                         Scratch<double> acc(2 * (hi - lo));
                         double* __restrict gw = acc.data();
                         double* __restrict gb = acc.data() + (hi - lo);
                         std::fill(gw, gw + 2 * (hi - lo), 0.0);
                         for (int64_t r = 0; r < rows; ++r) {
                             const double mu = mean[r], is = invstd[r];
                             const float* __restrict gr = grad + r * d + lo;
                             const float* __restrict xr = x + r * d + lo;
                             for (int64_t j = 0; j < hi - lo; ++j) {
                                 gw[j] += double(gr[j]) * (xr[j] - mu) * is;
                                 gb[j] += gr[j];
                             }
                         }
                         for (int64_t j = lo; j < hi; ++j) {
                             if (grad_weight) grad_weight[j] = float(gw[j - lo]);
                             if (grad_bias) grad_bias[j] = float(gb[j - lo]);
                         }
                     }));
    }
}

void group_norm_forward(const float* x, ChannelShape shape, int64_t groups, const float* weight,
                        const float* bias, float eps, float* y, float* mean, float* invstd) {
    const int64_t n = shape.n, c = shape.c, s = shape.s;
    const int64_t cg = c / groups, len = cg * s;
    parallel_for(0, n * groups, std::max<int64_t>(1, 16384 / std::max<int64_t>(len, 1)),
                 vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                     for (int64_t t = lo; t < hi; ++t) {
                         const float* xt = x + t * len;
                         const Moments m = moments(xt, len, eps);
                         mean[t] = float(m.mean);
                         invstd[t] = float(m.invstd);
                         const int64_t g = t % groups;
                         for (int64_t cc = 0; cc < cg; ++cc) {
                             const int64_t ch = g * cg + cc;
                             const float scale = float(m.invstd) * (weight ? weight[ch] : 1.0f);
                             const float shift = (bias ? bias[ch] : 0.0f) - float(m.mean) * scale;
                             for (int64_t k = 0; k < s; ++k)
                                 y[t * len + cc * s + k] = xt[cc * s + k] * scale + shift;
                         }
                     }
                 }));
}

void group_norm_backward(const float* grad, const float* x, ChannelShape shape, int64_t groups,
                         const float* weight, const float* mean, const float* invstd, float* grad_x,
                         float* grad_weight, float* grad_bias) {
    const int64_t n = shape.n, c = shape.c, s = shape.s;
    const int64_t cg = c / groups, len = cg * s;
    if (grad_x) {
        parallel_for(
            0, n * groups, std::max<int64_t>(1, 16384 / std::max<int64_t>(len, 1)),
            vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                for (int64_t t = lo; t < hi; ++t) {
                    const int64_t g = t % groups;
                    const float mu = mean[t], is = invstd[t];
                    double sum_g = 0.0, sum_gx = 0.0;  // per channel in lanes, channels in order
                    for (int64_t cc = 0; cc < cg; ++cc) {
                        const float gamma = weight ? weight[g * cg + cc] : 1.0f;
                        const float* gr = grad + t * len + cc * s;
                        const float* xr = x + t * len + cc * s;
                        sum_g += vec::lane_sum(s, [&](int64_t k) { return gr[k] * gamma; });
                        sum_gx += vec::lane_sum(
                            s, [&](int64_t k) { return gr[k] * gamma * ((xr[k] - mu) * is); });
                    }
                    const float a = is / float(len), fl = float(len), sg = float(sum_g),
                                sgx = float(sum_gx);
                    for (int64_t cc = 0; cc < cg; ++cc) {
                        const float gamma = weight ? weight[g * cg + cc] : 1.0f;
                        const float* __restrict gr = grad + t * len + cc * s;
                        const float* __restrict xr = x + t * len + cc * s;
                        float* __restrict gx = grad_x + t * len + cc * s;
                        for (int64_t k = 0; k < s; ++k)
                            gx[k] = a * (fl * gr[k] * gamma - sg - (xr[k] - mu) * is * sgx);
                    }
                }
            }));
    }
    if (grad_weight || grad_bias) {
        parallel_for(
            0, c, 1,
            vec::simd_chunks(
                [&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {  // per channel, samples in order
                    for (int64_t ch = lo; ch < hi; ++ch) {
                        const int64_t g = ch / cg;
                        double gw = 0.0, gb = 0.0;
                        for (int64_t i = 0; i < n; ++i) {
                            const int64_t t = i * groups + g;
                            const float mu = mean[t], is = invstd[t];
                            const float* gr = grad + (i * c + ch) * s;
                            const float* xr = x + (i * c + ch) * s;
                            gw += vec::lane_sum(
                                s, [&](int64_t k) { return gr[k] * ((xr[k] - mu) * is); });
                            gb += vec::lane_sum(s, [&](int64_t k) { return gr[k]; });
                        }
                        if (grad_weight) grad_weight[ch] = float(gw);
                        if (grad_bias) grad_bias[ch] = float(gb);
                    }
                }));
    }
}

}  // namespace pydl
