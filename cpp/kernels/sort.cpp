// The sort kernels (declared in sort.h).
#include "kernels/sort.h"

#include <algorithm>
#include <numeric>

#include "kernels/reduce.h"

namespace pydl {

template <typename T>
void sort_forward(const T* x, int64_t rows, int64_t n, bool descending, T* values,
                  int64_t* indices) {
    parallel_rows(rows, n, [&](int64_t r) {
        const T* row = x + r * n;
        int64_t* idx = indices + r * n;
        std::iota(idx, idx + n, int64_t(0));
        // NaN (v != v) is the largest value.
        const auto less = [row](int64_t a, int64_t b) {
            const T u = row[a], v = row[b];
            return u == u && (v != v || u < v);
        };
        if (descending)
            std::stable_sort(idx, idx + n, [&](int64_t a, int64_t b) { return less(b, a); });
        else
            std::stable_sort(idx, idx + n, less);
        for (int64_t i = 0; i < n; ++i) values[r * n + i] = row[idx[i]];
    });
}

template <typename T>
void scatter_rows(const T* grad, const int64_t* indices, int64_t rows, int64_t k, int64_t n,
                  T* grad_x) {
    parallel_rows(rows, n, [&](int64_t r) {
        T* gx = grad_x + r * n;
        std::fill(gx, gx + n, T(0));
        for (int64_t j = 0; j < k; ++j) gx[indices[r * k + j]] += grad[r * k + j];
    });
}

// Note [Kernel dtypes] in kernels/elementwise.h
#define PYDL_SORT(T) template void sort_forward<T>(const T*, int64_t, int64_t, bool, T*, int64_t*);
PYDL_SORT(float)
PYDL_SORT(double)
PYDL_SORT(int64_t)
PYDL_SORT(int32_t)
PYDL_SORT(uint8_t)
#undef PYDL_SORT
template void scatter_rows<float>(const float*, const int64_t*, int64_t, int64_t, int64_t, float*);
template void scatter_rows<double>(const double*, const int64_t*, int64_t, int64_t, int64_t,
                                   double*);

}  // namespace pydl
