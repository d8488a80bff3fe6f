#include "kernels/recurrent.h"

#include <algorithm>
#include <cstring>

#include "core/buffer_pool.h"
#include "core/parallel.h"
#include "core/vec.h"
#include "gemm/bf16.h"
#include "gemm/gemm.h"
#include "kernels/reduce.h"

namespace pydl {

int64_t cell_gates(CellKind kind) {
    switch (kind) {
        case CellKind::Lstm:
            return 4;
        case CellKind::Gru:
        case CellKind::GruResetBefore:
            return 3;
        default:
            return 1;
    }
}

int64_t cell_saved(CellKind kind, int64_t hidden) {
    switch (kind) {
        case CellKind::Lstm:
            return 5 * hidden;  // i, f, g, o, c
        case CellKind::Gru:
            return 4 * hidden;  // r, z, n, W_hn h + b_hn
        case CellKind::GruResetBefore:
            return 4 * hidden;  // r, z, n, r * h
        default:
            return 0;  // h_t is the output itself
    }
}

namespace {

inline float sigm(float x) { return vec::sigmoid(x); }

// out (rows x cols, row stride ldc) = a (rows x k) @ w^T (w: cols x k, row stride ldw) + bias.
void project(Precision precision, int64_t rows, int64_t cols, int64_t k, const float* a,
             int64_t lda, const float* w, int64_t ldw, const float* bias, float* out, int64_t ldc) {
    gemm::Epilogue ep;
    ep.bias = bias;
    gemm_f32(precision, false, true, rows, cols, k, 1.0f, a, lda, w, ldw, 0.0f, out, ldc, &ep);
}

// out (rows x n, row stride ldc) = a @ B + bias with B prepacked (the hidden weights,
// packed once per call instead of once per step, at the layer's precision).
void project_packed(int64_t rows, const float* a, int64_t lda, const PackedB& b, const float* bias,
                    float* out, int64_t ldc) {
    gemm::Epilogue ep;
    ep.bias = bias;
    sgemm_packed(false, rows, 1.0f, a, lda, b, 0.0f, out, ldc, &ep);
}

// Gate math as single-output loops over restrict pointers, so each vectorizes once
// inlined into the AVX2 row loop below.
PYDL_INLINE void sigmoid_of_sum(float* __restrict out, const float* __restrict a,
                                const float* __restrict b, int64_t n) {
    for (int64_t j = 0; j < n; ++j) out[j] = vec::sigmoid(a[j] + b[j]);
}
PYDL_INLINE void tanh_of_sum(float* __restrict out, const float* __restrict a,
                             const float* __restrict b, int64_t n) {
    for (int64_t j = 0; j < n; ++j) out[j] = vec::tanh(a[j] + b[j]);
}

// The gate passes: rows of one step in parallel (each row independent). fn is an
// always-inline lambda, so the gate math (vec.h's sigmoid and tanh) is compiled into each
// instruction set's copy of the row loop (vec::simd_chunks; Note [SIMD dispatch]).
template <typename Fn>
void for_rows(int64_t b_lo, int64_t b_hi, int64_t hidden, Fn fn) {
    parallel_for(b_lo, b_hi, std::max<int64_t>(1, 4096 / std::max<int64_t>(hidden, 1)),
                 vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
                     for (int64_t b = lo; b < hi; ++b) fn(b);
                 }));
}

// Note [Batch-split recurrence]: a batch row's recurrence never reads another row, so with
// enough rows each thread runs its own rows through every step, in one region, with no
// barrier per step: run(b_lo, b_hi) is called on parts of the batch (inside the region its
// products and gate passes run on that thread alone). Each thread then reads all of the
// packed hidden weights every step, so only while they fit a core's L2 beside the rest
// (kBatchSplitWeights bytes); and each part keeps at least a wide tile of rows (8). The
// elements are computed as unsplit, so the bits do not change. LSTM T50 B32 H256 at 2
// threads, the two builds alternated 3 times: forward 4.05-4.41 -> 3.90-4.04 ms, forward +
// backward 12.10-12.33 -> 11.28-11.45 ms; the compiled GRU workload step 9.1-10.0 -> 8.0-8.7
// ms. Before, each step ran 2 regions, the product split by gate columns and the gate pass
// by rows, so each step's gates crossed between the cores' caches.
constexpr int64_t kBatchSplitWeights = int64_t(1) << 20;
template <typename Run>
void for_batch_parts(int64_t batch, int64_t weight_bytes, Run run) {
    const int threads = get_num_threads();
    const int64_t parts = weight_bytes <= kBatchSplitWeights
                              ? std::min<int64_t>(threads, batch / gemm::kWideRows)
                              : 1;
    if (parts <= 1) return run(int64_t(0), batch);
    parallel_for(0, parts, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t q = lo; q < hi; ++q) run(q * batch / parts, (q + 1) * batch / parts);
    });
}

}  // namespace

void recurrent_forward(const RecurrentShape& s, const RecurrentInputs& in,
                       const RecurrentOutputs& out) {
    const int64_t T = s.steps, B = s.batch, H = s.hidden, G = cell_gates(s.kind) * H;
    const int64_t S = cell_saved(s.kind, H);
    const float* w_hh = in.w_hh;
    const float* b_hh = in.b_hh;
    float* saved = out.saved;
    Scratch<float> gx(T * B * G), hg(B * G);
    // Without `saved` (no backward), step t's gates and cell go to one of two step slots:
    // step t reads step t-1's cell (LSTM) while it writes its own.
    Scratch<float> step_slots(saved ? 0 : 2 * B * S);
    project(s.precision, T * B, G, s.input, in.x, s.input, in.w_ih, s.input, in.b_ih, gx.data(), G);
    // W_hh^T packed once: all gates, or (spec GRU) the r, z rows and the candidate rows.
    const bool before = s.kind == CellKind::GruResetBefore;
    const PackedB w_h(true, w_hh, H, H, before ? 2 * H : G, s.precision);
    const PackedB w_hn(true, w_hh + 2 * H * H, H, H, before ? H : 0, s.precision);
    // Rows [b_lo, b_hi) through every step (Note [Batch-split recurrence]).
    const auto run = [&](int64_t b_lo, int64_t b_hi) {
        const int64_t rows = b_hi - b_lo;
        const float* h_prev = in.h0 + b_lo * H;
        // Row b's previous cell at c_prev + (b - b_lo) * c_ld: c0, then the saved cells.
        const float* c_prev = in.c0 ? in.c0 + b_lo * H : nullptr;
        int64_t c_ld = H;
        for (int64_t step = 0; step < T; ++step) {
            const int64_t t = s.reverse ? T - 1 - step : step;
            const float* gxt = gx.data() + t * B * G;
            float* yt = out.y + t * B * H;
            float* sv = saved ? saved + t * B * S : step_slots.data() + (step % 2) * B * S;
            switch (s.kind) {
                case CellKind::RnnTanh:
                case CellKind::RnnRelu: {
                    project_packed(rows, h_prev, H, w_h, b_hh, hg.data() + b_lo * G, G);
                    const bool relu = s.kind == CellKind::RnnRelu;
                    for_rows(b_lo, b_hi, H, [&](int64_t b) PYDL_INLINE_LAMBDA {
                        for (int64_t j = 0; j < H; ++j) {
                            const float pre = gxt[b * G + j] + hg[b * G + j];
                            // relu keeps a NaN (as PyTorch's), which pre > 0 ? pre : 0 dropped
                            yt[b * H + j] = relu ? (!(pre <= 0) ? pre : 0.0f) : vec::tanh(pre);
                        }
                    });
                    break;
                }
                case CellKind::Lstm: {
                    project_packed(rows, h_prev, H, w_h, b_hh, hg.data() + b_lo * G, G);
                    for_rows(b_lo, b_hi, H, [&](int64_t b) PYDL_INLINE_LAMBDA {
                        const float* gr = gxt + b * G;
                        const float* hr = hg.data() + b * G;
                        float* sr = sv + b * S;                                 // i, f, g, o, c
                        sigmoid_of_sum(sr, gr, hr, 2 * H);                      // i, f
                        tanh_of_sum(sr + 2 * H, gr + 2 * H, hr + 2 * H, H);     // g
                        sigmoid_of_sum(sr + 3 * H, gr + 3 * H, hr + 3 * H, H);  // o
                        const float* __restrict i = sr;
                        const float* __restrict f = sr + H;
                        const float* __restrict g = sr + 2 * H;
                        const float* __restrict o = sr + 3 * H;
                        const float* __restrict cp = c_prev + (b - b_lo) * c_ld;
                        float* __restrict c = sr + 4 * H;
                        float* __restrict h = yt + b * H;
                        for (int64_t j = 0; j < H; ++j) c[j] = f[j] * cp[j] + i[j] * g[j];
                        for (int64_t j = 0; j < H; ++j) h[j] = o[j] * vec::tanh(c[j]);
                    });
                    break;
                }
                case CellKind::Gru: {
                    project_packed(rows, h_prev, H, w_h, b_hh, hg.data() + b_lo * G, G);
                    for_rows(b_lo, b_hi, H, [&](int64_t b) PYDL_INLINE_LAMBDA {
                        const float* gr = gxt + b * G;
                        const float* hr = hg.data() + b * G;
                        float* sr = sv + b * S;             // r, z, n, W_hn h + b_hn
                        sigmoid_of_sum(sr, gr, hr, 2 * H);  // r, z
                        const float* __restrict r = sr;
                        const float* __restrict z = sr + H;
                        const float* __restrict gn = gr + 2 * H;
                        const float* __restrict hn = hr + 2 * H;
                        const float* __restrict hp = h_prev + (b - b_lo) * H;
                        float* __restrict n = sr + 2 * H;
                        float* __restrict hn_saved = sr + 3 * H;
                        float* __restrict h = yt + b * H;
                        for (int64_t j = 0; j < H; ++j) n[j] = vec::tanh(gn[j] + r[j] * hn[j]);
                        for (int64_t j = 0; j < H; ++j) hn_saved[j] = hn[j];
                        for (int64_t j = 0; j < H; ++j) h[j] = (1.0f - z[j]) * n[j] + z[j] * hp[j];
                    });
                    break;
                }
                case CellKind::GruResetBefore: {
                    // r and z from h; then the candidate from (r * h).
                    project_packed(rows, h_prev, H, w_h, b_hh, hg.data() + b_lo * G, G);
                    for_rows(b_lo, b_hi, H, [&](int64_t b) PYDL_INLINE_LAMBDA {
                        const float* gr = gxt + b * G;
                        const float* hr = hg.data() + b * G;
                        float* sr = sv + b * S;
                        for (int64_t j = 0; j < H; ++j) {
                            const float r = sigm(gr[j] + hr[j]);
                            sr[j] = r;
                            sr[H + j] = sigm(gr[H + j] + hr[H + j]);
                            sr[3 * H + j] = r * h_prev[(b - b_lo) * H + j];
                        }
                    });
                    project_packed(rows, sv + b_lo * S + 3 * H, S, w_hn,
                                   b_hh ? b_hh + 2 * H : nullptr, hg.data() + b_lo * G + 2 * H, G);
                    for_rows(b_lo, b_hi, H, [&](int64_t b) PYDL_INLINE_LAMBDA {
                        const float* gr = gxt + b * G;
                        const float* hr = hg.data() + b * G;
                        float* sr = sv + b * S;
                        for (int64_t j = 0; j < H; ++j) {
                            const float z = sr[H + j];
                            const float n = vec::tanh(gr[2 * H + j] + hr[2 * H + j]);
                            sr[2 * H + j] = n;
                            yt[b * H + j] = (1.0f - z) * n + z * h_prev[(b - b_lo) * H + j];
                        }
                    });
                    break;
                }
            }
            h_prev = yt + b_lo * H;
            if (s.kind == CellKind::Lstm) c_prev = sv + b_lo * S + 4 * H, c_ld = S;
        }
    };
    for_batch_parts(B, int64_t(sizeof(float)) * H * G, run);
    // The last step's h and c, as run left them.
    const int64_t last = T == 0 ? -1 : s.reverse ? 0 : T - 1;
    const float* h_prev = last < 0 ? in.h0 : out.y + last * B * H;
    const float* c_prev = in.c0;
    int64_t c_ld = H;
    if (last >= 0 && s.kind == CellKind::Lstm) {
        const float* sv = saved ? saved + last * B * S : step_slots.data() + ((T - 1) % 2) * B * S;
        c_prev = sv + 4 * H, c_ld = S;
    }
    if (out.h_n) std::memcpy(out.h_n, h_prev, B * H * sizeof(float));
    if (out.c_n && s.kind == CellKind::Lstm)
        for (int64_t b = 0; b < B; ++b)
            std::memcpy(out.c_n + b * H, c_prev + b * c_ld, H * sizeof(float));
}

void recurrent_backward(const RecurrentShape& s, const float* dy, const float* dh_n,
                        const float* dc_n, const RecurrentInputs& in, const float* y,
                        const float* saved, const RecurrentGrads& grad) {
    const float *x = in.x, *h0 = in.h0, *c0 = in.c0, *w_ih = in.w_ih, *w_hh = in.w_hh;
    float *dx = grad.x, *dh0 = grad.h0, *dc0 = grad.c0, *dw_ih = grad.w_ih, *dw_hh = grad.w_hh;
    float *db_ih = grad.b_ih, *db_hh = grad.b_hh;
    const int64_t T = s.steps, B = s.batch, H = s.hidden, G = cell_gates(s.kind) * H;
    const int64_t S = cell_saved(s.kind, H);
    const bool gru = s.kind == CellKind::Gru || s.kind == CellKind::GruResetBefore;
    const bool before = s.kind == CellKind::GruResetBefore;
    // Gradients of the input projection (dgx) and of the hidden projection (dhg); the
    // same for RNN and LSTM, different for GRU (the reset gate scales the candidate part).
    Scratch<float> dgx(T * B * G), dhg_buf(gru ? T * B * G : 0);
    float* dhg = gru ? dhg_buf.data() : dgx.data();
    Scratch<float> dh(B * H), dc(B * H), dh_total(B * H), drh(gru ? B * H : 0);
    if (dh_n)
        std::copy(dh_n, dh_n + B * H, dh.data());
    else
        std::fill(dh.data(), dh.data() + B * H, 0.0f);
    if (dc_n && s.kind == CellKind::Lstm)
        std::copy(dc_n, dc_n + B * H, dc.data());
    else
        std::fill(dc.data(), dc.data() + B * H, 0.0f);
    auto prev_t = [&](int64_t step) { return s.reverse ? T - step : step - 1; };  // step >= 1
    // W_hh packed once for dh_prev = dhg_t @ W_hh (spec GRU: the r, z rows; W_hn apart).
    const PackedB w_h(false, w_hh, H, before ? 2 * H : G, H, s.precision);
    const PackedB w_hn(false, w_hh + 2 * H * H, H, before ? H : 0, H, s.precision);
    // Rows [b_lo, b_hi) back through every step (Note [Batch-split recurrence]).
    const auto run = [&](int64_t b_lo, int64_t b_hi) {
        const int64_t rows = b_hi - b_lo;
        for (int64_t step = T - 1; step >= 0; --step) {
            const int64_t t = s.reverse ? T - 1 - step : step;
            const float* h_prev = step == 0 ? h0 : y + prev_t(step) * B * H;
            const float* yt = y + t * B * H;
            const float* sv = saved ? saved + t * B * S : nullptr;
            float* dgxt = dgx.data() + t * B * G;
            float* dhgt = dhg + t * B * G;
            const float* dyt = dy + t * B * H;
            // dh_total = dy_t + dh, the gradient reaching h_t, row by row inside the gate passes.
            const auto total_row = [&](int64_t b) PYDL_INLINE_LAMBDA {
                const float* __restrict a = dyt + b * H;
                const float* __restrict c = dh.data() + b * H;
                float* __restrict out = dh_total.data() + b * H;
                for (int64_t j = 0; j < H; ++j) out[j] = a[j] + c[j];
            };
            float beta = 0.0f;  // whether dh already holds a direct term before the GEMM
            switch (s.kind) {
                case CellKind::RnnTanh:
                case CellKind::RnnRelu: {
                    const bool relu = s.kind == CellKind::RnnRelu;
                    for (int64_t b = b_lo; b < b_hi; ++b) total_row(b);
                    for (int64_t k = b_lo * H; k < b_hi * H; ++k) {
                        const float h = yt[k];
                        const float d = relu ? (h > 0 ? 1.0f : 0.0f) : 1.0f - h * h;
                        dgxt[(k / H) * G + k % H] = dh_total[k] * d;
                    }
                    break;
                }
                case CellKind::Lstm: {
                    const float* c_prev_base =
                        step == 0 ? c0 : saved + prev_t(step) * B * S + 4 * H;
                    const int64_t c_prev_ld = step == 0 ? H : S;
                    for_rows(b_lo, b_hi, H, [&](int64_t b) PYDL_INLINE_LAMBDA {
                        total_row(b);
                        const float* sr = sv + b * S;
                        const float* __restrict i = sr;
                        const float* __restrict f = sr + H;
                        const float* __restrict g = sr + 2 * H;
                        const float* __restrict o = sr + 3 * H;
                        const float* __restrict c = sr + 4 * H;
                        const float* __restrict cp = c_prev_base + b * c_prev_ld;
                        const float* __restrict d = dh_total.data() + b * H;
                        float* __restrict dcr = dc.data() + b * H;
                        float* __restrict di = dgxt + b * G;
                        float* __restrict df = di + H;
                        float* __restrict dgg = di + 2 * H;
                        float* __restrict dgo = di + 3 * H;
                        // dgo holds tanh(c) first; dgg holds dc_total first.
                        for (int64_t j = 0; j < H; ++j) dgo[j] = vec::tanh(c[j]);
                        for (int64_t j = 0; j < H; ++j)
                            dgg[j] = d[j] * o[j] * (1.0f - dgo[j] * dgo[j]) + dcr[j];
                        for (int64_t j = 0; j < H; ++j)
                            di[j] = dgg[j] * g[j] * i[j] * (1.0f - i[j]);
                        for (int64_t j = 0; j < H; ++j)
                            df[j] = dgg[j] * cp[j] * f[j] * (1.0f - f[j]);
                        for (int64_t j = 0; j < H; ++j) dcr[j] = dgg[j] * f[j];
                        for (int64_t j = 0; j < H; ++j)
                            dgo[j] = d[j] * dgo[j] * o[j] * (1.0f - o[j]);
                        for (int64_t j = 0; j < H; ++j)
                            dgg[j] = dgg[j] * i[j] * (1.0f - g[j] * g[j]);
                    });
                    break;
                }
                case CellKind::Gru:
                case CellKind::GruResetBefore: {
                    for_rows(b_lo, b_hi, H, [&](int64_t b) PYDL_INLINE_LAMBDA {
                        total_row(b);
                        const float* sr = sv + b * S;
                        const float* __restrict r = sr;
                        const float* __restrict z = sr + H;
                        const float* __restrict n = sr + 2 * H;
                        const float* __restrict hn = sr + 3 * H;  // reset after: W_hn h + b_hn
                        const float* __restrict d = dh_total.data() + b * H;
                        const float* __restrict hp = h_prev + b * H;
                        float* __restrict dgr = dgxt + b * G;
                        float* __restrict dgz = dgr + H;
                        float* __restrict dgn = dgr + 2 * H;
                        float* __restrict dhr = dhgt + b * G;
                        float* __restrict dhz = dhr + H;
                        float* __restrict dhn = dhr + 2 * H;
                        float* __restrict dhd = dh.data() + b * H;
                        for (int64_t j = 0; j < H; ++j)
                            dgn[j] = d[j] * (1.0f - z[j]) * (1.0f - n[j] * n[j]);
                        for (int64_t j = 0; j < H; ++j)
                            dgz[j] = d[j] * (hp[j] - n[j]) * z[j] * (1.0f - z[j]);
                        for (int64_t j = 0; j < H; ++j) dhz[j] = dgz[j];
                        for (int64_t j = 0; j < H; ++j)
                            dhd[j] = d[j] * z[j];  // h_prev -> h directly
                        if (!before) {             // n = tanh(gx_n + r * hn)
                            for (int64_t j = 0; j < H; ++j) dhn[j] = dgn[j] * r[j];
                            for (int64_t j = 0; j < H; ++j)
                                dgr[j] = dgn[j] * hn[j] * r[j] * (1.0f - r[j]);
                            for (int64_t j = 0; j < H; ++j) dhr[j] = dgr[j];
                        } else {
                            for (int64_t j = 0; j < H; ++j) dhn[j] = dgn[j];  // r enters via r * h
                        }
                    });
                    if (before) {
                        // d(r * h) = dhg_n @ W_hn; then r's and h_prev's shares of it.
                        sgemm_packed(false, rows, 1.0f, dhgt + b_lo * G + 2 * H, G, w_hn, 0.0f,
                                     drh.data() + b_lo * H, H);
                        for_rows(b_lo, b_hi, H, [&](int64_t b) PYDL_INLINE_LAMBDA {
                            const float* sr = sv + b * S;
                            for (int64_t j = 0; j < H; ++j) {
                                const float r = sr[j], hp = h_prev[b * H + j];
                                const float dpr = drh[b * H + j] * hp * r * (1.0f - r);
                                dgxt[b * G + j] = dhgt[b * G + j] = dpr;
                                dh[b * H + j] += drh[b * H + j] * r;
                            }
                        });
                    }
                    beta = 1.0f;
                    break;
                }
            }
            // dh_prev (+)= dhg_t @ W_hh (for the spec's GRU only the r, z rows: the
            // candidate's share went through d(r * h) above). At the first step it is dh0's.
            if (step > 0 || dh0)
                sgemm_packed(false, rows, 1.0f, dhgt + b_lo * G, G, w_h, beta, dh.data() + b_lo * H,
                             H);
        }
    };
    for_batch_parts(B, int64_t(sizeof(float)) * H * G, run);
    if (dh0) std::copy(dh.data(), dh.data() + B * H, dh0);
    if (dc0 && s.kind == CellKind::Lstm) std::copy(dc.data(), dc.data() + B * H, dc0);
    // Weight gradients: a few large GEMMs over all steps.
    if (dx)
        gemm_f32(s.precision, false, false, T * B, s.input, G, 1.0f, dgx.data(), G, w_ih, s.input,
                 0.0f, dx, s.input);
    if (dw_ih)
        gemm_f32(s.precision, true, false, G, s.input, T * B, 1.0f, dgx.data(), G, x, s.input, 0.0f,
                 dw_ih, s.input);
    if (db_ih) reduce_forward(ReduceOp::Sum, dgx.data(), {T * B, G}, {true, false}, db_ih);
    if (db_hh && db_ih && !gru)
        std::copy(db_ih, db_ih + G, db_hh);  // the same gradient
    else if (db_hh)
        reduce_forward(ReduceOp::Sum, dhg, {T * B, G}, {true, false}, db_hh);
    if (dw_hh && T == 0) std::fill(dw_hh, dw_hh + G * H, 0.0f);
    if (dw_hh && T > 0) {
        // dW_hh = sum_t dhg_t^T h_prev(t): h_prev is h0 at the first processed step and the
        // neighbouring output otherwise.
        const int64_t rows = s.kind == CellKind::GruResetBefore ? 2 * H : G;
        const int64_t t_first = s.reverse ? T - 1 : 0;
        gemm_f32(s.precision, true, false, rows, H, B, 1.0f, dhg + t_first * B * G, G, h0, H, 0.0f,
                 dw_hh, H);
        if (T > 1) {
            const int64_t t_lo = s.reverse ? 0 : 1;  // steps whose h_prev is an output
            const float* h_src = s.reverse ? y + B * H : y;
            gemm_f32(s.precision, true, false, rows, H, (T - 1) * B, 1.0f, dhg + t_lo * B * G, G,
                     h_src, H, 1.0f, dw_hh, H);
        }
        if (s.kind == CellKind::GruResetBefore)  // the candidate rows: against r * h
            gemm_f32(s.precision, true, false, H, H, T * B, 1.0f, dhg + 2 * H, G, saved + 3 * H, S,
                     0.0f, dw_hh + 2 * H * H, H);
    }
}

}  // namespace pydl
