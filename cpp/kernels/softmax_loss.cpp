#include "kernels/softmax_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/parallel.h"
#include "core/vec.h"

namespace pydl {

namespace {

constexpr int64_t kRowGrain = 64;

// log-sum-exp of each row, with vec.h's exp and lane reductions, run in each instruction
// set's copy (vec::simd_chunks; Note [SIMD dispatch]).
void row_lse(const float* logits, int64_t n, int64_t c, float* lse) {
    parallel_for(0, n, kRowGrain, vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                     for (int64_t i = lo; i < hi; ++i) {
                         const float* row = logits + i * c;
                         const float m = vec::lane_max(row, c);
                         const double s =
                             vec::lane_sum(c, [&](int64_t j) { return vec::exp(row[j] - m); });
                         lse[i] = m + float(std::log(s));
                     }
                 }));
}

// Per-sample losses -> the requested reduction (serial sum: fixed order); `denom` is the
// mean's divisor (the kept samples' total weight).
void reduce_losses(const CheckedVector<float>& per, double denom, Reduction r, float* loss) {
    if (r == Reduction::None) {
        std::copy(per.begin(), per.end(), loss);
        return;
    }
    double s = 0.0;
    for (float v : per) s += v;
    loss[0] = float(r == Reduction::Mean ? s / denom : s);
}

// Upstream gradient of sample i's loss.
inline float sample_grad(const float* grad, int64_t i, Reduction r, double denom) {
    if (r == Reduction::None) return grad[i];
    return r == Reduction::Mean ? float(grad[0] / denom) : grad[0];
}

inline float class_weight(const float* weight, int64_t k) { return weight ? weight[k] : 1.0f; }

// The mean's divisor: the total weight of the samples not ignored (serial: fixed order).
double kept_weight(const int64_t* target, const float* weight, int64_t n, int64_t ignore_index) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i)
        if (target[i] != ignore_index) s += class_weight(weight, target[i]);
    return s;
}

}  // namespace

void check_labels(const int64_t* target, int64_t n, int64_t c, int64_t ignore_index) {
    for (int64_t i = 0; i < n; ++i)
        PYDL_CHECK(target[i] == ignore_index || (target[i] >= 0 && target[i] < c), IndexError,
                   "target ", target[i], " is out of bounds for ", c, " classes (sample ", i, ")");
}

void cross_entropy_forward(const float* logits, const int64_t* target, const float* weight,
                           int64_t n, int64_t c, Reduction reduction, int64_t ignore_index,
                           float label_smoothing, float* loss, float* lse) {
    check_labels(target, n, c, ignore_index);
    row_lse(logits, n, c, lse);
    CheckedVector<float> per(n);
    const float e = label_smoothing;
    // Without smoothing a sample's loss is one subtraction: not worth a parallel region.
    const int64_t grain = e > 0.0f ? kRowGrain : std::max<int64_t>(n, 1);
    parallel_for(0, n, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            const int64_t t = target[i];
            if (t == ignore_index) {
                per[i] = 0.0f;
                continue;
            }
            const float* row = logits + i * c;
            float l = class_weight(weight, t) * (lse[i] - row[t]);
            if (e > 0.0f) {  // Note [Label smoothing]
                double s = 0.0;
                for (int64_t j = 0; j < c; ++j)
                    s += double(class_weight(weight, j)) * (lse[i] - row[j]);
                l = (1.0f - e) * l + float(double(e) / double(c) * s);
            }
            per[i] = l;
        }
    });
    reduce_losses(per, kept_weight(target, weight, n, ignore_index), reduction, loss);
}

void cross_entropy_backward(const float* grad, const float* logits, const int64_t* target,
                            const float* weight, const float* lse, int64_t n, int64_t c,
                            Reduction reduction, int64_t ignore_index, float label_smoothing,
                            float* grad_logits) {
    check_labels(target, n, c, ignore_index);
    const double denom = kept_weight(target, weight, n, ignore_index);
    // Note [Label smoothing]: d loss_i / d x_ij = a (p_j - [j = t]) + b (p_j W - w_j) with
    // a = (1 - e) w[t], b = e / C and W the weights' sum.
    const float e = label_smoothing, b = e / float(c);
    double wsum = double(c);
    if (weight) {
        wsum = 0.0;
        for (int64_t j = 0; j < c; ++j) wsum += weight[j];
    }
    const float bw = b * float(wsum);
    parallel_for(0, n, kRowGrain, vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                     for (int64_t i = lo; i < hi; ++i) {
                         float* __restrict g = grad_logits + i * c;
                         const int64_t t = target[i];
                         if (t == ignore_index) {
                             std::fill(g, g + c, 0.0f);
                             continue;
                         }
                         const float gi = sample_grad(grad, i, reduction, denom);
                         const float a = (1.0f - e) * class_weight(weight, t);
                         const float k = gi * (a + bw);
                         const float* row = logits + i * c;
                         const float l = lse[i];
                         for (int64_t j = 0; j < c; ++j)
                             g[j] = k * vec::exp(row[j] - l);  // softmax
                         if (e > 0.0f) {
                             const float gb = gi * b;
                             for (int64_t j = 0; j < c; ++j) g[j] -= gb * class_weight(weight, j);
                         }
                         g[t] -= gi * a;
                     }
                 }));
}

void cross_entropy_prob_forward(const float* logits, const float* target, const float* weight,
                                int64_t n, int64_t c, Reduction reduction, float* loss,
                                float* lse) {
    row_lse(logits, n, c, lse);
    CheckedVector<float> per(n);
    parallel_for(0, n, kRowGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            double s = 0.0;
            for (int64_t j = 0; j < c; ++j)
                s += double(class_weight(weight, j)) * double(target[i * c + j]) *
                     (lse[i] - logits[i * c + j]);
            per[i] = float(s);
        }
    });
    reduce_losses(per, double(n), reduction, loss);
}

void cross_entropy_prob_backward(const float* grad, const float* logits, const float* target,
                                 const float* weight, const float* lse, int64_t n, int64_t c,
                                 Reduction reduction, float* grad_logits) {
    parallel_for(0, n, kRowGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            const float gi = sample_grad(grad, i, reduction, double(n));
            const float* t = target + i * c;
            double tsum = 0.0;  // the weighted targets need not sum to one
            for (int64_t j = 0; j < c; ++j) tsum += double(class_weight(weight, j)) * t[j];
            for (int64_t j = 0; j < c; ++j) {
                const float p = std::exp(logits[i * c + j] - lse[i]);
                grad_logits[i * c + j] = gi * (p * float(tsum) - class_weight(weight, j) * t[j]);
            }
        }
    });
}

void nll_loss_forward(const float* logp, const int64_t* target, const float* weight, int64_t n,
                      int64_t c, Reduction reduction, int64_t ignore_index, float* loss) {
    check_labels(target, n, c, ignore_index);
    CheckedVector<float> per(n);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t t = target[i];
        per[i] = t == ignore_index ? 0.0f : -class_weight(weight, t) * logp[i * c + t];
    }
    reduce_losses(per, kept_weight(target, weight, n, ignore_index), reduction, loss);
}

void nll_loss_backward(const float* grad, const int64_t* target, const float* weight, int64_t n,
                       int64_t c, Reduction reduction, int64_t ignore_index, float* grad_logp) {
    check_labels(target, n, c, ignore_index);
    const double denom = kept_weight(target, weight, n, ignore_index);
    std::fill(grad_logp, grad_logp + n * c, 0.0f);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t t = target[i];
        if (t != ignore_index)
            grad_logp[i * c + t] =
                -class_weight(weight, t) * sample_grad(grad, i, reduction, denom);
    }
}

}  // namespace pydl
