// 2-D convolution (cross-correlation, NCHW) by im2col + GEMM; 1-D convolution is the
// H = 1 case. Groups, stride, dilation and per-side zero padding.
#pragma once
#include <cstdint>

namespace pydl {

struct ConvShape {
    int64_t n, c, h, w;     // input
    int64_t c_out, kh, kw;  // weight: (c_out, c / groups, kh, kw)
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_bottom, pad_left, pad_right;
    int64_t dil_h, dil_w;
    int64_t groups;
    int64_t out_h() const {
        return (h + pad_top + pad_bottom - dil_h * (kh - 1) - 1) / stride_h + 1;
    }
    int64_t out_w() const {
        return (w + pad_left + pad_right - dil_w * (kw - 1) - 1) / stride_w + 1;
    }
    // A 1x1, stride-1, unpadded convolution is a plain GEMM on the input: no im2col.
    bool is_pointwise() const {
        return kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
               pad_bottom == 0 && pad_left == 0 && pad_right == 0;
    }
};

// y (n, c_out, out_h, out_w) = conv(x, weight) + bias (bias may be null).
void conv2d_forward(const ConvShape& s, const float* x, const float* weight, const float* bias,
                    float* y);
// Any of grad_x, grad_w, grad_bias may be null when not needed.
void conv2d_backward(const ConvShape& s, const float* grad, const float* x, const float* weight,
                     float* grad_x, float* grad_w, float* grad_bias);

}  // namespace pydl
