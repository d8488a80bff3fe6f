// Normalization layers, forward and one fused backward each (seed 000 section 3):
// x^ = (x - mean) / sqrt(var + eps) (biased variance), y = gamma x^ + beta.
// Statistics accumulate in double, each over its elements in a fixed order.
#pragma once
#include <cstdint>

namespace pydl {

// x viewed as (n, c, s). training: batch statistics per channel (saved as mean and
// invstd), running stats updated with momentum (unbiased variance); else the running
// statistics are used. weight/bias/running stats may be null.
void batch_norm_forward(const float* x, int64_t n, int64_t c, int64_t s, const float* weight,
                        const float* bias, bool training, float* running_mean, float* running_var,
                        float momentum, float eps, float* y, float* save_mean, float* save_invstd);
void batch_norm_backward(const float* grad, const float* x, int64_t n, int64_t c, int64_t s,
                         const float* weight, const float* save_mean, const float* save_invstd,
                         bool training, float* grad_x, float* grad_weight, float* grad_bias);

// x viewed as (rows, d): statistics per row, weight/bias per column.
void layer_norm_forward(const float* x, int64_t rows, int64_t d, const float* weight,
                        const float* bias, float eps, float* y, float* mean, float* invstd);
void layer_norm_backward(const float* grad, const float* x, int64_t rows, int64_t d,
                         const float* weight, const float* mean, const float* invstd, float* grad_x,
                         float* grad_weight, float* grad_bias);

// x viewed as (n, c, s) with c split into `groups`: statistics per (sample, group),
// weight/bias per channel. InstanceNorm is groups == c.
void group_norm_forward(const float* x, int64_t n, int64_t c, int64_t s, int64_t groups,
                        const float* weight, const float* bias, float eps, float* y, float* mean,
                        float* invstd);
void group_norm_backward(const float* grad, const float* x, int64_t n, int64_t c, int64_t s,
                         int64_t groups, const float* weight, const float* mean,
                         const float* invstd, float* grad_x, float* grad_weight, float* grad_bias);

}  // namespace pydl
