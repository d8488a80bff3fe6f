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

// Each step's options are a struct (defaults as torch.optim where it has the option;
// values the caller derives from the step count are marked so).

// SGD: g = +-grad + wd p; buf = g (first step) or momentum buf + (1 - dampening) g;
// g = nesterov ? g + momentum buf : buf; p -= lr g. state: {buf} (null without momentum).
struct SgdParams {
    float lr = 1e-3f, momentum = 0.0f, dampening = 0.0f, weight_decay = 0.0f;
    bool nesterov = false, maximize = false;
    bool first_step = false;  // the momentum buffers are new: buf = g
};
void sgd_step(const std::vector<ParamSlot>& slots, const SgdParams& p);

// Adam / AdamW / AMSGrad at step t >= 1. state: {m, v, v_max (amsgrad)}.
// decoupled (AdamW): p *= 1 - lr wd; otherwise g += wd p.
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; v_max = max(v_max, v) if amsgrad;
// p -= lr / (1 - b1^t) * m / (sqrt(v or v_max) / sqrt(1 - b2^t) + eps); without
// bias_correction (the spec's AMSGrad row) p -= lr * m / (sqrt(v or v_max) + eps).
struct AdamParams {
    float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
    int64_t step = 1;  // t, counted from 1
    bool amsgrad = false, maximize = false;
    bool decoupled = false;  // AdamW's weight decay
    bool bias_correction = true;
};
void adam_step(const std::vector<ParamSlot>& slots, const AdamParams& p);

// Adagrad: g += wd p; sum += g^2; p -= clr g / (sqrt(sum) + eps). state: {sum}.
struct AdagradParams {
    float clr = 1e-2f;  // the step's rate, lr / (1 + (t - 1) lr_decay), from the caller
    float weight_decay = 0.0f, eps = 1e-10f;
    bool maximize = false;
};
void adagrad_step(const std::vector<ParamSlot>& slots, const AdagradParams& p);

// RMSprop: g += wd p; sq = alpha sq + (1 - alpha) g^2; centered: ga = alpha ga + (1 - alpha) g,
// avg = sqrt(sq - ga^2) + eps, else avg = sqrt(sq) + eps (eps_in_sqrt, the spec's form:
// sqrt(... + eps)); momentum > 0: buf = momentum buf + g / avg, p -= lr buf; else
// p -= lr g / avg. state: {sq, buf, ga}.
struct RmspropParams {
    float lr = 1e-2f, alpha = 0.99f, eps = 1e-8f, weight_decay = 0.0f, momentum = 0.0f;
    bool centered = false, maximize = false, eps_in_sqrt = false;
};
void rmsprop_step(const std::vector<ParamSlot>& slots, const RmspropParams& p);

// Adadelta: g += wd p; sq = rho sq + (1 - rho) g^2; delta = sqrt(acc + eps) / sqrt(sq + eps) g;
// acc = rho acc + (1 - rho) delta^2; p -= lr delta. state: {sq, acc}.
struct AdadeltaParams {
    float lr = 1.0f, rho = 0.9f, eps = 1e-6f, weight_decay = 0.0f;
    bool maximize = false;
};
void adadelta_step(const std::vector<ParamSlot>& slots, const AdadeltaParams& p);

// NAdam with step coefficients computed by the caller: g += wd p (unless decoupled: then
// p *= 1 - lr wd); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// denom = sqrt(v / bc2) + eps; p -= coef_grad g / denom + coef_avg m / denom. state: {m, v}.
struct NadamParams {
    float lr = 2e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
    // From the caller's momentum schedule at this step: 1 - b2^t, and the factors of g and m.
    float bias_correction2 = 1.0f, coef_grad = 0.0f, coef_avg = 0.0f;
    bool decoupled = false;  // NAdamW's weight decay
    bool maximize = false;
};
void nadam_step(const std::vector<ParamSlot>& slots, const NadamParams& p);

// Lion: c = b1 m + (1 - b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1 - b2) g. state: {m}.
struct LionParams {
    float lr = 1e-4f, beta1 = 0.9f, beta2 = 0.99f, weight_decay = 0.0f;
    bool maximize = false;
};
void lion_step(const std::vector<ParamSlot>& slots, const LionParams& p);

// LAMB: m, v as Adam (bias-corrected when bias_correction); u = m^ / (sqrt(v^) + eps) + wd p;
// r = ||p|| / ||u|| per tensor (1 when either is 0); p -= lr r u. state: {m, v}.
struct LambParams {
    float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-6f, weight_decay = 0.0f;
    int64_t step = 1;  // t, counted from 1
    bool bias_correction = true, maximize = false;
};
void lamb_step(const std::vector<ParamSlot>& slots, const LambParams& p);

// Lookahead: slow += alpha (fast - slow); fast = slow. `param` is fast, state[0] slow.
void lookahead_step(const std::vector<ParamSlot>& slots, float alpha);

// Adafactor (torch.optim.Adafactor) for one tensor viewed as (batch, rows, cols) when
// factored (row_var: batch x rows, col_var: batch x cols), else as a vector with
// `variance`. Updates param and the state in place.
struct AdafactorSlot {
    float* param;
    const float* grad;
    int64_t batch, rows, cols;
    bool factored;
    float* row_var;   // factored only
    float* col_var;   // factored only
    float* variance;  // not factored only
};
struct AdafactorParams {
    float lr = 1e-2f, beta2_decay = -0.8f;
    float eps1 = 1.1920929e-7f;  // torch's default (None): float32's machine epsilon
    float eps2 = 1e-3f, d = 1.0f, weight_decay = 0.0f;
    int64_t step = 1;  // t, counted from 1
    bool maximize = false;
    bool relative_step = true;  // false: the spec's fixed step, alpha = lr
};
void adafactor_step(const AdafactorSlot& t, const AdafactorParams& p);

}  // namespace pydl
