#include "kernels/linear.h"

#include <algorithm>
#include <type_traits>
#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/parallel.h"
#include "gemm/bf16.h"
#include "gemm/gemm.h"
#include "kernels/activation.h"
#include "kernels/reduce.h"

namespace pydl {

void linear_forward(const float* x, const float* w, const float* bias, int64_t m, int64_t in,
                    int64_t out, float* y, std::optional<UnaryOp> act, float* pre,
                    Precision precision) {
    PYDL_CHECK(!act || fusable(*act), ValueError, "linear: the GEMM epilogue cannot apply ",
               unary_op_info(*act).name);
    // Bias and activation are applied by the GEMM's epilogue while C is in registers.
    gemm::Epilogue ep;
    ep.bias = bias;
    ep.act = act;
    ep.pre = pre;
    ep.ldpre = out;
    gemm_f32(precision, false, true, m, out, in, 1.0f, x, in, w, in, 0.0f, y, out, &ep);
}

void linear_act_backward(const float* grad, const float* x, const float* w, const float* y,
                         const float* pre, int64_t m, int64_t in, int64_t out,
                         std::optional<UnaryOp> act, float* grad_x, float* grad_w, float* grad_bias,
                         Precision precision) {
    const int64_t n = m * out;
    Scratch<float> grad_z(n);
    if (!act)
        std::copy(grad, grad + n, grad_z.data());
    else  // FromY ops read their derivative off y (relu's 1[z > 0] too): df(y, y)
        unary_backward(*act, grad, linear_act_needs_pre(act) ? pre : y, y, grad_z.data(), n);
    linear_backward(grad_z.data(), x, w, m, in, out, grad_x, grad_w, grad_bias, precision);
}

void linear_backward(const float* grad, const float* x, const float* w, int64_t m, int64_t in,
                     int64_t out, float* grad_x, float* grad_w, float* grad_bias,
                     Precision precision) {
    if (grad_x)
        gemm_f32(precision, false, false, m, in, out, 1.0f, grad, out, w, in, 0.0f, grad_x, in);
    if (grad_w)
        gemm_f32(precision, true, false, out, in, m, 1.0f, grad, out, x, in, 0.0f, grad_w, in);
    if (grad_bias) reduce_forward(ReduceOp::Sum, grad, {m, out}, {true, false}, grad_bias);
}

void linear_forward(const double* x, const double* w, const double* bias, int64_t m, int64_t in,
                    int64_t out, double* y, std::optional<UnaryOp> act, double* pre,
                    Precision precision) {
    PYDL_CHECK(precision == Precision::Float32, ValueError, "linear: float64 has no bf16 products");
    PYDL_CHECK(!act || fusable(*act), ValueError, "linear: the GEMM epilogue cannot apply ",
               unary_op_info(*act).name);
    dgemm(false, true, m, out, in, 1.0, x, in, w, in, 0.0, y, out);
    if (bias)
        parallel_for(0, m, std::max<int64_t>(1, 16384 / std::max<int64_t>(out, 1)),
                     [&](int64_t lo, int64_t hi) {
                         for (int64_t i = lo; i < hi; ++i)
                             for (int64_t j = 0; j < out; ++j) y[i * out + j] += bias[j];
                     });
    if (pre) std::copy(y, y + m * out, pre);
    if (act) unary_forward(*act, y, y, m * out);
}

void linear_act_backward(const double* grad, const double* x, const double* w, const double* y,
                         const double* pre, int64_t m, int64_t in, int64_t out,
                         std::optional<UnaryOp> act, double* grad_x, double* grad_w,
                         double* grad_bias, Precision precision) {
    const int64_t n = m * out;
    Scratch<double> grad_z(n);
    if (!act)
        std::copy(grad, grad + n, grad_z.data());
    else
        unary_backward(*act, grad, linear_act_needs_pre(act) ? pre : y, y, grad_z.data(), n);
    linear_backward(grad_z.data(), x, w, m, in, out, grad_x, grad_w, grad_bias, precision);
}

void linear_backward(const double* grad, const double* x, const double* w, int64_t m, int64_t in,
                     int64_t out, double* grad_x, double* grad_w, double* grad_bias,
                     Precision precision) {
    PYDL_CHECK(precision == Precision::Float32, ValueError, "linear: float64 has no bf16 products");
    if (grad_x) dgemm(false, false, m, in, out, 1.0, grad, out, w, in, 0.0, grad_x, in);
    if (grad_w) dgemm(true, false, out, in, m, 1.0, grad, out, x, in, 0.0, grad_w, in);
    if (grad_bias) reduce_forward(ReduceOp::Sum, grad, {m, out}, {true, false}, grad_bias);
}

namespace {

// One product and a batch of them, in float (sgemm, or sbgemm by precision) or double
// (dgemm; the precision is Float32 there, the bindings check).
void gemm_one(Precision p, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
              int64_t ldc) {
    gemm_f32(p, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void gemm_one(Precision, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
              const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
              int64_t ldc) {
    dgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
template <typename T>
void gemm_batch(Precision p, int64_t batch, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                const T* a, int64_t lda, int64_t sa, const T* b, int64_t ldb, int64_t sb, T* c,
                int64_t ldc, int64_t sc) {
    if constexpr (std::is_same_v<T, float>)
        sgemm_batched(batch, ta, tb, m, n, k, 1.0f, a, lda, sa, b, ldb, sb, 0.0f, c, ldc, sc, p);
    else
        dgemm_batched(batch, ta, tb, m, n, k, 1.0, a, lda, sa, b, ldb, sb, 0.0, c, ldc, sc);
}

// The batch part of a matmul shape, right-aligned to `rank` axes.
Shape batch_of(const Shape& s, size_t rank) {
    Shape b(s.begin(), s.end() - 2);
    b.insert(b.begin(), rank - b.size(), 1);
    return b;
}

// Element offset of matrix number `bi` of the broadcast batch within an operand
// whose batch shape is `own` (size-1 axes repeat).
int64_t batch_offset(int64_t bi, const Shape& batch, const Shape& own, int64_t matrix_size) {
    int64_t off = 0, stride = matrix_size;
    for (size_t d = batch.size(); d-- > 0;) {
        const int64_t i = bi % batch[d];
        bi /= batch[d];
        if (own[d] != 1) off += i * stride;
        stride *= own[d];
    }
    return off;
}

}  // namespace

template <typename T>
void matmul_forward(const T* a, const Shape& as, const T* b, const Shape& bs, T* out,
                    const Shape& os, Precision p) {
    const size_t rank = os.size() - 2;
    const Shape batch(os.begin(), os.end() - 2), ab = batch_of(as, rank), bb = batch_of(bs, rank);
    const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    const int64_t count = numel(batch);
    if (numel(ab) == count && numel(bb) == count) {  // no broadcasting: one batched call
        gemm_batch(p, count, false, false, m, n, k, a, k, m * k, b, n, k * n, out, n, m * n);
        return;
    }
    for (int64_t i = 0; i < count; ++i)
        gemm_one(p, false, false, m, n, k, T(1), a + batch_offset(i, batch, ab, m * k), k,
                 b + batch_offset(i, batch, bb, k * n), n, T(0), out + i * m * n, n);
}

template <typename T>
void matmul_backward(const T* grad, const Shape& os, const T* a, const Shape& as, const T* b,
                     const Shape& bs, T* ga, T* gb, Precision p) {
    const size_t rank = os.size() - 2;
    const Shape batch(os.begin(), os.end() - 2), ab = batch_of(as, rank), bb = batch_of(bs, rank);
    const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    // Operands repeated along broadcast batch axes accumulate (beta = 1) over
    // the batch in index order, so the sum is deterministic.
    const int64_t count = numel(batch);
    if (numel(ab) == count && numel(bb) == count) {  // no broadcasting: batched calls
        if (ga)
            gemm_batch(p, count, false, true, m, k, n, grad, n, m * n, b, n, k * n, ga, k, m * k);
        if (gb)
            gemm_batch(p, count, true, false, k, n, m, a, k, m * k, grad, n, m * n, gb, n, k * n);
        return;
    }
    if (ga) std::fill(ga, ga + numel(as), T(0));
    if (gb) std::fill(gb, gb + numel(bs), T(0));
    for (int64_t i = 0; i < count; ++i) {
        const T* g = grad + i * m * n;
        const int64_t oa = batch_offset(i, batch, ab, m * k),
                      ob = batch_offset(i, batch, bb, k * n);
        if (ga) gemm_one(p, false, true, m, k, n, T(1), g, n, b + ob, n, T(1), ga + oa, k);
        if (gb) gemm_one(p, true, false, k, n, m, T(1), a + oa, k, g, n, T(1), gb + ob, n);
    }
}

// Note [Kernel dtypes] in kernels/elementwise.h
#define PYDL_MATMUL(T)                                                                         \
    template void matmul_forward<T>(const T*, const Shape&, const T*, const Shape&, T*,        \
                                    const Shape&, Precision);                                  \
    template void matmul_backward<T>(const T*, const Shape&, const T*, const Shape&, const T*, \
                                     const Shape&, T*, T*, Precision);
PYDL_MATMUL(float)
PYDL_MATMUL(double)
#undef PYDL_MATMUL

}  // namespace pydl
