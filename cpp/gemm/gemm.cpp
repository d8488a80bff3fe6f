// A plain cache-blocked GEMM: op(A) and op(B) are packed into row-major blocks,
// then an i-k-j loop whose inner loop over N the compiler vectorizes. The
// BLIS-style packed micro-kernel design replaces this (GEMM issue).
#include "gemm/gemm.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"

namespace pydl {

namespace {
constexpr int64_t kBlockM = 64;   // rows of C per task
constexpr int64_t kBlockK = 256;  // depth of one packed panel
constexpr int64_t kBlockN = 512;  // columns of C per task

// Copy the kb x nb block of op(B) starting at (k0, j0) into dst (row-major, nb wide).
void pack_b(bool trans_b, const float* b, int64_t ldb, int64_t k0, int64_t j0, int64_t kb,
            int64_t nb, float* dst) {
    for (int64_t p = 0; p < kb; ++p)
        for (int64_t j = 0; j < nb; ++j)
            dst[p * nb + j] = trans_b ? b[(j0 + j) * ldb + k0 + p] : b[(k0 + p) * ldb + j0 + j];
}

inline float a_at(bool trans_a, const float* a, int64_t lda, int64_t i, int64_t p) {
    return trans_a ? a[p * lda + i] : a[i * lda + p];
}
}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    const int64_t m_blocks = (m + kBlockM - 1) / kBlockM;
    const int64_t n_blocks = (n + kBlockN - 1) / kBlockN;
    const int64_t work = m * n * std::max<int64_t>(k, 1);
    // Tiny products are not worth waking threads for.
    const int64_t grain = work < (1 << 15) ? m_blocks * n_blocks : 1;
    parallel_for(0, m_blocks * n_blocks, grain, [&](int64_t lo, int64_t hi) {
        // Per-thread scratch, reused across calls (no allocation per call).
        thread_local std::vector<float> bpack, acc;
        bpack.resize(kBlockK * kBlockN);
        acc.resize(kBlockM * kBlockN);
        for (int64_t task = lo; task < hi; ++task) {
            const int64_t i0 = (task / n_blocks) * kBlockM, j0 = (task % n_blocks) * kBlockN;
            const int64_t mb = std::min(kBlockM, m - i0), nb = std::min(kBlockN, n - j0);
            std::fill(acc.begin(), acc.begin() + mb * nb, 0.0f);
            for (int64_t k0 = 0; k0 < k; k0 += kBlockK) {
                const int64_t kb = std::min(kBlockK, k - k0);
                pack_b(trans_b, b, ldb, k0, j0, kb, nb, bpack.data());
                for (int64_t i = 0; i < mb; ++i) {
                    float* acc_row = acc.data() + i * nb;
                    for (int64_t p = 0; p < kb; ++p) {
                        const float av = a_at(trans_a, a, lda, i0 + i, k0 + p);
                        const float* brow = bpack.data() + p * nb;
                        for (int64_t j = 0; j < nb; ++j) acc_row[j] += av * brow[j];
                    }
                }
            }
            for (int64_t i = 0; i < mb; ++i) {
                float* crow = c + (i0 + i) * ldc + j0;
                const float* acc_row = acc.data() + i * nb;
                if (beta == 0.0f) {
                    for (int64_t j = 0; j < nb; ++j) crow[j] = alpha * acc_row[j];
                } else {
                    for (int64_t j = 0; j < nb; ++j) crow[j] = alpha * acc_row[j] + beta * crow[j];
                }
            }
        }
    });
}

}  // namespace pydl
