// CPU features detected at run time (the build never assumes them).
#pragma once
#include <string>

namespace pydl {

bool cpu_has_avx2_fma();
// AVX-512F on top of AVX2+FMA (the AVX-512 GEMM kernel uses both).
bool cpu_has_avx512f();
// AVX512_BF16 (vdpbf16ps: bf16 pair products summed into fp32) on top of AVX-512F.
bool cpu_has_avx512bf16();
// AMX tiles with bf16 products (Sapphire Rapids and later), which the OS lets this
// process use (PYDL_SIMD caps it as it caps AVX-512).
bool cpu_has_amx_bf16();
// "avx512f", "avx2+fma", "neon" or "generic": the widest SIMD level pydl uses here. The
// environment variable PYDL_SIMD=generic or avx2 lowers it (for testing every code path).
std::string simd_level();

}  // namespace pydl
