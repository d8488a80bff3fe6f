#include "kernels/linear.h"

#include <algorithm>
#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/parallel.h"
#include "gemm/gemm.h"
#include "kernels/activation.h"
#include "kernels/reduce.h"

namespace pydl {

void linear_forward(const float* x, const float* w, const float* bias, int64_t m, int64_t in,
                    int64_t out, float* y, std::optional<UnaryOp> act, float* pre) {
    PYDL_CHECK(!act || fusable(*act), ValueError, "linear: the GEMM epilogue cannot apply ",
               unary_op_info(*act).name);
    // Bias and activation are applied by the GEMM's epilogue while C is in registers.
    gemm::Epilogue ep;
    ep.bias = bias;
    ep.act = act;
    ep.pre = pre;
    ep.ldpre = out;
    sgemm(false, true, m, out, in, 1.0f, x, in, w, in, 0.0f, y, out, &ep);
}

void linear_act_backward(const float* grad, const float* x, const float* w, const float* y,
                         const float* pre, int64_t m, int64_t in, int64_t out,
                         std::optional<UnaryOp> act, float* grad_x, float* grad_w,
                         float* grad_bias) {
    const int64_t n = m * out;
    Scratch<float> grad_z(n);
    if (!act)
        std::copy(grad, grad + n, grad_z.data());
    else  // FromY ops read their derivative off y (relu's 1[z > 0] too): df(y, y)
        unary_backward(*act, grad, linear_act_needs_pre(act) ? pre : y, y, grad_z.data(), n);
    linear_backward(grad_z.data(), x, w, m, in, out, grad_x, grad_w, grad_bias);
}

void linear_backward(const float* grad, const float* x, const float* w, int64_t m, int64_t in,
                     int64_t out, float* grad_x, float* grad_w, float* grad_bias) {
    if (grad_x) sgemm(false, false, m, in, out, 1.0f, grad, out, w, in, 0.0f, grad_x, in);
    if (grad_w) sgemm(true, false, out, in, m, 1.0f, grad, out, x, in, 0.0f, grad_w, in);
    if (grad_bias) reduce_forward(ReduceOp::Sum, grad, {m, out}, {true, false}, grad_bias);
}

namespace {

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

void matmul_forward(const float* a, const Shape& as, const float* b, const Shape& bs, float* out,
                    const Shape& os) {
    const size_t rank = os.size() - 2;
    const Shape batch(os.begin(), os.end() - 2), ab = batch_of(as, rank), bb = batch_of(bs, rank);
    const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    const int64_t count = numel(batch);
    if (numel(ab) == count && numel(bb) == count) {  // no broadcasting: one batched call
        sgemm_batched(count, false, false, m, n, k, 1.0f, a, k, m * k, b, n, k * n, 0.0f, out, n,
                      m * n);
        return;
    }
    for (int64_t i = 0; i < count; ++i)
        sgemm(false, false, m, n, k, 1.0f, a + batch_offset(i, batch, ab, m * k), k,
              b + batch_offset(i, batch, bb, k * n), n, 0.0f, out + i * m * n, n);
}

void matmul_backward(const float* grad, const Shape& os, const float* a, const Shape& as,
                     const float* b, const Shape& bs, float* ga, float* gb) {
    const size_t rank = os.size() - 2;
    const Shape batch(os.begin(), os.end() - 2), ab = batch_of(as, rank), bb = batch_of(bs, rank);
    const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    // Operands repeated along broadcast batch axes accumulate (beta = 1) over
    // the batch in index order, so the sum is deterministic.
    const int64_t count = numel(batch);
    if (numel(ab) == count && numel(bb) == count) {  // no broadcasting: batched calls
        if (ga)
            sgemm_batched(count, false, true, m, k, n, 1.0f, grad, n, m * n, b, n, k * n, 0.0f, ga,
                          k, m * k);
        if (gb)
            sgemm_batched(count, true, false, k, n, m, 1.0f, a, k, m * k, grad, n, m * n, 0.0f, gb,
                          n, k * n);
        return;
    }
    if (ga) std::fill(ga, ga + numel(as), 0.0f);
    if (gb) std::fill(gb, gb + numel(bs), 0.0f);
    for (int64_t i = 0; i < count; ++i) {
        const float* g = grad + i * m * n;
        const int64_t oa = batch_offset(i, batch, ab, m * k),
                      ob = batch_offset(i, batch, bb, k * n);
        if (ga) sgemm(false, true, m, k, n, 1.0f, g, n, b + ob, n, 1.0f, ga + oa, k);
        if (gb) sgemm(true, false, k, n, m, 1.0f, a + oa, k, g, n, 1.0f, gb + ob, n);
    }
}

}  // namespace pydl
