// Reductions over any set of axes: sum, mean, max (forward and backward).
#pragma once
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace pydl {

enum class ReduceOp { Sum, Max };

// Lets a parameter take the type a template's pointers deduced (float scale for float data).
template <typename T>
struct SameAs {
    using type = T;
};

// out holds one value per kept position (keepdim layout, same element order).
// Sums of floats accumulate in double along the reduced axes in a fixed order; integer sums
// wrap around as NumPy's. Max propagates NaN. T: float, double, int64_t, int32_t, uint8_t
// (Note [Kernel dtypes] in kernels/elementwise.h).
template <typename T>
void reduce_forward(ReduceOp op, const T* x, const Shape& shape, const std::vector<bool>& reduced,
                    T* out);

// grad_x = broadcast(grad * scale) from the kept shape back to `shape`
// (sum: scale 1, mean: 1/count). T: float, double.
template <typename T>
void sum_backward(const T* grad, const Shape& shape, const std::vector<bool>& reduced,
                  typename SameAs<T>::type scale, T* grad_x);

// grad_x = grad where x equals the maximum, split evenly among ties (as torch.amax).
// T: float, double.
template <typename T>
void max_backward(const T* grad, const T* x, const T* out, const Shape& shape,
                  const std::vector<bool>& reduced, T* grad_x);

// out (shape `shape`) = x (shape `small`, right-aligned, broadcast) * scale. T: float, double.
template <typename T>
void broadcast_to(const T* x, const Shape& small, T* out, const Shape& shape,
                  typename SameAs<T>::type scale = 1);

}  // namespace pydl
