// CPU features detected at run time (the build never assumes them).
#pragma once
#include <string>

namespace pydl {

bool cpu_has_avx2_fma();
// "avx512f", "avx2+fma", "neon" or "generic": the widest SIMD level pydl can use here.
std::string simd_level();

}  // namespace pydl
