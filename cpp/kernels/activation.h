// Elementwise math and activations: y = f(x; p0, p1) and grad_x = grad * f'(x).
//
// Each op is a scalar struct (the portable definition) run by one shared
// contiguous driver; the ops and their functors are listed in unary_ops.h (Note [Unary
// op list]). Backward receives both x and y, so ops whose derivative is cheaper from
// the output (sigmoid, tanh, exp) reuse it.
#pragma once
#include <cstdint>

#include "kernels/unary_ops.h"

namespace pydl {

// Lets a parameter take the type a template's pointers deduced.
template <typename T>
struct ParamOf {
    using type = T;
};

// op's f over x[0, n) into y; p0, p1 are its parameters (the list's `params`). T: float (the
// vectorized functors, in each instruction set's copy) and double (libm's functions): Note
// [Kernel dtypes] in kernels/elementwise.h.
template <typename T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n, typename ParamOf<T>::type p0 = 0,
                   typename ParamOf<T>::type p1 = 0);
template <typename T>
void unary_backward(UnaryOp op, const T* grad, const T* x, const T* y, T* grad_x, int64_t n,
                    typename ParamOf<T>::type p0 = 0, typename ParamOf<T>::type p1 = 0);

// unary_backward of a parameterless op on [0, n) on the calling thread, for a kernel that
// fuses it into its own parallel loop (max_pool2d's and conv2d's backward). An element may
// fall in the loop's scalar tail here and not in unary_backward's (or the reverse): relu,
// sigmoid and tanh give the same bits either way, GELU not always (Note [Fusion in the
// plan] in pydl/_fusion.py).
void unary_backward_serial(UnaryOp op, const float* grad, const float* x, const float* y,
                           float* grad_x, int64_t n);

// PReLU: y = x if x >= 0 else w[c] * x, with c the index along axis 1 of x viewed
// as (outer, channels, inner); channels == 1 shares one slope.
void prelu_forward(const float* x, const float* w, int64_t outer, int64_t channels, int64_t inner,
                   float* y);
void prelu_backward(const float* grad, const float* x, const float* w, int64_t outer,
                    int64_t channels, int64_t inner, float* grad_x, float* grad_w);

// softmax / log_softmax along the middle axis of x viewed as (outer, n, inner).
void softmax_forward(const float* x, int64_t outer, int64_t n, int64_t inner, bool log, float* y);
void softmax_backward(const float* grad, const float* y, int64_t outer, int64_t n, int64_t inner,
                      bool log, float* grad_x);

}  // namespace pydl
