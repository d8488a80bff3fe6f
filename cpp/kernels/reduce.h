// Reductions over any set of axes: sum, mean, max (forward and backward).
#pragma once
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace pydl {

enum class ReduceOp { Sum, Max };

// out holds one value per kept position (keepdim layout, same element order).
// Sums accumulate in double along the reduced axes in a fixed order. Max
// propagates NaN.
void reduce_forward(ReduceOp op, const float* x, const Shape& shape,
                    const std::vector<bool>& reduced, float* out);

// grad_x = broadcast(grad * scale) from the kept shape back to `shape`
// (sum: scale 1, mean: 1/count).
void sum_backward(const float* grad, const Shape& shape, const std::vector<bool>& reduced,
                  float scale, float* grad_x);

// grad_x = grad where x equals the maximum, split evenly among ties (as torch.amax).
void max_backward(const float* grad, const float* x, const float* out, const Shape& shape,
                  const std::vector<bool>& reduced, float* grad_x);

// out (shape `shape`) = x (shape `small`, right-aligned, broadcast) * scale.
void broadcast_to(const float* x, const Shape& small, float* out, const Shape& shape,
                  float scale = 1.0f);

}  // namespace pydl
