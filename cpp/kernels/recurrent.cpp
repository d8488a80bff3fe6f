#include "kernels/recurrent.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/vec.h"
#include "gemm/gemm.h"
#include "kernels/reduce.h"

namespace pydl {

int64_t cell_gates(CellKind kind) {
    switch (kind) {
        case CellKind::Lstm: return 4;
        case CellKind::Gru:
        case CellKind::GruResetBefore: return 3;
        default: return 1;
    }
}

int64_t cell_saved(CellKind kind, int64_t hidden) {
    switch (kind) {
        case CellKind::Lstm: return 5 * hidden;  // i, f, g, o, c
        case CellKind::Gru: return 4 * hidden;   // r, z, n, W_hn h + b_hn
        case CellKind::GruResetBefore: return 4 * hidden;  // r, z, n, r * h
        default: return 0;  // h_t is the output itself
    }
}

namespace {

inline float sigm(float x) { return vec::sigmoid(x); }

// out (rows x cols, row stride ldc) = a (rows x k) @ w^T (w: cols x k, row stride ldw) + bias.
void project(int64_t rows, int64_t cols, int64_t k, const float* a, int64_t lda, const float* w,
             int64_t ldw, const float* bias, float* out, int64_t ldc) {
    gemm::Epilogue ep;
    ep.bias = bias;
    sgemm(false, true, rows, cols, k, 1.0f, a, lda, w, ldw, 0.0f, out, ldc, &ep);
}

// Rows of one step run in parallel in the gate passes (each row independent).
template <typename Fn>
void for_rows(int64_t batch, int64_t hidden, Fn fn) {
    parallel_for(0, batch, std::max<int64_t>(1, 4096 / std::max<int64_t>(hidden, 1)),
                 [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) fn(b);
    });
}

}  // namespace

void recurrent_forward(const RecurrentShape& s, const float* x, const float* h0, const float* c0,
                       const float* w_ih, const float* w_hh, const float* b_ih,
                       const float* b_hh, float* y, float* h_n, float* c_n, float* saved) {
    const int64_t T = s.steps, B = s.batch, H = s.hidden, G = cell_gates(s.kind) * H;
    const int64_t S = cell_saved(s.kind, H);
    std::vector<float> gx(T * B * G), hg(B * G);
    project(T * B, G, s.input, x, s.input, w_ih, s.input, b_ih, gx.data(), G);
    const float* h_prev = h0;
    const float* c_prev = c0;  // row b at c_prev + b * c_ld (c0, then the saved cells)
    int64_t c_ld = H;
    for (int64_t step = 0; step < T; ++step) {
        const int64_t t = s.reverse ? T - 1 - step : step;
        const float* gxt = gx.data() + t * B * G;
        float* yt = y + t * B * H;
        float* sv = saved ? saved + t * B * S : nullptr;
        switch (s.kind) {
            case CellKind::RnnTanh:
            case CellKind::RnnRelu: {
                project(B, H, H, h_prev, H, w_hh, H, b_hh, hg.data(), G);
                const bool relu = s.kind == CellKind::RnnRelu;
                for_rows(B, H, [&](int64_t b) {
                    for (int64_t j = 0; j < H; ++j) {
                        const float pre = gxt[b * G + j] + hg[b * G + j];
                        yt[b * H + j] = relu ? (pre > 0 ? pre : 0.0f) : vec::tanh(pre);
                    }
                });
                break;
            }
            case CellKind::Lstm: {
                project(B, G, H, h_prev, H, w_hh, H, b_hh, hg.data(), G);
                for_rows(B, H, [&](int64_t b) {
                    const float* gr = gxt + b * G;
                    const float* hr = hg.data() + b * G;
                    float* sr = sv + b * S;
                    for (int64_t j = 0; j < H; ++j) {
                        const float i = sigm(gr[j] + hr[j]);
                        const float f = sigm(gr[H + j] + hr[H + j]);
                        const float g = vec::tanh(gr[2 * H + j] + hr[2 * H + j]);
                        const float o = sigm(gr[3 * H + j] + hr[3 * H + j]);
                        const float c = f * c_prev[b * c_ld + j] + i * g;
                        sr[j] = i, sr[H + j] = f, sr[2 * H + j] = g, sr[3 * H + j] = o;
                        sr[4 * H + j] = c;
                        yt[b * H + j] = o * vec::tanh(c);
                    }
                });
                break;
            }
            case CellKind::Gru: {
                project(B, G, H, h_prev, H, w_hh, H, b_hh, hg.data(), G);
                for_rows(B, H, [&](int64_t b) {
                    const float* gr = gxt + b * G;
                    const float* hr = hg.data() + b * G;
                    float* sr = sv + b * S;
                    for (int64_t j = 0; j < H; ++j) {
                        const float r = sigm(gr[j] + hr[j]);
                        const float z = sigm(gr[H + j] + hr[H + j]);
                        const float n = vec::tanh(gr[2 * H + j] + r * hr[2 * H + j]);
                        sr[j] = r, sr[H + j] = z, sr[2 * H + j] = n, sr[3 * H + j] = hr[2 * H + j];
                        yt[b * H + j] = (1.0f - z) * n + z * h_prev[b * H + j];
                    }
                });
                break;
            }
            case CellKind::GruResetBefore: {
                // r and z from h; then the candidate from (r * h).
                project(B, 2 * H, H, h_prev, H, w_hh, H, b_hh, hg.data(), G);
                for_rows(B, H, [&](int64_t b) {
                    const float* gr = gxt + b * G;
                    const float* hr = hg.data() + b * G;
                    float* sr = sv + b * S;
                    for (int64_t j = 0; j < H; ++j) {
                        const float r = sigm(gr[j] + hr[j]);
                        sr[j] = r;
                        sr[H + j] = sigm(gr[H + j] + hr[H + j]);
                        sr[3 * H + j] = r * h_prev[b * H + j];
                    }
                });
                project(B, H, H, sv + 3 * H, S, w_hh + 2 * H * H, H, b_hh ? b_hh + 2 * H : nullptr,
                        hg.data() + 2 * H, G);
                for_rows(B, H, [&](int64_t b) {
                    const float* gr = gxt + b * G;
                    const float* hr = hg.data() + b * G;
                    float* sr = sv + b * S;
                    for (int64_t j = 0; j < H; ++j) {
                        const float z = sr[H + j];
                        const float n = vec::tanh(gr[2 * H + j] + hr[2 * H + j]);
                        sr[2 * H + j] = n;
                        yt[b * H + j] = (1.0f - z) * n + z * h_prev[b * H + j];
                    }
                });
                break;
            }
        }
        h_prev = yt;
        if (s.kind == CellKind::Lstm) c_prev = sv + 4 * H, c_ld = S;
    }
    if (h_n) std::memcpy(h_n, h_prev, B * H * sizeof(float));
    if (c_n && s.kind == CellKind::Lstm)
        for (int64_t b = 0; b < B; ++b)
            std::memcpy(c_n + b * H, c_prev + b * c_ld, H * sizeof(float));
}

void recurrent_backward(const RecurrentShape& s, const float* dy, const float* dh_n,
                        const float* dc_n, const float* x, const float* h0, const float* c0,
                        const float* w_ih, const float* w_hh, const float* y, const float* saved,
                        float* dx, float* dh0, float* dc0, float* dw_ih, float* dw_hh,
                        float* db_ih, float* db_hh) {
    const int64_t T = s.steps, B = s.batch, H = s.hidden, G = cell_gates(s.kind) * H;
    const int64_t S = cell_saved(s.kind, H);
    const bool gru = s.kind == CellKind::Gru || s.kind == CellKind::GruResetBefore;
    // Gradients of the input projection (dgx) and of the hidden projection (dhg); the
    // same for RNN and LSTM, different for GRU (the reset gate scales the candidate part).
    std::vector<float> dgx(T * B * G), dhg_buf(gru ? T * B * G : 0);
    float* dhg = gru ? dhg_buf.data() : dgx.data();
    std::vector<float> dh(B * H, 0.0f), dc(B * H, 0.0f), dh_total(B * H), drh(gru ? B * H : 0);
    if (dh_n) std::copy(dh_n, dh_n + B * H, dh.begin());
    if (dc_n && s.kind == CellKind::Lstm) std::copy(dc_n, dc_n + B * H, dc.begin());
    auto prev_t = [&](int64_t step) { return s.reverse ? T - step : step - 1; };  // step >= 1
    for (int64_t step = T - 1; step >= 0; --step) {
        const int64_t t = s.reverse ? T - 1 - step : step;
        const float* h_prev = step == 0 ? h0 : y + prev_t(step) * B * H;
        const float* yt = y + t * B * H;
        const float* sv = saved ? saved + t * B * S : nullptr;
        float* dgxt = dgx.data() + t * B * G;
        float* dhgt = dhg + t * B * G;
        for (int64_t k = 0; k < B * H; ++k) dh_total[k] = dy[t * B * H + k] + dh[k];
        float beta = 0.0f;  // whether dh already holds a direct term before the GEMM
        switch (s.kind) {
            case CellKind::RnnTanh:
            case CellKind::RnnRelu: {
                const bool relu = s.kind == CellKind::RnnRelu;
                for (int64_t k = 0; k < B * H; ++k) {
                    const float h = yt[k];
                    const float d = relu ? (h > 0 ? 1.0f : 0.0f) : 1.0f - h * h;
                    dgxt[(k / H) * G + k % H] = dh_total[k] * d;
                }
                break;
            }
            case CellKind::Lstm: {
                const float* c_prev_base = step == 0 ? c0 : saved + prev_t(step) * B * S + 4 * H;
                const int64_t c_prev_ld = step == 0 ? H : S;
                for_rows(B, H, [&](int64_t b) {
                    const float* sr = sv + b * S;
                    float* dg = dgxt + b * G;
                    for (int64_t j = 0; j < H; ++j) {
                        const float i = sr[j], f = sr[H + j], g = sr[2 * H + j], o = sr[3 * H + j];
                        const float tc = vec::tanh(sr[4 * H + j]);
                        const float d = dh_total[b * H + j];
                        const float dct = d * o * (1.0f - tc * tc) + dc[b * H + j];
                        const float cp = c_prev_base[b * c_prev_ld + j];
                        dg[j] = dct * g * i * (1.0f - i);
                        dg[H + j] = dct * cp * f * (1.0f - f);
                        dg[2 * H + j] = dct * i * (1.0f - g * g);
                        dg[3 * H + j] = d * tc * o * (1.0f - o);
                        dc[b * H + j] = dct * f;
                    }
                });
                break;
            }
            case CellKind::Gru:
            case CellKind::GruResetBefore: {
                const bool before = s.kind == CellKind::GruResetBefore;
                for_rows(B, H, [&](int64_t b) {
                    const float* sr = sv + b * S;
                    float* dgr = dgxt + b * G;
                    float* dhr = dhgt + b * G;
                    for (int64_t j = 0; j < H; ++j) {
                        const float r = sr[j], z = sr[H + j], n = sr[2 * H + j];
                        const float d = dh_total[b * H + j], hp = h_prev[b * H + j];
                        const float dpn = d * (1.0f - z) * (1.0f - n * n);
                        const float dpz = d * (hp - n) * z * (1.0f - z);
                        dgr[H + j] = dhr[H + j] = dpz;
                        dgr[2 * H + j] = dpn;
                        dh[b * H + j] = d * z;  // the direct path h_prev -> h
                        if (!before) {  // n = tanh(gx_n + r * hn)
                            dhr[2 * H + j] = dpn * r;
                            const float dpr = dpn * sr[3 * H + j] * r * (1.0f - r);
                            dgr[j] = dhr[j] = dpr;
                        } else {
                            dhr[2 * H + j] = dpn;  // r enters through (r * h) below
                        }
                    }
                });
                if (before) {
                    // d(r * h) = dhg_n @ W_hn; then r's and h_prev's shares of it.
                    sgemm(false, false, B, H, H, 1.0f, dhgt + 2 * H, G, w_hh + 2 * H * H, H, 0.0f,
                          drh.data(), H);
                    for_rows(B, H, [&](int64_t b) {
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
        // candidate's share went through d(r * h) above).
        const int64_t rows = s.kind == CellKind::GruResetBefore ? 2 * H : G;
        sgemm(false, false, B, H, rows, 1.0f, dhgt, G, w_hh, H, beta, dh.data(), H);
    }
    if (dh0) std::copy(dh.begin(), dh.end(), dh0);
    if (dc0 && s.kind == CellKind::Lstm) std::copy(dc.begin(), dc.end(), dc0);
    // Weight gradients: a few large GEMMs over all steps.
    if (dx) sgemm(false, false, T * B, s.input, G, 1.0f, dgx.data(), G, w_ih, s.input, 0.0f, dx,
                  s.input);
    if (dw_ih) sgemm(true, false, G, s.input, T * B, 1.0f, dgx.data(), G, x, s.input, 0.0f, dw_ih,
                     s.input);
    if (db_ih) reduce_forward(ReduceOp::Sum, dgx.data(), {T * B, G}, {true, false}, db_ih);
    if (db_hh) reduce_forward(ReduceOp::Sum, dhg, {T * B, G}, {true, false}, db_hh);
    if (dw_hh && T > 0) {
        // dW_hh = sum_t dhg_t^T h_prev(t): h_prev is h0 at the first processed step and the
        // neighbouring output otherwise.
        const int64_t rows = s.kind == CellKind::GruResetBefore ? 2 * H : G;
        const int64_t t_first = s.reverse ? T - 1 : 0;
        sgemm(true, false, rows, H, B, 1.0f, dhg + t_first * B * G, G, h0, H, 0.0f, dw_hh, H);
        if (T > 1) {
            const int64_t t_lo = s.reverse ? 0 : 1;  // steps whose h_prev is an output
            const float* h_src = s.reverse ? y + B * H : y;
            sgemm(true, false, rows, H, (T - 1) * B, 1.0f, dhg + t_lo * B * G, G, h_src, H, 1.0f,
                  dw_hh, H);
        }
        if (s.kind == CellKind::GruResetBefore)  // the candidate rows: against r * h
            sgemm(true, false, H, H, T * B, 1.0f, dhg + 2 * H, G, saved + 3 * H, S, 0.0f,
                  dw_hh + 2 * H * H, H);
    }
}

}  // namespace pydl
