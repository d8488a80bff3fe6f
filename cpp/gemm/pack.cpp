#include "gemm/pack.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "gemm/microkernel.h"

namespace pydl::gemm {

void pack_a(bool trans, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0,
            int64_t kc, float* dst) {
    for (int64_t ip = 0; ip * kMR < mc; ++ip) {
        float* d = dst + ip * kMR * kc;
        const int64_t rows = mc - ip * kMR < kMR ? mc - ip * kMR : kMR;
        const int64_t r0 = i0 + ip * kMR;
        if (!trans && rows == kMR) {
            // Six row streams in, one contiguous stream out.
            const float* s0 = a + r0 * lda + p0;
            for (int64_t p = 0; p < kc; ++p)
                for (int64_t r = 0; r < kMR; ++r) d[p * kMR + r] = s0[r * lda + p];
        } else if (!trans) {
            for (int64_t r = 0; r < rows; ++r) {
                const float* src = a + (r0 + r) * lda + p0;
                for (int64_t p = 0; p < kc; ++p) d[p * kMR + r] = src[p];
            }
        } else {
            for (int64_t p = 0; p < kc; ++p) {
                const float* src = a + (p0 + p) * lda + r0;
                for (int64_t r = 0; r < rows; ++r) d[p * kMR + r] = src[r];
            }
        }
        for (int64_t r = rows; r < kMR; ++r)
            for (int64_t p = 0; p < kc; ++p) d[p * kMR + r] = 0.0f;
    }
}

void pack_b(bool trans, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
            int64_t nc, int64_t jp0, int64_t jp1, float* dst) {
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
        for (int64_t j = 0; j < cols; ++j) {
            const float* src = b + (j0 + c0 + j) * ldb + p0;
            for (int64_t p = 0; p < kc; ++p) d[p * kNR + j] = src[p];
        }
        for (int64_t j = cols; j < kNR; ++j)
            for (int64_t p = 0; p < kc; ++p) d[p * kNR + j] = 0.0f;
    }
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

float* AlignedBuffer::get(int64_t count) {
    if (count > capacity_) {
        std::free(data_);
        // Round up to whole cache lines; aligned_alloc needs a multiple of the alignment.
        const size_t bytes = (size_t(count) * sizeof(float) + 63) / 64 * 64;
        data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
        if (!data_) {
            capacity_ = 0;
            throw std::bad_alloc();
        }
        capacity_ = count;
    }
    return data_;
}

}  // namespace pydl::gemm
