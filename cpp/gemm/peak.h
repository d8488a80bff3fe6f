// A pure-FMA loop for measuring the machine's floating-point peak (benchmarks only).
#pragma once
#include <cstdint>

namespace pydl::gemm {

// Runs `iterations` rounds of 12 independent 8-wide FMAs (AVX2) and returns a value
// that depends on every result, so nothing is optimized away. Each round is
// 12 * 8 * 2 = 192 flops. Falls back to scalar code without AVX2.
float fma_peak_loop(int64_t iterations);

}  // namespace pydl::gemm
