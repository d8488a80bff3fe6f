#include "core/cpu.h"

namespace pydl {

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

bool cpu_has_avx512f() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && cpu_has_avx2_fma();
#else
    return false;
#endif
}

std::string simd_level() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (cpu_has_avx512f()) return "avx512f";
    if (cpu_has_avx2_fma()) return "avx2+fma";
    return "generic";
#elif defined(__aarch64__)
    return "neon";
#else
    return "generic";
#endif
}

}  // namespace pydl
