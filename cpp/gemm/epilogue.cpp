// The epilogue's activations on rows of C in memory, vectorized (the scalar definition
// is in epilogue.h).
#include "gemm/epilogue.h"

namespace pydl::gemm {

namespace {

template <Activation A>
PYDL_INLINE void tile_body(float* c, int64_t ldc, int64_t mr, int64_t nr) {
    for (int64_t r = 0; r < mr; ++r) {
        float* row = c + r * ldc;
        for (int64_t j = 0; j < nr; ++j) row[j] = activate<A>(row[j]);
    }
}
// Compiled per instruction set (the element-at-a-time GEMM paths call this on whole rows
// of C; the micro-kernels activate their tiles in registers, epilogue.h).
template <Activation A>
void tile(float* c, int64_t ldc, int64_t mr, int64_t nr) {
    vec::simd_call([&]() PYDL_INLINE_LAMBDA { tile_body<A>(c, ldc, mr, nr); });
}

}  // namespace

float apply_activation(Activation act, float x) {
    switch (act) {
        case Activation::None: return x;
        case Activation::Relu: return activate<Activation::Relu>(x);
        case Activation::Gelu: return activate<Activation::Gelu>(x);
        case Activation::Tanh: return activate<Activation::Tanh>(x);
        case Activation::Sigmoid: return activate<Activation::Sigmoid>(x);
    }
    return x;
}

void apply_activation_tile(Activation act, float* c, int64_t ldc, int64_t mr, int64_t nr) {
    switch (act) {
        case Activation::None: return;
        case Activation::Relu: return tile<Activation::Relu>(c, ldc, mr, nr);
        case Activation::Gelu: return tile<Activation::Gelu>(c, ldc, mr, nr);
        case Activation::Tanh: return tile<Activation::Tanh>(c, ldc, mr, nr);
        case Activation::Sigmoid: return tile<Activation::Sigmoid>(c, ldc, mr, nr);
    }
}

}  // namespace pydl::gemm
