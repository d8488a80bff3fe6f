// Losses beyond softmax_loss: the elementwise losses of an input and a target (l1,
// smooth_l1, huber, soft_margin, poisson_nll, hinge_embedding) and the connectionist
// temporal classification loss (ctc).
#pragma once
#include <cstdint>

namespace pydl {

// Note [Elementwise losses]: loss_i = f(x_i, y_i) with d = x_i - y_i; the reduction (mean,
// sum) is the caller's, over the elementwise losses.
//   L1           |d|                                       dx = sign(d), dy = -dx
//   SmoothL1     |d| < b ? d^2 / (2b) : |d| - b / 2        (param b = beta; b = 0 is L1)
//   Huber        |d| < a ? d^2 / 2 : a (|d| - a / 2)       (param a = delta)
//   SoftMargin   log(1 + exp(-y x))
//   PoissonLog   exp(x) - y x                              (log_input=True)
//   Poisson      x - y log(x + eps)                        (log_input=False; param eps)
//   HingeEmbedding  [y != 1] max(0, a - x) + [y != -1] x  (param a = margin; no dy)
// `full` adds the Poisson losses' Stirling term y log y - y + log(2 pi y) / 2 where y > 1.
enum class ElementwiseLoss { L1, SmoothL1, Huber, SoftMargin, PoissonLog, Poisson, HingeEmbedding };

void elementwise_loss_forward(ElementwiseLoss kind, const float* x, const float* y, int64_t n,
                              float param, bool full, float* loss);
// grad_x / grad_y: null when not needed (Note [Gradient outputs]).
void elementwise_loss_backward(ElementwiseLoss kind, const float* grad, const float* x,
                               const float* y, int64_t n, float param, bool full, float* grad_x,
                               float* grad_y);

// The multi-class hinge loss of (N, C) scores x and class indices y (checked by the binding
// to lie in [0, C)), per sample: loss_n = w[y_n] / C sum_{i != y_n} max(0, margin - x_n[y_n]
// + x_n[i])^p for p 1 or 2; weight null (all ones) or C class weights.
void multi_margin_loss_forward(const float* x, const int64_t* target, const float* weight,
                               int64_t n, int64_t c, int p, float margin, float* loss);
void multi_margin_loss_backward(const float* grad, const float* x, const int64_t* target,
                                const float* weight, int64_t n, int64_t c, int p, float margin,
                                float* grad_x);

// Note [CTC]: log_probs (T, N, C) log-probabilities; sample n's target is targets[offset[n] ..
// offset[n] + target_lengths[n]) (the binding has checked every length, offset and class
// against the shapes). The extended target l' puts a blank around every label (2L + 1
// states); alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) + [l'(s) != l'(s-2)]
// alpha_{t-1}(s-2)) y_t(l'(s)) in log space, nll_n = -log(alpha_{T-1}(2L) +
// alpha_{T-1}(2L-1)); +inf when no alignment fits in input_lengths[n] steps. Backward
// recomputes alpha and the matching beta (double precision, per sample) instead of
// saving them: d nll / d log y_t(k) = -sum_{s: l'(s) = k} alpha_t(s) beta_t(s) / (y_t(k) p).
// This is the gradient with respect to the log-probabilities themselves (PyTorch's
// kernel returns the one that holds after a log_softmax, which differs from this by
// softmax(x) per step and agrees with it through the log_softmax).
// Samples are independent: one task each, so results do not depend on the thread count.
struct CtcShape {
    int64_t t, n, c, blank;
};
void ctc_loss_forward(const CtcShape& s, const float* log_probs, const int64_t* targets,
                      const int64_t* offsets, const int64_t* input_lengths,
                      const int64_t* target_lengths, float* nll);
// grad: the N upstream gradients of nll (recomputed, in double); zero_infinity: samples whose
// nll is infinite get a zero gradient (else NaN, the gradient of an infinite loss).
void ctc_loss_backward(const CtcShape& s, const float* grad, const float* log_probs,
                       const int64_t* targets, const int64_t* offsets, const int64_t* input_lengths,
                       const int64_t* target_lengths, bool zero_infinity, float* grad_log_probs);

}  // namespace pydl
