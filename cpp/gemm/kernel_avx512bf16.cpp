// The AVX512_BF16 micro-kernel (contract in bf16.h): vdpbf16ps on packed bf16 pairs.
//
// Note [bf16 tile]: 8 rows x 32 columns, 16 zmm accumulators. Per pair of depth the
// kernel loads 2 B vectors and broadcasts 8 words of A for 16 vdpbf16ps (64 flops
// each): 10 loads for 16 products, where the fp32 6x16 tile needs 7 for 6. The 16
// independent chains cover the instruction's latency at two a cycle.
#include "gemm/bf16.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace pydl::gemm {

__attribute__((target("avx512bf16,avx512f,avx2,fma"))) void bf16_kernel_avx512(
    int64_t kp, const uint32_t* a, const uint32_t* b, float sums[kBf16MR][kBf16NR]) {
    __m512 lo[kBf16MR], hi[kBf16MR];
#pragma GCC unroll 8
    for (int r = 0; r < kBf16MR; ++r) lo[r] = hi[r] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int64_t q = 0; q < kp; ++q) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b + q * kBf16NR);
        const __m512bh b1 = (__m512bh)_mm512_load_si512(b + q * kBf16NR + 16);
#pragma GCC unroll 8
        for (int r = 0; r < kBf16MR; ++r) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32(int(a[q * kBf16MR + r]));
            lo[r] = _mm512_dpbf16_ps(lo[r], av, b0);
            hi[r] = _mm512_dpbf16_ps(hi[r], av, b1);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < kBf16MR; ++r) {
        _mm512_store_ps(sums[r], lo[r]);
        _mm512_store_ps(sums[r] + 16, hi[r]);
    }
}

}  // namespace pydl::gemm

#else  // not x86-64: never selected at run time

namespace pydl::gemm {
void bf16_kernel_avx512(int64_t kp, const uint32_t* a, const uint32_t* b,
                        float sums[kBf16MR][kBf16NR]) {
    bf16_kernel_ref(kp, a, b, sums);
}
}  // namespace pydl::gemm

#endif
