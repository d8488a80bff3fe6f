#include "kernels/softmax_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

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

// Per-sample losses -> the requested reduction (serial sum: fixed order).
void reduce_losses(const std::vector<float>& per, int64_t count, Reduction r, float* loss) {
    if (r == Reduction::None) {
        std::copy(per.begin(), per.end(), loss);
        return;
    }
    double s = 0.0;
    for (float v : per) s += v;
    loss[0] = float(r == Reduction::Mean ? s / double(count) : s);
}

// Upstream gradient of sample i's loss.
inline float sample_grad(const float* grad, int64_t i, Reduction r, int64_t count) {
    if (r == Reduction::None) return grad[i];
    return r == Reduction::Mean ? grad[0] / float(count) : grad[0];
}

int64_t count_kept(const int64_t* target, int64_t n, int64_t ignore_index) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; ++i) k += target[i] != ignore_index;
    return k;
}

}  // namespace

void check_labels(const int64_t* target, int64_t n, int64_t c, int64_t ignore_index) {
    for (int64_t i = 0; i < n; ++i)
        PYDL_CHECK(target[i] == ignore_index || (target[i] >= 0 && target[i] < c), IndexError,
                   "target ", target[i], " is out of bounds for ", c, " classes (sample ", i, ")");
}

void cross_entropy_forward(const float* logits, const int64_t* target, int64_t n, int64_t c,
                           Reduction reduction, int64_t ignore_index, float* loss, float* lse) {
    check_labels(target, n, c, ignore_index);
    row_lse(logits, n, c, lse);
    std::vector<float> per(n);
    for (int64_t i = 0; i < n; ++i)
        per[i] = target[i] == ignore_index ? 0.0f : lse[i] - logits[i * c + target[i]];
    reduce_losses(per, count_kept(target, n, ignore_index), reduction, loss);
}

void cross_entropy_backward(const float* grad, const float* logits, const int64_t* target,
                            const float* lse, int64_t n, int64_t c, Reduction reduction,
                            int64_t ignore_index, float* grad_logits) {
    check_labels(target, n, c, ignore_index);
    const int64_t count = count_kept(target, n, ignore_index);
    parallel_for(0, n, kRowGrain, vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                     for (int64_t i = lo; i < hi; ++i) {
                         float* __restrict g = grad_logits + i * c;
                         if (target[i] == ignore_index) {
                             std::fill(g, g + c, 0.0f);
                             continue;
                         }
                         const float gi = sample_grad(grad, i, reduction, count);
                         const float* row = logits + i * c;
                         const float l = lse[i];
                         for (int64_t j = 0; j < c; ++j)
                             g[j] = gi * vec::exp(row[j] - l);  // softmax
                         g[target[i]] -= gi;
                     }
                 }));
}

void cross_entropy_prob_forward(const float* logits, const float* target, int64_t n, int64_t c,
                                Reduction reduction, float* loss, float* lse) {
    row_lse(logits, n, c, lse);
    std::vector<float> per(n);
    parallel_for(0, n, kRowGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            double s = 0.0;
            for (int64_t j = 0; j < c; ++j)
                s += double(target[i * c + j]) * (lse[i] - logits[i * c + j]);
            per[i] = float(s);
        }
    });
    reduce_losses(per, n, reduction, loss);
}

void cross_entropy_prob_backward(const float* grad, const float* logits, const float* target,
                                 const float* lse, int64_t n, int64_t c, Reduction reduction,
                                 float* grad_logits) {
    parallel_for(0, n, kRowGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            const float gi = sample_grad(grad, i, reduction, n);
            double tsum = 0.0;  // the targets need not sum to one
            for (int64_t j = 0; j < c; ++j) tsum += target[i * c + j];
            for (int64_t j = 0; j < c; ++j) {
                const float p = std::exp(logits[i * c + j] - lse[i]);
                grad_logits[i * c + j] = gi * (p * float(tsum) - target[i * c + j]);
            }
        }
    });
}

void nll_loss_forward(const float* logp, const int64_t* target, int64_t n, int64_t c,
                      Reduction reduction, int64_t ignore_index, float* loss) {
    check_labels(target, n, c, ignore_index);
    std::vector<float> per(n);
    for (int64_t i = 0; i < n; ++i)
        per[i] = target[i] == ignore_index ? 0.0f : -logp[i * c + target[i]];
    reduce_losses(per, count_kept(target, n, ignore_index), reduction, loss);
}

void nll_loss_backward(const float* grad, const int64_t* target, int64_t n, int64_t c,
                       Reduction reduction, int64_t ignore_index, float* grad_logp) {
    check_labels(target, n, c, ignore_index);
    const int64_t count = count_kept(target, n, ignore_index);
    std::fill(grad_logp, grad_logp + n * c, 0.0f);
    for (int64_t i = 0; i < n; ++i)
        if (target[i] != ignore_index)
            grad_logp[i * c + target[i]] = -sample_grad(grad, i, reduction, count);
}

}  // namespace pydl
