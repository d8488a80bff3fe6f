#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/buffer_pool.h"
#include "core/parallel.h"
#include "core/vec.h"
#include "gemm/bf16.h"
#include "gemm/gemm.h"

namespace pydl {

namespace {

// Note [Attention block]: rows of a query block and of a key block. Swept 64/96/128 after
// the row passes went to lanes and AVX-512 and the backward to one pass per slice (2
// threads, head dim 64, forward + backward): causal T=128 x 64 slices 7.5 / 5.3 / 4.9 ms
// for 128 / 96 / 64, T=512 x 16 18.4 / 14.7 / 14.0, T=2048 x 16 225 / 200 / 207; full
// T=2048 431 / 382 / 403. 64 also halves the causal diagonal blocks' wasted half.
constexpr int64_t kBlock = 64;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Blocks {
    const AttentionShape& s;
    int64_t q_blocks() const { return (s.tq + kBlock - 1) / kBlock; }
    int64_t k_blocks() const { return (s.tk + kBlock - 1) / kBlock; }
};

// Row t of slice b in a (batch / heads, rows, heads, width) array whose token rows are
// `stride` elements apart.
struct Rows {
    int64_t heads, rows, width, stride;
    int64_t at(int64_t b, int64_t t) const {
        return ((b / heads) * rows + t) * stride + (b % heads) * width;
    }
    int64_t ld() const { return stride; }
    // Rows [t0, t0 + count) of slice b set to zero.
    void zero(float* x, int64_t b, int64_t t0, int64_t count) const {
        for (int64_t t = t0; t < t0 + count; ++t) std::fill_n(x + at(b, t), width, 0.0f);
    }
};
// The layouts of q (and dq), k (dk), v (dv), out (dout).
struct Layouts {
    Rows q, k, v, o;
    explicit Layouts(const AttentionShape& s)
        : q{s.heads, s.tq, s.d, s.qkv_stride ? s.qkv_stride : s.heads * s.d},
          k{s.heads, s.tk, s.d, s.qkv_stride ? s.qkv_stride : s.heads * s.d},
          v{s.heads, s.tk, s.dv, s.qkv_stride ? s.qkv_stride : s.heads * s.dv},
          o{s.heads, s.tq, s.dv, s.heads * s.dv} {}
};

// scores (rows x cols, stride kBlock) = q_blk k_blk^T * scale + mask, -inf where causal hides.
void scores(const AttentionShape& s, const Layouts& ly, const float* q, const float* k,
            const float* mask, int64_t b, int64_t q0, int64_t rows, int64_t k0, int64_t cols,
            float* out) {
    gemm_f32(s.precision, false, true, rows, cols, s.d, s.scale, q + ly.q.at(b, q0), ly.q.ld(),
             k + ly.k.at(b, k0), ly.k.ld(), 0.0f, out, kBlock);
    const float* mrow = nullptr;
    if (s.mask_batch) mrow = mask + ((s.mask_batch == 1 ? 0 : b) * s.tq + q0) * s.tk + k0;
    for (int64_t r = 0; r < rows; ++r) {
        float* o = out + r * kBlock;
        if (mrow)
            for (int64_t c = 0; c < cols; ++c) o[c] += mrow[r * s.tk + c];
        if (s.causal)
            for (int64_t c = std::max<int64_t>(0, q0 + r - k0 + 1); c < cols; ++c) o[c] = kNegInf;
    }
}

// A key block lies entirely above the causal diagonal of a query block.
inline bool hidden(const AttentionShape& s, int64_t q0, int64_t rows, int64_t k0) {
    return s.causal && k0 > q0 + rows - 1;
}

// The elementwise work on score blocks, vectorized (vec.h's exp; Note [SIMD dispatch]).
// p = exp(score - lse) for every row (exp(-inf) = 0 for masked scores).
PYDL_INLINE void probabilities_body(const float* lse_rows, int64_t rows, int64_t cols, float* p) {
    for (int64_t r = 0; r < rows; ++r) {
        float* __restrict row = p + r * kBlock;
        const float l = lse_rows[r];
        for (int64_t c = 0; c < cols; ++c) row[c] = vec::exp(row[c] - l);
    }
}
// ds = p * (dp - d_row), in place in dp.
PYDL_INLINE void softmax_grad_body(const float* p, const float* d_rows, int64_t rows, int64_t cols,
                                   float* dp) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* __restrict pr = p + r * kBlock;
        float* __restrict dr = dp + r * kBlock;
        const float d = d_rows[r];
        for (int64_t c = 0; c < cols; ++c) dr[c] = pr[c] * (dr[c] - d);
    }
}
// One online-softmax step for a row: returns the row's new max and sum given the old
// ones; the row becomes exp(score - new max) and acc must be scaled by *corr.
PYDL_INLINE float exp_row_body(float* __restrict row, int64_t cols, float mx) {
    for (int64_t c = 0; c < cols; ++c) row[c] = vec::exp(row[c] - mx);
    return float(vec::lane_sum(cols, [&](int64_t c) { return row[c]; }));
}
}  // namespace

void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v,
                       const float* mask, float* out, float* lse) {
    const Blocks bl{s};
    const Layouts ly(s);
    const int64_t tasks = s.batch * bl.q_blocks();
    // Each chunk compiled per instruction set (exp is instruction-bound: AVX-512 pays).
    parallel_for(
        0, tasks, 1, vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
            CheckedVector<float> sc(kBlock * kBlock), acc(kBlock * s.dv), m(kBlock), l(kBlock);
            for (int64_t t = lo; t < hi; ++t) {
                const int64_t b = t / bl.q_blocks(), q0 = (t % bl.q_blocks()) * kBlock;
                const int64_t rows = std::min(kBlock, s.tq - q0);
                std::fill(m.begin(), m.end(), kNegInf);
                std::fill(l.begin(), l.end(), 0.0f);
                std::fill(acc.begin(), acc.end(), 0.0f);
                for (int64_t k0 = 0; k0 < s.tk; k0 += kBlock) {
                    if (hidden(s, q0, rows, k0)) break;
                    const int64_t cols = std::min(kBlock, s.tk - k0);
                    scores(s, ly, q, k, mask, b, q0, rows, k0, cols, sc.data());
                    // Online softmax: rescale what has been accumulated to the new row maximum.
                    for (int64_t r = 0; r < rows; ++r) {
                        float* row = sc.data() + r * kBlock;
                        const float mx = std::max(m[r], vec::lane_max(row, cols));
                        if (mx == kNegInf) {  // everything masked so far
                            std::fill(row, row + cols, 0.0f);
                            continue;
                        }
                        const float corr = std::exp(m[r] - mx);  // exp(-inf) = 0 on the first block
                        const float sum = exp_row_body(row, cols, mx);
                        l[r] = l[r] * corr + sum;
                        m[r] = mx;
                        for (int64_t j = 0; j < s.dv; ++j) acc[r * s.dv + j] *= corr;
                    }
                    gemm_f32(s.precision, false, false, rows, s.dv, cols, 1.0f, sc.data(), kBlock,
                             v + ly.v.at(b, k0), ly.v.ld(), 1.0f, acc.data(), s.dv);
                }
                for (int64_t r = 0; r < rows; ++r) {
                    float* o = out + ly.o.at(b, q0 + r);
                    for (int64_t j = 0; j < s.dv; ++j)
                        o[j] = acc[r * s.dv + j] / l[r];  // 0/0: NaN, as PyTorch
                    lse[b * s.tq + q0 + r] = m[r] + std::log(l[r]);
                }
            }
        }));
}

void attention_backward(const AttentionShape& s, const float* dout, const float* q, const float* k,
                        const float* v, const float* mask, const float* out, const float* lse,
                        float* dq, float* dk, float* dv) {
    const Blocks bl{s};
    const Layouts ly(s);
    // D_i = sum_j dout_ij out_ij (the softmax backward's row term).
    CheckedVector<float> drow(s.batch * s.tq);
    parallel_for(0, s.batch * s.tq, 256, [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            const float* a = dout + ly.o.at(r / s.tq, r % s.tq);
            const float* o = out + ly.o.at(r / s.tq, r % s.tq);
            drow[r] = float(vec::lane_sum(s.dv, [&](int64_t j) { return a[j] * o[j]; }));
        }
    });
    // dS = P * (dP - D) for one (query block, key block); p and dp are kBlock-strided.
    auto grad_scores = [&](int64_t b, int64_t q0, int64_t rows, int64_t k0, int64_t cols, float* p,
                           float* dp) {
        scores(s, ly, q, k, mask, b, q0, rows, k0, cols, p);
        vec::simd_call(
            [&]() PYDL_INLINE_LAMBDA { probabilities_body(lse + b * s.tq + q0, rows, cols, p); });
        gemm_f32(s.precision, false, true, rows, cols, s.dv, 1.0f, dout + ly.o.at(b, q0), ly.o.ld(),
                 v + ly.v.at(b, k0), ly.v.ld(), 0.0f, dp, kBlock);
        vec::simd_call([&]() PYDL_INLINE_LAMBDA {
            softmax_grad_body(p, drow.data() + b * s.tq + q0, rows, cols, dp);
        });
    };
    // One (query block, key block) pair's contributions from its dS: dV and dK of the key
    // block, and (when dq_rows is set) dQ of the query block, each accumulated in order.
    // A block's first contribution is written with beta 0 (kv_beta, dq_beta): zeroing the
    // gradients first cost a pass over them (6 MB for a GPT layer's dqkv).
    auto accumulate = [&](int64_t b, int64_t q0, int64_t rows, int64_t k0, int64_t cols,
                          const float* p, const float* ds, float* dkb, float* dvb, float kv_beta,
                          float* dq_rows, float dq_beta) {
        if (dvb)
            gemm_f32(s.precision, true, false, cols, s.dv, rows, 1.0f, p, kBlock,
                     dout + ly.o.at(b, q0), ly.o.ld(), kv_beta, dvb, ly.v.ld());
        if (dkb)
            gemm_f32(s.precision, true, false, cols, s.d, rows, s.scale, ds, kBlock,
                     q + ly.q.at(b, q0), ly.q.ld(), kv_beta, dkb, ly.k.ld());
        if (dq_rows)
            gemm_f32(s.precision, false, false, rows, s.d, cols, s.scale, ds, kBlock,
                     k + ly.k.at(b, k0), ly.k.ld(), dq_beta, dq_rows, ly.q.ld());
    };
    // Enough (batch x head) slices to share out: one task per slice computes every block
    // pair's dS once and all three gradients from it (dQ's terms still in key order). With
    // fewer slices the work is split by key block and by query block, and the query-block
    // pass recomputes dS (or, with a single key block, takes dQ from the key block's pass).
    if (s.batch >= 2 * get_num_threads()) {
        parallel_for(0, s.batch, 1, [&](int64_t lo, int64_t hi) {
            CheckedVector<float> p(kBlock * kBlock), ds(kBlock * kBlock);
            for (int64_t b = lo; b < hi; ++b) {
                if (dq && s.tk == 0) ly.q.zero(dq, b, 0, s.tq);  // no key block to write it
                for (int64_t k0 = 0; k0 < s.tk; k0 += kBlock) {
                    const int64_t cols = std::min(kBlock, s.tk - k0);
                    bool first = true;  // the key block's first contribution
                    for (int64_t q0 = 0; q0 < s.tq; q0 += kBlock) {
                        const int64_t rows = std::min(kBlock, s.tq - q0);
                        if (hidden(s, q0, rows, k0)) continue;
                        grad_scores(b, q0, rows, k0, cols, p.data(), ds.data());
                        // k0 == 0 is every query block's first key block (never hidden)
                        accumulate(b, q0, rows, k0, cols, p.data(), ds.data(),
                                   dk ? dk + ly.k.at(b, k0) : nullptr,
                                   dv ? dv + ly.v.at(b, k0) : nullptr, first ? 0.0f : 1.0f,
                                   dq ? dq + ly.q.at(b, q0) : nullptr, k0 == 0 ? 0.0f : 1.0f);
                        first = false;
                    }
                    if (first) {  // every query block hides this key block
                        if (dk) ly.k.zero(dk, b, k0, cols);
                        if (dv) ly.v.zero(dv, b, k0, cols);
                    }
                }
            }
        });
        return;
    }
    const bool dq_with_keys = dq && bl.k_blocks() == 1;
    if (dk || dv ||
        dq_with_keys) {  // one task per key block: its dK, dV over all query blocks in order
        parallel_for(0, s.batch * bl.k_blocks(), 1, [&](int64_t lo, int64_t hi) {
            CheckedVector<float> p(kBlock * kBlock), ds(kBlock * kBlock);
            for (int64_t t = lo; t < hi; ++t) {
                const int64_t b = t / bl.k_blocks(), k0 = (t % bl.k_blocks()) * kBlock;
                const int64_t cols = std::min(kBlock, s.tk - k0);
                float* dkb = dk ? dk + ly.k.at(b, k0) : nullptr;
                float* dvb = dv ? dv + ly.v.at(b, k0) : nullptr;
                bool first = true;
                for (int64_t q0 = 0; q0 < s.tq; q0 += kBlock) {
                    const int64_t rows = std::min(kBlock, s.tq - q0);
                    if (hidden(s, q0, rows, k0)) continue;
                    grad_scores(b, q0, rows, k0, cols, p.data(), ds.data());
                    accumulate(b, q0, rows, k0, cols, p.data(), ds.data(), dkb, dvb,
                               first ? 0.0f : 1.0f, dq_with_keys ? dq + ly.q.at(b, q0) : nullptr,
                               0.0f);
                    first = false;
                }
                if (first) {
                    if (dkb) ly.k.zero(dk, b, k0, cols);
                    if (dvb) ly.v.zero(dv, b, k0, cols);
                }
            }
        });
    }
    if (dq && !dq_with_keys) {  // one task per query block: its dQ over all key blocks in order
        parallel_for(0, s.batch * bl.q_blocks(), 1, [&](int64_t lo, int64_t hi) {
            CheckedVector<float> p(kBlock * kBlock), ds(kBlock * kBlock);
            for (int64_t t = lo; t < hi; ++t) {
                const int64_t b = t / bl.q_blocks(), q0 = (t % bl.q_blocks()) * kBlock;
                const int64_t rows = std::min(kBlock, s.tq - q0);
                float* dqb = dq + ly.q.at(b, q0);
                if (s.tk == 0) ly.q.zero(dq, b, q0, rows);
                for (int64_t k0 = 0; k0 < s.tk; k0 += kBlock) {
                    if (hidden(s, q0, rows, k0)) break;
                    const int64_t cols = std::min(kBlock, s.tk - k0);
                    grad_scores(b, q0, rows, k0, cols, p.data(), ds.data());
                    accumulate(b, q0, rows, k0, cols, p.data(), ds.data(), nullptr, nullptr, 0.0f,
                               dqb, k0 == 0 ? 0.0f : 1.0f);
                }
            }
        });
    }
}

}  // namespace pydl
