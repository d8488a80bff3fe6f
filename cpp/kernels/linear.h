// Linear layer and matrix products, all on the GEMM in gemm/.
#pragma once
#include <cstdint>
#include <optional>

#include "core/shape.h"
#include "gemm/gemm.h"
#include "kernels/unary_ops.h"

namespace pydl {

// y (m x out) = act(x (m x in) @ w^T (w is out x in) + bias (out, may be null)), one
// GEMM with a fused epilogue; act is none or a fusable op of the unary list (Note [Unary
// op list]; ValueError otherwise); `pre` (optional, m x out) receives the pre-activation.
// Under Precision::BFloat16 (autocast) the products take bf16 operands (sbgemm), forward
// and backward alike.
void linear_forward(const float* x, const float* w, const float* bias, int64_t m, int64_t in,
                    int64_t out, float* y, std::optional<UnaryOp> act = std::nullopt,
                    float* pre = nullptr, Precision precision = Precision::Float32);
// Backward of linear_forward with a fused activation: grad_z = grad * act'(z) from y
// (UnaryFuse::FromY: relu, tanh, sigmoid) or from pre (UnaryFuse::FromX: gelu, which needs
// the pre-activation), then as below.
void linear_act_backward(const float* grad, const float* x, const float* w, const float* y,
                         const float* pre, int64_t m, int64_t in, int64_t out,
                         std::optional<UnaryOp> act, float* grad_x, float* grad_w, float* grad_bias,
                         Precision precision = Precision::Float32);

// Whether linear_act_backward needs the pre-activation of `act` (saved by the forward).
inline bool linear_act_needs_pre(std::optional<UnaryOp> act) {
    return act && unary_op_info(*act).fuse == UnaryFuse::FromX;
}

// grad_x = grad @ w, grad_w = grad^T @ x, grad_bias = column sums of grad.
// Any output pointer may be null when that gradient is not needed.
void linear_backward(const float* grad, const float* x, const float* w, int64_t m, int64_t in,
                     int64_t out, float* grad_x, float* grad_w, float* grad_bias,
                     Precision precision = Precision::Float32);

// The same three in float64, on dgemm (Note [Double GEMM] in gemm/dgemm.cpp): the bias and
// the activation are applied to the product afterwards rather than in a GEMM epilogue. The
// precision is Float32's overloads' (float64 products have no bf16 form): only Float32.
void linear_forward(const double* x, const double* w, const double* bias, int64_t m, int64_t in,
                    int64_t out, double* y, std::optional<UnaryOp> act = std::nullopt,
                    double* pre = nullptr, Precision precision = Precision::Float32);
void linear_act_backward(const double* grad, const double* x, const double* w, const double* y,
                         const double* pre, int64_t m, int64_t in, int64_t out,
                         std::optional<UnaryOp> act, double* grad_x, double* grad_w,
                         double* grad_bias, Precision precision = Precision::Float32);
void linear_backward(const double* grad, const double* x, const double* w, int64_t m, int64_t in,
                     int64_t out, double* grad_x, double* grad_w, double* grad_bias,
                     Precision precision = Precision::Float32);

// Batched matmul with broadcast batch axes: a (..., m, k) @ b (..., k, n).
// Shapes include the two matrix axes; out_shape is the broadcast result. T: float (sgemm),
// double (dgemm): Note [Kernel dtypes] in kernels/elementwise.h. Precision::BFloat16 is
// for float only.
template <typename T>
void matmul_forward(const T* a, const Shape& a_shape, const T* b, const Shape& b_shape, T* out,
                    const Shape& out_shape, Precision precision = Precision::Float32);
template <typename T>
void matmul_backward(const T* grad, const Shape& out_shape, const T* a, const Shape& a_shape,
                     const T* b, const Shape& b_shape, T* grad_a, T* grad_b,
                     Precision precision = Precision::Float32);

}  // namespace pydl
