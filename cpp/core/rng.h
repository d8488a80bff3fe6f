// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
//
// Note [Random streams]: a draw is a pure function of (seed, offset, index), so it
// is identical for any thread count and can be reproduced by pydl.reference in
// NumPy. The Python generator hands out disjoint offset ranges (in 32-bit words):
// uniform and bernoulli use one word per value, normal two (Box-Muller).
#pragma once
#include <cstdint>

namespace pydl {

// The 32-bit word number `index` of the stream (seed, offset).
uint32_t philox_word(uint64_t seed, uint64_t index);

// Fill out[0..n) in parallel; value j uses words offset + j (uniform, bernoulli)
// or offset + 2j, offset + 2j + 1 (normal).
void uniform_fill(float* out, int64_t n, float low, float high, uint64_t seed, uint64_t offset);
void normal_fill(float* out, int64_t n, float mean, float std, uint64_t seed, uint64_t offset);
void bernoulli_fill(float* out, int64_t n, float p, uint64_t seed, uint64_t offset);

}  // namespace pydl
