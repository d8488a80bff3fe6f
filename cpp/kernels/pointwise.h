// Elementwise math beyond the activations: the binary forms (fmax, copysign, logaddexp,
// fmod, floor division, ...) with broadcasting, the float predicates (isnan, ...),
// nan_to_num and the bitwise ops. The unary math (rounding, trig and hyperbolic functions,
// erf family, exp/log variants) is in the unary list (Note [Unary op list] in
// kernels/unary_ops.h).
#pragma once
#include <cstdint>

#include "core/shape.h"

namespace pydl {

// The binary ops: the value, and d/da, d/db (floating T).
enum class PointwiseOp {
    Fmax,         // max, the other operand where one is NaN
    Fmin,         // min, likewise
    Atan2,        // atan2(a, b)
    Copysign,     // |a| with b's sign
    Logaddexp,    // log(e^a + e^b)
    Logaddexp2,   // log2(2^a + 2^b)
    Hypot,        // sqrt(a^2 + b^2)
    Xlogy,        // a log(b), 0 where a == 0 (NaN where b is)
    Fmod,         // a - trunc(a / b) b: the dividend's sign (C's fmod and %)
    FloorDivide,  // floor(a / b) (no gradient)
    DivTrunc,     // trunc(a / b) (no gradient)
};

// True for the ops that are defined on integers (forward only).
constexpr bool pointwise_integer_op(PointwiseOp op) {
    return op == PointwiseOp::Fmax || op == PointwiseOp::Fmin || op == PointwiseOp::Fmod ||
           op == PointwiseOp::FloorDivide || op == PointwiseOp::DivTrunc;
}

// out = op(a, b), broadcasting as NumPy. T: float, double, and for the integer ops int64_t,
// int32_t, uint8_t (ValueError for the others). Integer division by zero is ValueError,
// raised before anything is written.
template <typename T>
void pointwise_binary_forward(PointwiseOp op, const T* a, const Shape& a_shape, const T* b,
                              const Shape& b_shape, T* out, const Shape& out_shape);
// grad_a, grad_b (null: not needed) = grad * d op / d a, b, each summed back to its
// operand's shape. T: float, double.
template <typename T>
void pointwise_binary_backward(PointwiseOp op, const T* grad, const Shape& out_shape, const T* a,
                               const Shape& a_shape, const T* b, const Shape& b_shape, T* grad_a,
                               T* grad_b);

// The float predicates: out[i] = what(x[i]). T: float, double.
enum class Classify { IsNan, IsInf, IsPosInf, IsNegInf, IsFinite, Signbit };
template <typename T>
void classify_forward(Classify what, const T* x, bool* out, int64_t n);

// y = x with NaN, +inf, -inf replaced by nan, posinf, neginf; grad_x = grad where x is
// finite, else 0. T: float, double.
template <typename T>
void nan_to_num_forward(const T* x, T* y, int64_t n, T nan, T posinf, T neginf);
template <typename T>
void nan_to_num_backward(const T* grad, const T* x, T* grad_x, int64_t n);

// The bitwise ops on integers (and bool as uint8-sized 0/1): and, or, xor and the shifts
// (PyTorch's: a shift by a negative amount or by at least the width gives 0, or -1 for a
// negative number shifted right). T: bool, uint8_t, int32_t, int64_t.
enum class BitwiseOp { And, Or, Xor, LeftShift, RightShift };
template <typename T>
void bitwise_forward(BitwiseOp op, const T* a, const Shape& a_shape, const T* b,
                     const Shape& b_shape, T* out, const Shape& out_shape);
// out = ~x (logical not for bool). T: bool, uint8_t, int32_t, int64_t.
template <typename T>
void bitwise_not_forward(const T* x, T* out, int64_t n);

}  // namespace pydl
