// Inverted dropout with masks from the counter-based generator (Note [Random streams]):
// element i is kept when the uniform draw for word offset + i / block is >= p, and then
// scaled by 1 / (1 - p). block = 1 drops elements; block = H * W drops whole channels
// (Dropout2d). The backward regenerates the same mask instead of storing it.
#pragma once
#include <cstdint>

namespace pydl {

void dropout_forward(const float* x, int64_t n, float p, int64_t block, uint64_t seed,
                     uint64_t offset, float* y);
void dropout_backward(const float* grad, int64_t n, float p, int64_t block, uint64_t seed,
                      uint64_t offset, float* grad_x);

}  // namespace pydl
