// Note [Double GEMM]: float64 products (the core's float64 matmul and linear layers) in
// plain C++: no packed micro-kernels, only what keeps them from being memory-bound. op(B)
// is packed by KC x NC blocks (the block stays in L2), zero-padded to whole NR-column
// tiles; each task takes MR rows of A (packed, zero-padded, on the stack) and a chunk of
// column tiles, and keeps each MR x NR tile of C in registers over the block's depth. The
// loops are compiled per instruction set (vec::simd_call), so AVX2 machines run them 4
// doubles wide. Threads split rows and column chunks, never the depth: each element of C
// sums its block partials in depth order, bit-identical for any thread count (Note
// [Determinism]).
#include <algorithm>

#include "core/buffer_pool.h"
#include "core/parallel.h"
#include "core/vec.h"
#include "gemm/gemm.h"

namespace pydl {

namespace {

constexpr int64_t kMR = 4, kNR = 8;   // the register tile
constexpr int64_t kKC = 128;          // depth block: a packed B block is 128 x 256 x 8 B = 256 KiB
constexpr int64_t kNC = 256;          // column block
constexpr int64_t kTilesPerTask = 8;  // column tiles of a task (64 columns)
// One thread below this many multiply-adds (sgemm's kParallelWork).
constexpr int64_t kParallelWork = int64_t(1) << 20;

// c (rows x cols, row stride ldc) *= beta; beta == 0 writes zeros without reading C.
void scale_c(double* c, int64_t ldc, int64_t rows, int64_t cols, double beta) {
    if (beta == 1.0) return;
    parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t i = lo; i < hi; ++i) {
                         double* row = c + i * ldc;
                         if (beta == 0.0)
                             std::fill(row, row + cols, 0.0);
                         else
                             for (int64_t j = 0; j < cols; ++j) row[j] *= beta;
                     }
                 });
}

// C[i0 : i0 + mr, j0 : j0 + nr] += alpha * (ap (kc x MR) times bp (kc x NR, row stride ldbp)).
PYDL_INLINE void tile(const double* ap, const double* bp, int64_t ldbp, int64_t kc, double alpha,
                      double* c, int64_t ldc, int64_t mr, int64_t nr) {
    double acc[kMR][kNR] = {};
    for (int64_t p = 0; p < kc; ++p) {
        const double* a = ap + p * kMR;
        const double* b = bp + p * ldbp;
        for (int64_t r = 0; r < kMR; ++r)
            for (int64_t j = 0; j < kNR; ++j) acc[r][j] += a[r] * b[j];
    }
    for (int64_t r = 0; r < mr; ++r)
        for (int64_t j = 0; j < nr; ++j) c[r * ldc + j] += alpha * acc[r][j];
}

}  // namespace

void dgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
           const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
           int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    scale_c(c, ldc, m, n, beta);
    if (k <= 0 || alpha == 0.0) return;
    const int64_t nc_max = std::min(kNC, n), kc_max = std::min(kKC, k);
    const int64_t ldbp = (nc_max + kNR - 1) / kNR * kNR;
    Scratch<double> bp(kc_max * ldbp);  // Note [Scratch before regions]
    const int64_t row_groups = (m + kMR - 1) / kMR;
    const bool threaded = m * n * k >= kParallelWork;
    for (int64_t j0 = 0; j0 < n; j0 += kNC) {
        const int64_t nc = std::min(kNC, n - j0), tiles = (nc + kNR - 1) / kNR;
        const int64_t chunks = (tiles + kTilesPerTask - 1) / kTilesPerTask;
        for (int64_t p0 = 0; p0 < k; p0 += kKC) {
            const int64_t kc = std::min(kKC, k - p0);
            for (int64_t p = 0; p < kc; ++p) {  // bp[p][j] = op(B)(p0 + p, j0 + j), zero-padded
                double* dst = bp.data() + p * ldbp;
                for (int64_t j = 0; j < nc; ++j)
                    dst[j] = trans_b ? b[(j0 + j) * ldb + p0 + p] : b[(p0 + p) * ldb + j0 + j];
                std::fill(dst + nc, dst + tiles * kNR, 0.0);
            }
            const int64_t tasks = row_groups * chunks;
            parallel_for(0, tasks, threaded ? 1 : tasks, [&](int64_t lo, int64_t hi) {
                double ap[kKC * kMR];
                for (int64_t t = lo; t < hi; ++t) {
                    const int64_t i0 = (t / chunks) * kMR, mr = std::min(kMR, m - i0);
                    const int64_t tile0 = (t % chunks) * kTilesPerTask;
                    const int64_t tile1 = std::min(tiles, tile0 + kTilesPerTask);
                    for (int64_t p = 0; p < kc; ++p)  // ap[p][r] = op(A)(i0 + r, p0 + p)
                        for (int64_t r = 0; r < kMR; ++r)
                            ap[p * kMR + r] = r >= mr   ? 0.0
                                              : trans_a ? a[(p0 + p) * lda + i0 + r]
                                                        : a[(i0 + r) * lda + p0 + p];
                    vec::simd_call([&]() PYDL_INLINE_LAMBDA {
                        for (int64_t jt = tile0; jt < tile1; ++jt) {
                            const int64_t jj = jt * kNR;
                            tile(ap, bp.data() + jj, ldbp, kc, alpha, c + i0 * ldc + j0 + jj, ldc,
                                 mr, std::min(kNR, nc - jj));
                        }
                    });
                }
            });
        }
    }
}

void dgemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                   double alpha, const double* a, int64_t lda, int64_t stride_a, const double* b,
                   int64_t ldb, int64_t stride_b, double beta, double* c, int64_t ldc,
                   int64_t stride_c) {
    if (batch <= 0) return;
    const int64_t work = m * n * std::max<int64_t>(k, 1);
    // As sgemm_batched: small products one per task, large ones one after another.
    const bool outer_parallel = work < kParallelWork && batch * work >= kParallelWork;
    parallel_for(0, batch, outer_parallel ? 1 : batch, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
            dgemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb,
                  beta, c + i * stride_c, ldc);
    });
}

}  // namespace pydl
