// 2-D convolution (cross-correlation, NCHW) by im2col + GEMM; 1-D convolution is the
// H = 1 case. Groups, stride, dilation and per-side zero padding.
#pragma once
#include <cstdint>
#include <optional>

#include "core/check.h"
#include "gemm/gemm.h"
#include "kernels/unary_ops.h"

namespace pydl {

// The sizes below are computed with checked arithmetic (Note [Checked sizes] in
// core/check.h): settings near 2^63 raise ValueError instead of wrapping around.
struct ConvShape {
    int64_t n, c, h, w;     // input
    int64_t c_out, kh, kw;  // weight: (c_out, c / groups, kh, kw)
    int64_t stride_h, stride_w;
    // pad_bottom and pad_right may be negative (the last rows or columns are cropped) when
    // the transposed convolution uses these kernels (Note [Transposed convolution] in
    // kernels/conv_transpose.h); conv2d itself takes padding >= 0.
    int64_t pad_top, pad_bottom, pad_left, pad_right;
    int64_t dil_h, dil_w;
    int64_t groups;
    // Every product (forward and backward): fp32, or bf16 operands with fp32 sums under
    // autocast (Note [Autocast]).
    Precision precision = Precision::Float32;
    // The padded input's and the dilated kernel's extents.
    int64_t padded_h() const {
        return checked_add(checked_add(h, pad_top, "conv2d: padded height"), pad_bottom,
                           "conv2d: padded height");
    }
    int64_t padded_w() const {
        return checked_add(checked_add(w, pad_left, "conv2d: padded width"), pad_right,
                           "conv2d: padded width");
    }
    int64_t window_h() const { return window(kh, dil_h); }
    int64_t window_w() const { return window(kw, dil_w); }
    // Whether the dilated kernel fits the padded input (else there is no output).
    bool kernel_fits() const { return padded_h() >= window_h() && padded_w() >= window_w(); }
    // Both are >= 1 when the kernel fits.
    int64_t out_h() const { return out_size(padded_h(), window_h(), stride_h); }
    int64_t out_w() const { return out_size(padded_w(), window_w(), stride_w); }
    int64_t spatial() const { return checked_mul(out_h(), out_w(), "conv2d: output size"); }
    // Rows of the im2col matrix: one per (input channel of a group, kernel tap).
    int64_t col_rows() const {
        return checked_mul(checked_mul(c / groups, kh, "conv2d: im2col rows"), kw,
                           "conv2d: im2col rows");
    }
    // The kernels' input positions stay below padded + window + stride, which must fit.
    static int64_t out_size(int64_t padded, int64_t window, int64_t stride) {
        checked_add(checked_add(padded, window, "conv2d: padded input + dilated kernel"), stride,
                    "conv2d: padded input + dilated kernel + stride");
        return (padded - window) / stride + 1;
    }
    static int64_t window(int64_t k, int64_t dil) {
        return checked_add(checked_mul(dil, k - 1, "conv2d: dilated kernel"), 1,
                           "conv2d: dilated kernel");
    }
    // A 1x1, stride-1, unpadded convolution is a plain GEMM on the input: no im2col.
    bool is_pointwise() const {
        return kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
               pad_bottom == 0 && pad_left == 0 && pad_right == 0;
    }
};

// y (n, c_out, out_h, out_w) = act(conv(x, weight) + bias) (bias may be null; act none or
// a fusable op of the unary list, applied to each sample while it is in cache: the fused
// form of conv then relu that pydl.compile plans, bit-identical to the two ops).
void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                    float* y, std::optional<UnaryOp> act = std::nullopt);
// Any of grad_x, grad_w, grad_bias may be null when not needed. With `act` (a fusable op of
// the unary list), grad_x is then passed back through the activation whose input and output
// were act_x and act_y (shaped like x), a sample at a time while it is in cache: the fused
// form of an activation's backward after the convolution's that pydl.compile plans.
void conv2d_backward(const ConvShape& s, const float* grad, const float* x, const float* weight,
                     float* grad_x, float* grad_w, float* grad_bias,
                     std::optional<UnaryOp> act = std::nullopt, const float* act_x = nullptr,
                     const float* act_y = nullptr);

}  // namespace pydl
