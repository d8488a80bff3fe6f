// The AVX-512 6x16 micro-kernel (contract in microkernel.h): the AVX2 kernel's tile
// with one zmm accumulator per row. Compiled with a target attribute, called only
// after run-time detection (Note [SIMD dispatch]).
//
// Note [AVX-512 tile]: the tile (and so every packed panel) is the AVX2 one, 6 x 16;
// only the registers change. Per depth step the kernel issues 1 load of B, 6
// broadcasts of A and 6 FMAs (20 instructions with ymm), and 6 independent chains
// cover the FMA latency. On this Zen 4 (which runs a zmm FMA as two 256-bit halves)
// it measured 115-118 GFLOP/s on packed panels in L1/L2 against 102-106 for the
// AVX2 kernel, i.e. at the FMA peak; a 12 x 32 zmm tile was no faster.
#include "core/vec.h"
#include "gemm/epilogue.h"
#include "gemm/microkernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <type_traits>

namespace pydl::gemm {

namespace {

// The k loop over Rows (<= MR) rows. With Packed, A's strides are the packed panel's
// compile-time constants. Returns true when it also stored the tile: the common case
// (full width, alpha 1, beta 0 or 1, no epilogue) is written straight from registers,
// since with a short k (the small-matrix path) a spill and a general store cost as
// much as the FMAs; otherwise acc receives the accumulators for store_tile.
template <bool Packed, int Rows>
PYDL_TARGET_AVX512 inline bool tile_loop(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                                         const float* b, int64_t rs_b, float* cp, int64_t ldc,
                                         int nr, float alpha, float beta, const Epilogue* ep,
                                         __m512 acc[kMR]) {
    if (Packed) {
        rs_a = 1;
        cs_a = kMR;
    }
    __m512 c[Rows];
#pragma GCC unroll 6
    for (int r = 0; r < Rows; ++r) c[r] = _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
        const __m512 bv = _mm512_loadu_ps(b + p * rs_b);
#pragma GCC unroll 6
        for (int r = 0; r < Rows; ++r)
            c[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * rs_a + p * cs_a]), bv, c[r]);
    }
    if (nr == kNR && alpha == 1.0f && !ep) {
        if (beta == 0.0f) {
#pragma GCC unroll 6
            for (int r = 0; r < Rows; ++r) _mm512_storeu_ps(cp + r * ldc, c[r]);
            return true;
        }
        if (beta == 1.0f) {
#pragma GCC unroll 6
            for (int r = 0; r < Rows; ++r)
                _mm512_storeu_ps(cp + r * ldc, _mm512_add_ps(c[r], _mm512_loadu_ps(cp + r * ldc)));
            return true;
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < Rows; ++r) acc[r] = c[r];
    return false;
}

// f(std::integral_constant<int, mr>()) for mr in [1, kMR]: the k loops are compiled for
// each row count (their accumulators stay in registers).
template <typename F>
PYDL_INLINE decltype(auto) with_rows(int mr, F f) {
    using std::integral_constant;
    switch (mr) {
        case 1:
            return f(integral_constant<int, 1>());
        case 2:
            return f(integral_constant<int, 2>());
        case 3:
            return f(integral_constant<int, 3>());
        case 4:
            return f(integral_constant<int, 4>());
        case 5:
            return f(integral_constant<int, 5>());
        default:
            return f(integral_constant<int, kMR>());
    }
}

// Write rows [0, mr) and columns [0, nr) of the tile through a lane mask (nothing
// outside the tile is read or written).
PYDL_TARGET_AVX512 void store_tile(float* c, int64_t ldc, int mr, int nr, float alpha, float beta,
                                   const Epilogue* ep, const __m512 acc[kMR]) {
    const __mmask16 mask = __mmask16((1u << nr) - 1u);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const __m512 bias =
        ep && ep->bias ? _mm512_maskz_loadu_ps(mask, ep->bias) : _mm512_setzero_ps();
    const bool relu = ep && ep->act == UnaryOp::Relu;  // in registers
    const bool other_act = ep && ep->act && !relu;
    alignas(64) float rows[kMR * kNR];  // the tile, for a transcendental activation
    if (other_act)  // rows past the tile: zeros, so the block below reads no garbage
        for (int r = mr; r < kMR; ++r) _mm512_store_ps(rows + r * kNR, _mm512_setzero_ps());
    for (int r = 0; r < mr; ++r) {
        __m512 v = _mm512_mul_ps(acc[r], va);
        if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask, c + r * ldc), v);
        if (ep) {
            v = _mm512_add_ps(v, bias);
            if (ep->pre) _mm512_mask_storeu_ps(ep->pre + r * ep->ldpre, mask, v);
            // max(v, 0) as the AVX2 kernel computes it (NaN -> 0), written as a masked
            // move: GCC 12's _mm512_max_ps trips -Wmaybe-uninitialized in its own header.
            if (relu)
                v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
        }
        if (other_act)
            _mm512_store_ps(rows + r * kNR, v);
        else
            _mm512_mask_storeu_ps(c + r * ldc, mask, v);
    }
    if (!other_act) return;
    // All 6 rows as one fixed-length block compiled here, for AVX-512 (a call per tile
    // to the dispatched row loop cost 1.7x as much as a pass over whole rows).
    activate_block<kMR * kNR>(ep->act, rows);
    for (int r = 0; r < mr; ++r)
        _mm512_mask_storeu_ps(c + r * ldc, mask, _mm512_load_ps(rows + r * kNR));
}

// Two tiles side by side (microkernel_avx512_pair): each broadcast of A feeds both.
template <bool Packed, int Rows>
PYDL_TARGET_AVX512 inline void pair_loop(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                                         const float* b0, int64_t rs_b0, const float* b1,
                                         int64_t rs_b1, __m512 acc0[kMR], __m512 acc1[kMR]) {
    if (Packed) {
        rs_a = 1;
        cs_a = kMR;
    }
    __m512 c0[Rows], c1[Rows];
#pragma GCC unroll 6
    for (int r = 0; r < Rows; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; ++p) {
        const __m512 bv0 = _mm512_loadu_ps(b0 + p * rs_b0), bv1 = _mm512_loadu_ps(b1 + p * rs_b1);
#pragma GCC unroll 6
        for (int r = 0; r < Rows; ++r) {
            const __m512 av = _mm512_set1_ps(a[r * rs_a + p * cs_a]);
            c0[r] = _mm512_fmadd_ps(av, bv0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, bv1, c1[r]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < Rows; ++r) {
        acc0[r] = c0[r];
        acc1[r] = c1[r];
    }
}

}  // namespace

PYDL_TARGET_AVX512 void microkernel_avx512_pair(int64_t kc, const float* a, int64_t rs_a,
                                                int64_t cs_a, const float* b0, int64_t rs_b0,
                                                const float* b1, int64_t rs_b1, float* c,
                                                int64_t ldc, int mr, int nr1, float alpha,
                                                float beta, const Epilogue* ep0,
                                                const Epilogue* ep1) {
    prefetch_c_tile(c, ldc, mr);
    prefetch_c_tile(c + kNR, ldc, mr);
    __m512 acc0[kMR], acc1[kMR];
    const bool packed = rs_a == 1 && cs_a == kMR;
    with_rows(mr, [&](auto rows) PYDL_INLINE_LAMBDA {
        constexpr int Rows = decltype(rows)::value;
        if (packed)
            pair_loop<true, Rows>(kc, a, rs_a, cs_a, b0, rs_b0, b1, rs_b1, acc0, acc1);
        else
            pair_loop<false, Rows>(kc, a, rs_a, cs_a, b0, rs_b0, b1, rs_b1, acc0, acc1);
    });
    store_tile(c, ldc, mr, kNR, alpha, beta, ep0, acc0);
    store_tile(c + kNR, ldc, mr, nr1, alpha, beta, ep1, acc1);
}

PYDL_TARGET_AVX512 void microkernel_avx512(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                                           const float* b, int64_t rs_b, float* c, int64_t ldc,
                                           int mr, int nr, float alpha, float beta,
                                           const Epilogue* ep) {
    prefetch_c_tile(c, ldc, mr);
    __m512 acc[kMR];
    const bool packed = rs_a == 1 && cs_a == kMR;
    const bool stored = with_rows(mr, [&](auto rows) PYDL_INLINE_LAMBDA {
        constexpr int Rows = decltype(rows)::value;
        return packed ? tile_loop<true, Rows>(kc, a, rs_a, cs_a, b, rs_b, c, ldc, nr, alpha, beta,
                                              ep, acc)
                      : tile_loop<false, Rows>(kc, a, rs_a, cs_a, b, rs_b, c, ldc, nr, alpha, beta,
                                               ep, acc);
    });
    if (!stored) store_tile(c, ldc, mr, nr, alpha, beta, ep, acc);
}

}  // namespace pydl::gemm

#else  // not x86-64: never selected at run time

namespace pydl::gemm {
void microkernel_avx512(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                        int64_t rs_b, float* c, int64_t ldc, int mr, int nr, float alpha,
                        float beta, const Epilogue* ep) {
    microkernel_ref(kc, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, alpha, beta, ep);
}
void microkernel_avx512_pair(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                             const float* b0, int64_t rs_b0, const float* b1, int64_t rs_b1,
                             float* c, int64_t ldc, int mr, int nr1, float alpha, float beta,
                             const Epilogue* ep0, const Epilogue* ep1) {
    microkernel_ref(kc, a, rs_a, cs_a, b0, rs_b0, c, ldc, mr, kNR, alpha, beta, ep0);
    microkernel_ref(kc, a, rs_a, cs_a, b1, rs_b1, c + kNR, ldc, mr, nr1, alpha, beta, ep1);
}
}  // namespace pydl::gemm

#endif
