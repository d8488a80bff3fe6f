// Reductions over any set of axes: sum, mean, max (forward and backward); along rows: var,
// prod, logsumexp, norm.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/parallel.h"
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

// Note [Row kernels]: var, prod, logsumexp and norm (here), the scans (kernels/scan.h) and
// sort (kernels/sort.h) work along the last axis of x, seen as `rows` contiguous rows of `n`
// values; the op layer moves the dims they work along last (pydl/_ops/reduce.py,
// _along_rows). Each row is reduced (scanned, sorted) in one fixed order on one thread,
// float rows accumulating in double; rows are split over threads, so results do not
// depend on the thread count.
template <typename Fn>
void parallel_rows(int64_t rows, int64_t n, Fn&& fn) {
    parallel_for(0, rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(n, 1)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t r = lo; r < hi; ++r) fn(r);
                 });
}

// var[r] = sum_i (x[r, i] - mean[r])^2 / max(0, n - correction), mean[r] the row's mean.
// T: float, double.
template <typename T>
void var_forward(const T* x, int64_t rows, int64_t n, double correction, T* var, T* mean);
// grad_x = grad_var * 2 (x - mean) / max(0, n - correction) + grad_mean / n; a null
// grad_var or grad_mean counts as zeros.
template <typename T>
void var_backward(const T* grad_var, const T* grad_mean, const T* x, const T* mean, int64_t rows,
                  int64_t n, double correction, T* grad_x);

// out[r] = prod_i x[r, i] (floats in double; integers wrap around). T: float, double, int64_t.
template <typename T>
void prod_forward(const T* x, int64_t rows, int64_t n, T* out);
// grad_x[r, i] = grad[r] * prod_{j != i} x[r, j], from prefix and suffix products (no
// division: right where x holds zeros). T: float, double.
template <typename T>
void prod_backward(const T* grad, const T* x, int64_t rows, int64_t n, T* grad_x);

// out[r] = m + log(sum_i exp(x[r, i] - m)), m the row's maximum (an infinite m is the
// result; NaN propagates). T: float, double.
template <typename T>
void logsumexp_forward(const T* x, int64_t rows, int64_t n, T* out);
// grad_x = grad * exp(x - out) (NaN on a row of -inf, as PyTorch).
template <typename T>
void logsumexp_backward(const T* grad, const T* x, const T* out, int64_t rows, int64_t n,
                        T* grad_x);

// The vector p-norm of each row: max |x| (p = inf), min |x| (p = -inf), the count of
// nonzeros (p = 0), else (sum |x|^p)^(1/p). T: float, double.
template <typename T>
void norm_forward(const T* x, int64_t rows, int64_t n, double p, T* out);
// grad_x = grad * sign(x) |x|^(p-1) / out^(p-1) (0 where out is 0); p = +-inf: grad *
// sign(x) split evenly among the elements whose |x| is out; p = 0: 0.
template <typename T>
void norm_backward(const T* grad, const T* x, const T* out, int64_t rows, int64_t n, double p,
                   T* grad_x);

}  // namespace pydl
