// Single-precision GEMM: C := alpha * op(A) * op(B) + beta * C, row-major.
//
// op(A) is M x K, op(B) is K x N; lda/ldb/ldc are row strides in elements.
// When beta == 0, C is written without being read (NaN in C does not leak).
// Threads split M and N only, never K, so results do not depend on the thread
// count (Note [Determinism] in core/parallel.h).
#pragma once
#include <cstdint>

namespace pydl {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc);

}  // namespace pydl
