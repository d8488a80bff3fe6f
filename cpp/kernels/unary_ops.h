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
    X(tanhshrink,   TanhShrink,  0, No,    ""              )
// clang-format on

namespace pydl {
namespace unary {

constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

// max and min that return NaN when either operand is (std::fmax/fmin drop it).
PYDL_INLINE float nan_max(float a, float b) { return a != a || b != b ? a + b : (a > b ? a : b); }
PYDL_INLINE float nan_min(float a, float b) { return a != a || b != b ? a + b : (a < b ? a : b); }

// Each op: f(x, p0, p1) and df(x, y, p0, p1), scalar and branch-free (Note [SIMD dispatch]).
#define PYDL_OP(Name, F, DF)                                                \
    struct Name {                                                           \
        static PYDL_INLINE float f(float x, float p0, float p1) {           \
            (void)p0;                                                       \
            (void)p1;                                                       \
            return F;                                                       \
        }                                                                   \
        static PYDL_INLINE float df(float x, float y, float p0, float p1) { \
            (void)x;                                                        \
            (void)y;                                                        \
            (void)p0;                                                       \
            (void)p1;                                                       \
            return DF;                                                      \
        }                                                                   \
    };

PYDL_OP(Neg, -x, -1.0f)
PYDL_OP(Exp, vec::exp(x), y)
PYDL_OP(Log, vec::log(x), 1.0f / x)
PYDL_OP(Sqrt, std::sqrt(x), 0.5f / y)
PYDL_OP(Abs, std::fabs(x), x > 0 ? 1.0f : (x < 0 ? -1.0f : 0.0f))
// p0 = min, p1 = max: min(max(x, min), max) as PyTorch, so max wins when min > max and a
// NaN (in x or a bound) comes out NaN; the gradient passes where min <= x <= max.
PYDL_OP(Clamp, nan_min(nan_max(x, p0), p1), x >= p0 && x <= p1 ? 1.0f : 0.0f)
PYDL_OP(Sigmoid, vec::sigmoid(x), y * (1.0f - y))
PYDL_OP(Tanh, vec::tanh(x), 1.0f - y * y)
PYDL_OP(Relu, x > 0 ? x : 0.0f, x > 0 ? 1.0f : 0.0f)
PYDL_OP(LeakyRelu, x >= 0 ? x : p0 * x, x > 0 ? 1.0f : p0)                  // p0 = negative slope
PYDL_OP(Elu, x > 0 ? x : p0 * (vec::exp(x) - 1.0f), x > 0 ? 1.0f : y + p0)  // p0 = alpha
PYDL_OP(Selu, kSeluScale*(x > 0 ? x : kSeluAlpha * (vec::exp(x) - 1.0f)),
        x > 0 ? kSeluScale : kSeluScale * kSeluAlpha * vec::exp(x))
PYDL_OP(Gelu, vec::gelu(x),
        0.5f * (1.0f + vec::erf(x * kInvSqrt2)) +
            x * kInvSqrt2Pi * vec::exp_no_overflow(-0.5f * x * x))
struct GeluTanh {
    static PYDL_INLINE float f(float x, float, float) {
        return 0.5f * x * (1.0f + vec::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    }
    static PYDL_INLINE float df(float x, float, float, float) {
        const float t = vec::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x));
        return 0.5f * (1.0f + t) +
               0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * x * x);
    }
};
struct Silu {
    static PYDL_INLINE float f(float x, float, float) { return x * vec::sigmoid(x); }
    static PYDL_INLINE float df(float x, float, float, float) {
        const float s = vec::sigmoid(x);
        return s * (1.0f + x * (1.0f - s));
    }
};
struct Mish {  // x tanh(softplus(x))
    static PYDL_INLINE float f(float x, float, float) { return x * vec::tanh(vec::softplus(x)); }
    static PYDL_INLINE float df(float x, float, float, float) {
        const float t = vec::tanh(vec::softplus(x));
        return t + x * (1.0f - t * t) * vec::sigmoid(x);
    }
};
// p0 = beta, p1 = threshold: linear where beta x > threshold (as PyTorch).
PYDL_OP(Softplus, p0* x > p1 ? x : vec::softplus(p0 * x) / p0,
        p0* x > p1 ? 1.0f : vec::sigmoid(p0 * x))
PYDL_OP(Softsign, x / (1.0f + std::fabs(x)), 1.0f / ((1.0f + std::fabs(x)) * (1.0f + std::fabs(x))))
// clamp(p0 x + p1, 0, 1)
PYDL_OP(HardSigmoid, std::min(std::max(p0* x + p1, 0.0f), 1.0f),
        (p0 * x + p1 > 0.0f && p0 * x + p1 < 1.0f) ? p0 : 0.0f)
// clamp(x, p0, p1); zero gradient at and beyond the bounds (as PyTorch)
PYDL_OP(HardTanh, x<p0 ? p0 : (x > p1 ? p1 : x), x> p0&& x < p1 ? 1.0f : 0.0f)
// log(sigmoid(x)) = -softplus(-x), stable for any x; d/dx = sigmoid(-x).
PYDL_OP(LogSigmoid, -vec::softplus(-x), vec::sigmoid(-x))
struct TanhShrink {  // x - tanh(x); d/dx = tanh(x)^2
    static PYDL_INLINE float f(float x, float, float) { return x - vec::tanh(x); }
    static PYDL_INLINE float df(float x, float, float, float) {
        const float t = vec::tanh(x);
        return t * t;
    }
};
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
