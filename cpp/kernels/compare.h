// Comparisons and logical ops with NumPy broadcasting: bool results, no backward (they are
// not differentiable).
#pragma once
#include <cstdint>

#include "core/shape.h"

namespace pydl {

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };
enum class LogicalOp { And, Or, Xor };

// out = a <op> b, operands of one type T: bool, uint8_t, int32_t, int64_t, float, double
// (Note [Kernel dtypes] in kernels/elementwise.h). NaN compares unequal to everything (ne is
// true, the others false), as IEEE, NumPy and PyTorch; a bool operand's byte counts as true
// when it is nonzero.
template <typename T>
void compare_forward(CompareOp op, const T* a, const Shape& a_shape, const T* b,
                     const Shape& b_shape, bool* out, const Shape& out_shape);

// out = (a != 0) <op> (b != 0) (NaN is nonzero, -0.0 is zero); T as compare_forward's.
template <typename T>
void logical_forward(LogicalOp op, const T* a, const Shape& a_shape, const T* b,
                     const Shape& b_shape, bool* out, const Shape& out_shape);
// out[i] = x[i] == 0, for n elements.
template <typename T>
void logical_not_forward(const T* x, bool* out, int64_t n);

}  // namespace pydl
