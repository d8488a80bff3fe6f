// The GEMM driver: kernel selection, blocking, threads, the small-matrix and
// matrix-vector paths, batched products.
#include "gemm/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/parallel.h"
#include "core/vec.h"
#include "gemm/bf16.h"
#include "gemm/driver.h"
#include "gemm/pack.h"

namespace pydl {

namespace gemm {
namespace {

// Note [Blocking]: an MC x KC block of packed A (72 x 1024 x 4 B = 288 KiB) stays in
// the 1 MiB L2 while the KC x NR panels of B (64 KiB, streamed from L2) sweep past it;
// NC bounds the packed B block (L3). A B panel does not fit the 32 KiB L1, but both
// kernels load one B row per 6 rows of FMAs, which L2 feeds, and a deep KC halves the
// passes over C. Swept KC in {320, 512, 768, 1024, 1536, 2048} x MC in {24..144}
// (single thread, this Zen 4): KC=1024 took 1024^3 from 95 to 105 GFLOP/s with the
// AVX-512 kernel (74 -> 92 with the AVX2 one) and 2048^3 from 94 to 103, no worse
// elsewhere; MC mattered within noise. (KC=320, the best choice when the AVX2 kernel
// was the only one, kept the B panel in L1.)
constexpr int64_t kMC = 72;
constexpr int64_t kKC = 1024;
constexpr int64_t kNC = 4080;
// A depth that needs several blocks on the blocked path goes in blocks of kKCDeep: the
// packed B block (KC x NC) halves and stays in L3 beside the streamed A and C. Measured
// after the C-tile prefetch, alternating in one process: 2048^3 on 1 thread +3-6%
// (4 of 5 runs), TN 1024x2048x256 +1-3%; 1024^3 (one block of 1024) lost 2-4% at 2
// threads as 2 blocks of 512, so a depth that fits one KC stays whole.
constexpr int64_t kKCDeep = 512;
// Note [GEMM scratch]: the packing buffers come from the buffer pool (Note [Buffer pool]),
// taken on the calling thread once per call, before its regions (Note [Scratch before
// regions]), sized for the call, and given back when it returns. They were grow-only
// thread_local buffers, one set per thread that ever ran a GEMM (sgemm_batched's workers
// too), kept at the largest size ever asked for until the thread ended; pydl.empty_cache()
// could not return them. The pool hands back the same buffer for the same size, so the
// repeated shapes of a training loop still reuse warm memory. perf: the pool's lock and
// lookups are 0.8% of 256 batched 32x48x40 products at 2 threads (the worst case: tiny
// GEMMs each taking scratch inside a region), 0.2% of the CIFAR conv1 forward+backward.
// Row blocks of about MC rows, as many as a multiple of the thread count, so each
// thread's share of the rows differs from another's by at most one MR panel (15 blocks
// of a 1024-row A on 2 threads cost 1024^3 7%). Block rb spans A panels
// [rb * a_panels / blocks, (rb + 1) * a_panels / blocks).
int64_t row_block_count(int64_t a_panels, int64_t panel_rows, int threads) {
    const int64_t blocks = (a_panels * panel_rows + kMC - 1) / kMC;
    return std::min(a_panels, (blocks + threads - 1) / threads * threads);
}

// Note [Small path]: below these sizes packing A (and B when not transposed) costs more
// than it saves; chosen with benchmarks/test_gemm.py (training shapes). A row-major A is
// also read in place, on the small path, when C has at most kSmallN columns: a block of
// A rows then meets few B panels, which re-read it from L2 for less than a packing pass
// costs (2 threads, GFLOP/s, blocked -> small: 256^3 158-166 -> 193, 128x784x256 91-95
// -> 178-181, 512^3 176-178 -> 200, 2048x1024x256 193-198 -> 211-213, a linear layer's
// 2048x256x256 with B transposed 180 -> 185-201; 1 thread the same or 3-13% faster).
// With wider C, 2048x256x1024 and 2048x256x768 are no faster in place.
constexpr int64_t kSmallM = 96;
constexpr int64_t kSmallK = 64;
constexpr int64_t kSmallN = 512;
// Note [Dot path]: m <= kDotMinM, or m <= kDotM and (k >= kDotK or n < kDotN).
constexpr int64_t kDotMinM = 8, kDotM = 16, kDotK = 512, kDotN = 64;
enum KernelChoice : int { kAuto = 0, kRef, kAvx2, kAvx512 };
std::atomic<int> g_kernel_choice{kAuto};

// The kernels in use: auto picks the widest the CPU runs.
KernelChoice kernel_choice() {
    const int choice = g_kernel_choice.load(std::memory_order_relaxed);
    if (choice != kAuto) return KernelChoice(choice);
    return use_avx512() ? kAvx512 : use_avx2() ? kAvx2 : kRef;
}
// AVX-512 runs the wide tile (Note [Wide tile] in microkernel.h) and the 8 x 6 dot tile;
// AVX2 and the reference the 6 x 16 tile, kernel().
bool wide_tiles() { return kernel_choice() == kAvx512; }
MicroKernel kernel() { return kernel_choice() == kRef ? microkernel_ref : microkernel_avx2; }

// Matrix-vector products (n == 1 or m == 1): dot products or axpy rows, one output
// element per task so the order of each sum never depends on the threads.
PYDL_INLINE float dot_body(const float* x, int64_t incx, const float* y, int64_t incy, int64_t k) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t p = 0;
    if (incx == 1 && incy == 1)
        for (; p + 8 <= k; p += 8)
            for (int u = 0; u < 8; ++u) acc[u] += x[p + u] * y[p + u];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; p < k; ++p) s += x[p * incx] * y[p * incy];
    return s;
}
float dot_generic(const float* x, int64_t incx, const float* y, int64_t incy, int64_t k) {
    return dot_body(x, incx, y, incy, k);
}
PYDL_TARGET_AVX2 float dot_avx2(const float* x, int64_t incx, const float* y, int64_t incy,
                                int64_t k) {
    return dot_body(x, incx, y, incy, k);
}

// acc[0:nj] = sum_p x[p * incx] * B[p, 0:nj], p in order.
PYDL_INLINE void axpy_rows_body(const float* x, int64_t incx, const float* b, int64_t ldb,
                                int64_t k, int64_t nj, float* acc) {
    for (int64_t j = 0; j < nj; ++j) acc[j] = 0.0f;
    for (int64_t p = 0; p < k; ++p) {
        const float xv = x[p * incx];
        const float* row = b + p * ldb;
        for (int64_t j = 0; j < nj; ++j) acc[j] += xv * row[j];
    }
}
void axpy_rows_generic(const float* x, int64_t incx, const float* b, int64_t ldb, int64_t k,
                       int64_t nj, float* acc) {
    axpy_rows_body(x, incx, b, ldb, k, nj, acc);
}
PYDL_TARGET_AVX2 void axpy_rows_avx2(const float* x, int64_t incx, const float* b, int64_t ldb,
                                     int64_t k, int64_t nj, float* acc) {
    axpy_rows_body(x, incx, b, ldb, k, nj, acc);
}

void gemv(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
          const Epilogue* ep) {
    // C[i][j] = sum_p A(i, p) B(p, j) with strides of op(A) and op(B).
    const int64_t a_rs = trans_a ? 1 : lda, a_cs = trans_a ? lda : 1;
    const int64_t b_rs = trans_b ? 1 : ldb, b_cs = trans_b ? ldb : 1;
    const bool avx2 = use_avx2();
    if (m == 1 && !trans_b) {
        // A row vector times row-major B: accumulate rows of B (contiguous), a chunk
        // of columns per task, p in order.
        constexpr int64_t kChunk = 256;
        parallel_for(0, (n + kChunk - 1) / kChunk,
                     std::max<int64_t>(1, kParallelWork / std::max<int64_t>(k * kChunk, 1)),
                     [&](int64_t lo, int64_t hi) {
                         float acc[kChunk];
                         for (int64_t t = lo; t < hi; ++t) {
                             const int64_t j0 = t * kChunk, nj = std::min(kChunk, n - j0);
                             if (avx2)
                                 axpy_rows_avx2(a, a_cs, b + j0, ldb, k, nj, acc);
                             else
                                 axpy_rows_generic(a, a_cs, b + j0, ldb, k, nj, acc);
                             for (int64_t j = 0; j < nj; ++j)
                                 finish_element(c + j0 + j, acc[j], alpha, beta, ep, 0, j0 + j);
                         }
                     });
        return;
    }
    const int64_t outputs = m * n;
    parallel_for(0, outputs, std::max<int64_t>(1, kParallelWork / std::max<int64_t>(k, 1)),
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t t = lo; t < hi; ++t) {
                         const int64_t i = t / n, j = t % n;
                         const float* x = a + i * a_rs;
                         const float* y = b + j * b_cs;
                         const float s = avx2 ? dot_avx2(x, a_cs, y, b_rs, k)
                                              : dot_generic(x, a_cs, y, b_rs, k);
                         finish_element(c + i * ldc + j, s, alpha, beta, ep, i, j);
                     }
                 });
}

// Note [Dot path]: C = A B^T with few rows (linear's forward at small batch): both
// operands are row-major along k, so a tile of 4 rows of A x 3 rows of B is 12 dot
// products, 8 lanes of k at a time, with no packing (packing B would cost more than
// the m-fold reuse it buys). Each dot sums its lanes in a fixed order. Since transposed
// B panels are packed with register transposes, the small path wins from m = 9 with a
// short k and many columns (16x256x1024: 57 -> 80 GFLOP/s); the dot path keeps m <= 8
// (8x256x256: 64 vs 58), k >= 512 (8x784x256: 61 vs 56) and narrow outputs (8x256x10:
// 30 vs 16).
constexpr int kDotRows = kDotTileRows, kDotCols = kDotTileCols;

// The dot path's sweep over Rows x Cols tiles of C, tile(a, b, mr, nr, out) computing one.
template <int Rows, int Cols, typename TileFn>
void dot_tiles(int64_t m, int64_t n, float alpha, const float* a, int64_t lda, const float* b,
               int64_t ldb, float beta, float* c, int64_t ldc, const Epilogue* ep, bool parallel,
               TileFn tile) {
    const int64_t col_tiles = (n + Cols - 1) / Cols;
    const int64_t row_tiles = (m + Rows - 1) / Rows;
    const int64_t tiles = row_tiles * col_tiles;
    // alpha 1, beta 0 and at most a bias (linear's forward; the activation comes after).
    const bool plain = alpha == 1.0f && beta == 0.0f && (!ep || (!ep->pre && !ep->act));
    const float* bias = ep ? ep->bias : nullptr;
    parallel_for(0, tiles, parallel ? std::max<int64_t>(1, tiles / 64) : tiles,
                 [&](int64_t lo, int64_t hi) {
                     for (int64_t t = lo; t < hi; ++t) {
                         const int64_t i = (t / col_tiles) * Rows, j = (t % col_tiles) * Cols;
                         const int mr = int(std::min<int64_t>(Rows, m - i));
                         const int nr = int(std::min<int64_t>(Cols, n - j));
                         float out[Rows][Cols];
                         tile(a + i * lda, b + j * ldb, mr, nr, out);
                         if (plain) {  // finish_element's arithmetic, without its branches
                             for (int r = 0; r < mr; ++r)
                                 for (int cc = 0; cc < nr; ++cc)
                                     c[(i + r) * ldc + j + cc] =
                                         bias ? out[r][cc] + bias[j + cc] : out[r][cc];
                             continue;
                         }
                         for (int r = 0; r < mr; ++r)
                             for (int cc = 0; cc < nr; ++cc)
                                 finish_element(c + (i + r) * ldc + j + cc, out[r][cc], alpha, beta,
                                                ep, i + r, j + cc);
                     }
                 });
}

void gemm_dot(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
              const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const Epilogue* ep,
              bool parallel) {
    // The AVX-512 tile (8 x 6) computes each element as the AVX2 one (4 x 3) does.
    if (wide_tiles())
        return dot_tiles<kDotWideRows, kDotWideCols>(
            m, n, alpha, a, lda, b, ldb, beta, c, ldc, ep, parallel,
            [&](const float* at, const float* bt, int mr, int nr, float out[][kDotWideCols]) {
                dot_tile_avx512(at, lda, bt, ldb, k, mr, nr, out);
            });
    const bool avx2 = kernel_choice() != kRef;
    dot_tiles<kDotRows, kDotCols>(
        m, n, alpha, a, lda, b, ldb, beta, c, ldc, ep, parallel,
        [&](const float* at, const float* bt, int mr, int nr, float out[][kDotCols]) {
            if (avx2)
                dot_tile_avx2(at, lda, bt, ldb, k, mr, nr, out);
            else
                dot_tile_ref(at, lda, bt, ldb, k, mr, nr, out);
        });
}

// Note [Small path]: small m or k; A is packed once per depth block and shared (or read
// in place when few B panels reuse it); B panels are read in place when that is safe,
// else the depth block of B is packed first, by all threads, row by row (packing one
// panel per task read each B row's 64 bytes alone: a third of 16x27x2048's time).
// The small-path sweep, tasks of (row block, B panel): prepare(p0, kc) runs before each
// depth block; panel(p0, kc, jp, nr, rs_b) then returns B's panel jp of that block.
template <typename PrepareFn, typename PanelFn>
void gemm_panels(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, float beta, float* c, int64_t ldc, const Epilogue* ep, bool parallel,
                 PrepareFn prepare, PanelFn panel) {
    const MicroKernel kern = kernel();
    // Note [Wide tile]: with AVX-512, 8 rows (read in place or packed) x 3 B panels a tile.
    const bool wide = wide_tiles();
    const int64_t panels = (n + kNR - 1) / kNR;
    // A is packed whole, once per depth block, and shared by the tasks, when it is reused
    // across enough B panels to pay for the copy and its rows are long or strided;
    // otherwise read in place. A few (<= kSmallM) row-major rows read in place beat the
    // copy even 4 KiB apart (an LSTM's 32x1024x256 step product at 2 threads: 161 -> 202
    // GFLOP/s; 32x784x256 with B transposed 164 -> 187); with a transposed A, or many
    // rows and wide C, packing still wins (1024x32x256 transposed: 102 vs 57 in place).
    // A transposed A of a short depth (a weight gradient's k = batch) is read in place
    // too, by the wide tile: each depth step's rows are adjacent floats.
    const bool short_transposed = trans_a && k <= kSmallK;
    const bool pack_a_block =
        panels >= 8 && !(wide && short_transposed) && (trans_a || (m > kSmallM && n > kSmallN));
    const int64_t tile_rows = wide ? kWideRows : kMR;
    const int64_t a_panels = (m + tile_rows - 1) / tile_rows;
    Scratch<float> a_buf;  // Note [GEMM scratch]
    if (pack_a_block) a_buf.allocate(a_panels * tile_rows * std::min(k, kKC));
    float* apack = a_buf.data();
    // A as the tiles read it: from its packed panels, or in place
    const int64_t rs_a = pack_a_block || trans_a ? 1 : lda;
    const int64_t cs_a = pack_a_block ? tile_rows : trans_a ? lda : 1;
    // Row i's first value of the depth block [p0, p0 + kc).
    const auto a_rows = [&](int64_t i, int64_t p0, int64_t kc) {
        return pack_a_block ? apack + i * kc : a + i * rs_a + p0 * cs_a;
    };
    // A thread's tasks are a contiguous range: split the rows when A is the larger operand
    // (each thread reads its rows of A and all of B), else the B panels (all of A, its
    // part of B). 96x256x1024 at 2 threads: 130 -> 197 GFLOP/s; 4096x64x256 stays at 203.
    const int64_t row_blocks =
        row_block_count(a_panels, tile_rows, parallel ? get_num_threads() : 1);
    const int64_t step = wide ? kWidePanels : 1;  // B panels a task
    const int64_t units = (panels + step - 1) / step;
    const int64_t tasks = units * row_blocks;
    // A weight gradient (transposed A, short depth) splits its rows too: they are the
    // weight's rows, which the forward product and the optimizer step split the same way
    // (Note [Item 0 on the caller]).
    const bool rows_outer = m > n || short_transposed;
    for (int64_t p0 = 0; p0 < k; p0 += kKC) {
        const int64_t kc = std::min(kKC, k - p0);
        if (pack_a_block)  // by all threads when there are several panels
            run_tasks((a_panels + 1) / 2, parallel, [&](int64_t t) {  // 2 panels a task
                const int64_t i0 = 2 * t * tile_rows;
                const int64_t rows = std::min<int64_t>(m - i0, 2 * tile_rows);
                pack_a(trans_a, a, lda, i0, rows, p0, kc, apack + i0 * kc, int(tile_rows));
            });
        prepare(p0, kc);
        const bool last = p0 + kc >= k;
        run_tasks(tasks, parallel, [&](int64_t t) {
            const int64_t jp = (rows_outer ? t % units : t / row_blocks) * step;
            const int64_t rb = rows_outer ? t / units : t % row_blocks;
            const int64_t i_lo = rb * a_panels / row_blocks * tile_rows;
            const int64_t i_hi = std::min(m, (rb + 1) * a_panels / row_blocks * tile_rows);
            const int64_t j = jp * kNR;
            const float beta_eff = p0 == 0 ? beta : 1.0f;
            if (wide) {
                const int count = int(std::min(step, panels - jp));
                const float* bq[kWidePanels];
                int64_t rs_bq[kWidePanels] = {0, 0, 0};
                int nr_last = kNR;
                for (int q = 0; q < count; ++q) {
                    nr_last = int(std::min<int64_t>(kNR, n - j - q * kNR));
                    bq[q] = panel(p0, kc, jp + q, nr_last, rs_bq[q]);
                }
                for (int64_t i = i_lo; i < i_hi; i += kWideRows)
                    microkernel_avx512_wide(kc, a_rows(i, p0, kc), rs_a, cs_a, bq, rs_bq, count,
                                            nr_last, c + i * ldc + j, ldc,
                                            int(std::min<int64_t>(kWideRows, i_hi - i)), alpha,
                                            beta_eff, last ? ep : nullptr, i, j);
                return;
            }
            const int nr = int(std::min<int64_t>(kNR, n - j));
            int64_t rs_b;
            const float* bp = panel(p0, kc, jp, nr, rs_b);
            for (int64_t i = i_lo; i < i_hi; i += kMR) {
                Epilogue tile;
                kern(kc, a_rows(i, p0, kc), rs_a, cs_a, bp, rs_b, c + i * ldc + j, ldc,
                     int(std::min<int64_t>(kMR, i_hi - i)), nr, alpha, beta_eff,
                     last ? tile_epilogue(ep, i, j, tile) : nullptr);
            }
        });
    }
}

void gemm_small(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                int64_t ldc, const Epilogue* ep, bool parallel) {
    const int64_t panels = (n + kNR - 1) / kNR;
    // Full panels of a row-major B are read in place for a few rows of A or a short
    // depth, unless B's row stride is a multiple of 1 KiB: then a panel's rows share few
    // L1 sets and thrash. Many rows reuse a deep panel enough to pay for packing it
    // (1024x256x384: 198-200 GFLOP/s in place, 208-215 packed). The last, partial panel
    // is always packed (the kernel reads NR floats per row).
    // With at most two row panels, each B row is read at most twice, so the 1 KiB-stride
    // thrash costs less than packing (a batch-8 dX, 8x256x256: 15.3-16.0 -> 11.3 us).
    const bool in_place =
        !trans_b && (ldb % 256 != 0 || m <= 2 * kMR) && (m <= kSmallM || k <= kSmallK);
    const int64_t packed_lo = in_place ? n / kNR : 0;  // first panel that is packed

    Scratch<float> b_buf;  // Note [GEMM scratch]
    if (packed_lo < panels) b_buf.allocate((panels - packed_lo) * kNR * std::min(k, kKC));
    float* bpack = b_buf.data();
    const auto prepare = [&](int64_t p0, int64_t kc) {
        const int64_t count = panels - packed_lo;
        constexpr int64_t kPanelsPerTask = 8;
        const int64_t pack_tasks = (count + kPanelsPerTask - 1) / kPanelsPerTask;
        run_tasks(pack_tasks, parallel, [&](int64_t t) {
            const int64_t jp_lo = packed_lo + t * kPanelsPerTask;
            const int64_t jp_hi = std::min(panels, jp_lo + kPanelsPerTask);
            // pack_b indexes panels from its j0, so the packed panels start at bpack.
            const int64_t j0 = packed_lo * kNR;
            pack_b(trans_b, b, ldb, p0, kc, j0, n - j0, jp_lo - packed_lo, jp_hi - packed_lo,
                   bpack);
        });
    };
    gemm_panels(trans_a, m, n, k, alpha, a, lda, beta, c, ldc, ep, parallel, prepare,
                [&](int64_t p0, int64_t kc, int64_t jp, int, int64_t& rs_b) -> const float* {
                    if (jp < packed_lo) {
                        rs_b = ldb;
                        return b + p0 * ldb + jp * kNR;
                    }
                    rs_b = kNR;
                    return bpack + (jp - packed_lo) * kNR * kc;
                });
}

// The blocked path (Note [Blocking]). Per (NC, KC) block, one parallel region packs
// all of op(A) (row panels) and the block of op(B) (NR panels) into shared buffers;
// a second computes: tasks are (row block, column range) pairs, each sweeping its B
// panels over its A panels. Nothing is packed twice.
// With AVX-512 the tiles are the wide tile's, 8 packed rows x 3 B panels (Note [Wide
// tile]), which prefetches ahead. GFLOP/s, 6 x 32 pair tiles -> wide tiles, builds
// alternated: TN 1024x256x2048 145-147 -> 161-165 on one core, 275-289 -> 322-325 on
// two; an LSTM's weight gradient 256x1024x1600 142-145 -> 155-157, 255-273 -> 302-311;
// NN 2048x1024x256 one core 174-176 -> 187-188, two unchanged (335-342). Each element's
// sums are the pair tiles' (p in order from zero per depth block, then added to C): the
// same bits.
void gemm_blocked(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc, const Epilogue* ep, bool parallel) {
    const MicroKernel kern = kernel();
    const bool wide = wide_tiles();
    const int64_t tile_rows = wide ? kWideRows : kMR;  // rows of a packed A panel
    const int64_t step = wide ? kWidePanels : 1;       // B panels a tile
    const int threads = parallel ? get_num_threads() : 1;
    const int64_t a_panels = (m + tile_rows - 1) / tile_rows;
    // Row blocks as row_block_count; columns split so there are a few tasks per thread
    // (Note [Determinism]: the split changes which thread computes a tile, never how).
    const int64_t row_blocks = row_block_count(a_panels, tile_rows, threads);
    const int64_t depth_block = k > kKC ? kKCDeep : kKC;
    // Note [GEMM scratch]: sized for the largest (NC, KC) block, taken once per call.
    const int64_t max_kc = std::min(depth_block, k);
    Scratch<float> a_buf(a_panels * tile_rows * max_kc);
    Scratch<float> b_buf((std::min(kNC, n) + kNR - 1) / kNR * kNR * max_kc);
    float* apack = a_buf.data();
    float* bpack = b_buf.data();
    for (int64_t j0 = 0; j0 < n; j0 += kNC) {
        const int64_t nc = std::min(kNC, n - j0);
        const int64_t panels = (nc + kNR - 1) / kNR;
        const int64_t col_splits = std::min<int64_t>(
            panels, std::max<int64_t>(1, (4 * threads + row_blocks - 1) / row_blocks));
        // whole tiles per split
        const int64_t panels_per_split =
            ((panels + col_splits - 1) / col_splits + step - 1) / step * step;
        for (int64_t p0 = 0; p0 < k; p0 += depth_block) {
            const int64_t kc = std::min(depth_block, k - p0);
            // Packing tasks: 3 panels of A (18 x kc values), or 8 of a transposed A
            // (pack_a's tile; dW-shaped 1024x1600x64 at 2 threads: packing 38-40% -> 26%
            // of the time); 4 panels of B, which pack_b reads row by row, 256 bytes of
            // each B row at once (one panel a task read each row's 64 bytes alone; TN
            // 1024x2048x256 at 2 threads: pack_b 9.8 -> 8.7% of the time, pack_a 14.5 ->
            // 11.2%, and 5 of 6 alternated runs of TN shapes faster).
            const int64_t a_panels_per_task = trans_a ? 8 : 3;
            constexpr int64_t kBPanelsPerTask = 4;
            const int64_t a_tasks = (a_panels + a_panels_per_task - 1) / a_panels_per_task;
            const int64_t b_tasks = (panels + kBPanelsPerTask - 1) / kBPanelsPerTask;
            run_tasks(a_tasks + b_tasks, parallel, [&](int64_t t) {
                if (t < a_tasks) {
                    const int64_t i0 = t * a_panels_per_task * tile_rows;
                    const int64_t rows = std::min<int64_t>(a_panels_per_task * tile_rows, m - i0);
                    pack_a(trans_a, a, lda, i0, rows, p0, kc, apack + i0 * kc, int(tile_rows));
                } else {
                    const int64_t jp = (t - a_tasks) * kBPanelsPerTask;
                    pack_b(trans_b, b, ldb, p0, kc, j0, nc, jp,
                           std::min(panels, jp + kBPanelsPerTask), bpack);
                }
            });
            const bool last = p0 + kc >= k;
            const float beta_eff = p0 == 0 ? beta : 1.0f;
            const int64_t tasks = row_blocks * col_splits;
            const bool rows_outer = m > nc;  // as in gemm_panels
            run_tasks(tasks, parallel, [&](int64_t t) {
                const int64_t rb = rows_outer ? t / col_splits : t % row_blocks;
                const int64_t cs = rows_outer ? t % col_splits : t / row_blocks;
                const int64_t ip_lo = rb * a_panels / row_blocks;
                const int64_t ip_hi = (rb + 1) * a_panels / row_blocks;
                const int64_t jp_lo = cs * panels_per_split;
                const int64_t jp_hi = std::min(panels, jp_lo + panels_per_split);
                for (int64_t jp = jp_lo; jp < jp_hi; jp += step) {
                    const int64_t j = j0 + jp * kNR;
                    const float* bp = bpack + jp * kNR * kc;
                    if (wide) {
                        const int count = int(std::min(step, jp_hi - jp));
                        const float* bq[kWidePanels] = {bp, bp + kNR * kc, bp + 2 * kNR * kc};
                        const int64_t rs_bq[kWidePanels] = {kNR, kNR, kNR};
                        const int nr_last = int(std::min<int64_t>(kNR, n - j - (count - 1) * kNR));
                        for (int64_t ip = ip_lo; ip < ip_hi; ++ip) {
                            const int64_t i = ip * kWideRows;
                            microkernel_avx512_wide(kc, apack + i * kc, 1, kWideRows, bq, rs_bq,
                                                    count, nr_last, c + i * ldc + j, ldc,
                                                    int(std::min<int64_t>(kWideRows, m - i)), alpha,
                                                    beta_eff, last ? ep : nullptr, i, j);
                        }
                        continue;
                    }
                    const int nr = int(std::min<int64_t>(kNR, n - j));
                    for (int64_t ip = ip_lo; ip < ip_hi; ++ip) {
                        const int64_t i = ip * kMR;
                        const int mr = int(std::min<int64_t>(kMR, m - i));
                        Epilogue tile;
                        kern(kc, apack + i * kc, 1, kMR, bp, kNR, c + i * ldc + j, ldc, mr, nr,
                             alpha, beta_eff, last ? tile_epilogue(ep, i, j, tile) : nullptr);
                    }
                }
            });
        }
    }
}

}  // namespace

void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc, const Epilogue* ep) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) finish_element(c + i * ldc + j, 0.0f, 0.0f, beta, ep, i, j);
}

Blocking blocking() {
    return {kMR,     kNR,      kMC,   kKC,   kKCDeep, kNC,      kSmallM,  kSmallK,
            kSmallN, kDotMinM, kDotM, kDotK, kDotN,   kDotRows, kDotCols, kParallelWork};
}

void set_kernel(const char* name) {
    const std::string s(name);
    if (s == "auto")
        g_kernel_choice = kAuto;
    else if (s == "ref")
        g_kernel_choice = kRef;
    else if (s == "avx2") {
        PYDL_CHECK(use_avx2(), ValueError, "the avx2 GEMM kernel needs a CPU with AVX2 and FMA");
        g_kernel_choice = kAvx2;
    } else if (s == "avx512") {
        PYDL_CHECK(use_avx512(), ValueError, "the avx512 GEMM kernel needs a CPU with AVX-512F");
        g_kernel_choice = kAvx512;
    } else {
        PYDL_CHECK(false, ValueError, "unknown GEMM kernel '", s,
                   "' (expected auto, ref, avx2 or avx512)");
    }
}

const char* kernel_name() {
    const KernelChoice k = kernel_choice();
    return k == kAvx512 ? "avx512" : k == kAvx2 ? "avx2" : "ref";
}

}  // namespace gemm

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
           const gemm::Epilogue* ep) {
    using namespace gemm;
    if (m <= 0 || n <= 0) return;
    if (ep && !ep->active()) ep = nullptr;
    if (k <= 0 || alpha == 0.0f) return scale_c(m, n, beta, c, ldc, ep);
    const bool parallel = m * n * k >= kParallelWork && get_num_threads() > 1;
    const bool vector = n == 1 || m == 1;
    const bool dot =
        trans_b && !trans_a && m <= kDotM && (m <= kDotMinM || k >= kDotK || n < kDotN);
    if (vector || dot) {
        // These paths finish one element at a time; the activation goes on afterwards, a
        // row at a time, so it vectorizes (fused per element, Linear 784 -> 256 + Tanh at
        // batch 8 was slower than the two apart; ReLU per element compiled to a branch on
        // each value's sign, 10-14% slower than this on Linear 784 -> 256 at batch 8).
        Epilogue affine;
        const Epilogue* first = ep;
        if (ep && ep->act) {
            affine = *ep;
            affine.act.reset();
            first = affine.active() ? &affine : nullptr;
        }
        if (vector)
            gemv(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, first);
        else
            gemm_dot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, first, parallel);
        if (first != ep) apply_activation_rows(ep->act, c, ldc, m, n);
        return;
    }
    if (m <= kSmallM || k <= kSmallK || (!trans_a && n <= kSmallN))
        return gemm_small(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep,
                          parallel);
    gemm_blocked(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep, parallel);
}

PackedB::PackedB(bool trans_b, const float* b, int64_t ldb, int64_t k_, int64_t n_,
                 Precision precision_)
    : k(k_), n(n_), precision(precision_) {
    using namespace gemm;
    if (precision == Precision::BFloat16) {
        bf16_data.allocate(bf16_packed_b_size(k, n));
        pack_b_bf16_whole(trans_b, b, ldb, k, n, bf16_data.data());
        return;
    }
    data.allocate((n + kNR - 1) / kNR * kNR * k);
    const int64_t panels = (n + kNR - 1) / kNR;
    const bool parallel = n * k >= kParallelWork / 16 && get_num_threads() > 1;
    for (int64_t p0 = 0; p0 < k; p0 += kKC)  // block p0 starts at p0 * panels * NR
        parallel_for(0, panels, parallel ? 1 : panels, [&](int64_t lo, int64_t hi) {
            pack_b(trans_b, b, ldb, p0, std::min(kKC, k - p0), 0, n, lo, hi,
                   data.data() + p0 * panels * kNR);
        });
}

void sgemm_packed(bool trans_a, int64_t m, float alpha, const float* a, int64_t lda,
                  const PackedB& b, float beta, float* c, int64_t ldc, const gemm::Epilogue* ep) {
    using namespace gemm;
    if (b.precision == Precision::BFloat16)
        return sbgemm_prepacked(trans_a, m, alpha, a, lda, b, beta, c, ldc, ep);
    if (m <= 0 || b.n <= 0) return;
    if (ep && !ep->active()) ep = nullptr;
    if (b.k <= 0 || alpha == 0.0f) return scale_c(m, b.n, beta, c, ldc, ep);
    const int64_t panels = (b.n + kNR - 1) / kNR;
    const bool parallel = m * b.n * b.k >= kParallelWork && get_num_threads() > 1;
    gemm_panels(
        trans_a, m, b.n, b.k, alpha, a, lda, beta, c, ldc, ep, parallel, [](int64_t, int64_t) {},
        [&](int64_t p0, int64_t kc, int64_t jp, int, int64_t& rs_b) -> const float* {
            rs_b = kNR;
            return b.data.data() + p0 * panels * kNR + jp * kNR * kc;
        });
}

void sgemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                   float alpha, const float* a, int64_t lda, int64_t stride_a, const float* b,
                   int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc,
                   int64_t stride_c, Precision precision) {
    if (batch <= 0) return;
    const int64_t work = m * n * std::max<int64_t>(k, 1);
    // Small products: one per task (each single-threaded inside, as parallel_for does
    // not nest); large ones: one after another, each using every thread.
    const int64_t grain = work >= gemm::kParallelWork ? batch : 1;
    const bool outer_parallel = grain < batch && batch * work >= gemm::kParallelWork;
    parallel_for(0, batch, outer_parallel ? 1 : batch, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
            gemm_f32(precision, trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda,
                     b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
    });
}

}  // namespace pydl
