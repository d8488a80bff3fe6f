#include "kernels/dropout.h"

#include "core/parallel.h"
#include "core/rng.h"

namespace pydl {

namespace {
// Same 24-bit uniform as uniform_fill: keep when u >= p.
inline bool keep(uint64_t seed, uint64_t word, float p) {
    return double(philox_word(seed, word) >> 8) * (1.0 / 16777216.0) >= double(p);
}

void apply(const float* in, int64_t n, float p, int64_t block, uint64_t seed, uint64_t offset,
           float* out) {
    const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
            out[i] = keep(seed, offset + uint64_t(i / block), p) ? in[i] * scale : 0.0f;
    });
}
}  // namespace

void dropout_forward(const float* x, int64_t n, float p, int64_t block, uint64_t seed,
                     uint64_t offset, float* y) {
    apply(x, n, p, block, seed, offset, y);
}

void dropout_backward(const float* grad, int64_t n, float p, int64_t block, uint64_t seed,
                      uint64_t offset, float* grad_x) {
    apply(grad, n, p, block, seed, offset, grad_x);
}

}  // namespace pydl
