#include "kernels/elementwise.h"

#include <cmath>
#include <vector>

#include "core/buffer_pool.h"
#include "core/strided.h"
#include "kernels/reduce.h"

namespace pydl {

namespace {

// Each op: the value, and the partial derivatives with respect to a and b.
struct AddOp {
    static float f(float a, float b) { return a + b; }
    static float da(float, float) { return 1.0f; }
    static float db(float, float) { return 1.0f; }
};
struct SubOp {
    static float f(float a, float b) { return a - b; }
    static float da(float, float) { return 1.0f; }
    static float db(float, float) { return -1.0f; }
};
struct MulOp {
    static float f(float a, float b) { return a * b; }
    static float da(float, float b) { return b; }
    static float db(float a, float) { return a; }
};
struct DivOp {
    static float f(float a, float b) { return a / b; }
    static float da(float, float b) { return 1.0f / b; }
    static float db(float a, float b) { return -a / (b * b); }
};
struct PowOp {
    static float f(float a, float b) { return std::pow(a, b); }
    static float da(float a, float b) { return b == 0.0f ? 0.0f : b * std::pow(a, b - 1.0f); }
    // d/db a^b = a^b log a; taken as 0 where a == 0 (PyTorch's convention) so
    // that 0^b with b > 0 does not produce NaN gradients.
    static float db(float a, float b) { return a == 0.0f ? 0.0f : std::pow(a, b) * std::log(a); }
};

template <typename Op>
void forward_impl(const float* a, const Shape& as, const float* b, const Shape& bs, float* out,
                  const Shape& os) {
    std::array<Shape, 3> st{contiguous_strides(os), broadcast_strides(as, os),
                            broadcast_strides(bs, os)};
    for_each_row<3>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
        float* o = out + off[0];
        const float* pa = a + off[1];
        const float* pb = b + off[2];
        if (inc[1] == 1 && inc[2] == 1) {
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(pa[i], pb[i]);
        } else if (inc[1] == 1 && inc[2] == 0) {
            const float bv = *pb;
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(pa[i], bv);
        } else if (inc[1] == 0 && inc[2] == 1) {
            const float av = *pa;
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(av, pb[i]);
        } else {
            for (int64_t i = 0; i < n; ++i) o[i] = Op::f(pa[i * inc[1]], pb[i * inc[2]]);
        }
    });
}

// grad_x = reduce_to(x_shape, grad * dOp/dx): computed straight into grad_x when
// x has the output's shape, else into a temporary reduced afterwards.
template <typename Op, bool WrtA>
void backward_one(const float* grad, const Shape& os, const float* a, const Shape& as,
                  const float* b, const Shape& bs, float* grad_x, const Shape& xs) {
    const bool direct = numel(xs) == numel(os);
    Scratch<float> tmp(direct ? 0 : numel(os));
    float* dst = direct ? grad_x : tmp.data();
    std::array<Shape, 4> st{contiguous_strides(os), contiguous_strides(os),
                            broadcast_strides(as, os), broadcast_strides(bs, os)};
    for_each_row<4>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
        float* o = dst + off[0];
        const float* g = grad + off[1];
        const float* pa = a + off[2];
        const float* pb = b + off[3];
        for (int64_t i = 0; i < n; ++i) {
            const float av = pa[i * inc[2]], bv = pb[i * inc[3]];
            o[i] = g[i] * (WrtA ? Op::da(av, bv) : Op::db(av, bv));
        }
    });
    if (!direct) sum_to_shape(tmp.data(), os, grad_x, xs);
}

template <typename Op>
void backward_impl(const float* grad, const Shape& os, const float* a, const Shape& as,
                   const float* b, const Shape& bs, float* ga, float* gb) {
    if (ga) backward_one<Op, true>(grad, os, a, as, b, bs, ga, as);
    if (gb) backward_one<Op, false>(grad, os, a, as, b, bs, gb, bs);
}

}  // namespace

void binary_forward(BinaryOp op, const float* a, const Shape& as, const float* b, const Shape& bs,
                    float* out, const Shape& os) {
    switch (op) {
        case BinaryOp::Add:
            return forward_impl<AddOp>(a, as, b, bs, out, os);
        case BinaryOp::Sub:
            return forward_impl<SubOp>(a, as, b, bs, out, os);
        case BinaryOp::Mul:
            return forward_impl<MulOp>(a, as, b, bs, out, os);
        case BinaryOp::Div:
            return forward_impl<DivOp>(a, as, b, bs, out, os);
        case BinaryOp::Pow:
            return forward_impl<PowOp>(a, as, b, bs, out, os);
    }
}

void binary_backward(BinaryOp op, const float* grad, const Shape& os, const float* a,
                     const Shape& as, const float* b, const Shape& bs, float* ga, float* gb) {
    switch (op) {
        case BinaryOp::Add:
            return backward_impl<AddOp>(grad, os, a, as, b, bs, ga, gb);
        case BinaryOp::Sub:
            return backward_impl<SubOp>(grad, os, a, as, b, bs, ga, gb);
        case BinaryOp::Mul:
            return backward_impl<MulOp>(grad, os, a, as, b, bs, ga, gb);
        case BinaryOp::Div:
            return backward_impl<DivOp>(grad, os, a, as, b, bs, ga, gb);
        case BinaryOp::Pow:
            return backward_impl<PowOp>(grad, os, a, as, b, bs, ga, gb);
    }
}

void where_forward(const bool* cond, const Shape& cs, const float* a, const Shape& as,
                   const float* b, const Shape& bs, float* out, const Shape& os) {
    std::array<Shape, 4> st{contiguous_strides(os), broadcast_strides(cs, os),
                            broadcast_strides(as, os), broadcast_strides(bs, os)};
    for_each_row<4>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
        for (int64_t i = 0; i < n; ++i)
            out[off[0] + i] =
                cond[off[1] + i * inc[1]] ? a[off[2] + i * inc[2]] : b[off[3] + i * inc[3]];
    });
}

void where_backward(const float* grad, const Shape& os, const bool* cond, const Shape& cs,
                    const Shape& as, const Shape& bs, float* ga, float* gb) {
    const std::array<float*, 2> dst{ga, gb};
    const std::array<const Shape*, 2> shapes{&as, &bs};
    for (int side = 0; side < 2; ++side) {
        if (!dst[side]) continue;
        Scratch<float> tmp(numel(os));
        std::array<Shape, 3> st{contiguous_strides(os), contiguous_strides(os),
                                broadcast_strides(cs, os)};
        const bool pick = side == 0;
        for_each_row<3>(os, st, [&](int64_t n, const auto& off, const auto& inc) {
            for (int64_t i = 0; i < n; ++i)
                tmp[off[0] + i] = cond[off[2] + i * inc[2]] == pick ? grad[off[1] + i] : 0.0f;
        });
        sum_to_shape(tmp.data(), os, dst[side], *shapes[side]);
    }
}

void sum_to_shape(const float* x, const Shape& from, float* out, const Shape& to) {
    const size_t off = from.size() - to.size();
    std::vector<bool> reduced(from.size());
    for (size_t d = 0; d < from.size(); ++d)
        reduced[d] = d < off || (to[d - off] == 1 && from[d] != 1);
    reduce_forward(ReduceOp::Sum, x, from, reduced, out);
}

}  // namespace pydl
