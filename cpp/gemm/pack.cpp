#include "gemm/pack.h"

#include <algorithm>
#include <cstring>

#include "core/vec.h"
#include "gemm/microkernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PYDL_HAVE_PACK_AVX2 1
#endif

namespace pydl::gemm {

namespace {

// One panel of a transposed B: column j < cols of the panel is the contiguous run
// src[j * ldb + p], p < kc; columns from cols on are zero. Scalar, this is a strided
// scatter per element (half the time of linear's forward at batch 32); with AVX2, full
// panels are transposed in 8 x 8 blocks in registers.
void pack_b_trans_panel_generic(const float* src, int64_t ldb, int64_t kc, int64_t cols, float* d) {
    for (int64_t j = 0; j < cols; ++j)
        for (int64_t p = 0; p < kc; ++p) d[p * kNR + j] = src[j * ldb + p];
    for (int64_t j = cols; j < kNR; ++j)
        for (int64_t p = 0; p < kc; ++p) d[p * kNR + j] = 0.0f;
}

#ifdef PYDL_HAVE_PACK_AVX2
// The 8 x 8 block rows[r][p..p+8) -> out[q * stride + r] (a transpose in registers).
// The eight rows of out are stored in ascending q, so with stride < 8 each store's tail
// is overwritten by the next (pack_a_rows_avx2 relies on it).
PYDL_TARGET_AVX2 inline void transpose8(const float* const rows[8], int64_t p, float* out,
                                        int64_t stride) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows[i] + p);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    // r[0..3] hold columns 0,1,2,3 of rows 0-3 (low lane: p..p+3, high lane: p+4..p+7),
    // r[4..7] the same for rows 4-7.
    for (int q = 0; q < 4; ++q)
        _mm256_storeu_ps(out + q * stride, _mm256_permute2f128_ps(r[q], r[q + 4], 0x20));
    for (int q = 0; q < 4; ++q)
        _mm256_storeu_ps(out + (q + 4) * stride, _mm256_permute2f128_ps(r[q], r[q + 4], 0x31));
}

PYDL_TARGET_AVX2 void pack_b_trans_panel_avx2(const float* src, int64_t ldb, int64_t kc, float* d) {
    const float* lo[8];
    const float* hi[8];
    for (int j = 0; j < 8; ++j) lo[j] = src + j * ldb, hi[j] = src + (j + 8) * ldb;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        transpose8(lo, p, d + p * kNR, kNR);
        transpose8(hi, p, d + p * kNR + 8, kNR);
    }
    pack_b_trans_panel_generic(src + p, ldb, kc - p, kNR, d + p * kNR);  // the last p < 8
}

// A full panel of row-major A: the mr rows src[r * lda + p], p < kc -> d[p * mr + r].
// Eight depths at a time through transpose8 (rows mr..7 repeat row 0; their values
// land in the 8-float stores' tails, which the next store overwrites) while a later
// depth remains to overwrite the last tail; the rest one by one.
PYDL_TARGET_AVX2 void pack_a_rows_avx2(const float* src, int64_t lda, int64_t kc, float* d,
                                       int mr) {
    const float* rows[8];
    for (int r = 0; r < 8; ++r) rows[r] = src + (r < mr ? r : 0) * lda;
    int64_t p = 0;
    for (; p + 8 < kc; p += 8) transpose8(rows, p, d + p * mr, mr);
    for (; p < kc; ++p)
        for (int r = 0; r < mr; ++r) d[p * mr + r] = rows[r][p];
}
#endif

// A full panel of op(A) = row-major A: mr rows, each read along the depth.
void pack_a_rows(const float* src, int64_t lda, int64_t kc, float* d, int mr) {
#ifdef PYDL_HAVE_PACK_AVX2
    if (use_avx2()) return pack_a_rows_avx2(src, lda, kc, d, mr);
#endif
    for (int64_t p = 0; p < kc; ++p)
        for (int64_t r = 0; r < mr; ++r) d[p * mr + r] = src[r * lda + p];
}

// Full panels of op(A) = transposed A: depth p of panel g is the contiguous run
// src[p * lda + g * mr + r], r < mr. Each depth but the last copies 8 floats, whose tail
// (8 - mr floats) the next depth overwrites (the 8 floats end inside the next depth's run,
// lda >= mr).
// Tiles of 8 depths x 8 panels: with A's rows a power of two apart (an LSTM's 1024 gate
// columns) a panel at a time was 2-3x slower, each source line (shared by 2.7 panels)
// apparently fetched again from 4-KiB-aliased sets (1024x1024 from L3: 0.70-0.75 ->
// 0.27-0.53 ms; rows 2048 apart 0.73 -> 0.26-0.41 ms; 1040 apart no worse).
void pack_a_cols(const float* src, int64_t lda, int64_t panels, int64_t kc, float* dst, int mr) {
    static_assert(kMR <= 8 && kWideRows <= 8, "a depth's run must fit one 8-float copy");
    constexpr int64_t kTile = 8;
    for (int64_t g0 = 0; g0 < panels; g0 += kTile) {
        const int64_t g1 = std::min(panels, g0 + kTile);
        for (int64_t p0 = 0; p0 < kc; p0 += kTile) {
            const int64_t p1 = std::min(kc, p0 + kTile);
            for (int64_t g = g0; g < g1; ++g) {
                float* d = dst + g * mr * kc;
                for (int64_t p = p0; p < p1; ++p)
                    std::memcpy(d + p * mr, src + p * lda + g * mr,
                                (p + 1 < kc ? 8 : mr) * sizeof(float));
            }
        }
    }
}

void pack_b_trans_panel(const float* src, int64_t ldb, int64_t kc, int64_t cols, float* d) {
#ifdef PYDL_HAVE_PACK_AVX2
    if (cols == kNR && use_avx2()) return pack_b_trans_panel_avx2(src, ldb, kc, d);
#endif
    pack_b_trans_panel_generic(src, ldb, kc, cols, d);
}

}  // namespace

void pack_a(bool trans, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float* dst, int mr) {
    const int64_t full = trans ? mc / mr : 0;  // full panels of a transposed A, packed together
    if (full > 0) pack_a_cols(a + p0 * lda + i0, lda, full, kc, dst, mr);
    for (int64_t ip = full; ip * mr < mc; ++ip) {
        float* d = dst + ip * mr * kc;
        const int64_t rows = mc - ip * mr < mr ? mc - ip * mr : mr;
        const int64_t r0 = i0 + ip * mr;
        if (rows == mr && !trans) {
            pack_a_rows(a + r0 * lda + p0, lda, kc, d, mr);
        } else if (!trans) {
            for (int64_t r = 0; r < rows; ++r) {
                const float* src = a + (r0 + r) * lda + p0;
                for (int64_t p = 0; p < kc; ++p) d[p * mr + r] = src[p];
            }
        } else {
            for (int64_t p = 0; p < kc; ++p) {
                const float* src = a + (p0 + p) * lda + r0;
                for (int64_t r = 0; r < rows; ++r) d[p * mr + r] = src[r];
            }
        }
        for (int64_t r = rows; r < mr; ++r)
            for (int64_t p = 0; p < kc; ++p) d[p * mr + r] = 0.0f;
    }
}

void pack_b(bool trans, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
            int64_t jp0, int64_t jp1, float* dst) {
    if (!trans) {
        // Row by row: each source row is read once, contiguously (reading a 16-wide
        // column strip down kc rows would stride by ldb, often a power of two).
        for (int64_t p = 0; p < kc; ++p) {
            const float* src = b + (p0 + p) * ldb + j0;
            for (int64_t jp = jp0; jp < jp1; ++jp) {
                float* dp = dst + jp * kNR * kc + p * kNR;
                const int64_t c0 = jp * kNR;
                const int64_t cols = nc - c0 < kNR ? nc - c0 : kNR;
                if (cols == kNR) {  // a constant-size copy: a few vector moves
                    std::memcpy(dp, src + c0, kNR * sizeof(float));
                    continue;
                }
                for (int64_t j = 0; j < cols; ++j) dp[j] = src[c0 + j];
                for (int64_t j = cols; j < kNR; ++j) dp[j] = 0.0f;
            }
        }
        return;
    }
    for (int64_t jp = jp0; jp < jp1; ++jp) {
        float* d = dst + jp * kNR * kc;
        const int64_t c0 = jp * kNR;
        const int64_t cols = nc - c0 < kNR ? nc - c0 : kNR;
        pack_b_trans_panel(b + (j0 + c0) * ldb + p0, ldb, kc, cols, d);
    }
}

}  // namespace pydl::gemm
