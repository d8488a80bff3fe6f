// The AVX2+FMA 6x16 micro-kernel (contract in microkernel.h). Compiled with a
// target attribute, called only after run-time detection (Note [SIMD dispatch]).
#include "gemm/epilogue.h"
#include "gemm/microkernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "core/vec.h"

namespace pydl::gemm {

namespace {

// Lane masks for the first 0..8 lanes of a ymm register (maskload/maskstore).
alignas(32) const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

PYDL_TARGET_AVX2 inline __m256i lane_mask(int count) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - count));
}

// Write rows [0, mr) and columns [0, nr) of the tile: full 8-lane halves with plain
// loads/stores, a partial half with masked ones (nothing outside the tile is touched).
PYDL_TARGET_AVX2 void store_tile(float* c, int64_t ldc, int mr, int nr, float alpha, float beta,
                                 const Epilogue* ep, __m256 acc[kMR][2]) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (nr == kNR && !ep) {  // the common case, kept short: full-width rows, no epilogue
        for (int r = 0; r < mr; ++r) {
            float* cp = c + r * ldc;
            __m256 v0 = _mm256_mul_ps(acc[r][0], va), v1 = _mm256_mul_ps(acc[r][1], va);
            if (beta != 0.0f) {
                v0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cp), v0);
                v1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cp + 8), v1);
            }
            _mm256_storeu_ps(cp, v0);
            _mm256_storeu_ps(cp + 8, v1);
        }
        return;
    }
    const bool relu = ep && ep->act == UnaryOp::Relu;  // in registers
    const bool other_act = ep && ep->act && !relu;
    alignas(32) float rows[kMR * kNR];  // the tile, for a transcendental activation
    if (other_act) std::fill(rows, rows + kMR * kNR, 0.0f);  // rows and lanes past the tile
    for (int r = 0; r < mr; ++r) {
        for (int h = 0; h < 2; ++h) {
            const int count = std::min(8, std::max(0, nr - 8 * h));
            if (count == 0) break;
            float* cp = c + r * ldc + 8 * h;
            const __m256i mask = lane_mask(count);
            __m256 v = _mm256_mul_ps(acc[r][h], va);
            if (beta != 0.0f) {
                const __m256 old = count == 8 ? _mm256_loadu_ps(cp) : _mm256_maskload_ps(cp, mask);
                v = _mm256_fmadd_ps(vb, old, v);
            }
            if (ep) {
                if (ep->bias) {
                    const float* bp = ep->bias + 8 * h;
                    v = _mm256_add_ps(
                        v, count == 8 ? _mm256_loadu_ps(bp) : _mm256_maskload_ps(bp, mask));
                }
                if (ep->pre) {
                    float* pp = ep->pre + r * ep->ldpre + 8 * h;
                    if (count == 8)
                        _mm256_storeu_ps(pp, v);
                    else
                        _mm256_maskstore_ps(pp, mask, v);
                }
                if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
            }
            if (other_act)
                _mm256_store_ps(rows + r * kNR + 8 * h, v);
            else if (count == 8)
                _mm256_storeu_ps(cp, v);
            else
                _mm256_maskstore_ps(cp, mask, v);
        }
    }
    if (!other_act) return;
    // All 6 rows as one fixed-length block compiled here, for AVX2 (a call per tile to
    // the dispatched row loop cost 1.5-1.7x as much).
    activate_block<kMR * kNR>(ep->act, rows);
    for (int r = 0; r < mr; ++r)
        for (int h = 0; h < 2 && nr > 8 * h; ++h) {
            const int count = std::min(8, nr - 8 * h);
            const __m256 v = _mm256_load_ps(rows + r * kNR + 8 * h);
            if (count == 8)
                _mm256_storeu_ps(c + r * ldc + 8 * h, v);
            else
                _mm256_maskstore_ps(c + r * ldc + 8 * h, lane_mask(count), v);
        }
}

// The k loop over one tile of Rows (<= MR) rows: only Rows x 2 accumulators are live,
// so a short edge strip costs its own rows, not a full tile's. With Packed, A's strides
// are the packed panel's compile-time constants (fewer live pointers, no spills).
template <bool Packed, int Rows>
PYDL_TARGET_AVX2 inline void tile_loop(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                                       const float* b, int64_t rs_b, __m256 acc[kMR][2]) {
    if (Packed) {  // a packed MR panel of A; B's row stride stays a run-time value
        rs_a = 1;
        cs_a = kMR;
    }
    __m256 c0[Rows], c1[Rows];
#pragma GCC unroll 6
    for (int r = 0; r < Rows; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
    int64_t p = 0;
#define PYDL_STEP(q)                                                          \
    {                                                                         \
        const __m256 b0 = _mm256_loadu_ps(b + (q) * rs_b);                    \
        const __m256 b1 = _mm256_loadu_ps(b + (q) * rs_b + 8);                \
        _Pragma("GCC unroll 6") for (int r = 0; r < Rows; ++r) {              \
            const __m256 av = _mm256_broadcast_ss(a + r * rs_a + (q) * cs_a); \
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);                           \
            c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);                           \
        }                                                                     \
    }
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch(reinterpret_cast<const char*>(b + (p + 8) * rs_b), _MM_HINT_T0);
        PYDL_STEP(p) PYDL_STEP(p + 1) PYDL_STEP(p + 2) PYDL_STEP(p + 3)
    }
    for (; p < kc; ++p) PYDL_STEP(p)
#undef PYDL_STEP
#pragma GCC unroll 6
    for (int r = 0; r < Rows; ++r) acc[r][0] = c0[r], acc[r][1] = c1[r];
}

template <bool Packed>
PYDL_TARGET_AVX2 inline void tile_loop_rows(int mr, int64_t kc, const float* a, int64_t rs_a,
                                            int64_t cs_a, const float* b, int64_t rs_b,
                                            __m256 acc[kMR][2]) {
    switch (mr) {
        case 1:
            return tile_loop<Packed, 1>(kc, a, rs_a, cs_a, b, rs_b, acc);
        case 2:
            return tile_loop<Packed, 2>(kc, a, rs_a, cs_a, b, rs_b, acc);
        case 3:
            return tile_loop<Packed, 3>(kc, a, rs_a, cs_a, b, rs_b, acc);
        case 4:
            return tile_loop<Packed, 4>(kc, a, rs_a, cs_a, b, rs_b, acc);
        case 5:
            return tile_loop<Packed, 5>(kc, a, rs_a, cs_a, b, rs_b, acc);
        default:
            return tile_loop<Packed, 6>(kc, a, rs_a, cs_a, b, rs_b, acc);
    }
}

}  // namespace

PYDL_TARGET_AVX2 void microkernel_avx2(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                                       const float* b, int64_t rs_b, float* c, int64_t ldc, int mr,
                                       int nr, float alpha, float beta, const Epilogue* ep) {
    prefetch_c_tile(c, ldc, mr);
    __m256 acc[kMR][2];
    if (rs_a == 1 && cs_a == kMR)
        tile_loop_rows<true>(mr, kc, a, rs_a, cs_a, b, rs_b, acc);
    else
        tile_loop_rows<false>(mr, kc, a, rs_a, cs_a, b, rs_b, acc);
    store_tile(c, ldc, mr, nr, alpha, beta, ep, acc);
}

namespace {
// The sum of a vector's 8 lanes, in a fixed order.
PYDL_TARGET_AVX2 inline float hsum(__m256 v) {
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 d = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(d, _mm_movehdup_ps(d)));
}
}  // namespace

PYDL_TARGET_AVX2 void dot_tile_avx2(const float* a, int64_t lda, const float* b, int64_t ldb,
                                    int64_t k, int mr, int nr,
                                    float out[kDotTileRows][kDotTileCols]) {
    // Rows past mr / nr repeat the last valid row (computed, never stored).
    const float* a0 = a;
    const float* a1 = a + (mr > 1 ? 1 : 0) * lda;
    const float* a2 = a + (mr > 2 ? 2 : mr - 1) * lda;
    const float* a3 = a + (mr > 3 ? 3 : mr - 1) * lda;
    const float* b0 = b;
    const float* b1 = b + (nr > 1 ? 1 : 0) * ldb;
    const float* b2 = b + (nr > 2 ? 2 : nr - 1) * ldb;
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c02 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps(), c12 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c22 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c32 = _mm256_setzero_ps();
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
        const __m256 w0 = _mm256_loadu_ps(b0 + p), w1 = _mm256_loadu_ps(b1 + p),
                     w2 = _mm256_loadu_ps(b2 + p);
        __m256 x = _mm256_loadu_ps(a0 + p);
        c00 = _mm256_fmadd_ps(x, w0, c00), c01 = _mm256_fmadd_ps(x, w1, c01),
        c02 = _mm256_fmadd_ps(x, w2, c02);
        x = _mm256_loadu_ps(a1 + p);
        c10 = _mm256_fmadd_ps(x, w0, c10), c11 = _mm256_fmadd_ps(x, w1, c11),
        c12 = _mm256_fmadd_ps(x, w2, c12);
        x = _mm256_loadu_ps(a2 + p);
        c20 = _mm256_fmadd_ps(x, w0, c20), c21 = _mm256_fmadd_ps(x, w1, c21),
        c22 = _mm256_fmadd_ps(x, w2, c22);
        x = _mm256_loadu_ps(a3 + p);
        c30 = _mm256_fmadd_ps(x, w0, c30), c31 = _mm256_fmadd_ps(x, w1, c31),
        c32 = _mm256_fmadd_ps(x, w2, c32);
    }
    const __m256 acc[4][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32}};
    const float* ar[4] = {a0, a1, a2, a3};
    const float* br[3] = {b0, b1, b2};
    for (int r = 0; r < mr; ++r)
        for (int c = 0; c < nr; ++c) {
            float s = hsum(acc[r][c]);
            for (int64_t q = p; q < k; ++q) s = std::fma(ar[r][q], br[c][q], s);
            out[r][c] = s;
        }
}

}  // namespace pydl::gemm

#else  // not x86-64: never selected at run time

namespace pydl::gemm {
void microkernel_avx2(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                      int64_t rs_b, float* c, int64_t ldc, int mr, int nr, float alpha, float beta,
                      const Epilogue* ep) {
    microkernel_ref(kc, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, alpha, beta, ep);
}
void dot_tile_avx2(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, int mr,
                   int nr, float out[kDotTileRows][kDotTileCols]) {
    dot_tile_ref(a, lda, b, ldb, k, mr, nr, out);
}
}  // namespace pydl::gemm

#endif
