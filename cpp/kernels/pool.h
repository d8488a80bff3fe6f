// 2-D pooling over (N, C, H, W), one plane per task: max (with argmax for backward),
// average (count_include_pad), adaptive average. 1-D pooling is the H = 1 case.
#pragma once
#include <cstdint>
#include <optional>

#include "core/check.h"
#include "kernels/unary_ops.h"

namespace pydl {

// Sizes are computed with checked arithmetic (Note [Checked sizes] in core/check.h): a
// padding, stride or dilation near 2^63 gives ValueError or the right size, never a
// wrapped one.
struct PoolShape {
    int64_t planes, h, w;  // N * C planes of h x w
    int64_t kh, kw, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    bool ceil_mode;
    int64_t out_h() const { return out_size(h, kh, stride_h, pad_h, dil_h); }
    int64_t out_w() const { return out_size(w, kw, stride_w, pad_w, dil_w); }
    // The dilated kernel's extent d * (k - 1) + 1.
    static int64_t window(int64_t k, int64_t d) {
        return checked_add(checked_mul(d, k - 1, "pooling: dilated kernel"), 1,
                           "pooling: dilated kernel");
    }
    // PyTorch's limit on padding (p >= 0 is checked apart): at most half the window.
    static bool padding_fits(int64_t k, int64_t p, int64_t d) { return p <= window(k, d) / 2; }
    // PyTorch's rule: floor or ceil, and with ceil the last window starts inside the input.
    // The kernels' window positions stay below padded + window + stride, which must fit.
    int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) const {
        const int64_t padded =
            checked_add(in, checked_mul(2, p, "pooling: padding"), "pooling: padded input");
        const int64_t win = window(k, d);
        checked_add(checked_add(padded, win, "pooling: padded input + window"), s,
                    "pooling: padded input + window + stride");
        const int64_t span = padded - win;  // both >= 0: no overflow
        if (span < 0) return 0;             // the window does not fit
        int64_t out = (span + (ceil_mode ? s - 1 : 0)) / s + 1;
        if (ceil_mode && (out - 1) * s >= in + p) --out;
        return out;
    }
};

// y and the flat in-plane index of each maximum (padding is -inf; NaN wins); indices
// may be null when no backward will run.
void maxpool2d_forward(const PoolShape& s, const float* x, float* y, int64_t* indices);
// Indices outside the plane (other than -1, an empty window) raise IndexError before any write.
// With `act` (a parameterless unary op), grad_x is then passed back through the activation
// whose input and output were act_x and act_y (shaped like grad_x), plane by plane while it
// is in cache: the fused form of an activation's backward after the pool's that pydl.compile
// plans, bit-identical to the two ops.
void maxpool2d_backward(const PoolShape& s, const float* grad, const int64_t* indices,
                        float* grad_x, std::optional<UnaryOp> act = std::nullopt,
                        const float* act_x = nullptr, const float* act_y = nullptr);
void avgpool2d_forward(const PoolShape& s, bool count_include_pad, const float* x, float* y);
void avgpool2d_backward(const PoolShape& s, bool count_include_pad, const float* grad,
                        float* grad_x);
// Output cell (i, j) averages rows [floor(i h / oh), ceil((i + 1) h / oh)) and likewise columns.
void adaptive_avgpool2d_forward(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                const float* x, float* y);
void adaptive_avgpool2d_backward(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                 const float* grad, float* grad_x);

}  // namespace pydl
