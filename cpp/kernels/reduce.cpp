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
    CheckedVector<T> count(numel(ks));
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

template <typename T>
void var_forward(const T* x, int64_t rows, int64_t n, double correction, T* var, T* mean) {
    const double dof = std::max(0.0, double(n) - correction);
    parallel_rows(rows, n, [&](int64_t r) {
        const T* row = x + r * n;
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += double(row[i]);
        const double m = s / double(n);
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) ss += (double(row[i]) - m) * (double(row[i]) - m);
        var[r] = T(ss / dof);
        mean[r] = T(m);
    });
}

template <typename T>
void var_backward(const T* grad_var, const T* grad_mean, const T* x, const T* mean, int64_t rows,
                  int64_t n, double correction, T* grad_x) {
    const double dof = std::max(0.0, double(n) - correction);
    parallel_rows(rows, n, [&](int64_t r) {
        const double a = grad_var ? 2.0 * double(grad_var[r]) / dof : 0.0;
        const double b = grad_mean ? double(grad_mean[r]) / double(n) : 0.0;
        const double m = double(mean[r]);
        for (int64_t i = 0; i < n; ++i)
            grad_x[r * n + i] = T((grad_var ? a * (double(x[r * n + i]) - m) : 0.0) + b);
    });
}

template <typename T>
void prod_forward(const T* x, int64_t rows, int64_t n, T* out) {
    parallel_rows(rows, n, [&](int64_t r) {
        if constexpr (std::is_floating_point_v<T>) {
            double p = 1;
            for (int64_t i = 0; i < n; ++i) p *= double(x[r * n + i]);
            out[r] = T(p);
        } else {
            uint64_t p = 1;  // wraps around, as NumPy's and PyTorch's
            for (int64_t i = 0; i < n; ++i) p *= uint64_t(x[r * n + i]);
            out[r] = T(p);
        }
    });
}

template <typename T>
void prod_backward(const T* grad, const T* x, int64_t rows, int64_t n, T* grad_x) {
    parallel_rows(rows, n, [&](int64_t r) {
        const T* row = x + r * n;
        T* gx = grad_x + r * n;
        // gx first holds the suffix products prod_{j > i} x[j], then times the prefix.
        double suffix = 1;
        for (int64_t i = n - 1; i >= 0; --i) {
            gx[i] = T(suffix);
            suffix *= double(row[i]);
        }
        double prefix = double(grad[r]);
        for (int64_t i = 0; i < n; ++i) {
            gx[i] = T(prefix * double(gx[i]));
            prefix *= double(row[i]);
        }
    });
}

template <typename T>
void logsumexp_forward(const T* x, int64_t rows, int64_t n, T* out) {
    parallel_rows(rows, n, [&](int64_t r) {
        const T* row = x + r * n;
        T m = max_start<T>();
        for (int64_t i = 0; i < n; ++i) m = max_step(m, row[i]);
        if (std::isinf(m) || m != m) {  // all -inf (or n == 0), an inf, or a NaN
            out[r] = m;
            return;
        }
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += std::exp(double(row[i]) - double(m));
        out[r] = T(double(m) + std::log(s));
    });
}

template <typename T>
void logsumexp_backward(const T* grad, const T* x, const T* out, int64_t rows, int64_t n,
                        T* grad_x) {
    parallel_rows(rows, n, [&](int64_t r) {
        for (int64_t i = 0; i < n; ++i)
            grad_x[r * n + i] =
                T(double(grad[r]) * std::exp(double(x[r * n + i]) - double(out[r])));
    });
}

namespace {
template <typename T>
T sign_of(T v) {
    return T((v > T(0)) - (v < T(0)));
}
}  // namespace

template <typename T>
void norm_forward(const T* x, int64_t rows, int64_t n, double p, T* out) {
    parallel_rows(rows, n, [&](int64_t r) {
        const T* row = x + r * n;
        double acc = std::isinf(p) ? (p > 0 ? 0.0 : INFINITY) : 0.0;
        for (int64_t i = 0; i < n; ++i) {
            const double a = std::abs(double(row[i]));
            if (p == 0)
                acc += a != 0;  // counts a NaN as nonzero, as PyTorch's vector_norm
            else if (a != a)
                acc = a;  // NaN propagates
            else if (acc != acc)
                continue;
            else if (p == INFINITY)
                acc = std::max(acc, a);
            else if (p == -INFINITY)
                acc = std::min(acc, a);
            else if (p == 1)
                acc += a;
            else if (p == 2)
                acc += a * a;
            else
                acc += std::pow(a, p);
        }
        if (!std::isinf(p) && p != 0 && p != 1)
            acc = p == 2 ? std::sqrt(acc) : std::pow(acc, 1 / p);
        out[r] = T(acc);
    });
}

template <typename T>
void norm_backward(const T* grad, const T* x, const T* out, int64_t rows, int64_t n, double p,
                   T* grad_x) {
    parallel_rows(rows, n, [&](int64_t r) {
        const T* row = x + r * n;
        T* gx = grad_x + r * n;
        const double g = double(grad[r]), o = double(out[r]);
        if (p == 0 || (o == 0 && p > 1)) {
            std::fill(gx, gx + n, T(0));
        } else if (std::isinf(p)) {
            int64_t ties = 0;
            for (int64_t i = 0; i < n; ++i) ties += std::abs(double(row[i])) == o;
            for (int64_t i = 0; i < n; ++i)
                gx[i] = std::abs(double(row[i])) == o
                            ? T(g * double(sign_of(row[i])) / double(ties))
                            : T(0);
        } else if (p == 1) {
            for (int64_t i = 0; i < n; ++i) gx[i] = T(g * double(sign_of(row[i])));
        } else if (p == 2) {
            for (int64_t i = 0; i < n; ++i) gx[i] = T(g * double(row[i]) / o);
        } else {
            const double scale = g / std::pow(o, p - 1);
            for (int64_t i = 0; i < n; ++i) {
                const double v = double(row[i]);
                gx[i] = T(scale * double(sign_of(v)) * std::pow(std::abs(v), p - 1));
            }
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
#define PYDL_ROWS(T)                                                                         \
    template void var_forward<T>(const T*, int64_t, int64_t, double, T*, T*);                \
    template void var_backward<T>(const T*, const T*, const T*, const T*, int64_t, int64_t,  \
                                  double, T*);                                               \
    template void prod_backward<T>(const T*, const T*, int64_t, int64_t, T*);                \
    template void logsumexp_forward<T>(const T*, int64_t, int64_t, T*);                      \
    template void logsumexp_backward<T>(const T*, const T*, const T*, int64_t, int64_t, T*); \
    template void norm_forward<T>(const T*, int64_t, int64_t, double, T*);                   \
    template void norm_backward<T>(const T*, const T*, const T*, int64_t, int64_t, double, T*);
PYDL_ROWS(float)
PYDL_ROWS(double)
#undef PYDL_ROWS
template void prod_forward<float>(const float*, int64_t, int64_t, float*);
template void prod_forward<double>(const double*, int64_t, int64_t, double*);
template void prod_forward<int64_t>(const int64_t*, int64_t, int64_t, int64_t*);

}  // namespace pydl
