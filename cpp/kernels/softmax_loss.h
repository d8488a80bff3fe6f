// Fused classification losses on (N, C) logits: cross-entropy with integer
// labels or class probabilities, and the negative log-likelihood.
//
// Reductions follow PyTorch: None gives per-sample losses, Sum their sum, Mean their
// weighted mean: the sum divided by the total weight of the samples whose label is not
// ignore_index (their count without class weights; probability targets: the sample count).
// `weight` is null (every class weighs 1) or C class weights.
#pragma once
#include <cstdint>

namespace pydl {

enum class Reduction { None, Mean, Sum };

// Label checks run before any output is written: a label outside [0, C) that is
// not ignore_index throws IndexError.
void check_labels(const int64_t* target, int64_t n, int64_t c, int64_t ignore_index);

// loss: N values (None) or 1; lse: the N row log-sum-exps, kept for backward.
// Note [Label smoothing]: with smoothing e, sample i's loss is, as PyTorch's,
//   (1 - e) w[t_i] (lse_i - x_i[t_i]) + e / C sum_c w[c] (lse_i - x_ic),
// and the mean still divides by sum_i w[t_i] over the kept samples. Probability targets
// are smoothed before the kernel (t (1 - e) + e / C), which then weighs them by class.
void cross_entropy_forward(const float* logits, const int64_t* target, const float* weight,
                           int64_t n, int64_t c, Reduction reduction, int64_t ignore_index,
                           float label_smoothing, float* loss, float* lse);
void cross_entropy_backward(const float* grad, const float* logits, const int64_t* target,
                            const float* weight, const float* lse, int64_t n, int64_t c,
                            Reduction reduction, int64_t ignore_index, float label_smoothing,
                            float* grad_logits);
// Soft targets: target holds N x C class probabilities; loss_i = sum_c w[c] t_ic (lse_i - x_ic).
void cross_entropy_prob_forward(const float* logits, const float* target, const float* weight,
                                int64_t n, int64_t c, Reduction reduction, float* loss, float* lse);
void cross_entropy_prob_backward(const float* grad, const float* logits, const float* target,
                                 const float* weight, const float* lse, int64_t n, int64_t c,
                                 Reduction reduction, float* grad_logits);

// loss_i = -w[t_i] logp[i, t_i].
void nll_loss_forward(const float* logp, const int64_t* target, const float* weight, int64_t n,
                      int64_t c, Reduction reduction, int64_t ignore_index, float* loss);
void nll_loss_backward(const float* grad, const int64_t* target, const float* weight, int64_t n,
                       int64_t c, Reduction reduction, int64_t ignore_index, float* grad_logp);

}  // namespace pydl
