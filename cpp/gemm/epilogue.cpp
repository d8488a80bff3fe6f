// The epilogue's activations one value at a time, and on rows of C in memory (the
// definitions are in epilogue.h).
#include "gemm/epilogue.h"

namespace pydl::gemm {

float apply_activation(Activation act, float x) {
    return with_activation(act, [x](auto a) { return activate<decltype(a)::value>(x); });
}

// Compiled per instruction set (vec::simd_call).
void apply_activation_rows(Activation act, float* c, int64_t ldc, int64_t rows, int64_t cols) {
    if (act == Activation::None) return;
    with_activation(act, [&](auto a) {
        vec::simd_call([&]() PYDL_INLINE_LAMBDA {
            for (int64_t r = 0; r < rows; ++r) {
                float* row = c + r * ldc;
                for (int64_t j = 0; j < cols; ++j) row[j] = activate<decltype(a)::value>(row[j]);
            }
        });
    });
}

}  // namespace pydl::gemm
