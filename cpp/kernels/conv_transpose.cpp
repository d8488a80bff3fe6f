#include "kernels/conv_transpose.h"

#include <algorithm>

#include "core/parallel.h"
#include "kernels/conv.h"
#include "kernels/reduce.h"

namespace pydl {

void conv_transpose2d_forward(const ConvTransposeShape& s, const float* x, const float* weight,
                              const float* bias, float* y) {
    // conv2d's input gradient with x as its output gradient (Note [Transposed convolution]);
    // that pass reads no conv2d input, hence the null. It writes all of y.
    conv2d_backward(s.conv(), x, nullptr, weight, y, nullptr, nullptr);
    if (!bias) return;
    const int64_t plane = checked_mul(s.out_h(), s.out_w(), "conv_transpose2d: output plane");
    const int64_t planes = checked_mul(s.n, s.c_out, "conv_transpose2d: output planes");
    // About 16K floats a task, pooling's grain (kernels/pool.cpp): the add is memory-bound.
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(plane, 1));
    parallel_for(0, planes, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
            const float b = bias[p % s.c_out];
            float* __restrict dst = y + p * plane;
            for (int64_t i = 0; i < plane; ++i) dst[i] += b;
        }
    });
}

void conv_transpose2d_backward(const ConvTransposeShape& s, const float* grad, const float* x,
                               const float* weight, float* grad_x, float* grad_w,
                               float* grad_bias) {
    const ConvShape conv = s.conv();
    if (grad_x) conv2d_forward(conv, grad, weight, nullptr, grad_x);
    // x plays conv2d's output gradient, dy its input.
    if (grad_w) conv2d_backward(conv, x, grad, weight, nullptr, grad_w, nullptr);
    if (grad_bias)
        reduce_forward(ReduceOp::Sum, grad, {s.n, s.c_out, conv.h * conv.w}, {true, false, true},
                       grad_bias);
}

}  // namespace pydl
