// Optimizer steps: one call updates every parameter of an optimizer in place.
// Tensors are visited in a fixed order and split into fixed chunks, so the update
// is elementwise and identical for any thread count.
#pragma once
#include <cstdint>
#include <vector>

namespace pydl {

struct ParamSlot {
    float* param;
    const float* grad;
    float* state0;  // SGD: momentum buffer; Adam: exp_avg
    float* state1;  // Adam: exp_avg_sq (unused by SGD)
    int64_t size;
};

// PyTorch's SGD: g += wd * p; buf = g (first step) or momentum * buf + (1 - dampening) * g;
// g = nesterov ? g + momentum * buf : buf; p -= lr * g.
void sgd_step(const std::vector<ParamSlot>& slots, float lr, float momentum, float dampening,
              bool nesterov, float weight_decay, bool maximize, bool first_step);

// PyTorch's Adam (L2 weight decay added to the gradient) at step number `step` >= 1.
void adam_step(const std::vector<ParamSlot>& slots, int64_t step, float lr, float beta1,
               float beta2, float eps, float weight_decay, bool maximize);

}  // namespace pydl
