// Convolution.
#include <array>

#include "bindings/common.h"
#include "kernels/conv.h"

namespace pydl::bind {
namespace {

// Checks the convolution's settings against the input and weight shapes and fills a
// ConvShape; the messages name the setting and the shapes.
ConvShape conv_shape(const Shape& xs, const Shape& ws, const std::array<int64_t, 2>& stride,
                     const std::array<int64_t, 4>& padding, const std::array<int64_t, 2>& dilation,
                     int64_t groups, bool bf16) {
    PYDL_CHECK(xs.size() == 4, ValueError, "conv2d expects input (N, C, H, W); got ",
               shape_str(xs));
    PYDL_CHECK(ws.size() == 4, ValueError,
               "conv2d expects weight (C_out, C_in / groups, kH, kW); got ", shape_str(ws));
    PYDL_CHECK(groups >= 1, ValueError, "conv2d: groups must be >= 1, got ", groups);
    PYDL_CHECK(stride[0] >= 1 && stride[1] >= 1, ValueError, "conv2d: stride must be >= 1, got (",
               stride[0], ", ", stride[1], ")");
    PYDL_CHECK(dilation[0] >= 1 && dilation[1] >= 1, ValueError,
               "conv2d: dilation must be >= 1, got (", dilation[0], ", ", dilation[1], ")");
    for (int64_t p : padding)
        PYDL_CHECK(p >= 0, ValueError, "conv2d: padding must be >= 0, got ", p);
    PYDL_CHECK(xs[1] % groups == 0 && ws[0] % groups == 0, ValueError, "conv2d: in_channels ",
               xs[1], " and out_channels ", ws[0], " must be divisible by groups ", groups);
    // checked: zero channels pass the divisibility checks for any groups (Note [Checked sizes])
    const int64_t c_in = checked_mul(ws[1], groups, "conv2d: input channels of weight ",
                                     shape_str(ws), " with groups=", groups);
    PYDL_CHECK(c_in == xs[1], ValueError, "conv2d: weight ", shape_str(ws), " expects ", c_in,
               " input channels (groups=", groups, ") but the input ", shape_str(xs), " has ",
               xs[1]);
    ConvShape s{xs[0],      xs[1],       xs[2],       xs[3],      ws[0],      ws[2],
                ws[3],      stride[0],   stride[1],   padding[0], padding[1], padding[2],
                padding[3], dilation[0], dilation[1], groups};
    PYDL_CHECK(s.kernel_fits(), ValueError, "conv2d: kernel ", s.kh, "x", s.kw, " (dilation ",
               s.dil_h, ", ", s.dil_w, ") is larger than the padded input ", shape_str(xs));
    if (bf16) s.precision = Precision::BFloat16;
    return s;
}

}  // namespace

void bind_conv(KernelModule& m) {
    m.def(
        "conv2d_forward",
        [](const py::array& x_, const py::array& w_, py::object b_, std::array<int64_t, 2> stride,
           std::array<int64_t, 4> padding, std::array<int64_t, 2> dilation, int64_t groups,
           bool bf16, const std::string& activation) {
            auto x = f32(x_, "input"), w = f32(w_, "weight");
            const std::optional<UnaryOp> act = parse_activation(activation);
            const ConvShape s =
                conv_shape(shape_of(x), shape_of(w), stride, padding, dilation, groups, bf16);
            py::array_t<float> b;
            if (!b_.is_none()) {
                b = f32(b_.cast<py::array>(), "bias");
                PYDL_CHECK(b.ndim() == 1 && b.shape(0) == s.c_out, ValueError, "conv2d: bias ",
                           shape_str(shape_of(b)), " must have ", s.c_out, " values");
            }
            auto y = empty({s.n, s.c_out, s.out_h(), s.out_w()});
            float* yp = out(y);
            const float* bp = b_.is_none() ? nullptr : in(b);
            ReleaseGil nogil(cost_macs(double(s.n) * s.c_out * s.out_h() * s.out_w() *
                                       (s.c / s.groups) * s.kh * s.kw));
            conv2d_forward(s, in(x), in(w), bp, yp, act);
            return y;
        },
        py::arg("x"), py::arg("w"), py::arg("b"), py::arg("stride"), py::arg("padding"),
        py::arg("dilation"), py::arg("groups"), py::arg("bf16") = false,
        py::arg("activation") = "none");
    m.def(
        "conv2d_backward",
        [](const py::array& g_, const py::array& x_, const py::array& w_,
           std::array<int64_t, 2> stride, std::array<int64_t, 4> padding,
           std::array<int64_t, 2> dilation, int64_t groups, bool need_x, bool need_w, bool has_bias,
           bool bf16, const std::string& activation, py::object act_x_, py::object act_y_) {
            auto g = f32(g_, "grad"), x = f32(x_, "input"), w = f32(w_, "weight");
            const ConvShape s =
                conv_shape(shape_of(x), shape_of(w), stride, padding, dilation, groups, bf16);
            const Shape ys{s.n, s.c_out, s.out_h(), s.out_w()};
            PYDL_CHECK(shape_of(g) == ys, ValueError, "conv2d: grad ", shape_str(shape_of(g)),
                       " does not match the output ", shape_str(ys));
            // act_y: the convolution's input, whose gradient the activation's backward takes
            const FusedActivationGrad act =
                fused_activation_grad("conv2d", activation, act_x_, act_y_, shape_of(x));
            PYDL_CHECK(!act.act || need_x, ValueError, "conv2d: activation '", activation,
                       "' needs need_x, act_x and act_y");
            float *gxp, *gwp, *gbp;
            py::object gx = maybe_empty(need_x, shape_of(x), gxp),
                       gw = maybe_empty(need_w, shape_of(w), gwp),
                       gb = maybe_empty(has_bias, {s.c_out}, gbp);
            {
                ReleaseGil nogil(cost_macs(2.0 * double(s.n) * s.c_out * s.out_h() * s.out_w() *
                                           (s.c / s.groups) * s.kh * s.kw));
                conv2d_backward(s, in(g), in(x), in(w), gxp, gwp, gbp, act.act, act.x_data(),
                                act.y_data());
            }
            return py::make_tuple(gx, gw, gb);
        },
        py::arg("grad"), py::arg("x"), py::arg("w"), py::arg("stride"), py::arg("padding"),
        py::arg("dilation"), py::arg("groups"), py::arg("need_x"), py::arg("need_w"),
        py::arg("has_bias"), py::arg("bf16") = false, py::arg("activation") = "none",
        py::arg("act_x") = py::none(), py::arg("act_y") = py::none());
}

}  // namespace pydl::bind
