// Restricted Boltzmann machine (seed 002): Bernoulli visible units v (V of them) and hidden
// units h (H), energy E(v, h) = -v^T W h - b^T v - c^T h, so that
// p(h_j = 1 | v) = sigmoid(c_j + v^T W[:, j]) and p(v_i = 1 | h) = sigmoid(b_i + W[i, :] h).
//
// Note [RBM contrastive divergence]: rbm_cd computes the spec's update direction
//   dW = <v h^T>_data - <v h^T>_model, db = <v>_data - <v>_model, dc = <h>_data - <h>_model
// for a batch of B visible vectors, in one call: <.>_data uses p(h | v_data); the model's
// side starts k Gibbs steps (h ~ p(h | v), v ~ p(v | h)) from `chain` (v_data for CD-k,
// the persistent chains for PCD) and uses the final v_k and p(h | v_k). Hidden
// probabilities (not samples) enter the statistics, as in Hinton's practical guide: the
// same expectation with less noise. Averages are over the batch. The draws come from the
// counter-based stream (Note [Random streams]): Gibbs step s uses the words
// offset + s * B * (H + V) + [0, B * H) for h and the next B * V for v, so
// k * B * (H + V) words in all, and the NumPy twin reproduces them.
#pragma once
#include <cstdint>

namespace pydl {

// w: V x H row-major; b: V; c: H; v_data, chain: B x V. chain is overwritten with v_k.
// grad_w (V x H), grad_b (V), grad_c (H) receive the update direction above.
void rbm_cd(const float* w, const float* b, const float* c, int64_t batch, int64_t visible,
            int64_t hidden, const float* v_data, float* chain, int64_t k, uint64_t seed,
            uint64_t offset, float* grad_w, float* grad_b, float* grad_c);

}  // namespace pydl
