// Optimizer steps: one call updates every parameter of a group in place.
//
// Tensors are visited in fixed-size chunks; every update is elementwise except the
// per-tensor norms of LAMB and Adafactor, which sum per-chunk partials in chunk order.
// So results are identical for any thread count (Note [Determinism]).
// Each step follows torch.optim's definition; the comments give the formula.
#pragma once
#include <cstdint>
#include <vector>

namespace pydl {

struct ParamSlot {
    float* param;
    const float* grad;
    float* state[3];  // the optimizer's per-element state buffers (unused ones null)
    int64_t size;
};

// SGD: g = +-grad + wd p; buf = g (first step) or momentum buf + (1 - dampening) g;
// g = nesterov ? g + momentum buf : buf; p -= lr g. state: {buf}.
void sgd_step(const std::vector<ParamSlot>& slots, float lr, float momentum, float dampening,
              bool nesterov, float weight_decay, bool maximize, bool first_step);

// Adam / AdamW / AMSGrad at step t >= 1. state: {m, v, v_max (amsgrad)}.
// decoupled (AdamW): p *= 1 - lr wd; otherwise g += wd p.
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; v_max = max(v_max, v) if amsgrad;
// p -= lr / (1 - b1^t) * m / (sqrt(v or v_max) / sqrt(1 - b2^t) + eps).
void adam_step(const std::vector<ParamSlot>& slots, int64_t step, float lr, float beta1,
               float beta2, float eps, float weight_decay, bool decoupled, bool amsgrad,
               bool maximize);

// Adagrad: g += wd p; sum += g^2; p -= clr g / (sqrt(sum) + eps). state: {sum}.
void adagrad_step(const std::vector<ParamSlot>& slots, float clr, float weight_decay, float eps,
                  bool maximize);

// RMSprop: g += wd p; sq = alpha sq + (1 - alpha) g^2; centered: ga = alpha ga + (1 - alpha) g,
// avg = sqrt(sq - ga^2) + eps, else avg = sqrt(sq) + eps; momentum > 0: buf = momentum buf
// + g / avg, p -= lr buf; else p -= lr g / avg. state: {sq, buf, ga}.
void rmsprop_step(const std::vector<ParamSlot>& slots, float lr, float alpha, float eps,
                  float weight_decay, float momentum, bool centered, bool maximize);

// Adadelta: g += wd p; sq = rho sq + (1 - rho) g^2; delta = sqrt(acc + eps) / sqrt(sq + eps) g;
// acc = rho acc + (1 - rho) delta^2; p -= lr delta. state: {sq, acc}.
void adadelta_step(const std::vector<ParamSlot>& slots, float lr, float rho, float eps,
                   float weight_decay, bool maximize);

// NAdam with step coefficients computed by the caller: g += wd p (unless decoupled,
// applied by the caller's coefficients); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// denom = sqrt(v / bc2) + eps; p -= coef_grad g / denom + coef_avg m / denom. state: {m, v}.
void nadam_step(const std::vector<ParamSlot>& slots, float beta1, float beta2, float bc2,
                float coef_grad, float coef_avg, float eps, float weight_decay,
                bool decoupled_lr_wd, float lr, bool maximize);

// Lion: c = b1 m + (1 - b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1 - b2) g. state: {m}.
void lion_step(const std::vector<ParamSlot>& slots, float lr, float beta1, float beta2,
               float weight_decay, bool maximize);

// LAMB: m, v as Adam (bias-corrected when bias_correction); u = m^ / (sqrt(v^) + eps) + wd p;
// r = ||p|| / ||u|| per tensor (1 when either is 0); p -= lr r u. state: {m, v}.
void lamb_step(const std::vector<ParamSlot>& slots, int64_t step, float lr, float beta1,
               float beta2, float eps, float weight_decay, bool bias_correction, bool maximize);

// Lookahead: slow += alpha (fast - slow); fast = slow. `param` is fast, state[0] slow.
void lookahead_step(const std::vector<ParamSlot>& slots, float alpha);

// Adafactor (torch.optim.Adafactor) for one tensor viewed as (batch, rows, cols) when
// factored (row_var: batch x rows, col_var: batch x cols), else as a vector with
// `variance`. Returns nothing; updates param and the state in place.
void adafactor_step(float* param, const float* grad, int64_t batch, int64_t rows, int64_t cols,
                    bool factored, float* row_var, float* col_var, float* variance, int64_t step,
                    float lr, float beta2_decay, float eps1, float eps2, float d,
                    float weight_decay, bool maximize);

}  // namespace pydl
