// Single-precision GEMM: C := alpha * op(A) * op(B) + beta * C, row-major.
//
// op(A) is M x K, op(B) is K x N; lda/ldb/ldc are row strides in elements. When
// beta == 0, C is written without being read (NaN in C does not leak). An optional
// epilogue adds a bias per column and applies an activation while the tile is in
// registers. Threads split M and N only, never K, so results are bit-identical for
// any thread count (Note [Determinism] in core/parallel.h).
#pragma once
#include <cstdint>
#include "core/buffer_pool.h"
#include "gemm/microkernel.h"

namespace pydl {

// The precision of a float32 product: fp32 (sgemm), or bf16 operands with fp32 sums
// (sbgemm in bf16.h), which autocast asks for.
enum class Precision { Float32, BFloat16 };

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
           const gemm::Epilogue* epilogue = nullptr);

// op(B) (k x n) packed once for many products with the same B, such as a recurrent
// layer's hidden weights at every time step: for sgemm's kernels, or rounded to bf16 for
// sbgemm's (Precision::BFloat16, bf16.h).
struct PackedB {
    PackedB(bool trans_b, const float* b, int64_t ldb, int64_t k, int64_t n,
            Precision precision = Precision::Float32);
    int64_t k, n;
    Precision precision;
    Scratch<float> data;          // fp32: depth blocks of NR-column panels
    Scratch<uint32_t> bf16_data;  // bf16: sbgemm's panels (Note [bf16 GEMM])
};
// C := alpha * op(A) * B + beta * C with B prepacked (op(A) is m x B.k), at B's precision.
void sgemm_packed(bool trans_a, int64_t m, float alpha, const float* a, int64_t lda,
                  const PackedB& b, float beta, float* c, int64_t ldc,
                  const gemm::Epilogue* epilogue = nullptr);

// `batch` independent products; operand i starts at a + i * stride_a (etc.).
// Small products run one per thread; large ones one after another, each threaded.
// Under Precision::BFloat16 each is sbgemm's (bf16.h).
void sgemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                   float alpha, const float* a, int64_t lda, int64_t stride_a, const float* b,
                   int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc,
                   int64_t stride_c, Precision precision = Precision::Float32);

// Double-precision GEMM, the same contract as sgemm without an epilogue (Note [Double GEMM]
// in dgemm.cpp): the core's float64 matmul and linear.
void dgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
           const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
           int64_t ldc);
void dgemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                   double alpha, const double* a, int64_t lda, int64_t stride_a, const double* b,
                   int64_t ldb, int64_t stride_b, double beta, double* c, int64_t ldc,
                   int64_t stride_c);

namespace gemm {
// Which micro-kernel the driver uses: "auto" (AVX2 when the CPU has it), "ref", "avx2".
// For tests and benchmarks; throws ValueError for "avx2" on a CPU without it.
void set_kernel(const char* name);
const char* kernel_name();

// The driver's blocking constants (Note [Blocking], Note [Small path], Note [Dot path] in
// gemm.cpp), as the driver uses them: tests aim their sizes at the block edges with these.
struct Blocking {
    int64_t mr, nr;                          // the micro-kernel's register tile
    int64_t mc, kc, kc_deep, nc;             // row block, depth block (deep products), column block
    int64_t small_m, small_k, small_n;       // the small path's limits
    int64_t dot_min_m, dot_m, dot_k, dot_n;  // the dot path's limits
    int64_t dot_rows, dot_cols;              // the dot path's tile
    int64_t parallel_work;  // multiply-adds below which a product runs on one thread
};
Blocking blocking();
}  // namespace gemm

}  // namespace pydl
