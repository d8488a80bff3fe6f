#include "gemm/peak.h"

#include "core/vec.h"

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
}  // namespace
#endif

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
