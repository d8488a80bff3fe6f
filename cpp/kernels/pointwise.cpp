// The pointwise kernels (declared in pointwise.h).
#include "kernels/pointwise.h"

#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/parallel.h"
#include "core/strided.h"
#include "kernels/elementwise.h"

namespace pydl {

namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr double kLn2 = 0.6931471805599453;

template <typename T>
inline bool isnan_(T x) {
    if constexpr (std::is_floating_point_v<T>)
        return x != x;
    else
        return false;
}

// Each op: f(a, b), and for floating T da(a, b), db(a, b).
template <typename T>
struct FmaxOp {
    static T f(T a, T b) { return isnan_(a) ? b : (isnan_(b) ? a : (a > b ? a : b)); }
    // PyTorch's: the gradient goes to a where a >= b or b is NaN, else to b.
    static T da(T a, T b) { return a >= b || isnan_(b) ? T(1) : T(0); }
    static T db(T a, T b) { return T(1) - da(a, b); }
};
template <typename T>
struct FminOp {
    static T f(T a, T b) { return isnan_(a) ? b : (isnan_(b) ? a : (a < b ? a : b)); }
    static T da(T a, T b) { return a <= b || isnan_(b) ? T(1) : T(0); }
    static T db(T a, T b) { return T(1) - da(a, b); }
};
template <typename T>
struct Atan2Op {
    static T f(T a, T b) { return std::atan2(a, b); }
    static T da(T a, T b) { return b / (a * a + b * b); }
    static T db(T a, T b) { return -a / (a * a + b * b); }
};
template <typename T>
struct CopysignOp {
    static T f(T a, T b) { return std::copysign(a, b); }
    // result / a (0 where a == 0), as PyTorch's
    static T da(T a, T b) {
        return a == T(0) ? T(0) : (std::signbit(a) == std::signbit(b) ? T(1) : T(-1));
    }
    static T db(T, T) { return T(0); }
};
template <typename T>
struct LogaddexpOp {
    static T f(T a, T b) {
        if (std::isinf(a) && a == b) return a;  // inf - inf would be NaN
        return std::max(a, b) + std::log1p(std::exp(-std::fabs(a - b)));
    }
    static T da(T a, T b) { return T(1) / (T(1) + std::exp(b - a)); }
    static T db(T a, T b) { return T(1) / (T(1) + std::exp(a - b)); }
};
template <typename T>
struct Logaddexp2Op {
    static T f(T a, T b) {
        if (std::isinf(a) && a == b) return a;
        return std::max(a, b) + std::log1p(std::exp2(-std::fabs(a - b))) / T(kLn2);
    }
    static T da(T a, T b) { return T(1) / (T(1) + std::exp2(b - a)); }
    static T db(T a, T b) { return T(1) / (T(1) + std::exp2(a - b)); }
};
template <typename T>
struct HypotOp {
    static T f(T a, T b) { return std::hypot(a, b); }
    static T da(T a, T b) { return a / std::hypot(a, b); }
    static T db(T a, T b) { return b / std::hypot(a, b); }
};
template <typename T>
struct XlogyOp {
    static T f(T a, T b) {
        if (isnan_(b)) return b;
        return a == T(0) ? T(0) : a * std::log(b);
    }
    // PyTorch's: log(b), 0 where a == 0 and b <= 0; a / b.
    static T da(T a, T b) { return a == T(0) && b <= T(0) ? T(0) : std::log(b); }
    static T db(T a, T b) { return a / b; }
};
template <typename T>
struct FmodOp {
    static T f(T a, T b) {
        if constexpr (std::is_integral_v<T>) {
            if constexpr (std::is_signed_v<T>) {
                if (b == T(-1)) return T(0);  // INT_MIN % -1 traps
            }
            return T(a % b);
        } else {
            return std::fmod(a, b);
        }
    }
    static T da(T, T) { return T(1); }
    static T db(T a, T b) { return -std::trunc(a / b); }
};
template <typename T>
struct DivTruncOp {
    static T f(T a, T b) {
        if constexpr (std::is_integral_v<T>) {
            if constexpr (std::is_signed_v<T>) {
                if (b == T(-1)) return T(std::make_unsigned_t<T>(0) - std::make_unsigned_t<T>(a));
            }
            return T(a / b);
        } else {
            return std::trunc(a / b);
        }
    }
    static T da(T, T) { return T(0); }
    static T db(T, T) { return T(0); }
};
// Python's and PyTorch's floor division. Floats: PyTorch's div_floor_floating, which
// rounds floor((a - fmod(a, b)) / b) so that a == b * q + remainder(a, b) holds exactly.
template <typename T>
struct FloorDivideOp {
    static T f(T a, T b) {
        if constexpr (std::is_integral_v<T>) {
            const T q = DivTruncOp<T>::f(a, b);
            if constexpr (std::is_signed_v<T>) {
                if (b != T(-1) && a % b != 0 && ((a < 0) != (b < 0))) return T(q - 1);
            }
            return q;
        } else {
            if (b == T(0)) return a / b;
            const T mod = std::fmod(a, b);
            T div = (a - mod) / b;
            if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
            if (div == T(0)) return std::copysign(T(0), a / b);
            T q = std::floor(div);
            if (div - q > T(0.5)) q += T(1);
            return q;
        }
    }
    static T da(T, T) { return T(0); }
    static T db(T, T) { return T(0); }
};

template <typename Op, typename T>
void forward_impl(const T* a, const Shape& as, const T* b, const Shape& bs, T* out,
                  const Shape& os) {
    std::array<Shape, 3> st{contiguous_strides(os), broadcast_strides(as, os),
                            broadcast_strides(bs, os)};
    for_each_row<3>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
        T* o = out + off[0];
        const T* pa = a + off[1];
        const T* pb = b + off[2];
        if (inc[1] == 1 && inc[2] == 1) {
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(pa[i], pb[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(pa[i * inc[1]], pb[i * inc[2]]);
        }
    });
}

// grad_x = sum back to x's shape of grad * dOp/dx (straight into grad_x when x has the
// output's size).
template <typename Op, bool WrtA, typename T>
void backward_one(const T* grad, const Shape& os, const T* a, const Shape& as, const T* b,
                  const Shape& bs, T* grad_x, const Shape& xs) {
    const bool direct = numel(xs) == numel(os);
    Scratch<T> tmp(direct ? 0 : numel(os));
    T* dst = direct ? grad_x : tmp.data();
    std::array<Shape, 3> st{contiguous_strides(os), broadcast_strides(as, os),
                            broadcast_strides(bs, os)};
    for_each_row<3>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
        T* o = dst + off[0];
        const T* g = grad + off[0];
        const T* pa = a + off[1];
        const T* pb = b + off[2];
        for (int64_t i = 0; i < n; ++i) {
            const T av = pa[i * inc[1]], bv = pb[i * inc[2]];
            o[i] = g[i] * (WrtA ? Op::da(av, bv) : Op::db(av, bv));
        }
    });
    if (!direct) sum_to_shape(tmp.data(), os, grad_x, xs);
}

// fn(Op<T>()) for the run-time op.
template <typename T, typename Fn>
void with_op(PointwiseOp op, Fn&& fn) {
    switch (op) {
        case PointwiseOp::Fmax:
            return fn(FmaxOp<T>());
        case PointwiseOp::Fmin:
            return fn(FminOp<T>());
        case PointwiseOp::Fmod:
            return fn(FmodOp<T>());
        case PointwiseOp::FloorDivide:
            return fn(FloorDivideOp<T>());
        case PointwiseOp::DivTrunc:
            return fn(DivTruncOp<T>());
        default:
            break;
    }
    if constexpr (std::is_floating_point_v<T>) {
        switch (op) {
            case PointwiseOp::Atan2:
                return fn(Atan2Op<T>());
            case PointwiseOp::Copysign:
                return fn(CopysignOp<T>());
            case PointwiseOp::Logaddexp:
                return fn(LogaddexpOp<T>());
            case PointwiseOp::Logaddexp2:
                return fn(Logaddexp2Op<T>());
            case PointwiseOp::Hypot:
                return fn(HypotOp<T>());
            case PointwiseOp::Xlogy:
                return fn(XlogyOp<T>());
            default:
                break;
        }
    }
    PYDL_CHECK(false, ValueError, "pointwise: this op takes floating-point tensors only");
}

template <typename T, typename Fn>
void for_each_index(int64_t n, Fn&& fn) {
    parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) fn(i);
    });
}

}  // namespace

template <typename T>
void pointwise_binary_forward(PointwiseOp op, const T* a, const Shape& as, const T* b,
                              const Shape& bs, T* out, const Shape& os) {
    if constexpr (std::is_integral_v<T>) {
        // Integer division by zero traps (SIGFPE): PyTorch's error, before any write.
        if (op == PointwiseOp::Fmod || op == PointwiseOp::FloorDivide ||
            op == PointwiseOp::DivTrunc) {
            const int64_t nb = numel(bs);
            bool zero = false;
            for (int64_t i = 0; i < nb; ++i) zero |= b[i] == 0;
            PYDL_CHECK(!zero || numel(os) == 0, ValueError,
                       "integer division by zero (ZeroDivisionError)");
        }
    }
    with_op<T>(op, [&](auto o) { forward_impl<decltype(o)>(a, as, b, bs, out, os); });
}

template <typename T>
void pointwise_binary_backward(PointwiseOp op, const T* grad, const Shape& os, const T* a,
                               const Shape& as, const T* b, const Shape& bs, T* ga, T* gb) {
    with_op<T>(op, [&](auto o) {
        using Op = decltype(o);
        if (ga) backward_one<Op, true>(grad, os, a, as, b, bs, ga, as);
        if (gb) backward_one<Op, false>(grad, os, a, as, b, bs, gb, bs);
    });
}

template <typename T>
void classify_forward(Classify what, const T* x, bool* out, int64_t n) {
    const auto run = [&](auto pred) {
        for_each_index<T>(n, [&](int64_t i) { out[i] = pred(x[i]); });
    };
    constexpr T inf = std::numeric_limits<T>::infinity();
    switch (what) {
        case Classify::IsNan:
            return run([](T v) { return v != v; });
        case Classify::IsInf:
            return run([](T v) { return v == inf || v == -inf; });
        case Classify::IsPosInf:
            return run([](T v) { return v == inf; });
        case Classify::IsNegInf:
            return run([](T v) { return v == -inf; });
        case Classify::IsFinite:
            return run([](T v) { return v - v == T(0); });  // NaN for inf and NaN
        case Classify::Signbit:
            return run([](T v) { return bool(std::signbit(v)); });
    }
}

template <typename T>
void nan_to_num_forward(const T* x, T* y, int64_t n, T nan, T posinf, T neginf) {
    constexpr T inf = std::numeric_limits<T>::infinity();
    for_each_index<T>(n, [&](int64_t i) {
        const T v = x[i];
        y[i] = v != v ? nan : (v == inf ? posinf : (v == -inf ? neginf : v));
    });
}

template <typename T>
void nan_to_num_backward(const T* grad, const T* x, T* grad_x, int64_t n) {
    for_each_index<T>(n, [&](int64_t i) { grad_x[i] = x[i] - x[i] == T(0) ? grad[i] : T(0); });
}

template <typename T>
void bitwise_forward(BitwiseOp op, const T* a, const Shape& as, const T* b, const Shape& bs, T* out,
                     const Shape& os) {
    const auto run = [&](auto f) {
        std::array<Shape, 3> st{contiguous_strides(os), broadcast_strides(as, os),
                                broadcast_strides(bs, os)};
        for_each_row<3>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
            for (int64_t i = 0; i < n; ++i)
                out[off[0] + i] = f(a[off[1] + i * inc[1]], b[off[2] + i * inc[2]]);
        });
    };
    if constexpr (std::is_same_v<T, bool>) {
        switch (op) {
            case BitwiseOp::And:
                return run([](bool x, bool y) { return x && y; });
            case BitwiseOp::Or:
                return run([](bool x, bool y) { return x || y; });
            case BitwiseOp::Xor:
                return run([](bool x, bool y) { return x != y; });
            default:
                PYDL_CHECK(false, ValueError, "bitwise shifts take integer tensors, not bool");
        }
    } else {
        using U = std::make_unsigned_t<T>;
        constexpr T width = T(sizeof(T) * 8);
        switch (op) {
            case BitwiseOp::And:
                return run([](T x, T y) { return T(x & y); });
            case BitwiseOp::Or:
                return run([](T x, T y) { return T(x | y); });
            case BitwiseOp::Xor:
                return run([](T x, T y) { return T(x ^ y); });
            case BitwiseOp::LeftShift:
                return run([](T x, T y) {
                    if constexpr (std::is_unsigned_v<T>)
                        return y >= width ? T(0) : T(U(x) << y);
                    else
                        return y < 0 || y >= width ? T(0) : T(U(x) << y);
                });
            case BitwiseOp::RightShift:
                return run([](T x, T y) {
                    if constexpr (std::is_unsigned_v<T>)
                        return y >= width ? T(0) : T(x >> y);
                    else  // sign-filled past the width
                        return y < 0 || y >= width ? T(x >> (width - 1)) : T(x >> y);
                });
        }
    }
}

template <typename T>
void bitwise_not_forward(const T* x, T* out, int64_t n) {
    for_each_index<T>(n, [&](int64_t i) {
        if constexpr (std::is_same_v<T, bool>)
            out[i] = !x[i];
        else
            out[i] = T(~x[i]);
    });
}

// Note [Kernel dtypes] in kernels/elementwise.h
#define PYDL_POINTWISE_FORWARD(T)                                                            \
    template void pointwise_binary_forward<T>(PointwiseOp, const T*, const Shape&, const T*, \
                                              const Shape&, T*, const Shape&);
PYDL_POINTWISE_FORWARD(float)
PYDL_POINTWISE_FORWARD(double)
PYDL_POINTWISE_FORWARD(int64_t)
PYDL_POINTWISE_FORWARD(int32_t)
PYDL_POINTWISE_FORWARD(uint8_t)
#undef PYDL_POINTWISE_FORWARD
#define PYDL_POINTWISE_FLOATING(T)                                                            \
    template void pointwise_binary_backward<T>(PointwiseOp, const T*, const Shape&, const T*, \
                                               const Shape&, const T*, const Shape&, T*, T*); \
    template void classify_forward<T>(Classify, const T*, bool*, int64_t);                    \
    template void nan_to_num_forward<T>(const T*, T*, int64_t, T, T, T);                      \
    template void nan_to_num_backward<T>(const T*, const T*, T*, int64_t);
PYDL_POINTWISE_FLOATING(float)
PYDL_POINTWISE_FLOATING(double)
#undef PYDL_POINTWISE_FLOATING
#define PYDL_BITWISE(T)                                                                         \
    template void bitwise_forward<T>(BitwiseOp, const T*, const Shape&, const T*, const Shape&, \
                                     T*, const Shape&);                                         \
    template void bitwise_not_forward<T>(const T*, T*, int64_t);
PYDL_BITWISE(bool)
PYDL_BITWISE(uint8_t)
PYDL_BITWISE(int32_t)
PYDL_BITWISE(int64_t)
#undef PYDL_BITWISE

}  // namespace pydl
