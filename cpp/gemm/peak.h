// A pure-FMA loop for measuring the machine's floating-point peak (benchmarks only).
#pragma once
#include <cstdint>

namespace pydl::gemm {

// Runs `iterations` rounds of 12 independent 8-wide FMAs (AVX2) and returns a value
// that depends on every result, so nothing is optimized away. Each round is
// 12 * 8 * 2 = 192 flops. Falls back to scalar code without AVX2.
float fma_peak_loop(int64_t iterations);

// The same shape of loop on 512-bit registers, for CPUs with AVX-512F: 12 independent
// chains of 16-wide FMAs, 384 flops a round (ValueError without AVX-512F).
float fma512_peak_loop(int64_t iterations);

// 12 independent chains of vdpbf16ps (AVX512_BF16): each adds 16 fp32 lanes' two bf16
// products, 12 * 16 * 2 * 2 = 768 flops a round; the ceiling of a bf16 GEMM kernel
// (ValueError without AVX512_BF16).
float bf16_dot_peak_loop(int64_t iterations);

// The AMX kernel's inner step on tiles that stay loaded: four tdpbf16ps into four
// independent 16 x 16 sums from two A and two B tiles, 4 * 16 * 16 * 32 * 2 = 65536 flops
// a round; the ceiling of the AMX GEMM kernel (ValueError without AMX-BF16).
float amx_peak_loop(int64_t iterations);

}  // namespace pydl::gemm
