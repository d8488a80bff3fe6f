// Transposed convolution.
#include <array>

#include "bindings/common.h"
#include "kernels/conv_transpose.h"

namespace pydl::bind {
namespace {

using Pair = std::array<int64_t, 2>;

std::string pair_str(const Pair& p) { return str_cat("(", p[0], ", ", p[1], ")"); }

// Checks the settings against the input and weight shapes (PyTorch's rules) and fills a
// ConvTransposeShape; the messages name the setting and the shapes.
ConvTransposeShape conv_transpose_shape(const Shape& xs, const Shape& ws, Pair stride, Pair padding,
                                        Pair output_padding, Pair dilation, int64_t groups,
                                        bool bf16) {
    PYDL_CHECK(xs.size() == 4, ValueError, "conv_transpose2d expects input (N, C_in, H, W); got ",
               shape_str(xs));
    PYDL_CHECK(ws.size() == 4, ValueError,
               "conv_transpose2d expects weight (C_in, C_out / groups, kH, kW); got ",
               shape_str(ws));
    PYDL_CHECK(groups >= 1, ValueError, "conv_transpose2d: groups must be >= 1, got ", groups);
    PYDL_CHECK(stride[0] >= 1 && stride[1] >= 1, ValueError,
               "conv_transpose2d: stride must be >= 1, got ", pair_str(stride));
    PYDL_CHECK(dilation[0] >= 1 && dilation[1] >= 1, ValueError,
               "conv_transpose2d: dilation must be >= 1, got ", pair_str(dilation));
    PYDL_CHECK(padding[0] >= 0 && padding[1] >= 0, ValueError,
               "conv_transpose2d: padding must be >= 0, got ", pair_str(padding));
    for (int d = 0; d < 2; ++d)
        PYDL_CHECK(output_padding[d] >= 0 &&
                       (output_padding[d] < stride[d] || output_padding[d] < dilation[d]),
                   ValueError, "conv_transpose2d: output_padding ", pair_str(output_padding),
                   " must be >= 0 and smaller than either stride ", pair_str(stride),
                   " or dilation ", pair_str(dilation));
    PYDL_CHECK(ws[0] % groups == 0, ValueError, "conv_transpose2d: weight ", shape_str(ws), " has ",
               ws[0], " input channels, not divisible by groups ", groups);
    PYDL_CHECK(xs[1] == ws[0], ValueError, "conv_transpose2d: weight ", shape_str(ws), " expects ",
               ws[0], " input channels but the input ", shape_str(xs), " has ", xs[1]);
    PYDL_CHECK(ws[2] >= 1 && ws[3] >= 1, ValueError, "conv_transpose2d: weight ", shape_str(ws),
               " has an empty kernel");
    PYDL_CHECK(xs[2] >= 1 && xs[3] >= 1, ValueError, "conv_transpose2d: input ", shape_str(xs),
               " has no rows or columns");
    const int64_t c_out = checked_mul(ws[1], groups, "conv_transpose2d: output channels");
    ConvTransposeShape s{xs[0],
                         xs[1],
                         xs[2],
                         xs[3],
                         c_out,
                         ws[2],
                         ws[3],
                         stride[0],
                         stride[1],
                         padding[0],
                         padding[1],
                         output_padding[0],
                         output_padding[1],
                         dilation[0],
                         dilation[1],
                         groups};
    PYDL_CHECK(s.out_h() >= 1 && s.out_w() >= 1, ValueError, "conv_transpose2d: the output (",
               s.out_h(), ", ", s.out_w(), ") of input ", shape_str(xs), " and weight ",
               shape_str(ws), " is too small (padding ", pair_str(padding), ")");
    if (bf16) s.precision = Precision::BFloat16;  // autocast (Note [Autocast])
    return s;
}

}  // namespace

void bind_conv_transpose(KernelModule& m) {
    m.def(
        "conv_transpose2d_forward",
        [](const py::array& x_, const py::array& w_, py::object b_, Pair stride, Pair padding,
           Pair output_padding, Pair dilation, int64_t groups, bool bf16) {
            auto x = f32(x_, "input"), w = f32(w_, "weight");
            py::array_t<float> b;
            if (!b_.is_none()) b = f32(b_.cast<py::array>(), "bias");
            const ConvTransposeShape s = conv_transpose_shape(
                shape_of(x), shape_of(w), stride, padding, output_padding, dilation, groups, bf16);
            if (!b_.is_none())
                PYDL_CHECK(b.ndim() == 1 && b.shape(0) == s.c_out, ValueError,
                           "conv_transpose2d: bias ", shape_str(shape_of(b)), " must have ",
                           s.c_out, " values");
            auto y = empty({s.n, s.c_out, s.out_h(), s.out_w()});
            float* yp = out(y);
            const float* bp = b_.is_none() ? nullptr : in(b);
            ReleaseGil nogil(
                cost_macs(double(s.n) * s.c * s.h * s.w * (s.c_out / s.groups) * s.kh * s.kw));
            conv_transpose2d_forward(s, in(x), in(w), bp, yp);
            return y;
        },
        py::arg("x"), py::arg("w"), py::arg("b"), py::arg("stride"), py::arg("padding"),
        py::arg("output_padding"), py::arg("dilation"), py::arg("groups"), py::arg("bf16") = false);
    m.def(
        "conv_transpose2d_backward",
        [](const py::array& g_, const py::array& x_, const py::array& w_, Pair stride, Pair padding,
           Pair output_padding, Pair dilation, int64_t groups, bool need_x, bool need_w,
           bool has_bias, bool bf16) {
            auto g = f32(g_, "grad"), x = f32(x_, "input"), w = f32(w_, "weight");
            const ConvTransposeShape s = conv_transpose_shape(
                shape_of(x), shape_of(w), stride, padding, output_padding, dilation, groups, bf16);
            const Shape ys{s.n, s.c_out, s.out_h(), s.out_w()};
            PYDL_CHECK(shape_of(g) == ys, ValueError, "conv_transpose2d: grad ",
                       shape_str(shape_of(g)), " does not match the output ", shape_str(ys));
            float *gxp, *gwp, *gbp;
            py::object gx = maybe_empty(need_x, shape_of(x), gxp),
                       gw = maybe_empty(need_w, shape_of(w), gwp),
                       gb = maybe_empty(has_bias, {s.c_out}, gbp);
            {
                ReleaseGil nogil(cost_macs(2.0 * double(s.n) * s.c * s.h * s.w *
                                           (s.c_out / s.groups) * s.kh * s.kw));
                conv_transpose2d_backward(s, in(g), in(x), in(w), gxp, gwp, gbp);
            }
            return py::make_tuple(gx, gw, gb);
        },
        py::arg("grad"), py::arg("x"), py::arg("w"), py::arg("stride"), py::arg("padding"),
        py::arg("output_padding"), py::arg("dilation"), py::arg("groups"), py::arg("need_x"),
        py::arg("need_w"), py::arg("has_bias"), py::arg("bf16") = false);
}

}  // namespace pydl::bind
