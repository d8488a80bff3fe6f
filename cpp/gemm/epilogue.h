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
        case Activation::None: return x;
        case Activation::Relu: return x > 0.0f ? x : 0.0f;
        case Activation::Gelu: return 0.5f * x * (1.0f + vec::erf(x * 0.7071067811865476f));
        case Activation::Tanh: return vec::tanh(x);
        case Activation::Sigmoid: return vec::sigmoid(x);
    }
    return x;
}

// x[0, N) = act(x[0, N)), N a compile-time length (whole vectors, no remainder loop).
template <int N>
PYDL_INLINE void activate_block(Activation act, float* __restrict x) {
    const auto each = [x](auto act_constant) PYDL_INLINE_LAMBDA {
        for (int j = 0; j < N; ++j) x[j] = activate<decltype(act_constant)::value>(x[j]);
    };
    switch (act) {
        case Activation::None: return;
        case Activation::Relu: return each(std::integral_constant<Activation, Activation::Relu>());
        case Activation::Gelu: return each(std::integral_constant<Activation, Activation::Gelu>());
        case Activation::Tanh: return each(std::integral_constant<Activation, Activation::Tanh>());
        case Activation::Sigmoid:
            return each(std::integral_constant<Activation, Activation::Sigmoid>());
    }
}

}  // namespace pydl::gemm
