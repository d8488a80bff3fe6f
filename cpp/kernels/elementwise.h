// Binary arithmetic with NumPy broadcasting, and where(): forward and backward.
//
// Backward kernels reduce each input's gradient back to that input's shape.
// A null gradient pointer means "not needed".
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/shape.h"

namespace pydl {

enum class BinaryOp { Add, Sub, Mul, Div, Pow, Remainder };

// Note [Kernel dtypes]: a kernel that runs the same algorithm in several dtypes is one
// template over its element type T, explicitly instantiated in its .cpp for the types its
// comment lists (another T does not link). float is the fast path; the others exist so that
// the core computes every dtype pydl has (Note [Dtypes in the core] in bindings/common.h).

// T: float, double, int64_t, int32_t, uint8_t. Integer arithmetic wraps around (as NumPy's
// and PyTorch's); integer Div is not instantiated (ValueError: the op layer divides
// integers in floating point), integer Pow raises ValueError for a negative exponent.
template <typename T>
void binary_forward(BinaryOp op, const T* a, const Shape& a_shape, const T* b, const Shape& b_shape,
                    T* out, const Shape& out_shape);
// T: float, double.
template <typename T>
void binary_backward(BinaryOp op, const T* grad, const Shape& out_shape, const T* a,
                     const Shape& a_shape, const T* b, const Shape& b_shape, T* grad_a, T* grad_b);

// out = cond ? a : b, elements of elem_size (1, 2, 4 or 8) bytes of any dtype, moved as bits.
void where_forward(const bool* cond, const Shape& cond_shape, const void* a, const Shape& a_shape,
                   const void* b, const Shape& b_shape, size_t elem_size, void* out,
                   const Shape& out_shape);
// T: float, double.
template <typename T>
void where_backward(const T* grad, const Shape& out_shape, const bool* cond,
                    const Shape& cond_shape, const Shape& a_shape, const Shape& b_shape, T* grad_a,
                    T* grad_b);

// out (shape `to`) = sum of x (shape `from`) over the axes that `to` broadcasts. T: float,
// double.
template <typename T>
void sum_to_shape(const T* x, const Shape& from, T* out, const Shape& to);

}  // namespace pydl
