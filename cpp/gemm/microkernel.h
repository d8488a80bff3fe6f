// The GEMM micro-kernel contract (BLIS layering: driver -> packing -> micro-kernel).
//
// A micro-kernel computes one MR x NR tile of C from a depth-kc slice:
//
//     C[0:mr, 0:nr] := beta * C + alpha * A[0:mr, 0:kc] * B[0:kc, 0:nr]   (then the epilogue)
//
// A element (r, p) is read at a[r * rs_a + p * cs_a] (a packed MR panel has rs_a = 1,
// cs_a = MR; an unpacked row-major A has rs_a = lda, cs_a = 1). B row p is read as
// NR contiguous floats at b + p * rs_b (a packed NR panel has rs_b = NR; an unpacked
// row-major B has rs_b = ldb). Rows past mr and columns past nr are never written;
// when nr < NR the B row must still hold NR readable floats (packed panels are
// zero-padded; the driver packs otherwise). When beta == 0, C is not read, so NaN or
// garbage in C does not leak into the result.
#pragma once
#include <cstdint>
#include <optional>

#include "kernels/unary_ops.h"

namespace pydl::gemm {

constexpr int kMR = 6;   // Note [Tile shape]: 6 x 16 = 12 ymm accumulators + 2 B vectors
constexpr int kNR = 16;  // + 1 broadcast of A fit the 16 AVX2 registers.

// Applied to each tile of C as it is written after the last depth block:
// C = act(C + bias[col]); `pre` (if set) receives C + bias before the activation.
struct Epilogue {
    const float* bias = nullptr;  // indexed by the tile's first column
    // None, or a fusable op of the unary list (Note [Unary op list] in kernels/unary_ops.h).
    std::optional<UnaryOp> act;
    float* pre = nullptr;  // same layout as C, row stride ldpre
    int64_t ldpre = 0;
    bool active() const { return bias || act || pre; }
};

using MicroKernel = void (*)(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                             int64_t rs_b, float* c, int64_t ldc, int mr, int nr, float alpha,
                             float beta, const Epilogue* epilogue);

// Fetches the tile's rows of C into cache while the k loop runs, so its final load and
// store do not wait on memory (C of 2048^3, 16 MiB, is out of cache: 92-101 -> 100-106
// GFLOP/s on 1 thread; in-cache C unchanged). Both x86 kernels call it first.
inline void prefetch_c_tile(const float* c, int64_t ldc, int mr) {
    for (int r = 0; r < mr; ++r) {
        __builtin_prefetch(c + r * ldc);
        __builtin_prefetch(c + r * ldc + kNR - 1);  // a row not aligned to 64 bytes spans two lines
    }
}

// The scalar reference kernel: the contract in plain loops; always built.
void microkernel_ref(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                     int64_t rs_b, float* c, int64_t ldc, int mr, int nr, float alpha, float beta,
                     const Epilogue* epilogue);
// AVX2+FMA 6x16 kernel (only call on CPUs with AVX2 and FMA).
void microkernel_avx2(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                      int64_t rs_b, float* c, int64_t ldc, int mr, int nr, float alpha, float beta,
                      const Epilogue* epilogue);

// Note [Wide tile]: up to 8 rows of A against up to 3 B panels (columns [0, 16 q + nr_last)
// of C), 24 zmm accumulators: every AVX-512 sgemm tile but the dot path's, A read in place
// or packed in 8-row panels. On a CPU with two 512-bit FMA ports of latency 4 (Intel's),
// 8 rows x 48 columns issue 24 FMAs per 3 + 8 loads, where the 6 x 32 tile pairs it
// replaced issued 12 per 2 + 6 (a loop of each mix with its operands in L1 ran at 88% and
// 81% of the FMA peak loop on this Xeon) and an 8-row A took two of them (6 + 2 rows).
// Each element's FMAs run in p order from zero, as in the 6 x 16 kernels: the same bits.
// B panel q starts at b[q] with row stride rs_b[q]; c is the tile's corner, (i, j) its
// place in the whole C (for the epilogue's bias and pre-activation offsets).
constexpr int kWideRows = 8, kWidePanels = 3;
void microkernel_avx512_wide(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                             const float* const b[kWidePanels], const int64_t rs_b[kWidePanels],
                             int panels, int nr_last, float* c, int64_t ldc, int mr, float alpha,
                             float beta, const Epilogue* ep, int64_t i, int64_t j);

// Dot tiles for C = A B^T with A and B row-major along k (Note [Dot path] in gemm.cpp):
// out[r][c] = sum_p a[r * lda + p] * b[c * ldb + p] for r < mr, c < nr. Lanes of k are
// summed in a fixed order. Rows past mr / nr are never read.
constexpr int kDotTileRows = 4, kDotTileCols = 3;
void dot_tile_ref(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, int mr,
                  int nr, float out[kDotTileRows][kDotTileCols]);
void dot_tile_avx2(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, int mr,
                   int nr, float out[kDotTileRows][kDotTileCols]);
// The AVX-512 dot tile: 8 rows x 6 columns, each zmm two columns' 8 lanes side by side,
// so every element is dot_tile_avx2's, bit for bit (its lanes, its lane sum, its tail).
// It writes all of `out`; entries past mr / nr hold repeats and are not the caller's.
constexpr int kDotWideRows = 8, kDotWideCols = 6;
void dot_tile_avx512(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, int mr,
                     int nr, float out[kDotWideRows][kDotWideCols]);

// The scalar activation used by every epilogue (the activation kernels' own functors).
float apply_activation(std::optional<UnaryOp> act, float x);
// The same on rows [0, rows) x columns [0, cols) of C (row stride ldc), vectorized: the
// element-at-a-time paths (dot, matrix-vector) finish with it.
void apply_activation_rows(std::optional<UnaryOp> act, float* c, int64_t ldc, int64_t rows,
                           int64_t cols);

// The scalar epilogue of element (i, j): C = alpha * acc + beta * C, then + bias[j], the
// pre-activation stored, the activation. C is not read when beta == 0. Shared by every
// path that finishes elements one at a time.
inline void finish_element(float* c, float acc, float alpha, float beta, const Epilogue* ep,
                           int64_t i, int64_t j) {
    float v = alpha * acc;
    if (beta != 0.0f) v += beta * *c;
    if (ep) {
        if (ep->bias) v += ep->bias[j];
        if (ep->pre) ep->pre[i * ep->ldpre + j] = v;
        v = apply_activation(ep->act, v);
    }
    *c = v;
}

}  // namespace pydl::gemm
