#include "kernels/activation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "core/vec.h"

namespace pydl {

namespace {

constexpr int64_t kGrain = 1 << 14;

template <typename Op, typename T>
PYDL_INLINE void fwd_range_body(const T* x, T* y, int64_t n, T p0, T p1) {
    for (int64_t i = 0; i < n; ++i) y[i] = Op::f(x[i], p0, p1);
}
template <typename Op, typename T>
PYDL_INLINE void bwd_range_body(const T* g, const T* x, const T* y, T* gx, int64_t n, T p0, T p1) {
    for (int64_t i = 0; i < n; ++i) gx[i] = g[i] * Op::df(x[i], y[i], p0, p1);
}
// The float loops run in each instruction set's copy (vec::simd_chunks): the transcendental
// ops (GELU's erf, tanh, sigmoid) are bound by instruction count, which AVX-512 halves (GELU
// backward on 2M floats, 1 thread: 5.8 -> 3.4 ms; forward 3.8 -> 2.3 ms). The double loops
// call libm, which no copy would vectorize: one copy.
template <typename Op>
struct Fwd {
    static void run(const float* x, float* y, int64_t n, float p0, float p1) {
        parallel_for(0, n, kGrain, vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                         fwd_range_body<Op>(x + lo, y + lo, hi - lo, p0, p1);
                     }));
    }
    static void run(const double* x, double* y, int64_t n, double p0, double p1) {
        parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
            fwd_range_body<Op>(x + lo, y + lo, hi - lo, p0, p1);
        });
    }
};
template <typename Op>
struct Bwd {
    static void run(const float* g, const float* x, const float* y, float* gx, int64_t n, float p0,
                    float p1) {
        parallel_for(0, n, kGrain, vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                         bwd_range_body<Op>(g + lo, x + lo, y + lo, gx + lo, hi - lo, p0, p1);
                     }));
    }
    static void run(const double* g, const double* x, const double* y, double* gx, int64_t n,
                    double p0, double p1) {
        parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
            bwd_range_body<Op>(g + lo, x + lo, y + lo, gx + lo, hi - lo, p0, p1);
        });
    }
};

template <typename Op>
struct BwdSerial {
    static void run(const float* g, const float* x, const float* y, float* gx, int64_t n) {
        vec::simd_call([&]() PYDL_INLINE_LAMBDA {
            bwd_range_body<Op>(g, x, y, gx, n, 0.0f, 0.0f);  // parameterless ops only
        });
    }
};

// Fn<op's functor>::run(args...) for the run-time op (Note [Unary op list]).
template <template <typename> class Fn, typename... Args>
void dispatch(UnaryOp op, Args... args) {
    with_unary_op(op, [&](auto o) { Fn<UnaryFunctor<decltype(o)::value>>::run(args...); });
}

// One row of softmax over n contiguous values (inner == 1, the common case).
PYDL_INLINE void softmax_row_body(const float* x, int64_t n, bool log, float* __restrict y) {
    const float m = vec::lane_max(x, n);
    for (int64_t j = 0; j < n; ++j) y[j] = vec::exp(x[j] - m);
    const float s = float(vec::lane_sum(n, [&](int64_t j) { return y[j]; }));
    if (log) {
        const float lse = m + vec::log(s);
        for (int64_t j = 0; j < n; ++j) y[j] = x[j] - lse;
    } else {
        const float inv = 1.0f / s;
        for (int64_t j = 0; j < n; ++j) y[j] *= inv;
    }
}

}  // namespace

template <typename T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n, typename ParamOf<T>::type p0,
                   typename ParamOf<T>::type p1) {
    dispatch<Fwd>(op, x, y, n, p0, p1);
}

template <typename T>
void unary_backward(UnaryOp op, const T* grad, const T* x, const T* y, T* grad_x, int64_t n,
                    typename ParamOf<T>::type p0, typename ParamOf<T>::type p1) {
    dispatch<Bwd>(op, grad, x, y, grad_x, n, p0, p1);
}

void unary_backward_serial(UnaryOp op, const float* grad, const float* x, const float* y,
                           float* grad_x, int64_t n) {
    dispatch<BwdSerial>(op, grad, x, y, grad_x, n);
}

// Note [Kernel dtypes] in kernels/elementwise.h
template void unary_forward<float>(UnaryOp, const float*, float*, int64_t, float, float);
template void unary_forward<double>(UnaryOp, const double*, double*, int64_t, double, double);
template void unary_backward<float>(UnaryOp, const float*, const float*, const float*, float*,
                                    int64_t, float, float);
template void unary_backward<double>(UnaryOp, const double*, const double*, const double*, double*,
                                     int64_t, double, double);

void prelu_forward(const float* x, const float* w, int64_t outer, int64_t channels, int64_t inner,
                   float* y) {
    parallel_for(0, outer * channels, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t r = lo; r < hi; ++r) {
                         const float a = w[r % channels];
                         for (int64_t i = r * inner; i < (r + 1) * inner; ++i)
                             y[i] = x[i] >= 0 ? x[i] : a * x[i];
                     }
                 });
}

void prelu_backward(const float* grad, const float* x, const float* w, int64_t outer,
                    int64_t channels, int64_t inner, float* grad_x, float* grad_w) {
    // One task per channel: its slope's gradient sums over (outer, inner) in order.
    parallel_for(0, channels, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t c = lo; c < hi; ++c) {
            double gw = 0.0;
            for (int64_t o = 0; o < outer; ++o) {
                const int64_t base = (o * channels + c) * inner;
                for (int64_t i = base; i < base + inner; ++i) {
                    grad_x[i] = x[i] >= 0 ? grad[i] : w[c] * grad[i];
                    if (x[i] < 0) gw += double(grad[i]) * x[i];
                }
            }
            grad_w[c] = float(gw);
        }
    });
}

void softmax_forward(const float* x, int64_t outer, int64_t n, int64_t inner, bool log, float* y) {
    parallel_for(0, outer * inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
                 [&](int64_t lo, int64_t hi) {
                     if (inner == 1) {
                         vec::simd_call([&]() PYDL_INLINE_LAMBDA {
                             for (int64_t r = lo; r < hi; ++r)
                                 softmax_row_body(x + r * n, n, log, y + r * n);
                         });
                         return;
                     }
                     for (int64_t r = lo; r < hi; ++r) {
                         const int64_t base = (r / inner) * n * inner + r % inner;
                         float m = -INFINITY;
                         for (int64_t j = 0; j < n; ++j) m = std::max(m, x[base + j * inner]);
                         double s = 0.0;
                         for (int64_t j = 0; j < n; ++j) s += vec::exp(x[base + j * inner] - m);
                         if (log) {
                             const float lse = m + float(std::log(s));
                             for (int64_t j = 0; j < n; ++j)
                                 y[base + j * inner] = x[base + j * inner] - lse;
                         } else {
                             const float inv = float(1.0 / s);
                             for (int64_t j = 0; j < n; ++j)
                                 y[base + j * inner] = vec::exp(x[base + j * inner] - m) * inv;
                         }
                     }
                 });
}

void softmax_backward(const float* grad, const float* y, int64_t outer, int64_t n, int64_t inner,
                      bool log, float* grad_x) {
    parallel_for(0, outer * inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t r = lo; r < hi; ++r) {
                         const int64_t base = (r / inner) * n * inner + r % inner;
                         const float* gr = grad + base;
                         const float* yr = y + base;
                         const double s = vec::lane_sum(n, [&](int64_t j) {
                             return log ? gr[j * inner] : gr[j * inner] * yr[j * inner];
                         });
                         for (int64_t j = 0; j < n; ++j) {
                             const int64_t i = base + j * inner;
                             grad_x[i] = log ? grad[i] - vec::exp(y[i]) * float(s)
                                             : y[i] * (grad[i] - float(s));
                         }
                     }
                 });
}

}  // namespace pydl
