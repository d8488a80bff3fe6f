// Transposed 2-D convolution (NCHW), the adjoint of conv2d, computed with conv2d's own
// passes; 1-D is the H = 1 case. Groups, stride, dilation, padding, output_padding.
#pragma once
#include <cstdint>

#include "core/check.h"
#include "kernels/conv.h"

namespace pydl {

// Note [Transposed convolution]: conv_transpose2d(x, W) with stride s, padding p,
// output_padding op and dilation d scatters every input pixel through the kernel,
//   y[n, g Co + o, i s - p + a d, j s - p + b d] += x[n, g Ci + c, i, j] W[g Ci + c, o, a, b]
// (Ci = C_in / groups, Co = C_out / groups), which is the input gradient of the conv2d that
// maps y's shape to x's: ConvTransposeShape::conv(), whose input is y (n, c_out, out_h,
// out_w), whose output is x (n, c, h, w) and whose weight is W as it is (conv2d's (C_out,
// C_in / groups, kh, kw) is W's (c, c_out / groups, kh, kw)). Its padding is p on top and
// left and p - op at the bottom and right: the op extra rows and columns of y lie past every
// window (they get only the bias), and where op > p the conv crops its input (negative
// padding, which conv.cpp's im2col and col2im handle) so that its output is exactly h x w.
// The passes are therefore conv2d's passes in another order, on the same im2col, col2im and
// packed GEMMs (kernels/conv.cpp), not a second convolution:
//   forward          y  = col2im(W^T x) + bias      conv2d's input gradient, x as its grad
//   input gradient   dx = W im2col(dy)              conv2d's forward, on dy
//   weight gradient  dW = sum_n x im2col(dy)^T      conv2d's weight gradient, x as its grad
//                                                   and dy as its input
//   bias gradient    dy summed over n, rows and columns
// (The backward forms im2col(dy) twice, once per gradient; conv2d_backward's weight pass
// would have to keep them all to share them.)
struct ConvTransposeShape {
    int64_t n, c, h, w;     // input
    int64_t c_out, kh, kw;  // weight: (c, c_out / groups, kh, kw)
    int64_t stride_h, stride_w;
    int64_t pad_h, pad_w;          // removed from both sides of the output
    int64_t out_pad_h, out_pad_w;  // added at the bottom and right
    int64_t dil_h, dil_w;
    int64_t groups;
    Precision precision = Precision::Float32;  // of every product (ConvShape's)
    // (in - 1) stride - 2 pad + dil (k - 1) + out_pad + 1, in checked arithmetic (Note
    // [Checked sizes] in core/check.h); below 1 for settings the binding refuses.
    int64_t out_h() const { return out_size(h, kh, stride_h, pad_h, out_pad_h, dil_h); }
    int64_t out_w() const { return out_size(w, kw, stride_w, pad_w, out_pad_w, dil_w); }
    static int64_t out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t out_pad,
                            int64_t dil) {
        const char* what = "conv_transpose2d: output size";
        const int64_t span = checked_mul(in - 1, stride, what);
        const int64_t cropped = checked_add(span, -checked_mul(2, pad, what), what);
        return checked_add(checked_add(cropped, ConvShape::window(k, dil), what), out_pad, what);
    }
    // The convolution whose input gradient this is (the Note above).
    ConvShape conv() const {
        ConvShape s{};
        s.n = n, s.c = c_out, s.h = out_h(), s.w = out_w();  // y
        s.c_out = c, s.kh = kh, s.kw = kw;                   // x's channels; W as it is
        s.stride_h = stride_h, s.stride_w = stride_w;
        s.pad_top = pad_h, s.pad_bottom = pad_h - out_pad_h;
        s.pad_left = pad_w, s.pad_right = pad_w - out_pad_w;
        s.dil_h = dil_h, s.dil_w = dil_w, s.groups = groups;
        s.precision = precision;
        return s;
    }
};

// y (n, c_out, out_h, out_w) = conv_transpose(x, weight) + bias (bias may be null).
void conv_transpose2d_forward(const ConvTransposeShape& s, const float* x, const float* weight,
                              const float* bias, float* y);
// Any of grad_x, grad_w, grad_bias may be null when not needed.
void conv_transpose2d_backward(const ConvTransposeShape& s, const float* grad, const float* x,
                               const float* weight, float* grad_x, float* grad_w, float* grad_bias);

}  // namespace pydl
