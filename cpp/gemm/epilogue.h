// The epilogue's activations: the activation kernels' own functors (kernels/unary_ops.h),
// inline so that each caller's instruction set vectorizes them: epilogue.cpp's row form and
// each micro-kernel's block of its finished tile.
#pragma once
#include <cstdint>
#include <optional>
#include <type_traits>

#include "core/vec.h"
#include "gemm/microkernel.h"

namespace pydl::gemm {

// No activation, as a functor like the unary list's.
struct NoActivation {
    static PYDL_INLINE float f(float x, float, float) { return x; }
};

// fn(Op()) with Op the functor of the run-time `act` (NoActivation for none): one place
// for every caller that needs the activation as a compile-time type. It tests the unary
// list's fusable rows only (Note [Unary op list]); another op cannot reach here
// (linear_forward checks) and would apply none.
template <typename Fn>
PYDL_INLINE auto with_activation(std::optional<UnaryOp> act, Fn fn) {
#define PYDL_X(name, Type, params, fuse, param_names) \
    if constexpr (UnaryFuse::fuse != UnaryFuse::No)   \
        if (act == UnaryOp::Type) return fn(unary::Type());
    PYDL_UNARY_OPS(PYDL_X)
#undef PYDL_X
    return fn(NoActivation());
}

// x[0, N) = act(x[0, N)), N a compile-time length (whole vectors, no remainder loop).
template <int N>
PYDL_INLINE void activate_block(std::optional<UnaryOp> act, float* __restrict x) {
    with_activation(act, [x](auto a) PYDL_INLINE_LAMBDA {
        for (int j = 0; j < N; ++j) x[j] = decltype(a)::f(x[j], 0.0f, 0.0f);
    });
}

}  // namespace pydl::gemm
