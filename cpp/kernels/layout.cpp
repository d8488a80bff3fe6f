#include "kernels/layout.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/strided.h"

namespace pydl {

namespace {

// Note [Blocked transpose]: a permute whose output rows read the input with a stride
// (a transpose of the two innermost input axes, say) walks the input one element per
// cache line. Here output axis `a` is the one that reads the input contiguously; tiles
// of kTile x kTile over (a, last output axis) read kTile input rows and write kTile
// output rows, each line fetched once (2048x256 transpose ~5x faster).
constexpr int64_t kTile = 16;

template <typename T>
void permute_blocked(const T* x, const Shape& out_shape, const Shape& read, size_t a, T* out) {
    const size_t last = out_shape.size() - 1;
    const Shape out_strides = contiguous_strides(out_shape);
    const int64_t rows = out_shape[a], cols = out_shape[last];
    const int64_t col_read = read[last], row_write = out_strides[a];
    int64_t outer = 1;
    for (size_t d = 0; d < last; ++d)
        if (d != a) outer *= out_shape[d];
    const int64_t row_tiles = (rows + kTile - 1) / kTile;
    parallel_for(0, outer * row_tiles, std::max<int64_t>(1, 4096 / (kTile * cols)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t t = lo; t < hi; ++t) {
                         // The other axes' offsets from the outer index (C order, skipping a and
                         // last).
                         int64_t o = t / row_tiles, in_base = 0, out_base = 0;
                         for (size_t d = last; d-- > 0;) {
                             if (d == a) continue;
                             const int64_t i = o % out_shape[d];
                             o /= out_shape[d];
                             in_base += i * read[d];
                             out_base += i * out_strides[d];
                         }
                         const int64_t i0 = (t % row_tiles) * kTile,
                                       i1 = std::min(rows, i0 + kTile);
                         for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
                             const int64_t j1 = std::min(cols, j0 + kTile);
                             for (int64_t i = i0; i < i1; ++i) {
                                 const T* src = x + in_base + i;  // read[a] == 1
                                 T* dst = out + out_base + i * row_write;
                                 for (int64_t j = j0; j < j1; ++j) dst[j] = src[j * col_read];
                             }
                         }
                     }
                 });
}

// Note [Strided copy], for one element size.
template <typename T>
void gather_strided(const T* x, const Shape& out_shape, const Shape& read, T* out) {
    if (numel(out_shape) == 0) return;  // nothing to move; the tiling below divides by extents
    // The input's innermost axis moved away from the output's innermost: blocked.
    const size_t last = out_shape.size() - 1;
    if (!out_shape.empty() && read[last] != 1 && out_shape[last] > 1)
        for (size_t a = 0; a < last; ++a)
            if (read[a] == 1 && out_shape[a] > 1)
                return permute_blocked(x, out_shape, read, a, out);
    std::array<Shape, 2> st{contiguous_strides(out_shape), read};
    for_each_row<2>(out_shape, st, [&](int64_t n, const auto& off, const auto& inc) {
        if (inc[1] == 1)  // rows kept whole (heads of attention): a plain copy
            std::copy(x + off[1], x + off[1] + n, out + off[0]);
        else
            for (int64_t i = 0; i < n; ++i) out[off[0] + i] = x[off[1] + i * inc[1]];
    });
}

// fn(T()) for the unsigned integer type T of `size` bytes: the layout kernels move bits.
template <typename Fn>
void with_element_type(size_t size, Fn&& fn) {
    switch (size) {
        case 1:
            return fn(uint8_t());
        case 2:
            return fn(uint16_t());
        case 4:
            return fn(uint32_t());
        case 8:
            return fn(uint64_t());
    }
    PYDL_CHECK(false, ValueError, "layout kernels move elements of 1, 2, 4 or 8 bytes, not ", size);
}

}  // namespace

void strided_copy(const void* x, const Shape& shape, const Shape& strides, size_t elem_size,
                  void* out) {
    PYDL_CHECK(strides.size() == shape.size(), ValueError, "strided_copy: ", strides.size(),
               " strides for shape ", shape_str(shape));
    with_element_type(elem_size, [&](auto t) {
        using T = decltype(t);
        gather_strided(static_cast<const T*>(x), shape, strides, static_cast<T*>(out));
    });
}

void permute_forward(const void* x, const Shape& shape, const std::vector<int64_t>& dims,
                     size_t elem_size, void* out) {
    if (numel(shape) == 0) return;
    const Shape in_strides = contiguous_strides(shape);
    Shape out_shape(dims.size()), read(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) {
        out_shape[d] = shape[dims[d]];
        read[d] = in_strides[dims[d]];
    }
    strided_copy(x, out_shape, read, elem_size, out);
}

void check_indices(const int64_t* index, int64_t count, int64_t n, const char* what) {
    const int64_t i = find_out_of_range(index, count, 0, n);
    PYDL_CHECK(i < 0, IndexError, what, " ", index[i], " is out of range for size ", n,
               " (at position ", i, ")");
}

void index_forward(const void* x, int64_t n, const int64_t* index, int64_t count, size_t elem_size,
                   void* out) {
    check_indices(index, count, n, "index");
    with_element_type(elem_size, [&](auto t) {
        using T = decltype(t);
        const T* xt = static_cast<const T*>(x);
        T* ot = static_cast<T*>(out);
        parallel_for(0, count, 1 << 14, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) ot[i] = xt[index[i]];
        });
    });
}

template <typename T>
void index_backward(const T* grad, const int64_t* index, int64_t count, T* grad_x, int64_t n) {
    check_indices(index, count, n, "index");
    std::fill(grad_x, grad_x + n, T(0));
    // Serial: repeated indices accumulate in a fixed order (Note [Determinism]).
    for (int64_t i = 0; i < count; ++i) grad_x[index[i]] += grad[i];
}

void embedding_forward(const void* weight, int64_t rows, int64_t dim, const int64_t* index,
                       int64_t count, size_t elem_size, void* out) {
    check_indices(index, count, rows, "embedding index");
    const char* w = static_cast<const char*>(weight);
    char* o = static_cast<char*>(out);
    const size_t row_bytes = size_t(dim) * elem_size;
    parallel_for(0, count, std::max<int64_t>(1, 16384 / std::max<int64_t>(dim, 1)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t i = lo; i < hi; ++i)
                         std::memcpy(o + i * row_bytes, w + index[i] * row_bytes, row_bytes);
                 });
}

template <typename T>
void embedding_backward(const T* grad, const int64_t* index, int64_t count, int64_t dim,
                        int64_t rows, int64_t padding_idx, T* grad_weight) {
    check_indices(index, count, rows, "embedding index");
    std::fill(grad_weight, grad_weight + rows * dim, T(0));
    constexpr int64_t kCols = 64;
    parallel_for(0, (dim + kCols - 1) / kCols, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t chunk = lo; chunk < hi; ++chunk) {
            const int64_t j0 = chunk * kCols, j1 = std::min(dim, j0 + kCols);
            for (int64_t i = 0; i < count; ++i) {
                if (index[i] == padding_idx) continue;
                T* dst = grad_weight + index[i] * dim;
                const T* src = grad + i * dim;
                for (int64_t j = j0; j < j1; ++j) dst[j] += src[j];
            }
        }
    });
}

void concat_forward(const std::vector<const void*>& xs, const std::vector<int64_t>& sizes,
                    int64_t outer, int64_t inner, size_t elem_size, void* out) {
    int64_t total = 0;
    for (int64_t s : sizes) total += s;
    parallel_for(0, outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, total * inner)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t o = lo; o < hi; ++o) {
                         char* dst = static_cast<char*>(out) + o * total * inner * elem_size;
                         for (size_t k = 0; k < xs.size(); ++k) {
                             const size_t len = size_t(sizes[k] * inner) * elem_size;
                             if (len)
                                 std::memcpy(dst, static_cast<const char*>(xs[k]) + o * len, len);
                             dst += len;
                         }
                     }
                 });
}

void concat_backward(const void* grad, const std::vector<int64_t>& sizes, int64_t outer,
                     int64_t inner, size_t elem_size, const std::vector<void*>& grads) {
    int64_t total = 0;
    for (int64_t s : sizes) total += s;
    parallel_for(0, outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, total * inner)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t o = lo; o < hi; ++o) {
                         const char* src =
                             static_cast<const char*>(grad) + o * total * inner * elem_size;
                         for (size_t k = 0; k < grads.size(); ++k) {
                             const size_t len = size_t(sizes[k] * inner) * elem_size;
                             if (len) std::memcpy(static_cast<char*>(grads[k]) + o * len, src, len);
                             src += len;
                         }
                     }
                 });
}

// Note [Kernel dtypes] in kernels/elementwise.h
#define PYDL_FLOATING(T)                                                                     \
    template void index_backward<T>(const T*, const int64_t*, int64_t, T*, int64_t);         \
    template void embedding_backward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, \
                                        int64_t, T*);
PYDL_FLOATING(float)
PYDL_FLOATING(double)
#undef PYDL_FLOATING

}  // namespace pydl
