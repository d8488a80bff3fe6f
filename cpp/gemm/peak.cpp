#include "gemm/peak.h"

#include "core/check.h"
#include "core/cpu.h"
#include "core/vec.h"
#include "gemm/bf16.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

namespace pydl::gemm {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
namespace {
PYDL_TARGET_AVX2 float fma_loop_avx2(int64_t iterations) {
    __m256 acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.001f * float(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __m256 s = acc[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
    alignas(32) float out[8];
    _mm256_store_ps(out, s);
    return out[0] + out[7];
}

// The 512-bit loops' 12 chains: distinct starting values, and one number that depends on
// every result (so nothing is optimized away).
constexpr int kChains = 12;
PYDL_TARGET_AVX512 inline void start_chains(__m512 acc[kChains]) {
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(0.001f * float(i));
}
PYDL_TARGET_AVX512 inline float sum_chains(const __m512 acc[kChains]) {
    __m512 s = acc[0];
    for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

PYDL_TARGET_AVX512 float fma_loop_avx512(int64_t iterations) {
    __m512 acc[kChains];
    start_chains(acc);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    return sum_chains(acc);
}

__attribute__((target("avx512bf16,avx512f,avx2,fma"))) float bf16_loop(int64_t iterations) {
    __m512 acc[kChains];
    start_chains(acc);
    // bf16 pairs of about 1e-4 and 1e-3: the sums stay finite for any iteration count
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-4f), _mm512_set1_ps(2e-4f));
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(3e-3f));
    for (int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    return sum_chains(acc);
}
}  // namespace
#endif

float fma512_peak_loop(int64_t iterations) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (cpu_has_avx512f()) return fma_loop_avx512(iterations);
#endif
    PYDL_CHECK(false, ValueError, "fma512_peak_loop: this CPU has no AVX-512F");
    return 0.0f;
}

float amx_peak_loop(int64_t iterations) {
    PYDL_CHECK(cpu_has_amx_bf16(), ValueError,
               "amx_peak_loop: this CPU has no AMX-BF16 that the OS lets pydl use");
    return amx_loop(iterations);
}

float bf16_dot_peak_loop(int64_t iterations) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (cpu_has_avx512bf16()) return bf16_loop(iterations);
#endif
    PYDL_CHECK(false, ValueError, "bf16_dot_peak_loop: this CPU has no AVX512_BF16");
    return 0.0f;
}

float fma_peak_loop(int64_t iterations) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (use_avx2()) return fma_loop_avx2(iterations);
#endif
    float acc[96];
    for (int i = 0; i < 96; ++i) acc[i] = 0.001f * float(i);
    for (int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 96; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
    float s = 0.0f;
    for (float v : acc) s += v;
    return s;
}

}  // namespace pydl::gemm
