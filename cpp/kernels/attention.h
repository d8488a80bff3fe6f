// Scaled dot-product attention, tiled with an online softmax (FlashAttention's scheme):
// the forward never holds more than a block of the Tq x Tk score matrix, and the backward
// recomputes score blocks from the saved row log-sum-exps. Memory is linear in T.
#pragma once
#include <cstdint>

#include "gemm/gemm.h"

namespace pydl {

struct AttentionShape {
    int64_t batch;  // flattened leading dims (batch x heads)
    int64_t tq, tk, d, dv;
    float scale;  // usually 1 / sqrt(d)
    bool causal;  // query i attends to keys j <= i (PyTorch's top-left aligned mask)
    int64_t
        mask_batch;  // additive float mask (mask_batch x tq x tk): 0 = none, 1 = shared, or batch
    // q, k, v, out and their gradients are (batch / heads, T, heads, width) arrays: slice b
    // is head b % heads of sequence b / heads, so a multi-head layer's projections are
    // used as they are, without permutes; 1 is plain (batch, T, width).
    int64_t heads = 1;
    // Elements from one token's row of q, k and v (and of their gradients) to the next;
    // 0 is heads * width. A packed (N, T, 3 * heads * d) projection is q, k and v at
    // offsets 0, heads * d and 2 * heads * d, all three with stride 3 * heads * d.
    int64_t qkv_stride = 0;
    // Every product of the forward and backward (scores, probabilities times values and
    // their gradients): fp32, or bf16 operands with fp32 sums under autocast (Note [Autocast]).
    Precision precision = Precision::Float32;
};

// out (batch, tq, dv) = softmax(q k^T * scale + mask) v (laid out as q, see heads); lse
// (batch, tq) saved for backward.
void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v,
                       const float* mask, float* out, float* lse);
// Gradients of q, k, v (any may be null; Note [Gradient outputs] in bindings/common.h);
// deterministic: every output block is accumulated by one task in a fixed order.
void attention_backward(const AttentionShape& s, const float* dout, const float* q, const float* k,
                        const float* v, const float* mask, const float* out, const float* lse,
                        float* dq, float* dk, float* dv);

}  // namespace pydl
