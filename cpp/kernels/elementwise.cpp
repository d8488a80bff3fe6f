#include "kernels/elementwise.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "core/buffer_pool.h"
#include "core/check.h"
#include "core/strided.h"
#include "kernels/reduce.h"

namespace pydl {

namespace {

// Integer arithmetic in the unsigned type of the same width: it wraps around, where signed
// overflow would be undefined behaviour (uint8_t promotes to int and is truncated back).
template <typename T, bool = std::is_integral_v<T>>
struct WrapOf {
    using type = T;
};
template <typename T>
struct WrapOf<T, true> {
    using type = std::make_unsigned_t<T>;
};
template <typename T>
using Wrap = typename WrapOf<T>::type;

// a^b for b >= 0 by squaring, wrapping around as NumPy's and PyTorch's integer power.
template <typename T>
T int_pow(T a, T b) {
    Wrap<T> r = 1, base = Wrap<T>(a);
    for (auto e = Wrap<T>(b); e; e >>= 1) {
        if (e & 1) r = Wrap<T>(r * base);
        base = Wrap<T>(base * base);
    }
    return T(r);
}

// Each op: the value, and the partial derivatives with respect to a and b (floating T).
template <typename T>
struct AddOp {
    static T f(T a, T b) { return T(Wrap<T>(a) + Wrap<T>(b)); }
    static T da(T, T) { return T(1); }
    static T db(T, T) { return T(1); }
};
template <typename T>
struct SubOp {
    static T f(T a, T b) { return T(Wrap<T>(a) - Wrap<T>(b)); }
    static T da(T, T) { return T(1); }
    static T db(T, T) { return T(-1); }
};
template <typename T>
struct MulOp {
    static T f(T a, T b) { return T(Wrap<T>(a) * Wrap<T>(b)); }
    static T da(T, T b) { return b; }
    static T db(T a, T) { return a; }
};
template <typename T>
struct DivOp {
    static T f(T a, T b) { return a / b; }
    static T da(T, T b) { return T(1) / b; }
    static T db(T a, T b) { return -a / (b * b); }
};
template <typename T>
struct PowOp {
    static T f(T a, T b) {
        if constexpr (std::is_integral_v<T>)
            return int_pow(a, b);
        else
            return std::pow(a, b);
    }
    static T da(T a, T b) { return b == T(0) ? T(0) : b * std::pow(a, b - T(1)); }
    // d/db a^b = a^b log a; taken as 0 where a == 0 (PyTorch's convention) so
    // that 0^b with b > 0 does not produce NaN gradients.
    static T db(T a, T b) { return a == T(0) ? T(0) : std::pow(a, b) * std::log(a); }
};

// Python's and PyTorch's remainder: a - floor(a / b) * b, the sign of the divisor b.
template <typename T>
struct RemainderOp {
    static T f(T a, T b) {
        if constexpr (std::is_integral_v<T>) {
            if constexpr (std::is_signed_v<T>) {
                if (b == T(-1)) return T(0);  // INT_MIN % -1 traps
            }
            const T r = T(a % b);
            return r != 0 && ((r < 0) != (b < 0)) ? T(r + b) : r;
        } else {
            const T r = std::fmod(a, b);
            return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
        }
    }
    static T da(T, T) { return T(1); }
    static T db(T a, T b) { return -std::floor(a / b); }
};

// Note [Small same-shape operands]: operands of one shape (no broadcast) and at most one
// task's worth of elements, the common case of a small model's ops, are one loop, as
// for_each_row would make it (bit-identical), without the stride vectors it needs: those
// allocations cost more than the arithmetic at a few elements.
template <typename Op, typename T>
void forward_impl(const T* a, const Shape& as, const T* b, const Shape& bs, T* out,
                  const Shape& os) {
    if (as == bs && numel(os) <= kRowPiece) {  // Note [Small same-shape operands]
        const int64_t n = numel(os);
        for (int64_t i = 0; i < n; ++i) out[i] = Op::f(a[i], b[i]);
        return;
    }
    std::array<Shape, 3> st{contiguous_strides(os), broadcast_strides(as, os),
                            broadcast_strides(bs, os)};
    for_each_row<3>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
        T* o = out + off[0];
        const T* pa = a + off[1];
        const T* pb = b + off[2];
        if (inc[1] == 1 && inc[2] == 1) {
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(pa[i], pb[i]);
        } else if (inc[1] == 1 && inc[2] == 0) {
            const T bv = *pb;
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(pa[i], bv);
        } else if (inc[1] == 0 && inc[2] == 1) {
            const T av = *pa;
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(av, pb[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(pa[i * inc[1]], pb[i * inc[2]]);
        }
    });
}

// grad_x = reduce_to(x_shape, grad * dOp/dx): computed straight into grad_x when
// x has the output's shape, else into a temporary reduced afterwards.
template <typename Op, bool WrtA, typename T>
void backward_one(const T* grad, const Shape& os, const T* a, const Shape& as, const T* b,
                  const Shape& bs, T* grad_x, const Shape& xs) {
    if (as == bs && numel(os) <= kRowPiece) {  // Note [Small same-shape operands]
        const int64_t n = numel(os);
        for (int64_t i = 0; i < n; ++i)
            grad_x[i] = grad[i] * (WrtA ? Op::da(a[i], b[i]) : Op::db(a[i], b[i]));
        return;
    }
    const bool direct = numel(xs) == numel(os);
    Scratch<T> tmp(direct ? 0 : numel(os));
    T* dst = direct ? grad_x : tmp.data();
    std::array<Shape, 4> st{contiguous_strides(os), contiguous_strides(os),
                            broadcast_strides(as, os), broadcast_strides(bs, os)};
    for_each_row<4>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
        T* o = dst + off[0];
        const T* g = grad + off[1];
        const T* pa = a + off[2];
        const T* pb = b + off[3];
        for (int64_t i = 0; i < n; ++i) {
            const T av = pa[i * inc[2]], bv = pb[i * inc[3]];
            o[i] = g[i] * (WrtA ? Op::da(av, bv) : Op::db(av, bv));
        }
    });
    if (!direct) sum_to_shape(tmp.data(), os, grad_x, xs);
}

template <typename Op, typename T>
void backward_impl(const T* grad, const Shape& os, const T* a, const Shape& as, const T* b,
                   const Shape& bs, T* ga, T* gb) {
    if (ga) backward_one<Op, true>(grad, os, a, as, b, bs, ga, as);
    if (gb) backward_one<Op, false>(grad, os, a, as, b, bs, gb, bs);
}

template <typename T>
void where_forward_impl(const bool* cond, const Shape& cs, const T* a, const Shape& as, const T* b,
                        const Shape& bs, T* out, const Shape& os) {
    std::array<Shape, 4> st{contiguous_strides(os), broadcast_strides(cs, os),
                            broadcast_strides(as, os), broadcast_strides(bs, os)};
    for_each_row<4>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
        for (int64_t i = 0; i < n; ++i)
            out[off[0] + i] =
                cond[off[1] + i * inc[1]] ? a[off[2] + i * inc[2]] : b[off[3] + i * inc[3]];
    });
}

}  // namespace

template <typename T>
void binary_forward(BinaryOp op, const T* a, const Shape& as, const T* b, const Shape& bs, T* out,
                    const Shape& os) {
    switch (op) {
        case BinaryOp::Add:
            return forward_impl<AddOp<T>>(a, as, b, bs, out, os);
        case BinaryOp::Sub:
            return forward_impl<SubOp<T>>(a, as, b, bs, out, os);
        case BinaryOp::Mul:
            return forward_impl<MulOp<T>>(a, as, b, bs, out, os);
        case BinaryOp::Div:
            if constexpr (std::is_integral_v<T>) {
                // Integer division by zero would trap (SIGFPE); the op layer divides in floats.
                PYDL_CHECK(false, ValueError, "div: the core divides floating-point tensors only");
            } else {
                return forward_impl<DivOp<T>>(a, as, b, bs, out, os);
            }
            return;
        case BinaryOp::Pow:
            if constexpr (std::is_signed_v<T> && std::is_integral_v<T>) {
                // As NumPy and PyTorch (whose message this is), before anything is written.
                const int64_t nb = numel(bs);
                bool negative = false;
                for (int64_t i = 0; i < nb; ++i) negative |= b[i] < 0;
                PYDL_CHECK(!negative || numel(os) == 0, ValueError,
                           "Integers to negative integer powers are not allowed.");
            }
            return forward_impl<PowOp<T>>(a, as, b, bs, out, os);
        case BinaryOp::Remainder:
            if constexpr (std::is_integral_v<T>) {
                // Integer division by zero traps (SIGFPE): PyTorch's error, before any write.
                const int64_t nb = numel(bs);
                bool zero = false;
                for (int64_t i = 0; i < nb; ++i) zero |= b[i] == 0;
                PYDL_CHECK(!zero || numel(os) == 0, ValueError,
                           "remainder: integer division by zero (ZeroDivisionError)");
            }
            return forward_impl<RemainderOp<T>>(a, as, b, bs, out, os);
    }
}

template <typename T>
void binary_backward(BinaryOp op, const T* grad, const Shape& os, const T* a, const Shape& as,
                     const T* b, const Shape& bs, T* ga, T* gb) {
    switch (op) {
        case BinaryOp::Add:
            return backward_impl<AddOp<T>>(grad, os, a, as, b, bs, ga, gb);
        case BinaryOp::Sub:
            return backward_impl<SubOp<T>>(grad, os, a, as, b, bs, ga, gb);
        case BinaryOp::Mul:
            return backward_impl<MulOp<T>>(grad, os, a, as, b, bs, ga, gb);
        case BinaryOp::Div:
            return backward_impl<DivOp<T>>(grad, os, a, as, b, bs, ga, gb);
        case BinaryOp::Pow:
            return backward_impl<PowOp<T>>(grad, os, a, as, b, bs, ga, gb);
        case BinaryOp::Remainder:
            return backward_impl<RemainderOp<T>>(grad, os, a, as, b, bs, ga, gb);
    }
}

void where_forward(const bool* cond, const Shape& cs, const void* a, const Shape& as, const void* b,
                   const Shape& bs, size_t elem_size, void* out, const Shape& os) {
    const auto run = [&](auto t) {
        using T = decltype(t);
        where_forward_impl(cond, cs, static_cast<const T*>(a), as, static_cast<const T*>(b), bs,
                           static_cast<T*>(out), os);
    };
    switch (elem_size) {
        case 1:
            return run(uint8_t());
        case 2:
            return run(uint16_t());
        case 4:
            return run(uint32_t());
        case 8:
            return run(uint64_t());
    }
    PYDL_CHECK(false, ValueError, "where moves elements of 1, 2, 4 or 8 bytes, not ", elem_size);
}

template <typename T>
void where_backward(const T* grad, const Shape& os, const bool* cond, const Shape& cs,
                    const Shape& as, const Shape& bs, T* ga, T* gb) {
    const std::array<T*, 2> dst{ga, gb};
    const std::array<const Shape*, 2> shapes{&as, &bs};
    for (int side = 0; side < 2; ++side) {
        if (!dst[side]) continue;
        Scratch<T> tmp(numel(os));
        std::array<Shape, 3> st{contiguous_strides(os), contiguous_strides(os),
                                broadcast_strides(cs, os)};
        const bool pick = side == 0;
        for_each_row<3>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
            for (int64_t i = 0; i < n; ++i)
                tmp[off[0] + i] = cond[off[2] + i * inc[2]] == pick ? grad[off[1] + i] : T(0);
        });
        sum_to_shape(tmp.data(), os, dst[side], *shapes[side]);
    }
}

template <typename T>
void sum_to_shape(const T* x, const Shape& from, T* out, const Shape& to) {
    const size_t off = from.size() - to.size();
    std::vector<bool> reduced(from.size());
    for (size_t d = 0; d < from.size(); ++d)
        reduced[d] = d < off || (to[d - off] == 1 && from[d] != 1);
    reduce_forward(ReduceOp::Sum, x, from, reduced, out);
}

// Note [Kernel dtypes]
#define PYDL_BINARY_FORWARD(T)                                                                    \
    template void binary_forward<T>(BinaryOp, const T*, const Shape&, const T*, const Shape&, T*, \
                                    const Shape&);
PYDL_BINARY_FORWARD(float)
PYDL_BINARY_FORWARD(double)
PYDL_BINARY_FORWARD(int64_t)
PYDL_BINARY_FORWARD(int32_t)
PYDL_BINARY_FORWARD(uint8_t)
#undef PYDL_BINARY_FORWARD
#define PYDL_FLOATING(T)                                                                       \
    template void binary_backward<T>(BinaryOp, const T*, const Shape&, const T*, const Shape&, \
                                     const T*, const Shape&, T*, T*);                          \
    template void where_backward<T>(const T*, const Shape&, const bool*, const Shape&,         \
                                    const Shape&, const Shape&, T*, T*);                       \
    template void sum_to_shape<T>(const T*, const Shape&, T*, const Shape&);
PYDL_FLOATING(float)
PYDL_FLOATING(double)
#undef PYDL_FLOATING

}  // namespace pydl
