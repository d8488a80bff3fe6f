// Recurrent layers over a whole sequence in one call: RNN (tanh/relu), LSTM, GRU in
// PyTorch's form (reset gate applied after the recurrent product) and in the spec's
// (before it). Gate order as PyTorch: LSTM i, f, g, o; GRU r, z, n.
//
// Forward: the input projection for all steps is one GEMM (T * B rows); each step is one
// hidden GEMM (two for the spec's GRU) and one fused gate pass. Backward walks the steps
// in reverse with the saved gates and accumulates the weight gradients as a few large
// GEMMs after the loop.
#pragma once
#include <cstdint>

namespace pydl {

enum class CellKind { RnnTanh, RnnRelu, Lstm, Gru, GruResetBefore };

int64_t cell_gates(CellKind kind);
// Floats saved per (step, batch row) for the backward.
int64_t cell_saved(CellKind kind, int64_t hidden);

struct RecurrentShape {
    int64_t steps, batch, input, hidden;
    CellKind kind;
    bool reverse;  // process t = T-1 .. 0 (the backward direction of a bidirectional layer)
};

// x (T, B, I), h0 (B, H), c0 (B, H; LSTM only), w_ih (G*H, I), w_hh (G*H, H), biases
// (G*H) or null -> y (T, B, H), h_n, c_n (LSTM), saved (T, B, cell_saved).
void recurrent_forward(const RecurrentShape& s, const float* x, const float* h0, const float* c0,
                       const float* w_ih, const float* w_hh, const float* b_ih, const float* b_hh,
                       float* y, float* h_n, float* c_n, float* saved);

// dy (T, B, H), dh_n / dc_n (B, H) or null -> gradients; any output may be null.
void recurrent_backward(const RecurrentShape& s, const float* dy, const float* dh_n,
                        const float* dc_n, const float* x, const float* h0, const float* c0,
                        const float* w_ih, const float* w_hh, const float* y, const float* saved,
                        float* dx, float* dh0, float* dc0, float* dw_ih, float* dw_hh, float* db_ih,
                        float* db_hh);

}  // namespace pydl
