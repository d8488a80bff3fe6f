// Binary arithmetic with NumPy broadcasting, and where(): forward and backward.
//
// Backward kernels reduce each input's gradient back to that input's shape.
// A null gradient pointer means "not needed".
#pragma once
#include <cstdint>

#include "core/shape.h"

namespace pydl {

enum class BinaryOp { Add, Sub, Mul, Div, Pow };

void binary_forward(BinaryOp op, const float* a, const Shape& a_shape, const float* b,
                    const Shape& b_shape, float* out, const Shape& out_shape);
void binary_backward(BinaryOp op, const float* grad, const Shape& out_shape, const float* a,
                     const Shape& a_shape, const float* b, const Shape& b_shape, float* grad_a,
                     float* grad_b);

void where_forward(const bool* cond, const Shape& cond_shape, const float* a, const Shape& a_shape,
                   const float* b, const Shape& b_shape, float* out, const Shape& out_shape);
void where_backward(const float* grad, const Shape& out_shape, const bool* cond,
                    const Shape& cond_shape, const Shape& a_shape, const Shape& b_shape,
                    float* grad_a, float* grad_b);

// out (shape `to`) = sum of x (shape `from`) over the axes that `to` broadcasts.
void sum_to_shape(const float* x, const Shape& from, float* out, const Shape& to);

}  // namespace pydl
