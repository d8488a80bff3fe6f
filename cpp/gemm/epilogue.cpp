// The epilogue's activations one value at a time, and on rows of C in memory (the
// definitions are in epilogue.h).
#include "gemm/epilogue.h"

namespace pydl::gemm {

float apply_activation(std::optional<UnaryOp> act, float x) {
    return with_activation(act, [x](auto a) { return decltype(a)::f(x, 0.0f, 0.0f); });
}

// Compiled per instruction set (vec::simd_call).
void apply_activation_rows(std::optional<UnaryOp> act, float* c, int64_t ldc, int64_t rows,
                           int64_t cols) {
    if (!act) return;
    with_activation(act, [&](auto a) {
        vec::simd_call([&]() PYDL_INLINE_LAMBDA {
            for (int64_t r = 0; r < rows; ++r) {
                float* row = c + r * ldc;
                for (int64_t j = 0; j < cols; ++j) row[j] = decltype(a)::f(row[j], 0.0f, 0.0f);
            }
        });
    });
}

}  // namespace pydl::gemm
