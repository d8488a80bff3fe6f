#include "kernels/reduce.h"

#include <cmath>
#include <limits>

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

inline float max_step(float m, float v) { return (v > m || v != v) && m == m ? v : m; }

// x viewed as (outer, reduce, inner); out as (outer, inner).
void reduce_planned(ReduceOp op, const float* x, int64_t outer, int64_t red, int64_t inner,
                    float* out) {
    if (inner == 1) {
        parallel_for(0, outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(red, 1)),
                     [&](int64_t lo, int64_t hi) {
                         for (int64_t o = lo; o < hi; ++o) {
                             const float* row = x + o * red;
                             if (op == ReduceOp::Sum) {
                                 out[o] =
                                     float(vec::lane_sum(red, [&](int64_t r) { return row[r]; }));
                             } else {
                                 float m = -std::numeric_limits<float>::infinity();
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
        std::vector<double> acc(chunk);
        for (int64_t t = lo; t < hi; ++t) {
            const int64_t o = t / chunks, j0 = (t % chunks) * chunk;
            const int64_t nj = std::min(chunk, inner - j0);
            float* dst = out + o * inner + j0;
            if (op == ReduceOp::Sum) {
                std::fill(acc.begin(), acc.begin() + nj, 0.0);
                for (int64_t r = 0; r < red; ++r) {
                    const float* src = x + (o * red + r) * inner + j0;
                    for (int64_t j = 0; j < nj; ++j) acc[j] += src[j];
                }
                for (int64_t j = 0; j < nj; ++j) dst[j] = float(acc[j]);
            } else {
                for (int64_t j = 0; j < nj; ++j) dst[j] = -std::numeric_limits<float>::infinity();
                for (int64_t r = 0; r < red; ++r) {
                    const float* src = x + (o * red + r) * inner + j0;
                    for (int64_t j = 0; j < nj; ++j) dst[j] = max_step(dst[j], src[j]);
                }
            }
        }
    });
}

}  // namespace

void reduce_forward(ReduceOp op, const float* x, const Shape& shape,
                    const std::vector<bool>& reduced, float* out) {
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
    Scratch<float> tmp(numel(shape));
    permute_forward(x, shape, dims, tmp.data());
    reduce_planned(op, tmp.data(), kept, red, 1, out);
}

void broadcast_to(const float* x, const Shape& small, float* out, const Shape& shape, float scale) {
    std::array<Shape, 2> st{contiguous_strides(shape), broadcast_strides(small, shape)};
    for_each_row<2>(shape, st, [&](int64_t n, const auto& off, const auto& inc) {
        for (int64_t i = 0; i < n; ++i) out[off[0] + i] = x[off[1] + i * inc[1]] * scale;
    });
}

void sum_backward(const float* grad, const Shape& shape, const std::vector<bool>& reduced,
                  float scale, float* grad_x) {
    broadcast_to(grad, kept_shape(shape, reduced), grad_x, shape, scale);
}

void max_backward(const float* grad, const float* x, const float* out, const Shape& shape,
                  const std::vector<bool>& reduced, float* grad_x) {
    const Shape ks = kept_shape(shape, reduced);
    std::array<Shape, 3> st{contiguous_strides(shape), contiguous_strides(shape),
                            broadcast_strides(ks, shape)};
    // grad_x first holds the tie mask, then the count of ties scales it.
    for_each_row<3>(shape, st, [&](int64_t n, const auto& off, const auto& inc) {
        for (int64_t i = 0; i < n; ++i) {
            const float v = x[off[1] + i], m = out[off[2] + i * inc[2]];
            grad_x[off[0] + i] = (v == m || (v != v && m != m)) ? 1.0f : 0.0f;
        }
    });
    std::vector<float> count(numel(ks));
    reduce_forward(ReduceOp::Sum, grad_x, shape, reduced, count.data());
    std::array<Shape, 3> st2{contiguous_strides(shape), broadcast_strides(ks, shape),
                             broadcast_strides(ks, shape)};
    for_each_row<3>(shape, st2, [&](int64_t n, const auto& off, const auto& inc) {
        for (int64_t i = 0; i < n; ++i) {
            float& gx = grad_x[off[0] + i];
            gx = gx != 0.0f ? grad[off[1] + i * inc[1]] / count[off[2] + i * inc[2]] : 0.0f;
        }
    });
}

}  // namespace pydl
