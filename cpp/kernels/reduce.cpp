#include "kernels/reduce.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "core/buffer_pool.h"
#include "core/parallel.h"
#include "core/strided.h"
#include "core/vec.h"
#include "kernels/layout.h"

namespace pydl {

namespace {

Shape kept_shape(const Shape& shape, const std::vector<bool>& reduced) {
    Shape k(shape);
    for (size_t d = 0; d < shape.size(); ++d)
        if (reduced[d]) k[d] = 1;
    return k;
}

// A sum's accumulator: double for floats, uint64_t (wrapping around) for integers.
template <typename T>
using SumAcc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

// The start of a max: -inf, or the type's lowest value.
template <typename T>
constexpr T max_start() {
    if constexpr (std::numeric_limits<T>::has_infinity)
        return -std::numeric_limits<T>::infinity();
    else
        return std::numeric_limits<T>::lowest();
}

template <typename T>
inline T max_step(T m, T v) {
    return (v > m || v != v) && m == m ? v : m;
}

// x viewed as (outer, reduce, inner); out as (outer, inner).
template <typename T>
void reduce_planned(ReduceOp op, const T* x, int64_t outer, int64_t red, int64_t inner, T* out) {
    using Acc = SumAcc<T>;
    if (inner == 1) {
        parallel_for(0, outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(red, 1)),
                     [&](int64_t lo, int64_t hi) {
                         for (int64_t o = lo; o < hi; ++o) {
                             const T* row = x + o * red;
                             if (op == ReduceOp::Sum) {
                                 out[o] =
                                     T(vec::lane_sum<Acc>(red, [&](int64_t r) { return row[r]; }));
                             } else {
                                 T m = max_start<T>();
                                 for (int64_t r = 0; r < red; ++r) m = max_step(m, row[r]);
                                 out[o] = m;
                             }
                         }
                     });
        return;
    }
    // Column reductions: accumulate whole rows of `inner` values (vectorizes);
    // split over outer x inner-chunks, never over the reduced axis.
    const int64_t chunk = 1024;
    const int64_t chunks = (inner + chunk - 1) / chunk;
    parallel_for(0, outer * chunks, 1, [&](int64_t lo, int64_t hi) {
        std::vector<Acc> acc(chunk);
        for (int64_t t = lo; t < hi; ++t) {
            const int64_t o = t / chunks, j0 = (t % chunks) * chunk;
            const int64_t nj = std::min(chunk, inner - j0);
            T* dst = out + o * inner + j0;
            if (op == ReduceOp::Sum) {
                std::fill(acc.begin(), acc.begin() + nj, Acc(0));
                for (int64_t r = 0; r < red; ++r) {
                    const T* src = x + (o * red + r) * inner + j0;
                    for (int64_t j = 0; j < nj; ++j) acc[j] += Acc(src[j]);
                }
                for (int64_t j = 0; j < nj; ++j) dst[j] = T(acc[j]);
            } else {
                for (int64_t j = 0; j < nj; ++j) dst[j] = max_start<T>();
                for (int64_t r = 0; r < red; ++r) {
                    const T* src = x + (o * red + r) * inner + j0;
                    for (int64_t j = 0; j < nj; ++j) dst[j] = max_step(dst[j], src[j]);
                }
            }
        }
    });
}

}  // namespace

template <typename T>
void reduce_forward(ReduceOp op, const T* x, const Shape& shape, const std::vector<bool>& reduced,
                    T* out) {
    const ReducePlan plan = plan_reduce(shape, reduced);
    if (!plan.general) {
        reduce_planned(op, x, plan.outer, plan.reduce, plan.inner, out);
        return;
    }
    // Reduced axes interleaved with kept ones: move the reduced axes last.
    std::vector<int64_t> dims;
    Shape permuted;
    int64_t kept = 1, red = 1;
    for (int pass = 0; pass < 2; ++pass)
        for (size_t d = 0; d < shape.size(); ++d)
            if (reduced[d] == (pass == 1)) {
                dims.push_back(int64_t(d));
                permuted.push_back(shape[d]);
                (pass ? red : kept) *= shape[d];
            }
    Scratch<T> tmp(numel(shape));
    permute_forward(x, shape, dims, sizeof(T), tmp.data());
    reduce_planned(op, tmp.data(), kept, red, 1, out);
}

template <typename T>
void broadcast_to(const T* x, const Shape& small, T* out, const Shape& shape,
                  typename SameAs<T>::type scale) {
    std::array<Shape, 2> st{contiguous_strides(shape), broadcast_strides(small, shape)};
    for_each_row<2>(shape, st, [&](int64_t n, const auto& off, const auto& inc) {
        for (int64_t i = 0; i < n; ++i) out[off[0] + i] = x[off[1] + i * inc[1]] * scale;
    });
}

template <typename T>
void sum_backward(const T* grad, const Shape& shape, const std::vector<bool>& reduced,
                  typename SameAs<T>::type scale, T* grad_x) {
    broadcast_to(grad, kept_shape(shape, reduced), grad_x, shape, scale);
}

template <typename T>
void max_backward(const T* grad, const T* x, const T* out, const Shape& shape,
                  const std::vector<bool>& reduced, T* grad_x) {
    const Shape ks = kept_shape(shape, reduced);
    std::array<Shape, 3> st{contiguous_strides(shape), contiguous_strides(shape),
                            broadcast_strides(ks, shape)};
    // grad_x first holds the tie mask, then the count of ties scales it.
    for_each_row<3>(shape, st, [&](int64_t n, const auto& off, const auto& inc) {
        for (int64_t i = 0; i < n; ++i) {
            const T v = x[off[1] + i], m = out[off[2] + i * inc[2]];
            grad_x[off[0] + i] = (v == m || (v != v && m != m)) ? T(1) : T(0);
        }
    });
    std::vector<T> count(numel(ks));
    reduce_forward(ReduceOp::Sum, grad_x, shape, reduced, count.data());
    std::array<Shape, 3> st2{contiguous_strides(shape), broadcast_strides(ks, shape),
                             broadcast_strides(ks, shape)};
    for_each_row<3>(shape, st2, [&](int64_t n, const auto& off, const auto& inc) {
        for (int64_t i = 0; i < n; ++i) {
            T& gx = grad_x[off[0] + i];
            gx = gx != T(0) ? grad[off[1] + i * inc[1]] / count[off[2] + i * inc[2]] : T(0);
        }
    });
}

// Note [Kernel dtypes] in kernels/elementwise.h
#define PYDL_REDUCE(T) \
    template void reduce_forward<T>(ReduceOp, const T*, const Shape&, const std::vector<bool>&, T*);
PYDL_REDUCE(float)
PYDL_REDUCE(double)
PYDL_REDUCE(int64_t)
PYDL_REDUCE(int32_t)
PYDL_REDUCE(uint8_t)
#undef PYDL_REDUCE
#define PYDL_FLOATING(T)                                                                    \
    template void broadcast_to<T>(const T*, const Shape&, T*, const Shape&, T);             \
    template void sum_backward<T>(const T*, const Shape&, const std::vector<bool>&, T, T*); \
    template void max_backward<T>(const T*, const T*, const T*, const Shape&,               \
                                  const std::vector<bool>&, T*);
PYDL_FLOATING(float)
PYDL_FLOATING(double)
#undef PYDL_FLOATING

}  // namespace pydl
