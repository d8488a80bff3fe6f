// Data movement: permute (transpose), gather/scatter by flat index (slicing and
// integer-array indexing), concatenation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace pydl {

// Note [Strided copy]: out (C-contiguous over `shape`) = the elements of x read with
// `strides` (in elements; negative and zero strides too: x points at element (0, ..., 0)),
// for elements of 1, 2, 4 or 8 bytes of any dtype: the bits are moved, never converted.
// Every layout change is one: the bindings' contiguous copies of strided NumPy views
// (transposes, slices, flips, broadcasts), permute, reductions that move their reduced
// axes last. Rows are split across threads as the elementwise kernels' (for_each_row); a
// read whose innermost run is strided while another axis is contiguous (a transpose) goes
// through tiles, so that every cache line is fetched once (Note [Blocked transpose]).
void strided_copy(const void* x, const Shape& shape, const Shape& strides, size_t elem_size,
                  void* out);

// out = x.transpose(dims), C-contiguous, elements of elem_size bytes (any dtype).
void permute_forward(const void* x, const Shape& shape, const std::vector<int64_t>& dims,
                     size_t elem_size, void* out);
inline void permute_forward(const float* x, const Shape& shape, const std::vector<int64_t>& dims,
                            float* out) {
    permute_forward(x, shape, dims, sizeof(float), out);
}

// The forward kernels below move elements of elem_size (1, 2, 4 or 8) bytes of any dtype;
// the backward kernels that accumulate are templates for T: float, double (Note [Kernel
// dtypes] in kernels/elementwise.h). Concatenation's backward only moves, any dtype too.

// out[i] = x[index[i]]; throws IndexError (before writing) if any index is
// outside [0, n).
void index_forward(const void* x, int64_t n, const int64_t* index, int64_t count, size_t elem_size,
                   void* out);
// grad_x (n values, zeroed here) += grad at each index, in index order.
template <typename T>
void index_backward(const T* grad, const int64_t* index, int64_t count, T* grad_x, int64_t n);
// Throws IndexError naming the first index outside [0, n).
void check_indices(const int64_t* index, int64_t count, int64_t n, const char* what);

// Embedding lookup: out[i] = weight[index[i]] (rows of dim elements); IndexError (before
// writing) for an index outside [0, rows).
void embedding_forward(const void* weight, int64_t rows, int64_t dim, const int64_t* index,
                       int64_t count, size_t elem_size, void* out);
// grad_weight (rows x dim, zeroed here) += grad[i] at row index[i], skipping padding_idx
// (-1: none); each column chunk sums its indices in order (Note [Determinism]).
template <typename T>
void embedding_backward(const T* grad, const int64_t* index, int64_t count, int64_t dim,
                        int64_t rows, int64_t padding_idx, T* grad_weight);

// Concatenation along an axis, with every input viewed as (outer, size_i * inner).
void concat_forward(const std::vector<const void*>& xs, const std::vector<int64_t>& sizes,
                    int64_t outer, int64_t inner, size_t elem_size, void* out);
void concat_backward(const void* grad, const std::vector<int64_t>& sizes, int64_t outer,
                     int64_t inner, size_t elem_size, const std::vector<void*>& grads);

}  // namespace pydl
