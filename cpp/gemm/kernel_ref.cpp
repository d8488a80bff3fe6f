#include "gemm/microkernel.h"

namespace pydl::gemm {

void microkernel_ref(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                     int64_t rs_b, float* c, int64_t ldc, int mr, int nr, float alpha, float beta,
                     const Epilogue* ep) {
    for (int r = 0; r < mr; ++r) {
        for (int j = 0; j < nr; ++j) {
            float acc = 0.0f;
            for (int64_t p = 0; p < kc; ++p) acc += a[r * rs_a + p * cs_a] * b[p * rs_b + j];
            finish_element(c + r * ldc + j, acc, alpha, beta, ep, r, j);
        }
    }
}

void dot_tile_ref(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, int mr,
                  int nr, float out[kDotTileRows][kDotTileCols]) {
    for (int r = 0; r < mr; ++r)
        for (int c = 0; c < nr; ++c) {
            float s = 0.0f;
            for (int64_t p = 0; p < k; ++p) s += a[r * lda + p] * b[c * ldb + p];
            out[r][c] = s;
        }
}

}  // namespace pydl::gemm
