// The unary elementwise ops (activations and math), each declared once.
//
// Note [Unary op list]: PYDL_UNARY_OPS below is the only list of unary ops in the C++
// code. Each row generates
//   - the UnaryOp enumerator and the kernel dispatch (with_unary_op, used by
//     unary_forward/unary_backward in activation.cpp);
//   - the _core bindings <name>_forward(x, *params) and <name>_backward(grad, x, y, *params)
//     with `params` floats, named as the row's param_names (bind_activation.cpp);
//   - the op's string name (unary_op_info, find_unary_op);
//   - for the rows marked fusable, the GEMM epilogue's activation (gemm/epilogue.h) and
//     linear_act_forward's activation="<name>" (bind_linear.cpp).
// A new op is its functor below plus one row. Outside C++ it needs a NumPy twin in
// pydl/reference, a Python declaration and a test row.
//
// The functors are header-only and depend on core/vec.h alone, so the GEMM's micro-kernels
// (cpp/gemm) include this file to fuse the same definitions into their epilogue.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/vec.h"

// X(name, Type, params, fuse, param_names), one row per op:
//   name    the op's name: _core's <name>_forward / <name>_backward, linear_act's string
//   Type    its functor in pydl::unary: f(x, p0, p1) and df(x, y, p0, p1) = dy/dx
//   params  how many float parameters (p0, p1) the bindings pass on: 0, 1 or 2
//   fuse    No: elementwise kernels only. The GEMM epilogue can apply the others (no params):
//           FromY: the backward needs only the output (df(y, y) is dy/dx at x),
//           FromX: the backward needs the pre-activation x, which the forward saves.
//   param_names  the params' names, space-separated ("" for none): the bindings' keyword
//           names, the same as the reference twin's (checked by tests/test_op_registry.py)
// clang-format off
#define PYDL_UNARY_OPS(X)                                    \
    X(neg,          Neg,         0, No,    ""              ) \
    X(exp,          Exp,         0, No,    ""              ) \
    X(log,          Log,         0, No,    ""              ) \
    X(sqrt,         Sqrt,        0, No,    ""              ) \
    X(abs,          Abs,         0, No,    ""              ) \
    X(clamp,        Clamp,       2, No,    "lo hi"         ) \
    X(sigmoid,      Sigmoid,     0, FromY, ""              ) \
    X(tanh,         Tanh,        0, FromY, ""              ) \
    X(relu,         Relu,        0, FromY, ""              ) \
    X(leaky_relu,   LeakyRelu,   1, No,    "slope"         ) \
    X(elu,          Elu,         1, No,    "alpha"         ) \
    X(selu,         Selu,        0, No,    ""              ) \
    X(gelu,         Gelu,        0, FromX, ""              ) \
    X(gelu_tanh,    GeluTanh,    0, No,    ""              ) \
    X(silu,         Silu,        0, No,    ""              ) \
    X(mish,         Mish,        0, No,    ""              ) \
    X(softplus,     Softplus,    2, No,    "beta threshold") \
    X(softsign,     Softsign,    0, No,    ""              ) \
    X(hard_sigmoid, HardSigmoid, 2, No,    "slope offset"  ) \
    X(hard_tanh,    HardTanh,    2, No,    "lo hi"         ) \
    X(logsigmoid,   LogSigmoid,  0, No,    ""              ) \
    X(tanhshrink,   TanhShrink,  0, No,    ""              ) \
    X(sin,          Sin,         0, No,    ""              ) \
    X(cos,          Cos,         0, No,    ""              ) \
    X(tan,          Tan,         0, No,    ""              ) \
    X(asin,         Asin,        0, No,    ""              ) \
    X(acos,         Acos,        0, No,    ""              ) \
    X(atan,         Atan,        0, No,    ""              ) \
    X(sinh,         Sinh,        0, No,    ""              ) \
    X(cosh,         Cosh,        0, No,    ""              ) \
    X(asinh,        Asinh,       0, No,    ""              ) \
    X(acosh,        Acosh,       0, No,    ""              ) \
    X(atanh,        Atanh,       0, No,    ""              ) \
    X(floor,        Floor,       0, No,    ""              ) \
    X(ceil,         Ceil,        0, No,    ""              ) \
    X(round,        Round,       1, No,    "decimals"      ) \
    X(trunc,        Trunc,       0, No,    ""              ) \
    X(frac,         Frac,        0, No,    ""              ) \
    X(sign,         Sign,        0, No,    ""              ) \
    X(erf,          Erf,         0, No,    ""              ) \
    X(erfc,         Erfc,        0, No,    ""              ) \
    X(erfinv,       Erfinv,      0, No,    ""              ) \
    X(exp2,         Exp2,        0, No,    ""              ) \
    X(expm1,        Expm1,       0, No,    ""              ) \
    X(log2,         Log2,        0, No,    ""              ) \
    X(log10,        Log10,       0, No,    ""              ) \
    X(log1p,        Log1p,       0, No,    ""              ) \
    X(rsqrt,        Rsqrt,       0, No,    ""              ) \
    X(reciprocal,   Reciprocal,  0, No,    ""              ) \
    X(square,       Square,      0, No,    ""              ) \
    X(sinc,         Sinc,        0, No,    ""              ) \
    X(deg2rad,      Deg2Rad,     0, No,    ""              ) \
    X(rad2deg,      Rad2Deg,     0, No,    ""              ) \
    X(logit,        Logit,       1, No,    "eps"           ) \
    X(hardswish,    Hardswish,   0, No,    ""              ) \
    X(celu,         Celu,        1, No,    "alpha"         ) \
    X(softshrink,   Softshrink,  1, No,    "lambd"         ) \
    X(hardshrink,   Hardshrink,  1, No,    "lambd"         ) \
    X(threshold,    Threshold,   2, No,    "threshold value")
// clang-format on

namespace pydl {
namespace unary {

// The constants as doubles, each used as T(k): for float, the same value as its float
// literal (checked below), so the float functors compute what they did before they were
// templates.
constexpr double kSeluAlpha = 1.6732632423543772;
constexpr double kSeluScale = 1.0507009873554805;
constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kInvSqrt2 = 0.7071067811865476;
constexpr double kInvSqrt2Pi = 0.3989422804014327;
constexpr double kGeluTanhCubic = 0.044715;
constexpr double kPi = 3.141592653589793;
constexpr double kLn2 = 0.6931471805599453;
constexpr double kLn10 = 2.302585092994046;
constexpr double kTwoOverSqrtPi = 1.1283791670955126;
constexpr double kSqrtPiOver2 = 0.886226925452758;
static_assert(float(kSeluAlpha) == 1.6732632423543772f &&
                  float(kSeluScale) == 1.0507009873554805f &&
                  float(kSqrt2OverPi) == 0.7978845608028654f &&
                  float(kInvSqrt2) == 0.7071067811865476f &&
                  float(kInvSqrt2Pi) == 0.3989422804014327f && float(kGeluTanhCubic) == 0.044715f,
              "a float constant changed with the templates");

// The functors' math in each precision: float through core/vec.h's vectorizable functions,
// double through libm's (exact to an ulp; not vectorized).
namespace math {
PYDL_INLINE float exp(float x) { return vec::exp(x); }
PYDL_INLINE double exp(double x) { return std::exp(x); }
PYDL_INLINE float exp_no_overflow(float x) { return vec::exp_no_overflow(x); }
PYDL_INLINE double exp_no_overflow(double x) { return std::exp(x); }
PYDL_INLINE float log(float x) { return vec::log(x); }
PYDL_INLINE double log(double x) { return std::log(x); }
PYDL_INLINE float sigmoid(float x) { return vec::sigmoid(x); }
PYDL_INLINE double sigmoid(double x) {
    const double e = std::exp(-std::fabs(x));
    const double s = 1.0 / (1.0 + e);
    return x >= 0 ? s : e * s;
}
PYDL_INLINE float tanh(float x) { return vec::tanh(x); }
PYDL_INLINE double tanh(double x) { return std::tanh(x); }
PYDL_INLINE float softplus(float x) { return vec::softplus(x); }
PYDL_INLINE double softplus(double x) {
    return (x > 0.0 ? x : 0.0) + std::log1p(std::exp(-std::fabs(x)));
}
PYDL_INLINE float erf(float x) { return vec::erf(x); }
PYDL_INLINE double erf(double x) { return std::erf(x); }
PYDL_INLINE float gelu(float x) { return vec::gelu(x); }
PYDL_INLINE double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x * kInvSqrt2)); }

// The inverse of erf: Giles's single-precision approximation ("Approximating the erfinv
// function", GPU Computing Gems, 2011) refined by two Newton steps on erf(x) = y in double,
// which make it exact to double's precision (PyTorch refines a rational start likewise).
// +-inf at +-1, NaN beyond.
PYDL_INLINE double erfinv(double y) {
    if (!(std::fabs(y) < 1.0))
        return std::fabs(y) == 1.0 ? std::copysign(INFINITY, y)
                                   : std::numeric_limits<double>::quiet_NaN();
    double w = -std::log((1.0 - y) * (1.0 + y)), p;
    if (w < 5.0) {
        w -= 2.5;
        p = 2.81022636e-08;
        for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                         -0.00125372503, -0.00417768164, 0.246640727, 1.50140941})
            p = c + p * w;
    } else {
        w = std::sqrt(w) - 3.0;
        p = -0.000200214257;
        for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682})
            p = c + p * w;
    }
    double x = p * y;
    for (int step = 0; step < 2; ++step)
        x -= (std::erf(x) - y) / (kTwoOverSqrtPi * std::exp(-x * x));
    return x;
}
PYDL_INLINE float erfinv(float y) { return float(erfinv(double(y))); }
}  // namespace math

// max and min that return NaN when either operand is (std::fmax/fmin drop it).
template <typename T>
PYDL_INLINE T nan_max(T a, T b) {
    return a != a || b != b ? a + b : (a > b ? a : b);
}
template <typename T>
PYDL_INLINE T nan_min(T a, T b) {
    return a != a || b != b ? a + b : (a < b ? a : b);
}

// Each op: f(x, p0, p1) and df(x, y, p0, p1), scalar and branch-free (Note [SIMD dispatch]),
// templates over the precision T (float or double: Note [Kernel dtypes] in
// kernels/elementwise.h).
#define PYDL_OP(Name, F, DF)                            \
    struct Name {                                       \
        template <typename T>                           \
        static PYDL_INLINE T f(T x, T p0, T p1) {       \
            (void)p0;                                   \
            (void)p1;                                   \
            return F;                                   \
        }                                               \
        template <typename T>                           \
        static PYDL_INLINE T df(T x, T y, T p0, T p1) { \
            (void)x;                                    \
            (void)y;                                    \
            (void)p0;                                   \
            (void)p1;                                   \
            return DF;                                  \
        }                                               \
    };

PYDL_OP(Neg, -x, T(-1))
PYDL_OP(Exp, math::exp(x), y)
PYDL_OP(Log, math::log(x), T(1) / x)
PYDL_OP(Sqrt, std::sqrt(x), T(0.5) / y)
PYDL_OP(Abs, std::fabs(x), x > 0 ? T(1) : (x < 0 ? T(-1) : T(0)))
// p0 = min, p1 = max: min(max(x, min), max) as PyTorch, so max wins when min > max and a
// NaN (in x or a bound) comes out NaN; the gradient passes where min <= x <= max.
PYDL_OP(Clamp, nan_min(nan_max(x, p0), p1), x >= p0 && x <= p1 ? T(1) : T(0))
PYDL_OP(Sigmoid, math::sigmoid(x), y*(T(1) - y))
PYDL_OP(Tanh, math::tanh(x), T(1) - y * y)
PYDL_OP(Relu, x > 0 ? x : T(0), x > 0 ? T(1) : T(0))
PYDL_OP(LeakyRelu, x >= 0 ? x : p0 * x, x > 0 ? T(1) : p0)                   // p0 = negative slope
PYDL_OP(Elu, x > 0 ? x : p0 * (math::exp(x) - T(1)), x > 0 ? T(1) : y + p0)  // p0 = alpha
PYDL_OP(Selu, T(kSeluScale) * (x > 0 ? x : T(kSeluAlpha) * (math::exp(x) - T(1))),
        x > 0 ? T(kSeluScale) : T(kSeluScale) * T(kSeluAlpha) * math::exp(x))
PYDL_OP(Gelu, math::gelu(x),
        T(0.5) * (T(1) + math::erf(x * T(kInvSqrt2))) +
            x * T(kInvSqrt2Pi) * math::exp_no_overflow(T(-0.5) * x * x))
struct GeluTanh {
    template <typename T>
    static PYDL_INLINE T f(T x, T, T) {
        return T(0.5) * x *
               (T(1) + math::tanh(T(kSqrt2OverPi) * (x + T(kGeluTanhCubic) * x * x * x)));
    }
    template <typename T>
    static PYDL_INLINE T df(T x, T, T, T) {
        const T t = math::tanh(T(kSqrt2OverPi) * (x + T(kGeluTanhCubic) * x * x * x));
        return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * T(kSqrt2OverPi) *
                                         (T(1) + T(3) * T(kGeluTanhCubic) * x * x);
    }
};
struct Silu {
    template <typename T>
    static PYDL_INLINE T f(T x, T, T) {
        return x * math::sigmoid(x);
    }
    template <typename T>
    static PYDL_INLINE T df(T x, T, T, T) {
        const T s = math::sigmoid(x);
        return s * (T(1) + x * (T(1) - s));
    }
};
struct Mish {  // x tanh(softplus(x))
    template <typename T>
    static PYDL_INLINE T f(T x, T, T) {
        return x * math::tanh(math::softplus(x));
    }
    template <typename T>
    static PYDL_INLINE T df(T x, T, T, T) {
        const T t = math::tanh(math::softplus(x));
        return t + x * (T(1) - t * t) * math::sigmoid(x);
    }
};
// p0 = beta, p1 = threshold: linear where beta x > threshold (as PyTorch).
PYDL_OP(Softplus, p0* x > p1 ? x : math::softplus(p0 * x) / p0,
        p0* x > p1 ? T(1) : math::sigmoid(p0 * x))
PYDL_OP(Softsign, x / (T(1) + std::fabs(x)), T(1) / ((T(1) + std::fabs(x)) * (T(1) + std::fabs(x))))
// clamp(p0 x + p1, 0, 1)
PYDL_OP(HardSigmoid, std::min(std::max(p0* x + p1, T(0)), T(1)),
        (p0 * x + p1 > T(0) && p0 * x + p1 < T(1)) ? p0 : T(0))
// clamp(x, p0, p1); zero gradient at and beyond the bounds (as PyTorch)
PYDL_OP(HardTanh, x<p0 ? p0 : (x > p1 ? p1 : x), x> p0&& x < p1 ? T(1) : T(0))
// log(sigmoid(x)) = -softplus(-x), stable for any x; d/dx = sigmoid(-x).
PYDL_OP(LogSigmoid, -math::softplus(-x), math::sigmoid(-x))
struct TanhShrink {  // x - tanh(x); d/dx = tanh(x)^2
    template <typename T>
    static PYDL_INLINE T f(T x, T, T) {
        return x - math::tanh(x);
    }
    template <typename T>
    static PYDL_INLINE T df(T x, T, T, T) {
        const T t = math::tanh(x);
        return t * t;
    }
};
PYDL_OP(Sin, std::sin(x), std::cos(x))
PYDL_OP(Cos, std::cos(x), -std::sin(x))
PYDL_OP(Tan, std::tan(x), T(1) + y * y)
PYDL_OP(Asin, std::asin(x), T(1) / std::sqrt(T(1) - x * x))
PYDL_OP(Acos, std::acos(x), T(-1) / std::sqrt(T(1) - x * x))
PYDL_OP(Atan, std::atan(x), T(1) / (T(1) + x * x))
PYDL_OP(Sinh, std::sinh(x), std::cosh(x))
PYDL_OP(Cosh, std::cosh(x), std::sinh(x))
PYDL_OP(Asinh, std::asinh(x), T(1) / std::sqrt(x * x + T(1)))
PYDL_OP(Acosh, std::acosh(x), T(1) / std::sqrt(x * x - T(1)))
PYDL_OP(Atanh, std::atanh(x), T(1) / (T(1) - x * x))
// The rounding ops and sign are piecewise constant: zero gradient, as PyTorch's.
PYDL_OP(Floor, std::floor(x), T(0))
PYDL_OP(Ceil, std::ceil(x), T(0))
PYDL_OP(Trunc, std::trunc(x), T(0))
PYDL_OP(Frac, x - std::trunc(x), T(1))
PYDL_OP(Sign, T(T(0) < x) - T(x < T(0)), T(0))  // 0 for NaN, as PyTorch's
// p0 = decimals: half to even at that decimal (PyTorch's formula: x * 10^d rounded, / 10^d;
// x / 10^-d rounded, * 10^-d for negative d).
struct Round {
    template <typename T>
    static PYDL_INLINE T f(T x, T p0, T) {
        if (p0 == T(0)) return std::nearbyint(x);
        const T ten = T(std::pow(T(10), std::fabs(p0)));
        return p0 > T(0) ? std::nearbyint(x * ten) / ten : std::nearbyint(x / ten) * ten;
    }
    template <typename T>
    static PYDL_INLINE T df(T, T, T, T) {
        return T(0);
    }
};
PYDL_OP(Erf, std::erf(x), T(kTwoOverSqrtPi) * std::exp(-x * x))
PYDL_OP(Erfc, std::erfc(x), -T(kTwoOverSqrtPi) * std::exp(-x * x))
PYDL_OP(Erfinv, math::erfinv(x), T(kSqrtPiOver2) * std::exp(y * y))
PYDL_OP(Exp2, std::exp2(x), y* T(kLn2))
PYDL_OP(Expm1, std::expm1(x), y + T(1))
PYDL_OP(Log2, std::log2(x), T(1) / (x * T(kLn2)))
PYDL_OP(Log10, std::log10(x), T(1) / (x * T(kLn10)))
PYDL_OP(Log1p, std::log1p(x), T(1) / (T(1) + x))
PYDL_OP(Rsqrt, T(1) / std::sqrt(x), T(-0.5) * y * y * y)
PYDL_OP(Reciprocal, T(1) / x, -y* y)
PYDL_OP(Square, x* x, T(2) * x)
// sin(pi x) / (pi x), 1 at 0; d/dx = (cos(pi x) - sinc(x)) / x, 0 at 0.
PYDL_OP(Sinc, x == T(0) ? T(1) : std::sin(T(kPi) * x) / (T(kPi) * x),
        x == T(0) ? T(0) : (std::cos(T(kPi) * x) - y) / x)
PYDL_OP(Deg2Rad, x* T(kPi / 180), T(kPi / 180))
PYDL_OP(Rad2Deg, x* T(180 / kPi), T(180 / kPi))
// log(z / (1 - z)), z = clamp(x, eps, 1 - eps) with p0 = eps, or z = x when p0 < 0 (eps=None).
// The gradient 1 / (x (1 - x)) is 0 outside [eps, 1 - eps], NaN outside [0, 1] without eps
// (PyTorch's logit_backward).
struct Logit {
    template <typename T>
    static PYDL_INLINE T f(T x, T p0, T) {
        const T z = p0 < T(0) ? x : std::min(std::max(x, p0), T(1) - p0);
        return std::log(z / (T(1) - z));
    }
    template <typename T>
    static PYDL_INLINE T df(T x, T, T p0, T) {
        const T lo = p0 < T(0) ? T(0) : p0, hi = T(1) - lo;
        if (x < lo || x > hi) return p0 < T(0) ? std::numeric_limits<T>::quiet_NaN() : T(0);
        return T(1) / (x * (T(1) - x));
    }
};
// x relu6(x + 3) / 6; d/dx = 0 below -3, x / 3 + 1/2 up to 3, 1 above (PyTorch's).
PYDL_OP(Hardswish, x* std::min(std::max(x + T(3), T(0)), T(6)) / T(6),
        x < T(-3) ? T(0) : (x <= T(3) ? x / T(3) + T(0.5) : T(1)))
// p0 = alpha: x if x > 0 else alpha (e^(x / alpha) - 1)
PYDL_OP(Celu, x > 0 ? x : p0 * (math::exp(x / p0) - T(1)), x > 0 ? T(1) : y / p0 + T(1))
// p0 = lambd: x -+ lambd beyond +-lambd, else 0
PYDL_OP(Softshrink, x > p0 ? x - p0 : (x < -p0 ? x + p0 : T(0)), x > p0 || x < -p0 ? T(1) : T(0))
PYDL_OP(Hardshrink, x > p0 || x < -p0 ? x : T(0), x > p0 || x < -p0 ? T(1) : T(0))
// p0 = threshold, p1 = value: value where x <= threshold (NaN stays NaN), as PyTorch's
PYDL_OP(Threshold, x <= p0 ? p1 : x, x <= p0 ? T(0) : T(1))
#undef PYDL_OP

}  // namespace unary

// Everything below is generated from PYDL_UNARY_OPS.

enum class UnaryOp : int {
#define PYDL_X(name, Type, params, fuse, param_names) Type,
    PYDL_UNARY_OPS(PYDL_X)
#undef PYDL_X
};

// How the GEMM epilogue can apply an op (the list's `fuse` column).
enum class UnaryFuse { No, FromY, FromX };

struct UnaryOpInfo {
    const char* name;
    int params;
    UnaryFuse fuse;
    const char* param_names;  // `params` names, space-separated
};

inline constexpr UnaryOpInfo kUnaryOps[] = {
#define PYDL_X(name, Type, params, fuse, param_names) {#name, params, UnaryFuse::fuse, param_names},
    PYDL_UNARY_OPS(PYDL_X)
#undef PYDL_X
};
inline constexpr int kNumUnaryOps = int(sizeof(kUnaryOps) / sizeof(kUnaryOps[0]));

constexpr const UnaryOpInfo& unary_op_info(UnaryOp op) { return kUnaryOps[int(op)]; }
constexpr bool fusable(UnaryOp op) { return unary_op_info(op).fuse != UnaryFuse::No; }

// The number of space-separated words in `s`.
constexpr int count_words(const char* s) {
    int n = 0;
    for (bool in_word = false; *s; ++s) {
        if (*s != ' ' && !in_word) ++n;
        in_word = *s != ' ';
    }
    return n;
}

// The list's checks: at most two parameters, one name for each, and none for a fused op (the
// epilogue has none to pass).
constexpr bool unary_list_ok() {
    for (const UnaryOpInfo& op : kUnaryOps)
        if (op.params < 0 || op.params > 2 || (op.fuse != UnaryFuse::No && op.params != 0) ||
            count_words(op.param_names) != op.params)
            return false;
    return true;
}
static_assert(unary_list_ok(),
              "PYDL_UNARY_OPS: params must be 0-2, one name each, and 0 for a fusable op");

// The op named `name` (UnaryOp value in *op); false if there is none.
inline bool find_unary_op(const char* name, UnaryOp* op) {
    for (int i = 0; i < kNumUnaryOps; ++i) {
        if (std::strcmp(kUnaryOps[i].name, name) == 0) {
            *op = UnaryOp(i);
            return true;
        }
    }
    return false;
}

// UnaryFunctor<op>: op's functor type in pydl::unary.
template <UnaryOp Op>
struct UnaryFunctorOf;
#define PYDL_X(name, Type, params, fuse, param_names) \
    template <>                                       \
    struct UnaryFunctorOf<UnaryOp::Type> {            \
        using type = unary::Type;                     \
    };
PYDL_UNARY_OPS(PYDL_X)
#undef PYDL_X
template <UnaryOp Op>
using UnaryFunctor = typename UnaryFunctorOf<Op>::type;

// fn(std::integral_constant<UnaryOp, op>()) for the run-time `op`: the one switch over the
// ops, for every caller that needs the op as a compile-time constant.
template <typename Fn>
PYDL_INLINE decltype(auto) with_unary_op(UnaryOp op, Fn&& fn) {
    switch (op) {
#define PYDL_X(name, Type, params, fuse, param_names) \
    case UnaryOp::Type:                               \
        return fn(std::integral_constant<UnaryOp, UnaryOp::Type>());
        PYDL_UNARY_OPS(PYDL_X)
#undef PYDL_X
    }
    __builtin_unreachable();  // a UnaryOp only comes from the list
}

}  // namespace pydl
