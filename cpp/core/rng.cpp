#include "core/rng.h"

#include <cmath>

#include "core/parallel.h"

namespace pydl {

namespace {
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
constexpr double kTwoPow24Inv = 1.0 / 16777216.0;

// One Philox4x32-10 block: counter (c0..c3) under key (k0, k1).
inline void philox_block(uint32_t c[4], uint32_t k0, uint32_t k1) {
    for (int round = 0; round < 10; ++round) {
        const uint64_t p0 = uint64_t(kM0) * c[0];
        const uint64_t p1 = uint64_t(kM1) * c[2];
        const uint32_t n0 = uint32_t(p1 >> 32) ^ c[1] ^ k0;
        const uint32_t n2 = uint32_t(p0 >> 32) ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = uint32_t(p1);
        c[2] = n2;
        c[3] = uint32_t(p0);
        k0 += kW0;
        k1 += kW1;
    }
}

// 24 random bits as a double in [0, 1).
inline double unit(uint32_t w) { return double(w >> 8) * kTwoPow24Inv; }
}  // namespace

uint32_t philox_word(uint64_t seed, uint64_t index) {
    const uint64_t block = index >> 2;
    uint32_t c[4] = {uint32_t(block), uint32_t(block >> 32), 0u, 0u};
    philox_block(c, uint32_t(seed), uint32_t(seed >> 32));
    return c[index & 3];
}

void uniform_fill(float* out, int64_t n, float low, float high, uint64_t seed, uint64_t offset) {
    parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
        for (int64_t j = lo; j < hi; ++j)
            out[j] = float(low + (double(high) - low) * unit(philox_word(seed, offset + j)));
    });
}

void normal_fill(float* out, int64_t n, float mean, float std, uint64_t seed, uint64_t offset) {
    parallel_for(0, n, 1 << 13, [&](int64_t lo, int64_t hi) {
        for (int64_t j = lo; j < hi; ++j) {
            const double u1 = 1.0 - unit(philox_word(seed, offset + 2 * j));  // (0, 1]
            const double u2 = unit(philox_word(seed, offset + 2 * j + 1));
            const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
            out[j] = float(mean + double(std) * z);
        }
    });
}

void bernoulli_fill(float* out, int64_t n, float p, uint64_t seed, uint64_t offset) {
    parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
        for (int64_t j = lo; j < hi; ++j)
            out[j] = unit(philox_word(seed, offset + j)) < p ? 1.0f : 0.0f;
    });
}

}  // namespace pydl
