// Indexing by index tensors along one dim: gather and scatter (with its reductions), and
// index_select / index_add / index_copy (a 1-D index picking whole slices). Every op that
// moves data by an index tensor is one of these (pydl/_ops/indexing.py composes
// take_along_dim, index_put, masked_scatter, pad, flip, roll, repeat... from them).
//
// Note [Index ranges]: every index is checked against its dim's size before anything is
// written; an index outside [0, size) throws IndexError naming the dim, the index and the
// size (the op layer has wrapped negative indices where PyTorch accepts them).
//
// Note [Scatter determinism]: scatter kernels split the work by destination: a task owns a
// block of positions of the dims other than `dim`, and walks the index along `dim` in
// order, so repeated indices combine in index order on one thread whatever the thread
// count (Note [Determinism]); `scatter` without a reduction keeps the last write.
//
// Kernel dtypes: the forwards that only move elements are templates over the six dtypes
// (Note [Dtypes in the core]); those that combine (scatter's reductions, index_add) over
// float, double, int64 and int32; the backwards over float and double.
#pragma once
#include <cstdint>

#include "core/shape.h"

namespace pydl {

// out (index's shape) = x[..., index[...], ...] along dim: out[i][j][k] = x[i][index[i][j][k]][k]
// for dim 1. index has x's rank, and no dim of it other than `dim` is larger than x's.
template <typename T>
void gather_forward(const T* x, const Shape& x_shape, int64_t dim, const int64_t* index,
                    const Shape& index_shape, T* out);
// grad_x (x_shape, zeroed here) += grad at the gathered places (scatter-add).
template <typename T>
void gather_backward(const T* grad, int64_t dim, const int64_t* index, const Shape& index_shape,
                     const Shape& x_shape, T* grad_x);

// PyTorch's scatter_reduce reductions; None is scatter's plain write.
enum class ScatterReduce { None, Sum, Prod, Mean, Amax, Amin };

// out = x, then for every position p of index: out[p with p[dim] = index[p]] combined with
// src[p] by `reduce`. include_self false: the places written start from the reduction's
// identity instead of x (mean counts only the sources). src has index's rank and no dim
// smaller than index's.
template <typename T>
void scatter_forward(const T* x, const Shape& x_shape, int64_t dim, const int64_t* index,
                     const Shape& index_shape, const T* src, const Shape& src_shape,
                     ScatterReduce reduce, bool include_self, T* out);
// Gradients of scatter_forward (out is its result): grad_x (x_shape) and grad_src
// (src_shape: zero outside index's extent); either may be null (not needed). Sum and mean
// pass the gradient (divided by the count); prod by the product of the others; amax and
// amin split it evenly among the values equal to the result, as PyTorch's (but without
// include_self, x is not one of them: PyTorch 2.13 still counts an x equal to the result,
// which gives its sources less than the whole gradient).
template <typename T>
void scatter_backward(const T* grad, const T* x, const Shape& x_shape, int64_t dim,
                      const int64_t* index, const Shape& index_shape, const T* src,
                      const Shape& src_shape, const T* out, ScatterReduce reduce, bool include_self,
                      T* grad_x, T* grad_src);

// The slices along dim of x (outer, n, inner) picked by a 1-D index of `count` entries:
// out (outer, count, inner)[o, j, i] = x[o, index[j], i].
template <typename T>
void index_select_forward(const T* x, int64_t outer, int64_t n, int64_t inner, const int64_t* index,
                          int64_t count, T* out);
// out (outer, n, inner) = x (null: zeros) with source[o, j, i] * alpha added at
// [o, index[j], i], repeats accumulating in index order. index_select's backward is this
// with x null and alpha 1.
template <typename T>
void index_add_forward(const T* x, int64_t outer, int64_t n, int64_t inner, const int64_t* index,
                       int64_t count, const T* source, double alpha, T* out);
// out = x with the slice [o, index[j], i] replaced by source[o, j, i] (the last repeat wins);
// source null: by zeros (index_copy's gradient of x).
template <typename T>
void index_copy_forward(const T* x, int64_t outer, int64_t n, int64_t inner, const int64_t* index,
                        int64_t count, const T* source, T* out);

// Throws IndexError (Note [Index ranges]) for the first index outside [0, size).
void check_dim_indices(const int64_t* index, int64_t count, int64_t size, int64_t dim);

}  // namespace pydl
