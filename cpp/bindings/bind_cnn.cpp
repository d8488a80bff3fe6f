// Convolution (and, as they land, pooling, normalization, dropout).
#include <array>

#include "bindings/common.h"
#include "kernels/conv.h"
#include "kernels/dropout.h"
#include "kernels/norm.h"
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
    PYDL_CHECK(ws[1] * groups == xs[1], ValueError, "conv2d: weight ", shape_str(ws), " expects ",
               ws[1] * groups, " input channels (groups=", groups, ") but the input ",
               shape_str(xs), " has ", xs[1]);
    ConvShape s{xs[0],      xs[1],       xs[2],       xs[3],      ws[0],      ws[2],
                ws[3],      stride[0],   stride[1],   padding[0], padding[1], padding[2],
                padding[3], dilation[0], dilation[1], groups};
    PYDL_CHECK(s.kernel_fits(), ValueError, "conv2d: kernel ", s.kh, "x", s.kw, " (dilation ",
               s.dil_h, ", ", s.dil_w, ") is larger than the padded input ", shape_str(xs));
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
        float *gxp, *gwp, *gbp;
        py::object gx = maybe_empty(need_x, shape_of(x), gxp),
                   gw = maybe_empty(need_w, shape_of(w), gwp),
                   gb = maybe_empty(has_bias, {s.c_out}, gbp);
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
                   ": kernel_size, stride and dilation must be >= 1; got kernel (", kernel[0], ", ",
                   kernel[1], "), stride (", stride[0], ", ", stride[1], ")");
        PYDL_CHECK(padding[d] >= 0 && PoolShape::padding_fits(kernel[d], padding[d], dilation[d]),
                   ValueError, fn, ": padding (", padding[0], ", ", padding[1],
                   ") must be >= 0 and at most half the kernel size (", kernel[0], ", ", kernel[1],
                   ")");
    }
    PoolShape s{xs[0] * xs[1], xs[2],      xs[3],      kernel[0],   kernel[1],   stride[0],
                stride[1],     padding[0], padding[1], dilation[0], dilation[1], ceil_mode};
    PYDL_CHECK(s.out_h() >= 1 && s.out_w() >= 1, ValueError, fn, ": kernel (", kernel[0], ", ",
               kernel[1], ") is larger than the padded input ", shape_str(xs));
    return s;
}

void def_pool(py::module_& m) {
    m.def("maxpool2d_forward", [](const py::array& x_, Pair kernel, Pair stride, Pair padding,
                                  Pair dilation, bool ceil_mode) {
        auto x = f32(x_, "input");
        const Shape xs = shape_of(x);
        const PoolShape s =
            pool_shape("max_pool2d", xs, kernel, stride, padding, dilation, ceil_mode);
        auto y = empty({xs[0], xs[1], s.out_h(), s.out_w()});
        auto idx = empty<int64_t>({xs[0], xs[1], s.out_h(), s.out_w()});
        float* yp = out(y);
        int64_t* ip = idx.mutable_data();
        {
            py::gil_scoped_release nogil;
            maxpool2d_forward(s, in(x), yp, ip);
        }
        return py::make_tuple(y, idx);
    });
    m.def("maxpool2d_backward",
          [](const py::array& g_, const py::array& idx_, const std::vector<int64_t>& x_shape,
             Pair kernel, Pair stride, Pair padding, Pair dilation, bool ceil_mode) {
              auto g = f32(g_, "grad");
              auto idx = i64(idx_, "indices");
              const Shape xs(x_shape.begin(), x_shape.end());
              const PoolShape s =
                  pool_shape("max_pool2d", xs, kernel, stride, padding, dilation, ceil_mode);
              const Shape ys{xs[0], xs[1], s.out_h(), s.out_w()};
              PYDL_CHECK(shape_of(g) == ys && shape_of(idx) == ys, ValueError, "max_pool2d: grad ",
                         shape_str(shape_of(g)), " and indices ", shape_str(shape_of(idx)),
                         " must match the output ", shape_str(ys));
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
        const PoolShape s =
            pool_shape("avg_pool2d", xs, kernel, stride, padding, {1, 1}, ceil_mode);
        auto y = empty({xs[0], xs[1], s.out_h(), s.out_w()});
        float* yp = out(y);
        py::gil_scoped_release nogil;
        avgpool2d_forward(s, count_include_pad, in(x), yp);
        return y;
    });
    m.def("avgpool2d_backward",
          [](const py::array& g_, const std::vector<int64_t>& x_shape, Pair kernel, Pair stride,
             Pair padding, bool ceil_mode, bool count_include_pad) {
              auto g = f32(g_, "grad");
              const Shape xs(x_shape.begin(), x_shape.end());
              const PoolShape s =
                  pool_shape("avg_pool2d", xs, kernel, stride, padding, {1, 1}, ceil_mode);
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
        adaptive_avgpool2d_forward(xs[0] * xs[1], xs[2], xs[3], out_size[0], out_size[1], in(x),
                                   yp);
        return y;
    });
    m.def("adaptive_avgpool2d_backward",
          [](const py::array& g_, const std::vector<int64_t>& x_shape) {
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

// An optional per-channel vector of `size` values as float32 (null when None).
const float* opt_vec(const py::object& o, const char* what, int64_t size,
                     py::array_t<float>& keep) {
    if (o.is_none()) return nullptr;
    keep = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(o);
    PYDL_CHECK(keep, TypeError, what, " must be an array of numbers");
    PYDL_CHECK(keep.size() == size, ValueError, what, " has ", keep.size(), " values, expected ",
               size);
    return keep.data();
}

// A writable float32 vector updated in place (running statistics).
float* inout_vec(const py::object& o, const char* what, int64_t size) {
    if (o.is_none()) return nullptr;
    auto a = o.cast<py::array>();
    PYDL_CHECK(a.dtype().is(py::dtype::of<float>()) && (a.flags() & py::array::c_style) &&
                   a.writeable() && a.size() == size,
               ValueError, what, " must be a writable float32 array of ", size, " values");
    return static_cast<float*>(a.mutable_data());
}

// (n, c, s) of an (N, C, *) input.
std::array<int64_t, 3> ncs(const char* fn, const Shape& xs) {
    PYDL_CHECK(xs.size() >= 2, ValueError, fn, " expects input (N, C, ...); got ", shape_str(xs));
    return {xs[0], xs[1], numel(Shape(xs.begin() + 2, xs.end()))};
}

void def_norm(py::module_& m) {
    m.def("batch_norm_forward",
          [](const py::array& x_, py::object w_, py::object b_, py::object rm_, py::object rv_,
             bool training, double momentum, double eps) {
              auto x = f32(x_, "input");
              const Shape xs = shape_of(x);
              const auto [n, c, s] = ncs("batch_norm", xs);
              PYDL_CHECK(!training || n * s > 1, ValueError,
                         "Expected more than 1 value per channel when training, got input size ",
                         shape_str(xs));
              PYDL_CHECK(training || (!rm_.is_none() && !rv_.is_none()), ValueError,
                         "batch_norm in eval mode needs running_mean and running_var");
              py::array_t<float> wk, bk;
              const float* w = opt_vec(w_, "batch_norm weight", c, wk);
              const float* b = opt_vec(b_, "batch_norm bias", c, bk);
              // Training updates the running statistics in place; eval only reads them.
              py::array_t<float> rmk, rvk;
              float* rm = training ? inout_vec(rm_, "running_mean", c)
                                   : const_cast<float*>(opt_vec(rm_, "running_mean", c, rmk));
              float* rv = training ? inout_vec(rv_, "running_var", c)
                                   : const_cast<float*>(opt_vec(rv_, "running_var", c, rvk));
              auto y = empty(xs);
              auto mean = empty({c});
              auto invstd = empty({c});
              float* yp = out(y);
              float* mp = out(mean);
              float* ip = out(invstd);
              {
                  py::gil_scoped_release nogil;
                  batch_norm_forward(in(x), n, c, s, w, b, training, rm, rv, float(momentum),
                                     float(eps), yp, mp, ip);
              }
              return py::make_tuple(y, mean, invstd);
          });
    m.def("batch_norm_backward", [](const py::array& g_, const py::array& x_, bool training,
                                    py::object w_, const py::array& mean_, const py::array& invstd_,
                                    bool need_x, bool need_weight, bool need_bias) {
        auto g = f32(g_, "grad"), x = f32(x_, "input");
        const Shape xs = shape_of(x);
        const auto [n, c, s] = ncs("batch_norm", xs);
        PYDL_CHECK(shape_of(g) == xs, ValueError, "batch_norm: grad ", shape_str(shape_of(g)),
                   " must match input ", shape_str(xs));
        py::array_t<float> wk, mk, ik;
        const float* w = opt_vec(w_, "batch_norm weight", c, wk);
        const float* mean = opt_vec(mean_, "saved mean", c, mk);
        const float* invstd = opt_vec(invstd_, "saved invstd", c, ik);
        float *gxp, *gwp, *gbp;
        py::object gx = maybe_empty(need_x, xs, gxp), gw = maybe_empty(need_weight, {c}, gwp),
                   gb = maybe_empty(need_bias, {c}, gbp);
        {
            py::gil_scoped_release nogil;
            batch_norm_backward(in(g), in(x), n, c, s, w, mean, invstd, training, gxp, gwp, gbp);
        }
        return py::make_tuple(gx, gw, gb);
    });
    m.def("layer_norm_forward",
          [](const py::array& x_, int64_t d, py::object w_, py::object b_, double eps) {
              auto x = f32(x_, "input");
              PYDL_CHECK(d >= 1 && x.size() % d == 0, ValueError, "layer_norm: normalized size ", d,
                         " does not divide input ", shape_str(shape_of(x)));
              const int64_t rows = x.size() / d;
              py::array_t<float> wk, bk;
              const float* w = opt_vec(w_, "layer_norm weight", d, wk);
              const float* b = opt_vec(b_, "layer_norm bias", d, bk);
              auto y = empty(shape_of(x));
              auto mean = empty({rows});
              auto invstd = empty({rows});
              float* yp = out(y);
              float* mp = out(mean);
              float* ip = out(invstd);
              {
                  py::gil_scoped_release nogil;
                  layer_norm_forward(in(x), rows, d, w, b, float(eps), yp, mp, ip);
              }
              return py::make_tuple(y, mean, invstd);
          });
    m.def("layer_norm_backward", [](const py::array& g_, const py::array& x_, int64_t d,
                                    py::object w_, const py::array& mean_, const py::array& invstd_,
                                    bool need_x, bool need_weight, bool need_bias) {
        auto g = f32(g_, "grad"), x = f32(x_, "input");
        PYDL_CHECK(shape_of(g) == shape_of(x) && d >= 1 && x.size() % d == 0, ValueError,
                   "layer_norm: grad ", shape_str(shape_of(g)), " and input ",
                   shape_str(shape_of(x)), " do not match normalized size ", d);
        const int64_t rows = x.size() / d;
        py::array_t<float> wk, mk, ik;
        const float* w = opt_vec(w_, "layer_norm weight", d, wk);
        const float* mean = opt_vec(mean_, "saved mean", rows, mk);
        const float* invstd = opt_vec(invstd_, "saved invstd", rows, ik);
        float *gxp, *gwp, *gbp;
        py::object gx = maybe_empty(need_x, shape_of(x), gxp),
                   gw = maybe_empty(need_weight, {d}, gwp), gb = maybe_empty(need_bias, {d}, gbp);
        {
            py::gil_scoped_release nogil;
            layer_norm_backward(in(g), in(x), rows, d, w, mean, invstd, gxp, gwp, gbp);
        }
        return py::make_tuple(gx, gw, gb);
    });
    m.def("group_norm_forward",
          [](const py::array& x_, int64_t groups, py::object w_, py::object b_, double eps) {
              auto x = f32(x_, "input");
              const Shape xs = shape_of(x);
              const auto [n, c, s] = ncs("group_norm", xs);
              PYDL_CHECK(groups >= 1 && c % groups == 0, ValueError, "group_norm: ", c,
                         " channels are not divisible into ", groups, " groups");
              py::array_t<float> wk, bk;
              const float* w = opt_vec(w_, "group_norm weight", c, wk);
              const float* b = opt_vec(b_, "group_norm bias", c, bk);
              auto y = empty(xs);
              auto mean = empty({n, groups});
              auto invstd = empty({n, groups});
              float* yp = out(y);
              float* mp = out(mean);
              float* ip = out(invstd);
              {
                  py::gil_scoped_release nogil;
                  group_norm_forward(in(x), n, c, s, groups, w, b, float(eps), yp, mp, ip);
              }
              return py::make_tuple(y, mean, invstd);
          });
    m.def("group_norm_backward", [](const py::array& g_, const py::array& x_, int64_t groups,
                                    py::object w_, const py::array& mean_, const py::array& invstd_,
                                    bool need_x, bool need_weight, bool need_bias) {
        auto g = f32(g_, "grad"), x = f32(x_, "input");
        const Shape xs = shape_of(x);
        const auto [n, c, s] = ncs("group_norm", xs);
        PYDL_CHECK(shape_of(g) == xs && groups >= 1 && c % groups == 0, ValueError,
                   "group_norm: grad ", shape_str(shape_of(g)), " must match input ", shape_str(xs),
                   " with channels divisible by ", groups);
        py::array_t<float> wk, mk, ik;
        const float* w = opt_vec(w_, "group_norm weight", c, wk);
        const float* mean = opt_vec(mean_, "saved mean", n * groups, mk);
        const float* invstd = opt_vec(invstd_, "saved invstd", n * groups, ik);
        float *gxp, *gwp, *gbp;
        py::object gx = maybe_empty(need_x, xs, gxp), gw = maybe_empty(need_weight, {c}, gwp),
                   gb = maybe_empty(need_bias, {c}, gbp);
        {
            py::gil_scoped_release nogil;
            group_norm_backward(in(g), in(x), n, c, s, groups, w, mean, invstd, gxp, gwp, gbp);
        }
        return py::make_tuple(gx, gw, gb);
    });
}

void def_dropout(py::module_& m) {
    for (const bool backward : {false, true}) {
        m.def(backward ? "dropout_backward" : "dropout_forward",
              [backward](const py::array& x_, double p, int64_t block, uint64_t seed,
                         uint64_t offset) {
                  auto x = f32(x_, backward ? "grad" : "input");
                  PYDL_CHECK(p >= 0.0 && p <= 1.0, ValueError,
                             "dropout probability has to be between 0 and 1, but got ", p);
                  PYDL_CHECK(block >= 1 && (x.size() == 0 || x.size() % block == 0), ValueError,
                             "dropout: block ", block, " does not divide ", x.size(), " elements");
                  auto y = empty(shape_of(x));
                  float* yp = out(y);
                  const int64_t n = x.size();
                  py::gil_scoped_release nogil;
                  (backward ? dropout_backward : dropout_forward)(in(x), n, float(p), block, seed,
                                                                  offset, yp);
                  return y;
              });
    }
}

}  // namespace

void bind_cnn(py::module_& m) {
    def_conv(m);
    def_pool(m);
    def_norm(m);
    def_dropout(m);
}

}  // namespace pydl::bind
