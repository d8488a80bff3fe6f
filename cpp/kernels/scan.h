// Cumulative scans along rows (Note [Row kernels] in kernels/reduce.h): cumsum, cumprod,
// cummax/cummin, logcumsumexp.
#pragma once
#include <cstdint>

namespace pydl {

// out[r, i] = sum_{j <= i} x[r, j] (reverse: sum_{j >= i}, cumsum's backward); floats
// accumulate in double, integers wrap around. T: float, double, int64_t.
template <typename T>
void cumsum_forward(const T* x, int64_t rows, int64_t n, bool reverse, T* out);

// out[r, i] = prod_{j <= i} x[r, j] (floats in double). T: float, double, int64_t.
template <typename T>
void cumprod_forward(const T* x, int64_t rows, int64_t n, T* out);
// grad_x[i] = sum_{j >= i} grad[j] prod_{k <= j, k != i} x[k] = P_{i-1} S_i, with the prefix
// product P and S_i = grad[i] + x[i+1] S_{i+1}: no division, right where x holds zeros.
// T: float, double.
template <typename T>
void cumprod_backward(const T* grad, const T* x, int64_t rows, int64_t n, T* grad_x);

// values[r, i] = max (min when !largest) of x[r, :i+1], indices its position: the last of
// tied extremes, and once a NaN is seen, NaN at the last NaN's position (as PyTorch).
// T: float, double, int64_t.
template <typename T>
void cummax_forward(const T* x, int64_t rows, int64_t n, bool largest, T* values, int64_t* indices);

// out[r, i] = log sum_{j <= i} exp(x[r, j]), a running logaddexp. T: float, double.
template <typename T>
void logcumsumexp_forward(const T* x, int64_t rows, int64_t n, T* out);
// grad_x[i] = sum_{j >= i} grad[j] exp(x[i] - out[j]) = exp(x[i] - out[i]) S_i with
// S_i = grad[i] + exp(out[i] - out[i+1]) S_{i+1}: every factor <= 1 (out never decreases),
// so nothing overflows.
template <typename T>
void logcumsumexp_backward(const T* grad, const T* x, const T* out, int64_t rows, int64_t n,
                           T* grad_x);

}  // namespace pydl
