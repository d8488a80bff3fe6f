// The scan kernels (declared in scan.h).
#include "kernels/scan.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/reduce.h"

namespace pydl {

namespace {

// A scan's accumulator: double for floats, uint64_t (wrapping around) for integers.
template <typename T>
using ScanAcc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

template <typename T>
bool is_nan(T v) {
    return v != v;
}

// log(exp(a) + exp(b)), exact for infinities of one sign; NaN propagates.
double log_add_exp(double a, double b) {
    if (a == b) return a + std::log(2.0);  // also inf + inf and -inf + -inf
    const double m = std::max(a, b);
    if (m != m || a != a || b != b) return NAN;
    return m + std::log1p(std::exp(-std::abs(a - b)));
}

}  // namespace

template <typename T>
void cumsum_forward(const T* x, int64_t rows, int64_t n, bool reverse, T* out) {
    parallel_rows(rows, n, [&](int64_t r) {
        ScanAcc<T> acc = 0;
        for (int64_t k = 0; k < n; ++k) {
            const int64_t i = r * n + (reverse ? n - 1 - k : k);
            acc += ScanAcc<T>(x[i]);
            out[i] = T(acc);
        }
    });
}

template <typename T>
void cumprod_forward(const T* x, int64_t rows, int64_t n, T* out) {
    parallel_rows(rows, n, [&](int64_t r) {
        ScanAcc<T> acc = 1;
        for (int64_t i = r * n; i < (r + 1) * n; ++i) {
            acc *= ScanAcc<T>(x[i]);
            out[i] = T(acc);
        }
    });
}

template <typename T>
void cumprod_backward(const T* grad, const T* x, int64_t rows, int64_t n, T* grad_x) {
    parallel_rows(rows, n, [&](int64_t r) {
        const T* row = x + r * n;
        const T* g = grad + r * n;
        T* gx = grad_x + r * n;
        double s = 0;  // gx first holds S_i, then P_{i-1} S_i
        for (int64_t i = n - 1; i >= 0; --i) {
            s = double(g[i]) + (i + 1 < n ? double(row[i + 1]) * s : 0.0);
            gx[i] = T(s);
        }
        double prefix = 1;
        for (int64_t i = 0; i < n; ++i) {
            gx[i] = T(prefix * double(gx[i]));
            prefix *= double(row[i]);
        }
    });
}

template <typename T>
void cummax_forward(const T* x, int64_t rows, int64_t n, bool largest, T* values,
                    int64_t* indices) {
    parallel_rows(rows, n, [&](int64_t r) {
        const T* row = x + r * n;
        T best = n ? row[0] : T(0);
        int64_t at = 0;
        for (int64_t i = 0; i < n; ++i) {
            const T v = row[i];
            if (is_nan(v) || (!is_nan(best) && (largest ? v >= best : v <= best))) {
                best = v;
                at = i;
            }
            values[r * n + i] = best;
            indices[r * n + i] = at;
        }
    });
}

template <typename T>
void logcumsumexp_forward(const T* x, int64_t rows, int64_t n, T* out) {
    parallel_rows(rows, n, [&](int64_t r) {
        double acc = -INFINITY;
        for (int64_t i = r * n; i < (r + 1) * n; ++i) {
            acc = log_add_exp(acc, double(x[i]));
            out[i] = T(acc);
        }
    });
}

template <typename T>
void logcumsumexp_backward(const T* grad, const T* x, const T* out, int64_t rows, int64_t n,
                           T* grad_x) {
    parallel_rows(rows, n, [&](int64_t r) {
        const int64_t b = r * n;
        double s = 0, total = 0;
        for (int64_t i = n - 1; i >= 0; --i) {
            total += double(grad[b + i]);
            if (std::isinf(double(out[b + i])) && out[b + i] > 0) {
                // out is +inf from here on: the factors exp(out_i - out_j) are inf - inf, and
                // each term exp(x_i - out_j) is exp(x_i - inf), 0 (NaN for x_i = +inf).
                s = total;
            } else {
                // A factor of 0 (out jumping to +inf) drops the later terms, even a NaN S.
                const double f =
                    i + 1 < n ? std::exp(double(out[b + i]) - double(out[b + i + 1])) : 0;
                s = double(grad[b + i]) + (f == 0 ? 0.0 : f * s);
            }
            grad_x[b + i] = T(std::exp(double(x[b + i]) - double(out[b + i])) * s);
        }
    });
}

// Note [Kernel dtypes] in kernels/elementwise.h
#define PYDL_SCAN(T)                                                       \
    template void cumsum_forward<T>(const T*, int64_t, int64_t, bool, T*); \
    template void cumprod_forward<T>(const T*, int64_t, int64_t, T*);      \
    template void cummax_forward<T>(const T*, int64_t, int64_t, bool, T*, int64_t*);
PYDL_SCAN(float)
PYDL_SCAN(double)
PYDL_SCAN(int64_t)
#undef PYDL_SCAN
#define PYDL_SCAN_FLOAT(T)                                                       \
    template void cumprod_backward<T>(const T*, const T*, int64_t, int64_t, T*); \
    template void logcumsumexp_forward<T>(const T*, int64_t, int64_t, T*);       \
    template void logcumsumexp_backward<T>(const T*, const T*, const T*, int64_t, int64_t, T*);
PYDL_SCAN_FLOAT(float)
PYDL_SCAN_FLOAT(double)
#undef PYDL_SCAN_FLOAT

}  // namespace pydl
