// Normalization layers, forward and one fused backward each (seed 000 section 3):
// x^ = (x - mean) / sqrt(var + eps) (biased variance), y = gamma x^ + beta.
// Statistics accumulate in double, each over its elements in a fixed order.
#pragma once
#include <cstdint>
#include <optional>
#include "kernels/unary_ops.h"

namespace pydl {

// x viewed as (n, c, s): n samples of c channels of s positions each.
struct ChannelShape {
    int64_t n, c, s;
};

// Batch norm's settings, as PyTorch's: batch statistics when training (the running ones
// then updated with momentum, from the unbiased variance), else the running statistics.
struct BatchNormOptions {
    bool training;
    float momentum;
    float eps;
};

// The running statistics, per channel; both null when the layer keeps none.
struct RunningStats {
    float* mean;
    float* var;
};

// training saves the batch statistics per channel (mean and invstd) for the backward.
// weight/bias may be null.
// With `act` (none or a fusable op of the unary list), y = act(the normalized x), applied to
// each channel's rows while they are in cache: the fused form of batch_norm then relu that
// pydl.compile plans (Note [Fusion in the plan]), bit-identical to the two ops.
void batch_norm_forward(const float* x, ChannelShape shape, const float* weight, const float* bias,
                        RunningStats running, BatchNormOptions opt, float* y, float* save_mean,
                        float* save_invstd, std::optional<UnaryOp> act = std::nullopt);
void batch_norm_backward(const float* grad, const float* x, ChannelShape shape, const float* weight,
                         const float* save_mean, const float* save_invstd, bool training,
                         float* grad_x, float* grad_weight, float* grad_bias);

// x viewed as (rows, d): statistics per row, weight/bias per column.
void layer_norm_forward(const float* x, int64_t rows, int64_t d, const float* weight,
                        const float* bias, float eps, float* y, float* mean, float* invstd);
// With `accumulate` (shaped like x), grad_x = accumulate + the input's gradient, added row
// by row while it is in cache: the fused form of layer_norm's backward then the sum of
// gradients after it (a residual stream's) that pydl.compile plans, bit-identical to the two.
void layer_norm_backward(const float* grad, const float* x, int64_t rows, int64_t d,
                         const float* weight, const float* mean, const float* invstd, float* grad_x,
                         float* grad_weight, float* grad_bias, const float* accumulate = nullptr);

// x viewed as (n, c, s) with c split into `groups`: statistics per (sample, group),
// weight/bias per channel. InstanceNorm is groups == c.
void group_norm_forward(const float* x, ChannelShape shape, int64_t groups, const float* weight,
                        const float* bias, float eps, float* y, float* mean, float* invstd);
void group_norm_backward(const float* grad, const float* x, ChannelShape shape, int64_t groups,
                         const float* weight, const float* mean, const float* invstd, float* grad_x,
                         float* grad_weight, float* grad_bias);

}  // namespace pydl
