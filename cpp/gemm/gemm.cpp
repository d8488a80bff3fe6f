// A packed, cache-blocked GEMM with a portable register-tile micro-kernel.
//
// Layering as BLIS: for each (NC columns, KC depth) block, op(B) is packed into
// NR-column panels and op(A) into MR-row panels (transposes are absorbed while
// packing, edges zero-padded); a micro-kernel then computes MR x NR tiles of C in
// registers. The micro-kernel is plain C++ with constant trip counts that the
// compiler unrolls and vectorizes, compiled for baseline and for AVX2+FMA (Note
// [SIMD dispatch] in core/vec.h). The GEMM issue replaces it with hand-written
// micro-kernels and tuned blocking.
#include "gemm/gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/vec.h"

namespace pydl {

namespace {

constexpr int64_t kMR = 6;     // rows of a register tile (12 accumulators)
constexpr int64_t kNR = 16;    // columns of a register tile (2 AVX vectors)
constexpr int64_t kKC = 256;   // depth of a packed block: an NR panel of B is 16 KiB
constexpr int64_t kNC = 4096;  // columns of B packed at once
constexpr int64_t kTaskRows = 72;  // rows of C per task (12 MR panels)
constexpr int64_t kTaskCols = 64;  // columns of C per task (4 NR panels)
// Below this many multiply-adds, one thread is faster than waking a second.
constexpr int64_t kParallelWork = int64_t(1) << 20;

// Pack rows [0, m) x depth [p0, p0 + kc) of op(A) into MR-row panels: panel i holds
// kc groups of MR values (row fastest), zero-padded past m.
void pack_a(bool trans, const float* a, int64_t lda, int64_t m, int64_t p0, int64_t kc,
            float* dst) {
    const int64_t panels = (m + kMR - 1) / kMR;
    parallel_for(0, panels, std::max<int64_t>(1, 4096 / std::max<int64_t>(kc, 1)),
                 [&](int64_t lo, int64_t hi) {
        for (int64_t ip = lo; ip < hi; ++ip) {
            float* d = dst + ip * kMR * kc;
            for (int64_t p = 0; p < kc; ++p)
                for (int64_t r = 0; r < kMR; ++r) {
                    const int64_t i = ip * kMR + r;
                    d[p * kMR + r] = i < m ? (trans ? a[(p0 + p) * lda + i] : a[i * lda + p0 + p])
                                           : 0.0f;
                }
        }
    });
}

// Pack depth [p0, p0 + kc) x columns [j0, j0 + nc) of op(B) into NR-column panels.
void pack_b(bool trans, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
            int64_t nc, float* dst) {
    const int64_t panels = (nc + kNR - 1) / kNR;
    parallel_for(0, panels, std::max<int64_t>(1, 4096 / std::max<int64_t>(kc, 1)),
                 [&](int64_t lo, int64_t hi) {
        for (int64_t jp = lo; jp < hi; ++jp) {
            float* d = dst + jp * kNR * kc;
            for (int64_t p = 0; p < kc; ++p)
                for (int64_t c = 0; c < kNR; ++c) {
                    const int64_t j = jp * kNR + c;
                    d[p * kNR + c] = j < nc ? (trans ? b[(j0 + j) * ldb + p0 + p]
                                                     : b[(p0 + p) * ldb + j0 + j])
                                            : 0.0f;
                }
        }
    });
}

// Eight floats as one GCC/Clang vector: a ymm register under AVX2, two xmm
// registers on baseline x86-64, NEON pairs on ARM.
typedef float v8f __attribute__((vector_size(32), aligned(4)));

// C[0:mr, 0:nr] = alpha * A_panel B_panel + (accumulate ? C : beta * C), from an
// MR x NR tile of accumulators held in registers. C is not read when neither
// accumulating nor beta != 0 (so NaN in C does not leak).
PYDL_INLINE void micro_kernel_body(int64_t kc, const float* a, const float* b, float* c,
                                   int64_t ldc, int64_t mr, int64_t nr, float alpha,
                                   float beta, bool accumulate) {
    v8f acc[kMR][2] = {};
    for (int64_t p = 0; p < kc; ++p) {
        const v8f b0 = *reinterpret_cast<const v8f*>(b + p * kNR);
        const v8f b1 = *reinterpret_cast<const v8f*>(b + p * kNR + 8);
        for (int64_t r = 0; r < kMR; ++r) {
            const float av = a[p * kMR + r];
            acc[r][0] += av * b0;
            acc[r][1] += av * b1;
        }
    }
    const float keep = accumulate ? 1.0f : beta;
    const bool read_c = accumulate || beta != 0.0f;
    for (int64_t r = 0; r < mr; ++r) {
        float* crow = c + r * ldc;
        float tile[kNR];
        std::memcpy(tile, &acc[r][0], sizeof(v8f));
        std::memcpy(tile + 8, &acc[r][1], sizeof(v8f));
        if (read_c) {
            for (int64_t j = 0; j < nr; ++j) crow[j] = alpha * tile[j] + keep * crow[j];
        } else {
            for (int64_t j = 0; j < nr; ++j) crow[j] = alpha * tile[j];
        }
    }
}
void micro_kernel_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                          int64_t mr, int64_t nr, float alpha, float beta, bool accumulate) {
    micro_kernel_body(kc, a, b, c, ldc, mr, nr, alpha, beta, accumulate);
}
PYDL_TARGET_AVX2 void micro_kernel_avx2(int64_t kc, const float* a, const float* b, float* c,
                                        int64_t ldc, int64_t mr, int64_t nr, float alpha,
                                        float beta, bool accumulate) {
    micro_kernel_body(kc, a, b, c, ldc, mr, nr, alpha, beta, accumulate);
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {  // C = beta * C, without reading C when beta == 0
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    const bool avx2 = use_avx2();
    const bool parallel = m * n * k >= kParallelWork;
    // Packed blocks, kept per calling thread and reused across calls.
    thread_local std::vector<float> apack, bpack;
    const int64_t m_pad = (m + kMR - 1) / kMR * kMR;
    for (int64_t j0 = 0; j0 < n; j0 += kNC) {
        const int64_t nc = std::min(kNC, n - j0);
        const int64_t nc_pad = (nc + kNR - 1) / kNR * kNR;
        for (int64_t p0 = 0; p0 < k; p0 += kKC) {
            const int64_t kc = std::min(kKC, k - p0);
            apack.resize(m_pad * kc);
            bpack.resize(nc_pad * kc);
            pack_a(trans_a, a, lda, m, p0, kc, apack.data());
            pack_b(trans_b, b, ldb, p0, kc, j0, nc, bpack.data());
            const bool accumulate = p0 > 0;
            const int64_t row_tasks = (m + kTaskRows - 1) / kTaskRows;
            const int64_t col_tasks = (nc + kTaskCols - 1) / kTaskCols;
            const float* ap_all = apack.data();
            const float* bp_all = bpack.data();
            // Tasks tile C; each element is accumulated over K in the same order
            // whatever the thread count (Note [Determinism]).
            parallel_for(0, row_tasks * col_tasks, parallel ? 1 : row_tasks * col_tasks,
                         [&](int64_t lo, int64_t hi) {
                for (int64_t t = lo; t < hi; ++t) {
                    const int64_t i_lo = (t / col_tasks) * kTaskRows;
                    const int64_t i_hi = std::min(m, i_lo + kTaskRows);
                    const int64_t jj_lo = (t % col_tasks) * kTaskCols;
                    const int64_t jj_hi = std::min(nc, jj_lo + kTaskCols);
                    for (int64_t jj = jj_lo; jj < jj_hi; jj += kNR) {
                        const float* bp = bp_all + (jj / kNR) * kNR * kc;
                        for (int64_t i = i_lo; i < i_hi; i += kMR) {
                            const float* ap = ap_all + (i / kMR) * kMR * kc;
                            float* cp = c + i * ldc + j0 + jj;
                            const int64_t mr = std::min(kMR, m - i), nr = std::min(kNR, nc - jj);
                            if (avx2)
                                micro_kernel_avx2(kc, ap, bp, cp, ldc, mr, nr, alpha, beta, accumulate);
                            else
                                micro_kernel_generic(kc, ap, bp, cp, ldc, mr, nr, alpha, beta,
                                                     accumulate);
                        }
                    }
                }
            });
        }
    }
}

}  // namespace pydl
