// The AVX-512 sgemm tiles (contracts in microkernel.h): the wide tile (Note [Wide tile]),
// which every AVX-512 product but the dot path runs, and the dot path's 8 x 6 tile.
// Compiled with a target attribute, called only after run-time detection (Note [SIMD
// dispatch]).
//
// Note [AVX-512 tile]: history. The first AVX-512 kernel was the AVX2 6 x 16 tile with one
// zmm per row: on Zen 4 (a zmm FMA as two 256-bit halves) it ran at the FMA peak, 115-118
// GFLOP/s on packed panels against 102-106 for AVX2, and a 12 x 32 tile was no faster. On
// Intel's two 512-bit FMA ports of latency 4, 6 chains left them idle: tile pairs (6 x 32,
// 12 chains) came next, then the 8 x 48 wide tile (24 chains, fewer loads per FMA).
#include <algorithm>

#include "core/vec.h"
#include "gemm/driver.h"
#include "gemm/epilogue.h"
#include "gemm/microkernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <cmath>
#include <type_traits>

namespace pydl::gemm {

namespace {

// f(std::integral_constant<int, n>()) for n in [1, Max] (Max for anything above): the k
// loops are compiled for each row (or panel) count, so their accumulators stay in registers.
template <int Max, int N = 1, typename F>
PYDL_INLINE decltype(auto) with_count(int n, F f) {
    if constexpr (N < Max) {
        if (n == N) return f(std::integral_constant<int, N>());
        return with_count<Max, N + 1>(n, f);
    } else {
        return f(std::integral_constant<int, Max>());
    }
}

// Write rows [0, mr) and columns [0, nr) of one panel of the wide tile through a lane
// mask (nothing outside the tile is read or written).
PYDL_TARGET_AVX512 void store_tile(float* c, int64_t ldc, int mr, int nr, float alpha, float beta,
                                   const Epilogue* ep, const __m512 acc[kWideRows]) {
    const __mmask16 mask = __mmask16((1u << nr) - 1u);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const __m512 bias =
        ep && ep->bias ? _mm512_maskz_loadu_ps(mask, ep->bias) : _mm512_setzero_ps();
    const bool relu = ep && ep->act == UnaryOp::Relu;  // in registers
    const bool other_act = ep && ep->act && !relu;
    alignas(64) float rows[kWideRows * kNR];  // the tile, for a transcendental activation
    if (other_act)  // rows past the tile: zeros, so the block below reads no garbage
        for (int r = mr; r < kWideRows; ++r) _mm512_store_ps(rows + r * kNR, _mm512_setzero_ps());
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
    // All 8 rows as one fixed-length block compiled here, for AVX-512 (a call per tile
    // to the dispatched row loop cost 1.7x as much as a pass over whole rows). Blocks of 6
    // rows, 6 + 2 for the 8-row tile, spent 1.5x the activations: GELU's epilogue on
    // 2048x1024x256 took 2.3-2.7 ms of one core over the bias alone, 1.5 in this form.
    activate_block<kWideRows * kNR>(ep->act, rows);
    for (int r = 0; r < mr; ++r)
        _mm512_mask_storeu_ps(c + r * ldc, mask, _mm512_load_ps(rows + r * kNR));
}

}  // namespace

namespace {

// How many depth steps ahead the packed wide tile prefetches its A and B rows: the blocked
// path's B panels (48 columns x a depth block of 512 or 1024) do not fit L1, and L2 alone
// did not feed them in time (one core, 72 packed rows against 96 columns, GFLOP/s: depth
// 512 154-160 -> 180-189, 1024 155-165 -> 183-197; 8 and 16 steps ahead gave 176-191).
constexpr int64_t kWidePrefetch = 32;

// The k loop of the wide tile: Rows rows of A against Panels B panels, one zmm per
// (row, panel), each element's FMAs in p order from zero (as the 6 x 16 kernels'). Packed:
// A is a packed 8-row panel, whose rows are one stride apart at compile time.
template <bool Packed, int Rows, int Panels>
PYDL_TARGET_AVX512 inline void wide_loop(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                                         const float* const* b, const int64_t* rs_b,
                                         __m512 acc[kWideRows][kWidePanels]) {
    if (Packed) {
        rs_a = 1;
        cs_a = kWideRows;
    }
    __m512 c[Rows][Panels];
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (int q = 0; q < Panels; ++q) c[r][q] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
        __m512 bv[Panels];
        if (Packed) {  // prefetches never fault: past the panels' ends they do nothing
#pragma GCC unroll 3
            for (int q = 0; q < Panels; ++q)
                _mm_prefetch(reinterpret_cast<const char*>(b[q] + (p + kWidePrefetch) * rs_b[q]),
                             _MM_HINT_T0);
            if (p % 2 == 0)  // a 64-byte line holds two depth steps of A
                _mm_prefetch(reinterpret_cast<const char*>(a + (p + kWidePrefetch) * cs_a),
                             _MM_HINT_T0);
        }
#pragma GCC unroll 3
        for (int q = 0; q < Panels; ++q) bv[q] = _mm512_loadu_ps(b[q] + p * rs_b[q]);
#pragma GCC unroll 8
        for (int r = 0; r < Rows; ++r) {
            const __m512 av = _mm512_set1_ps(a[r * rs_a + p * cs_a]);
#pragma GCC unroll 3
            for (int q = 0; q < Panels; ++q) c[r][q] = _mm512_fmadd_ps(av, bv[q], c[r][q]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (int q = 0; q < Panels; ++q) acc[r][q] = c[r][q];
}

}  // namespace

PYDL_TARGET_AVX512 void microkernel_avx512_wide(int64_t kc, const float* a, int64_t rs_a,
                                                int64_t cs_a, const float* const b[kWidePanels],
                                                const int64_t rs_b[kWidePanels], int panels,
                                                int nr_last, float* c, int64_t ldc, int mr,
                                                float alpha, float beta, const Epilogue* ep,
                                                int64_t i, int64_t j) {
    for (int q = 0; q < panels; ++q) prefetch_c_tile(c + q * kNR, ldc, mr);
    __m512 acc[kWideRows][kWidePanels];
    const bool packed = rs_a == 1 && cs_a == kWideRows;
    with_count<kWideRows>(mr, [&](auto rows) PYDL_INLINE_LAMBDA {
        with_count<kWidePanels>(panels, [&](auto cols) PYDL_INLINE_LAMBDA {
            constexpr int Rows = decltype(rows)::value, Panels = decltype(cols)::value;
            if (packed)
                wide_loop<true, Rows, Panels>(kc, a, rs_a, cs_a, b, rs_b, acc);
            else
                wide_loop<false, Rows, Panels>(kc, a, rs_a, cs_a, b, rs_b, acc);
        });
    });
    for (int q = 0; q < panels; ++q) {
        const int nr = q == panels - 1 ? nr_last : kNR;
        float* cq = c + q * kNR;
        if (nr == kNR && alpha == 1.0f && beta == 0.0f && !ep) {  // straight from registers
            for (int r = 0; r < mr; ++r) _mm512_storeu_ps(cq + r * ldc, acc[r][q]);
            continue;
        }
        __m512 rows[kWideRows];
        for (int r = 0; r < mr; ++r) rows[r] = acc[r][q];
        Epilogue tile;
        store_tile(cq, ldc, mr, nr, alpha, beta, tile_epilogue(ep, i, j + q * kNR, tile), rows);
    }
}

namespace {
// 8 floats at p into both 256-bit halves, and two rows' 8 floats side by side.
PYDL_TARGET_AVX512 inline __m512 twice8(const float* p) {
    return _mm512_castpd_ps(
        _mm512_broadcast_f64x4(_mm256_loadu_pd(reinterpret_cast<const double*>(p))));
}
PYDL_TARGET_AVX512 inline __m512 pair8(const float* lo, const float* hi) {
    return _mm512_castpd_ps(_mm512_insertf64x4(
        _mm512_castpd256_pd512(_mm256_loadu_pd(reinterpret_cast<const double*>(lo))),
        _mm256_loadu_pd(reinterpret_cast<const double*>(hi)), 1));
}
}  // namespace

PYDL_TARGET_AVX512 void dot_tile_avx512(const float* a, int64_t lda, const float* b, int64_t ldb,
                                        int64_t k, int mr, int nr,
                                        float out[kDotWideRows][kDotWideCols]) {
    // Rows past mr / nr repeat the last valid row (computed, never stored).
    const float* ar[kDotWideRows];
    const float* br[kDotWideCols];
    for (int r = 0; r < kDotWideRows; ++r) ar[r] = a + std::min(r, mr - 1) * lda;
    for (int c = 0; c < kDotWideCols; ++c) br[c] = b + std::min(c, nr - 1) * ldb;
    // acc[r][h]: lanes 0-7 are column 2h's 8 lanes of k, lanes 8-15 column 2h + 1's.
    __m512 acc[kDotWideRows][kDotWideCols / 2];
#pragma GCC unroll 8
    for (int r = 0; r < kDotWideRows; ++r)
#pragma GCC unroll 3
        for (int h = 0; h < kDotWideCols / 2; ++h) acc[r][h] = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
        __m512 w[kDotWideCols / 2];
#pragma GCC unroll 3
        for (int h = 0; h < kDotWideCols / 2; ++h) w[h] = pair8(br[2 * h] + p, br[2 * h + 1] + p);
#pragma GCC unroll 8
        for (int r = 0; r < kDotWideRows; ++r) {
            const __m512 x = twice8(ar[r] + p);
#pragma GCC unroll 3
            for (int h = 0; h < kDotWideCols / 2; ++h)
                acc[r][h] = _mm512_fmadd_ps(x, w[h], acc[r][h]);
        }
    }
    // Each column's 8 lanes summed as hsum8 sums them, 16 columns at once: for the 8 rows
    // of column pair h, the quarters of each half, then pairs, then the last pair.
    for (int h = 0; h < kDotWideCols / 2; ++h) {
        __m512 q[4], d[2];
        for (int i = 0; i < 4; ++i)
            q[i] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * i][h], acc[2 * i + 1][h], 0x88),
                                 _mm512_shuffle_f32x4(acc[2 * i][h], acc[2 * i + 1][h], 0xDD));
        for (int i = 0; i < 2; ++i)
            d[i] = _mm512_add_ps(_mm512_shuffle_ps(q[2 * i], q[2 * i + 1], 0x44),
                                 _mm512_shuffle_ps(q[2 * i], q[2 * i + 1], 0xEE));
        alignas(64) float sums[16];
        _mm512_store_ps(sums, _mm512_add_ps(_mm512_shuffle_ps(d[0], d[1], 0x88),
                                            _mm512_shuffle_ps(d[0], d[1], 0xDD)));
        // sums[4 L + i]: row 2 i + L / 2 of column 2 h + L % 2. All 8 x 6 are written
        // (rows and columns past mr / nr repeat the last valid one); the caller reads its own.
        for (int lane = 0; lane < 16; ++lane)
            out[2 * (lane % 4) + lane / 8][2 * h + (lane / 4) % 2] = sums[lane];
    }
    if (p < k)  // the depth's tail, in order, after the lane sums
        for (int r = 0; r < mr; ++r)
            for (int c = 0; c < nr; ++c) {
                float s = out[r][c];
                for (int64_t q = p; q < k; ++q) s = std::fma(ar[r][q], br[c][q], s);
                out[r][c] = s;
            }
}

}  // namespace pydl::gemm

#else  // not x86-64: never selected at run time

namespace pydl::gemm {
void microkernel_avx512_wide(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                             const float* const b[kWidePanels], const int64_t rs_b[kWidePanels],
                             int panels, int nr_last, float* c, int64_t ldc, int mr, float alpha,
                             float beta, const Epilogue* ep, int64_t i, int64_t j) {
    for (int q = 0; q < panels; ++q) {
        Epilogue tile;
        for (int r0 = 0; r0 < mr; r0 += kMR)
            microkernel_ref(kc, a + r0 * rs_a, rs_a, cs_a, b[q], rs_b[q], c + r0 * ldc + q * kNR,
                            ldc, std::min(kMR, mr - r0), q == panels - 1 ? nr_last : kNR, alpha,
                            beta, tile_epilogue(ep, i + r0, j + q * kNR, tile));
    }
}
void dot_tile_avx512(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, int mr,
                     int nr, float out[kDotWideRows][kDotWideCols]) {
    for (int r = 0; r < mr; ++r)
        for (int c = 0; c < nr; ++c) {
            float s = 0.0f;
            for (int64_t p = 0; p < k; ++p) s += a[r * lda + p] * b[c * ldb + p];
            out[r][c] = s;
        }
}
}  // namespace pydl::gemm

#endif
