// The epilogue's activations as one scalar definition (the same formulas as the
// activation kernels), inline so that each caller's instruction set vectorizes it:
// epilogue.cpp's row form and each micro-kernel's block of its finished tile.
#pragma once
#include <cstdint>
#include <type_traits>

#include "core/vec.h"
#include "gemm/microkernel.h"

namespace pydl::gemm {

template <Activation A>
PYDL_INLINE float activate(float x) {
    switch (A) {
        case Activation::None:
            return x;
        case Activation::Relu:
            return x > 0.0f ? x : 0.0f;
        case Activation::Gelu:
            return vec::gelu(x);
        case Activation::Tanh:
            return vec::tanh(x);
        case Activation::Sigmoid:
            return vec::sigmoid(x);
    }
    return x;
}

// fn(std::integral_constant<Activation, A>()) for the run-time `act`: one switch for
// every caller that needs the activation as a compile-time constant.
template <typename Fn>
PYDL_INLINE auto with_activation(Activation act, Fn fn) {
    using A = Activation;
    switch (act) {
        case A::Relu:
            return fn(std::integral_constant<A, A::Relu>());
        case A::Gelu:
            return fn(std::integral_constant<A, A::Gelu>());
        case A::Tanh:
            return fn(std::integral_constant<A, A::Tanh>());
        case A::Sigmoid:
            return fn(std::integral_constant<A, A::Sigmoid>());
        default:
            return fn(std::integral_constant<A, A::None>());
    }
}

// x[0, N) = act(x[0, N)), N a compile-time length (whole vectors, no remainder loop).
template <int N>
PYDL_INLINE void activate_block(Activation act, float* __restrict x) {
    with_activation(act, [x](auto a) PYDL_INLINE_LAMBDA {
        for (int j = 0; j < N; ++j) x[j] = activate<decltype(a)::value>(x[j]);
    });
}

}  // namespace pydl::gemm
