// Sorting along rows (Note [Row kernels] in kernels/reduce.h): sort, and the scatter of
// gradients to indices that sort, topk, kthvalue, median, mode, cummax and cummin share.
#pragma once
#include <cstdint>

namespace pydl {

// The first k (<= n) of each row of x sorted ascending (descending), stably: ties keep their
// order; NaN sorts as the largest value, as in PyTorch. values (rows, k)[r, i] =
// x[r, indices[r, i]]. k < n sorts partially (topk). T: float, double, int64_t, int32_t,
// uint8_t.
template <typename T>
void sort_forward(const T* x, int64_t rows, int64_t n, int64_t k, bool descending, T* values,
                  int64_t* indices);

// grad_x (rows, n) = 0, then grad_x[r, indices[r, j]] += grad[r, j] for j < k, in j order
// (indices in [0, n): the binding checks). T: float, double.
template <typename T>
void scatter_rows(const T* grad, const int64_t* indices, int64_t rows, int64_t k, int64_t n,
                  T* grad_x);

}  // namespace pydl
