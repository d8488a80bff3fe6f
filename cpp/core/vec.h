// Vectorizable math and run-time SIMD dispatch.
//
// Note [SIMD dispatch]: the build targets baseline x86-64 (or the host's baseline
// elsewhere). Hot loops are written once over plain scalar code and compiled three times:
// baseline, PYDL_TARGET_AVX2 (AVX2+FMA) and PYDL_TARGET_AVX512; vec::simd_call and
// vec::simd_chunks (below) run the widest copy the CPU has (PYDL_SIMD lowers it, for
// tests). The scalar functions below are branch-free so the compiler vectorizes them;
// they are the portable definition (house style 4). Only the GEMM's micro-kernels,
// packing and dot paths choose their copies themselves.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/cpu.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define PYDL_HAVE_AVX2_DISPATCH 1
#define PYDL_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define PYDL_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define PYDL_HAVE_AVX2_DISPATCH 0
#define PYDL_TARGET_AVX2
#define PYDL_TARGET_AVX512
#endif
#define PYDL_INLINE inline __attribute__((always_inline))
#define PYDL_INLINE_LAMBDA __attribute__((always_inline))

namespace pydl {

// True once per process when the AVX2 copies may run.
inline bool use_avx2() {
#if PYDL_HAVE_AVX2_DISPATCH
    static const bool ok = cpu_has_avx2_fma();
    return ok;
#else
    return false;
#endif
}

// True once per process when AVX-512F code (the GEMM micro-kernel) may run.
inline bool use_avx512() {
#if PYDL_HAVE_AVX2_DISPATCH
    static const bool ok = cpu_has_avx512f();
    return ok;
#else
    return false;
#endif
}

namespace vec {

PYDL_INLINE float bits_to_float(int32_t i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}
PYDL_INLINE int32_t float_to_bits(float f) {
    int32_t i;
    std::memcpy(&i, &f, sizeof i);
    return i;
}

// e^x for x already in [-87.3, 88.7] (Cephes expf): x = n ln2 + r, |r| <= ln2/2,
// polynomial in r, scaled by 2^n.
PYDL_INLINE float exp_in_range(float x) {
    // Round to nearest by adding and subtracting 1.5 * 2^23 (vectorizes without SSE4.1).
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * bits_to_float((int32_t(n) + 127) << 23);  // n in [-126, 128]
}

// e^x to about 2 ulp. Saturates to 0 below -87.3 and to +inf above 88.7; NaN propagates.
PYDL_INLINE float exp(float x) {
    float xc = x < -87.3f ? -87.3f : x;
    xc = xc > 88.7f ? 88.7f : xc;
    xc = x != x ? 0.0f : xc;  // keep the integer conversion defined for NaN
    float y = exp_in_range(xc);
    y = x > 88.7f ? INFINITY : y;
    y = x < -87.3f ? 0.0f : y;
    return x != x ? x : y;
}

// exp for arguments that cannot overflow (x <= 88.7), without exp's overflow and NaN
// selects: a NaN argument gives a finite value, so callers whose x may be NaN pass the
// NaN on themselves. erf and GELU's derivative use it (GELU forward on this Zen 4: 0.95
// -> 0.77 ns per float).
PYDL_INLINE float exp_no_overflow(float x) {
    const float y = exp_in_range(x >= -87.3f ? x : -87.3f);  // NaN -> -87.3 as well
    return x < -87.3f ? 0.0f : y;
}

// Natural log for x > 0 (Cephes logf); log(0) = -inf, log(x < 0) = NaN, log(inf) = inf.
PYDL_INLINE float log(float x) {
    // A subnormal x has no implicit leading bit: scale it by 2^23 into the normal range
    // first and take 23 off the exponent (log(1e-45) is -103.28, not -88.03).
    const bool subnormal = x > 0.0f && x < 1.17549435e-38f;
    const int32_t bits = float_to_bits(subnormal ? x * 8388608.0f : x);
    int32_t e = ((bits >> 23) & 0xff) - (subnormal ? 126 + 23 : 126);
    float m = bits_to_float((bits & 0x007fffff) | 0x3f000000);  // mantissa in [0.5, 1)
    const bool small = m < 0.707106781186547524f;
    e = small ? e - 1 : e;
    m = small ? m + m - 1.0f : m - 1.0f;
    const float z = m * m;
    float p = 7.0376836292e-2f;
    p = p * m - 1.1514610310e-1f;
    p = p * m + 1.1676998740e-1f;
    p = p * m - 1.2420140846e-1f;
    p = p * m + 1.4249322787e-1f;
    p = p * m - 1.6668057665e-1f;
    p = p * m + 2.0000714765e-1f;
    p = p * m - 2.4999993993e-1f;
    p = p * m + 3.3333331174e-1f;
    float y = p * m * z;
    const float fe = float(e);
    y += fe * -2.12194440e-4f;
    y += -0.5f * z;
    y = m + y + fe * 0.693359375f;
    y = x == 0.0f ? -INFINITY : y;
    y = x < 0.0f ? NAN : y;
    y = x == INFINITY ? INFINITY : y;
    return x != x ? x : y;
}

// Logistic sigmoid, exact at the tails (no overflow: exp of a non-positive number).
PYDL_INLINE float sigmoid(float x) {
    const float e = vec::exp(-std::fabs(x));
    const float s = 1.0f / (1.0f + e);
    return x >= 0 ? s : e * s;
}

// tanh: an odd polynomial near 0 (Cephes tanhf), 1 - 2 / (e^(2|x|) + 1) elsewhere.
PYDL_INLINE float tanh(float x) {
    const float a = std::fabs(x);
    const float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = x + x * z * p;
    const float big = std::copysign(1.0f - 2.0f / (vec::exp(2.0f * a) + 1.0f), x);
    return a < 0.625f ? small : big;
}

// log(1 + e^x), stable for any x.
PYDL_INLINE float softplus(float x) {
    const float e = vec::exp(-std::fabs(x));
    // log1p(e) for e in (0, 1]: log(1 + e) corrected by the rounding of 1 + e.
    const float u = 1.0f + e;
    const float l = vec::log(u);
    const float log1p = u == 1.0f ? e : l * (e / (u - 1.0f));
    return (x > 0.0f ? x : 0.0f) + log1p;
}

// erf to 1.2e-7 absolute: Abramowitz & Stegun 7.1.26 refined (Numerical Recipes erfc).
PYDL_INLINE float erf(float x) {
    const float a = std::fabs(x);
    const float t = 1.0f / (1.0f + 0.5f * a);
    float p = 0.17087277f;
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    const float erfc = t * vec::exp_no_overflow(-a * a + p);
    const float r = std::copysign(1.0f - erfc, x);
    return x != x ? x : r;
}

// GELU's exact form x Phi(x) (the activation kernel and the GEMM epilogue).
PYDL_INLINE float gelu(float x) { return 0.5f * x * (1.0f + erf(x * 0.7071067811865476f)); }

// simd_call(fn) runs fn() in a copy compiled for the widest instruction set the CPU has:
// generic, AVX2+FMA or AVX-512 (Note [SIMD dispatch]). fn must be an always-inline lambda
// (PYDL_INLINE_LAMBDA), so that its body, and the PYDL_INLINE loops it calls, are compiled
// into each copy. simd_chunks(fn) wraps a parallel_for chunk function fn(lo, hi) the same
// way. The transcendental loops gain from AVX-512 (instruction-bound on Zen 4: GELU's
// backward 5.8 -> 3.4 ms on 2M floats); memory-bound ones do not mind.
template <typename Fn>
void call_generic(Fn& fn) {
    fn();
}
template <typename Fn>
PYDL_TARGET_AVX2 void call_avx2(Fn& fn) {
    fn();
}
template <typename Fn>
PYDL_TARGET_AVX512 void call_avx512(Fn& fn) {
    fn();
}
template <typename Fn>
PYDL_INLINE void simd_call(Fn fn) {
    if (use_avx512())
        call_avx512(fn);
    else if (use_avx2())
        call_avx2(fn);
    else
        call_generic(fn);
}
template <typename Fn>
auto simd_chunks(Fn fn) {
    return [fn](int64_t lo, int64_t hi) { simd_call([&]() PYDL_INLINE_LAMBDA { fn(lo, hi); }); };
}

// Row reductions as kLanes partial results combined in a fixed order. A single running
// sum or max is a serial chain the compiler may not reorder (no -ffast-math), so it runs
// one element per add latency; lanes vectorize, and the order still depends only on n
// (Note [Determinism]). The sum is of f(i) over [0, n) in Acc: double, or uint64_t for
// integer sums that wrap around as NumPy's.
constexpr int64_t kLanes = 8;
template <typename Acc = double, typename F>
PYDL_INLINE Acc lane_sum(int64_t n, F f) {
    Acc acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int64_t j = 0; j < kLanes; ++j) acc[j] += Acc(f(i + j));
    Acc s = 0;
    for (int64_t j = 0; j < kLanes; ++j) s += acc[j];
    for (; i < n; ++i) s += Acc(f(i));
    return s;
}
// The largest x[i] (NaN never wins: the caller's arithmetic propagates it); -inf if n == 0.
PYDL_INLINE float lane_max(const float* x, int64_t n) {
    float acc[kLanes];
    for (int64_t j = 0; j < kLanes; ++j) acc[j] = -INFINITY;
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int64_t j = 0; j < kLanes; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    float m = -INFINITY;
    for (int64_t j = 0; j < kLanes; ++j) m = acc[j] > m ? acc[j] : m;
    for (; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
}

}  // namespace vec
}  // namespace pydl
