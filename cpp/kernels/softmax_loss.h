// Fused classification losses on (N, C) logits: cross-entropy with integer
// labels or class probabilities, and the negative log-likelihood.
//
// Reductions follow PyTorch: None gives per-sample losses, Sum their sum, Mean
// their mean over the samples whose label is not ignore_index.
#pragma once
#include <cstdint>

namespace pydl {

enum class Reduction { None, Mean, Sum };

// Label checks run before any output is written: a label outside [0, C) that is
// not ignore_index throws IndexError.
void check_labels(const int64_t* target, int64_t n, int64_t c, int64_t ignore_index);

// loss: N values (None) or 1; lse: the N row log-sum-exps, kept for backward.
void cross_entropy_forward(const float* logits, const int64_t* target, int64_t n, int64_t c,
                           Reduction reduction, int64_t ignore_index, float* loss, float* lse);
void cross_entropy_backward(const float* grad, const float* logits, const int64_t* target,
                            const float* lse, int64_t n, int64_t c, Reduction reduction,
                            int64_t ignore_index, float* grad_logits);
// Soft targets: target holds N x C class probabilities.
void cross_entropy_prob_forward(const float* logits, const float* target, int64_t n, int64_t c,
                                Reduction reduction, float* loss, float* lse);
void cross_entropy_prob_backward(const float* grad, const float* logits, const float* target,
                                 const float* lse, int64_t n, int64_t c, Reduction reduction,
                                 float* grad_logits);

void nll_loss_forward(const float* logp, const int64_t* target, int64_t n, int64_t c,
                      Reduction reduction, int64_t ignore_index, float* loss);
void nll_loss_backward(const float* grad, const int64_t* target, int64_t n, int64_t c,
                       Reduction reduction, int64_t ignore_index, float* grad_logp);

}  // namespace pydl
