// The sort kernels (declared in sort.h).
#include "kernels/sort.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/buffer_pool.h"
#include "kernels/reduce.h"

namespace pydl {

template <typename T>
void sort_forward(const T* x, int64_t rows, int64_t n, int64_t k, bool descending, T* values,
                  int64_t* indices) {
    const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(n, 1));
    const int slots = parallel_slots(0, rows, grain);
    Scratch<int64_t> scratch(
        checked_mul(slots, n, "sort: scratch"));  // Note [Scratch before regions]
    parallel_for_slots(0, rows, grain, slots, [&](int slot, int64_t lo, int64_t hi) {
        int64_t* idx = scratch.data() + int64_t(slot) * n;
        for (int64_t r = lo; r < hi; ++r) {
            const T* row = x + r * n;
            std::iota(idx, idx + n, int64_t(0));
            // NaN (v != v) is the largest value; ties go by index, so the order is total:
            // a partial sort gives the stable sort's first k.
            const auto less = [row](int64_t a, int64_t b) {
                const T u = row[a], v = row[b];
                return u == u && (v != v || u < v);
            };
            const auto before = [&](int64_t a, int64_t b) {
                const bool ab = descending ? less(b, a) : less(a, b);
                const bool ba = descending ? less(a, b) : less(b, a);
                return ab || (!ba && a < b);
            };
            if (k < n)
                std::partial_sort(idx, idx + k, idx + n, before);
            else
                std::sort(idx, idx + n, before);
            for (int64_t i = 0; i < k; ++i) {
                values[r * k + i] = row[idx[i]];
                indices[r * k + i] = idx[i];
            }
        }
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
#define PYDL_SORT(T) \
    template void sort_forward<T>(const T*, int64_t, int64_t, int64_t, bool, T*, int64_t*);
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
