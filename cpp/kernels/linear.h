// Linear layer and matrix products, all on the GEMM in gemm/.
#pragma once
#include <cstdint>
#include <optional>

#include "core/shape.h"
#include "kernels/unary_ops.h"

namespace pydl {

// y (m x out) = act(x (m x in) @ w^T (w is out x in) + bias (out, may be null)), one
// GEMM with a fused epilogue; act is none or a fusable op of the unary list (Note [Unary
// op list]; ValueError otherwise); `pre` (optional, m x out) receives the pre-activation.
void linear_forward(const float* x, const float* w, const float* bias, int64_t m, int64_t in,
                    int64_t out, float* y, std::optional<UnaryOp> act = std::nullopt,
                    float* pre = nullptr);
// Backward of linear_forward with a fused activation: grad_z = grad * act'(z) from y
// (UnaryFuse::FromY: relu, tanh, sigmoid) or from pre (UnaryFuse::FromX: gelu, which needs
// the pre-activation), then as below.
void linear_act_backward(const float* grad, const float* x, const float* w, const float* y,
                         const float* pre, int64_t m, int64_t in, int64_t out,
                         std::optional<UnaryOp> act, float* grad_x, float* grad_w,
                         float* grad_bias);

// Whether linear_act_backward needs the pre-activation of `act` (saved by the forward).
inline bool linear_act_needs_pre(std::optional<UnaryOp> act) {
    return act && unary_op_info(*act).fuse == UnaryFuse::FromX;
}

// grad_x = grad @ w, grad_w = grad^T @ x, grad_bias = column sums of grad.
// Any output pointer may be null when that gradient is not needed.
void linear_backward(const float* grad, const float* x, const float* w, int64_t m, int64_t in,
                     int64_t out, float* grad_x, float* grad_w, float* grad_bias);

// Batched matmul with broadcast batch axes: a (..., m, k) @ b (..., k, n).
// Shapes include the two matrix axes; out_shape is the broadcast result.
void matmul_forward(const float* a, const Shape& a_shape, const float* b, const Shape& b_shape,
                    float* out, const Shape& out_shape);
void matmul_backward(const float* grad, const Shape& out_shape, const float* a,
                     const Shape& a_shape, const float* b, const Shape& b_shape, float* grad_a,
                     float* grad_b);

}  // namespace pydl
