// Convolution (and, as they land, pooling, normalization, dropout).
#include <array>

#include "bindings/common.h"
#include "kernels/conv.h"
#include "kernels/pool.h"

namespace pydl::bind {
namespace {

// Checks the convolution's settings against the input and weight shapes and fills a
// ConvShape; the messages name the setting and the shapes.
ConvShape conv_shape(const Shape& xs, const Shape& ws, const std::array<int64_t, 2>& stride,
                     const std::array<int64_t, 4>& padding, const std::array<int64_t, 2>& dilation,
                     int64_t groups) {
    PYDL_CHECK(xs.size() == 4, ValueError, "conv2d expects input (N, C, H, W); got ",
               shape_str(xs));
    PYDL_CHECK(ws.size() == 4, ValueError, "conv2d expects weight (C_out, C_in / groups, kH, kW); got ",
               shape_str(ws));
    PYDL_CHECK(groups >= 1, ValueError, "conv2d: groups must be >= 1, got ", groups);
    PYDL_CHECK(stride[0] >= 1 && stride[1] >= 1, ValueError, "conv2d: stride must be >= 1, got (",
               stride[0], ", ", stride[1], ")");
    PYDL_CHECK(dilation[0] >= 1 && dilation[1] >= 1, ValueError,
               "conv2d: dilation must be >= 1, got (", dilation[0], ", ", dilation[1], ")");
    for (int64_t p : padding)
        PYDL_CHECK(p >= 0, ValueError, "conv2d: padding must be >= 0, got ", p);
    PYDL_CHECK(xs[1] % groups == 0 && ws[0] % groups == 0, ValueError, "conv2d: in_channels ",
               xs[1], " and out_channels ", ws[0], " must be divisible by groups ", groups);
    PYDL_CHECK(ws[1] * groups == xs[1], ValueError, "conv2d: weight ", shape_str(ws), " expects ",
               ws[1] * groups, " input channels (groups=", groups, ") but the input ",
               shape_str(xs), " has ", xs[1]);
    ConvShape s{xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], stride[0], stride[1],
                padding[0], padding[1], padding[2], padding[3], dilation[0], dilation[1], groups};
    PYDL_CHECK(s.h + s.pad_top + s.pad_bottom >= s.dil_h * (s.kh - 1) + 1 &&
                   s.w + s.pad_left + s.pad_right >= s.dil_w * (s.kw - 1) + 1,
               ValueError, "conv2d: kernel ", s.kh, "x", s.kw, " (dilation ", s.dil_h, ", ",
               s.dil_w, ") is larger than the padded input ", shape_str(xs));
    return s;
}

void def_conv(py::module_& m) {
    m.def("conv2d_forward", [](const py::array& x_, const py::array& w_, py::object b_,
                               std::array<int64_t, 2> stride, std::array<int64_t, 4> padding,
                               std::array<int64_t, 2> dilation, int64_t groups) {
        auto x = f32(x_, "input"), w = f32(w_, "weight");
        const ConvShape s = conv_shape(shape_of(x), shape_of(w), stride, padding, dilation, groups);
        py::array_t<float> b;
        if (!b_.is_none()) {
            b = f32(b_.cast<py::array>(), "bias");
            PYDL_CHECK(b.ndim() == 1 && b.shape(0) == s.c_out, ValueError, "conv2d: bias ",
                       shape_str(shape_of(b)), " must have ", s.c_out, " values");
        }
        auto y = empty({s.n, s.c_out, s.out_h(), s.out_w()});
        float* yp = out(y);
        const float* bp = b_.is_none() ? nullptr : in(b);
        py::gil_scoped_release nogil;
        conv2d_forward(s, in(x), in(w), bp, yp);
        return y;
    });
    m.def("conv2d_backward", [](const py::array& g_, const py::array& x_, const py::array& w_,
                                std::array<int64_t, 2> stride, std::array<int64_t, 4> padding,
                                std::array<int64_t, 2> dilation, int64_t groups, bool need_x,
                                bool need_w, bool has_bias) {
        auto g = f32(g_, "grad"), x = f32(x_, "input"), w = f32(w_, "weight");
        const ConvShape s = conv_shape(shape_of(x), shape_of(w), stride, padding, dilation, groups);
        const Shape ys{s.n, s.c_out, s.out_h(), s.out_w()};
        PYDL_CHECK(shape_of(g) == ys, ValueError, "conv2d: grad ", shape_str(shape_of(g)),
                   " does not match the output ", shape_str(ys));
        py::object gx = py::none(), gw = py::none(), gb = py::none();
        float* gxp = nullptr;
        float* gwp = nullptr;
        float* gbp = nullptr;
        if (need_x) { auto t = empty(shape_of(x)); gxp = out(t); gx = t; }
        if (need_w) { auto t = empty(shape_of(w)); gwp = out(t); gw = t; }
        if (has_bias) { auto t = empty({s.c_out}); gbp = out(t); gb = t; }
        {
            py::gil_scoped_release nogil;
            conv2d_backward(s, in(g), in(x), in(w), gxp, gwp, gbp);
        }
        return py::make_tuple(gx, gw, gb);
    });
}

using Pair = std::array<int64_t, 2>;

PoolShape pool_shape(const char* fn, const Shape& xs, Pair kernel, Pair stride, Pair padding,
                     Pair dilation, bool ceil_mode) {
    PYDL_CHECK(xs.size() == 4, ValueError, fn, " expects input (N, C, H, W); got ", shape_str(xs));
    for (int d = 0; d < 2; ++d) {
        PYDL_CHECK(kernel[d] >= 1 && stride[d] >= 1 && dilation[d] >= 1, ValueError, fn,
                   ": kernel_size, stride and dilation must be >= 1; got kernel (", kernel[0],
                   ", ", kernel[1], "), stride (", stride[0], ", ", stride[1], ")");
        PYDL_CHECK(padding[d] >= 0 && 2 * padding[d] <= dilation[d] * (kernel[d] - 1) + 1,
                   ValueError, fn, ": padding (", padding[0], ", ", padding[1],
                   ") must be >= 0 and at most half the kernel size (", kernel[0], ", ",
                   kernel[1], ")");
    }
    PoolShape s{xs[0] * xs[1], xs[2], xs[3], kernel[0], kernel[1], stride[0], stride[1],
                padding[0], padding[1], dilation[0], dilation[1], ceil_mode};
    PYDL_CHECK(s.out_h() >= 1 && s.out_w() >= 1, ValueError, fn, ": kernel (", kernel[0], ", ",
               kernel[1], ") is larger than the padded input ", shape_str(xs));
    return s;
}

void def_pool(py::module_& m) {
    m.def("maxpool2d_forward", [](const py::array& x_, Pair kernel, Pair stride, Pair padding,
                                  Pair dilation, bool ceil_mode) {
        auto x = f32(x_, "input");
        const Shape xs = shape_of(x);
        const PoolShape s = pool_shape("max_pool2d", xs, kernel, stride, padding, dilation, ceil_mode);
        auto y = empty({xs[0], xs[1], s.out_h(), s.out_w()});
        py::array_t<int64_t> idx(std::vector<py::ssize_t>{xs[0], xs[1], s.out_h(), s.out_w()});
        float* yp = out(y);
        int64_t* ip = idx.mutable_data();
        {
            py::gil_scoped_release nogil;
            maxpool2d_forward(s, in(x), yp, ip);
        }
        return py::make_tuple(y, idx);
    });
    m.def("maxpool2d_backward", [](const py::array& g_, const py::array& idx_,
                                   const std::vector<int64_t>& x_shape, Pair kernel, Pair stride,
                                   Pair padding, Pair dilation, bool ceil_mode) {
        auto g = f32(g_, "grad");
        auto idx = i64(idx_, "indices");
        const Shape xs(x_shape.begin(), x_shape.end());
        const PoolShape s = pool_shape("max_pool2d", xs, kernel, stride, padding, dilation, ceil_mode);
        const Shape ys{xs[0], xs[1], s.out_h(), s.out_w()};
        PYDL_CHECK(shape_of(g) == ys && shape_of(idx) == ys, ValueError, "max_pool2d: grad ",
                   shape_str(shape_of(g)), " and indices ", shape_str(shape_of(idx)),
                   " must match the output ", shape_str(ys));
        // Indices come from Python: check them before any write.
        for (py::ssize_t k = 0; k < idx.size(); ++k)
            PYDL_CHECK(idx.data()[k] >= -1 && idx.data()[k] < s.h * s.w, IndexError,
                       "max_pool2d: index ", idx.data()[k], " is outside a ", s.h, "x", s.w,
                       " plane");
        auto gx = empty(xs);
        float* gp = out(gx);
        {
            py::gil_scoped_release nogil;
            maxpool2d_backward(s, in(g), idx.data(), gp);
        }
        return gx;
    });
    m.def("avgpool2d_forward", [](const py::array& x_, Pair kernel, Pair stride, Pair padding,
                                  bool ceil_mode, bool count_include_pad) {
        auto x = f32(x_, "input");
        const Shape xs = shape_of(x);
        const PoolShape s = pool_shape("avg_pool2d", xs, kernel, stride, padding, {1, 1}, ceil_mode);
        auto y = empty({xs[0], xs[1], s.out_h(), s.out_w()});
        float* yp = out(y);
        py::gil_scoped_release nogil;
        avgpool2d_forward(s, count_include_pad, in(x), yp);
        return y;
    });
    m.def("avgpool2d_backward", [](const py::array& g_, const std::vector<int64_t>& x_shape,
                                   Pair kernel, Pair stride, Pair padding, bool ceil_mode,
                                   bool count_include_pad) {
        auto g = f32(g_, "grad");
        const Shape xs(x_shape.begin(), x_shape.end());
        const PoolShape s = pool_shape("avg_pool2d", xs, kernel, stride, padding, {1, 1}, ceil_mode);
        const Shape ys{xs[0], xs[1], s.out_h(), s.out_w()};
        PYDL_CHECK(shape_of(g) == ys, ValueError, "avg_pool2d: grad ", shape_str(shape_of(g)),
                   " must match the output ", shape_str(ys));
        auto gx = empty(xs);
        float* gp = out(gx);
        py::gil_scoped_release nogil;
        avgpool2d_backward(s, count_include_pad, in(g), gp);
        return gx;
    });
    m.def("adaptive_avgpool2d_forward", [](const py::array& x_, Pair out_size) {
        auto x = f32(x_, "input");
        const Shape xs = shape_of(x);
        PYDL_CHECK(xs.size() == 4 && out_size[0] >= 1 && out_size[1] >= 1, ValueError,
                   "adaptive_avg_pool2d expects input (N, C, H, W) and output_size >= 1; got ",
                   shape_str(xs), " and (", out_size[0], ", ", out_size[1], ")");
        auto y = empty({xs[0], xs[1], out_size[0], out_size[1]});
        float* yp = out(y);
        py::gil_scoped_release nogil;
        adaptive_avgpool2d_forward(xs[0] * xs[1], xs[2], xs[3], out_size[0], out_size[1], in(x), yp);
        return y;
    });
    m.def("adaptive_avgpool2d_backward", [](const py::array& g_, const std::vector<int64_t>& x_shape) {
        auto g = f32(g_, "grad");
        const Shape xs(x_shape.begin(), x_shape.end()), gs = shape_of(g);
        PYDL_CHECK(xs.size() == 4 && gs.size() == 4 && gs[0] == xs[0] && gs[1] == xs[1],
                   ValueError, "adaptive_avg_pool2d: grad ", shape_str(gs),
                   " does not match input ", shape_str(xs));
        auto gx = empty(xs);
        float* gp = out(gx);
        py::gil_scoped_release nogil;
        adaptive_avgpool2d_backward(xs[0] * xs[1], xs[2], xs[3], gs[2], gs[3], in(g), gp);
        return gx;
    });
}

}  // namespace

void bind_cnn(py::module_& m) {
    def_conv(m);
    def_pool(m);
}

}  // namespace pydl::bind
