#include "kernels/compare.h"

#include <array>
#include <cstring>
#include <type_traits>

#include "core/parallel.h"
#include "core/strided.h"

namespace pydl {

namespace {

// A bool array's bytes are read as uint8_t and normalized (`!= 0`): NumPy can hold bytes
// other than 0 and 1 in a bool array (a uint8 array viewed as bool), which C++ may not.
template <typename T>
using Storage = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
template <typename T>
inline auto value_of(Storage<T> v) {
    if constexpr (std::is_same_v<T, bool>)
        return v != 0;
    else
        return v;
}

struct Eq {
    template <typename V>
    static bool f(V a, V b) {
        return a == b;
    }
};
struct Ne {
    template <typename V>
    static bool f(V a, V b) {
        return a != b;
    }
};
struct Lt {
    template <typename V>
    static bool f(V a, V b) {
        return a < b;
    }
};
struct Le {
    template <typename V>
    static bool f(V a, V b) {
        return a <= b;
    }
};
struct Gt {
    template <typename V>
    static bool f(V a, V b) {
        return a > b;
    }
};
struct Ge {
    template <typename V>
    static bool f(V a, V b) {
        return a >= b;
    }
};
// The logical ops on truth values.
struct And {
    static bool f(bool a, bool b) { return a && b; }
};
struct Or {
    static bool f(bool a, bool b) { return a || b; }
};
struct Xor {
    static bool f(bool a, bool b) { return a != b; }
};

// out = Op::f(load(a), load(b)) over the broadcast shape, as the binary arithmetic kernels.
template <typename Op, typename S, typename Load>
void binary_bool(const S* a, const Shape& as, const S* b, const Shape& bs, bool* out,
                 const Shape& os, Load load) {
    std::array<Shape, 3> st{contiguous_strides(os), broadcast_strides(as, os),
                            broadcast_strides(bs, os)};
    for_each_row<3>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
        bool* o = out + off[0];
        const S* pa = a + off[1];
        const S* pb = b + off[2];
        if (inc[1] == 1 && inc[2] == 1) {
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(load(pa[i]), load(pb[i]));
        } else if (inc[1] == 1 && inc[2] == 0) {
            const auto bv = load(*pb);
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(load(pa[i]), bv);
        } else if (inc[1] == 0 && inc[2] == 1) {
            const auto av = load(*pa);
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(av, load(pb[i]));
        } else {
            for (int64_t i = 0; i < n; ++i)
                o[i] = Op::f(load(pa[i * inc[1]]), load(pb[i * inc[2]]));
        }
    });
}

}  // namespace

template <typename T>
void compare_forward(CompareOp op, const T* a, const Shape& as, const T* b, const Shape& bs,
                     bool* out, const Shape& os) {
    const auto* sa = reinterpret_cast<const Storage<T>*>(a);
    const auto* sb = reinterpret_cast<const Storage<T>*>(b);
    const auto load = [](Storage<T> v) { return value_of<T>(v); };
    switch (op) {
        case CompareOp::Eq:
            return binary_bool<Eq>(sa, as, sb, bs, out, os, load);
        case CompareOp::Ne:
            return binary_bool<Ne>(sa, as, sb, bs, out, os, load);
        case CompareOp::Lt:
            return binary_bool<Lt>(sa, as, sb, bs, out, os, load);
        case CompareOp::Le:
            return binary_bool<Le>(sa, as, sb, bs, out, os, load);
        case CompareOp::Gt:
            return binary_bool<Gt>(sa, as, sb, bs, out, os, load);
        case CompareOp::Ge:
            return binary_bool<Ge>(sa, as, sb, bs, out, os, load);
    }
}

template <typename T>
void logical_forward(LogicalOp op, const T* a, const Shape& as, const T* b, const Shape& bs,
                     bool* out, const Shape& os) {
    const auto* sa = reinterpret_cast<const Storage<T>*>(a);
    const auto* sb = reinterpret_cast<const Storage<T>*>(b);
    const auto load = [](Storage<T> v) { return v != Storage<T>(0); };
    switch (op) {
        case LogicalOp::And:
            return binary_bool<And>(sa, as, sb, bs, out, os, load);
        case LogicalOp::Or:
            return binary_bool<Or>(sa, as, sb, bs, out, os, load);
        case LogicalOp::Xor:
            return binary_bool<Xor>(sa, as, sb, bs, out, os, load);
    }
}

template <typename T>
void logical_not_forward(const T* x, bool* out, int64_t n) {
    const auto* s = reinterpret_cast<const Storage<T>*>(x);
    parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) out[i] = s[i] == Storage<T>(0);
    });
}

// Note [Kernel dtypes] in kernels/elementwise.h
#define PYDL_COMPARE(T)                                                                         \
    template void compare_forward<T>(CompareOp, const T*, const Shape&, const T*, const Shape&, \
                                     bool*, const Shape&);                                      \
    template void logical_forward<T>(LogicalOp, const T*, const Shape&, const T*, const Shape&, \
                                     bool*, const Shape&);                                      \
    template void logical_not_forward<T>(const T*, bool*, int64_t);
PYDL_COMPARE(bool)
PYDL_COMPARE(uint8_t)
PYDL_COMPARE(int32_t)
PYDL_COMPARE(int64_t)
PYDL_COMPARE(float)
PYDL_COMPARE(double)
#undef PYDL_COMPARE

}  // namespace pydl
