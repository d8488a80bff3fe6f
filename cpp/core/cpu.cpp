#include "core/cpu.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace pydl {

namespace {

// PYDL_SIMD=generic or avx2 caps the level below what the CPU has, so the tests can run
// every compiled copy of the kernels on one machine (read at the first kernel call).
bool capped_below(const char* level) {
    const char* cap = std::getenv("PYDL_SIMD");
    if (!cap) return false;
    if (std::strcmp(cap, "generic") == 0) return true;
    return std::strcmp(cap, "avx2") == 0 && std::strcmp(level, "avx512f") == 0;
}

}  // namespace

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !capped_below("avx2");
#else
    return false;
#endif
}

bool cpu_has_avx512f() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && cpu_has_avx2_fma() && !capped_below("avx512f");
#else
    return false;
#endif
}

bool cpu_has_avx512bf16() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && cpu_has_avx512f();
#else
    return false;
#endif
}

bool cpu_has_amx_bf16() {
#if defined(__x86_64__) && defined(__linux__)
    // Linux hands out the tile registers' 8 KiB of state only to a process that asks
    // (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA, kernels 5.16 and later); asked once.
    static const bool permitted = [] {
        unsigned eax, ebx, ecx, edx;
        if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
        const bool amx_tile = edx >> 24 & 1, amx_bf16 = edx >> 22 & 1;
        constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
        return amx_tile && amx_bf16 &&
               syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
    }();
    return permitted && cpu_has_avx512bf16();
#else
    return false;
#endif
}

std::string simd_level() {
#if defined(__x86_64__) || defined(__i386__)
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
