// bfloat16 products: the conversion from float and a GEMM whose operands are bf16 and
// whose sums are fp32 (Note [bf16 GEMM] in bf16_gemm.cpp), for autocast.
#pragma once
#include <cstdint>
#include <cstring>

#include "gemm/gemm.h"
#include "gemm/microkernel.h"

namespace pydl {

inline float bf16_to_float(uint16_t h) {
    const uint32_t bits = uint32_t(h) << 16;
    float x;
    std::memcpy(&x, &bits, 4);
    return x;
}

// out[i] = the bf16 bits of x[i], rounded to nearest even as vcvtneps2bf16 rounds: a
// denormal float becomes a zero of its sign, a NaN stays a (quiet) NaN, a finite value past
// bf16's largest rounds to infinity. Packing rounds the same way.
void floats_to_bf16(const float* x, uint16_t* out, int64_t n);

// sgemm's contract (gemm.h), with op(A) and op(B) rounded to bf16 as they are packed and
// the products summed in fp32 as vdpbf16ps sums them: k in pairs, the odd element of a
// pair first, each sum rounded to fp32 (a denormal sum flushed to zero), in depth
// blocks of gemm::kBf16KC; each block's sum is added to C. Bit-identical for any thread
// count and for every kernel but AMX's (the scalar reference emulates the instruction
// exactly; AMX tiles sum in their own order, Note [AMX tile]).
void sbgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
            const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
            int64_t ldc, const gemm::Epilogue* epilogue = nullptr);

// sgemm or sbgemm, by precision.
inline void gemm_f32(Precision precision, bool trans_a, bool trans_b, int64_t m, int64_t n,
                     int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                     int64_t ldb, float beta, float* c, int64_t ldc,
                     const gemm::Epilogue* epilogue = nullptr) {
    if (precision == Precision::BFloat16)
        sbgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
    else
        sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
}

// sgemm_packed for a B packed at Precision::BFloat16 (gemm.h's PackedB).
void sbgemm_prepacked(bool trans_a, int64_t m, float alpha, const float* a, int64_t lda,
                      const PackedB& b, float beta, float* c, int64_t ldc,
                      const gemm::Epilogue* epilogue);

namespace gemm {

// The words op(B) (k x n) takes packed whole for sbgemm (every depth block's panels), and
// the packing itself, for PackedB.
int64_t bf16_packed_b_size(int64_t k, int64_t n);
void pack_b_bf16_whole(bool trans_b, const float* b, int64_t ldb, int64_t k, int64_t n,
                       uint32_t* dst);

constexpr int kBf16MR = 8;         // Note [bf16 tile]
constexpr int kBf16NR = 32;        // two zmm of fp32 sums per row
constexpr int64_t kBf16KC = 1024;  // depth block, in k (an even number: whole pairs)

// The bf16 micro-kernel contract: one kBf16MR x kBf16NR tile of sums over kp pairs of
// packed panels: a holds for each pair kBf16MR words (row r: bf16 of op(A)[r][2q] in the
// low half, of op(A)[r][2q + 1] in the high half), b for each pair kBf16NR such words
// (column j). sums[r][j] receives the tile's fp32 sums (all rows and columns).
using Bf16Kernel = void (*)(int64_t kp, const uint32_t* a, const uint32_t* b,
                            float sums[kBf16MR][kBf16NR]);
// The scalar emulation of vdpbf16ps (any CPU), and the instruction itself (AVX512_BF16 only).
void bf16_kernel_ref(int64_t kp, const uint32_t* a, const uint32_t* b,
                     float sums[kBf16MR][kBf16NR]);
void bf16_kernel_avx512(int64_t kp, const uint32_t* a, const uint32_t* b,
                        float sums[kBf16MR][kBf16NR]);

// The AMX kernel (Note [AMX tile] in kernel_amx.cpp) sums 32 x 32 blocks. Its A is packed
// in groups of kBf16AmxGroup pairs, each group [32 rows][16 pair words], the last group
// padded with zeros; its B is the panel above. For each of `tiles` consecutive A panels
// (a_tile_words apart) it writes the block's fp32 sums over kp pairs into sums[tile],
// between amx_tiles_configure and amx_tiles_release on the same thread (AMX CPUs only).
constexpr int kBf16AmxMR = 32;
constexpr int kBf16AmxGroup = 16;
void amx_tiles_configure();
void amx_tile_block(int64_t tiles, int64_t kp, const uint32_t* a, int64_t a_tile_words,
                    const uint32_t* b, float (*sums)[kBf16AmxMR][kBf16NR]);
void amx_tiles_release();
// peak.h's amx_peak_loop, here beside the kernel it measures.
float amx_loop(int64_t iterations);

// Which bf16 kernel sbgemm uses: "auto" (AMX where the CPU and the OS allow it, else the
// instruction when the CPU has it, else the emulation compiled for AVX2 where the CPU has
// that), "ref", "avx2", "avx512bf16" or "amx" (ValueError on a CPU without the
// instructions). Only "amx" computes other bits than the emulation (Note [AMX tile]).
void set_bf16_kernel(const char* name);
const char* bf16_kernel_name();

}  // namespace gemm
}  // namespace pydl
