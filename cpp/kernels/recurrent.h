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

#include "gemm/gemm.h"

namespace pydl {

enum class CellKind { RnnTanh, RnnRelu, Lstm, Gru, GruResetBefore };

int64_t cell_gates(CellKind kind);
// Floats saved per (step, batch row) for the backward.
int64_t cell_saved(CellKind kind, int64_t hidden);

struct RecurrentShape {
    int64_t steps, batch, input, hidden;
    CellKind kind;
    bool reverse;  // process t = T-1 .. 0 (the backward direction of a bidirectional layer)
    // Every product (the input and hidden projections, forward and backward): fp32, or bf16
    // operands with fp32 sums under autocast (Note [Autocast]).
    Precision precision = Precision::Float32;
};

// The inputs, in the order of recurrent_forward's arguments: x (T, B, I), h0 (B, H), c0
// (B, H; LSTM only, else null), w_ih (G*H, I), w_hh (G*H, H), b_ih and b_hh (G*H, or null;
// the backward does not read them).
struct RecurrentInputs {
    const float* x;
    const float* h0;
    const float* c0;
    const float* w_ih;
    const float* w_hh;
    const float* b_ih;
    const float* b_hh;
};

// y (T, B, H); h_n and c_n (B, H; c_n LSTM only), either may be null; saved (T, B,
// cell_saved) for the backward, or null when no backward will run: the forward then keeps
// what the steps need in a workspace of two steps instead.
struct RecurrentOutputs {
    float* y;
    float* h_n;
    float* c_n;
    float* saved;
};

// The gradients of RecurrentInputs, in the same order, each null when not needed (Note
// [Gradient outputs] in bindings/common.h; c0's is written for LSTM only).
struct RecurrentGrads {
    float* x;
    float* h0;
    float* c0;
    float* w_ih;
    float* w_hh;
    float* b_ih;
    float* b_hh;
};

void recurrent_forward(const RecurrentShape& s, const RecurrentInputs& in,
                       const RecurrentOutputs& out);

// dy (T, B, H), dh_n / dc_n (B, H) or null (no gradient reaches h_n / c_n); y and saved
// from a forward that saved (saved may be null only when cell_saved is 0: RNN).
void recurrent_backward(const RecurrentShape& s, const float* dy, const float* dh_n,
                        const float* dc_n, const RecurrentInputs& in, const float* y,
                        const float* saved, const RecurrentGrads& grad);

}  // namespace pydl
