// Pooling.
#include <array>

#include "bindings/common.h"
#include "kernels/pool.h"

namespace pydl::bind {
namespace {

using Pair = std::array<int64_t, 2>;

PoolShape pool_shape(const char* fn, const Shape& xs, Pair kernel, Pair stride, Pair padding,
                     Pair dilation, bool ceil_mode) {
    PYDL_CHECK(xs.size() == 4, ValueError, fn, " expects input (N, C, H, W); got ", shape_str(xs));
    numel(xs);  // a backward's x_shape is the caller's: no negative or overflowing dims
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

}  // namespace

void bind_pool(KernelModule& m) {
    // save=False (no backward will run) returns None for the indices and computes none.
    m.def(
        "maxpool2d_forward",
        [](const py::array& x_, Pair kernel, Pair stride, Pair padding, Pair dilation,
           bool ceil_mode, bool save) {
            auto x = f32(x_, "input");
            const Shape xs = shape_of(x);
            const PoolShape s =
                pool_shape("max_pool2d", xs, kernel, stride, padding, dilation, ceil_mode);
            auto y = empty({xs[0], xs[1], s.out_h(), s.out_w()});
            py::object idx = py::none();
            int64_t* ip = nullptr;
            if (save) {
                auto t = empty<int64_t>({xs[0], xs[1], s.out_h(), s.out_w()});
                ip = t.mutable_data();
                idx = t;
            }
            float* yp = out(y);
            {
                ReleaseGil nogil(
                    cost_math(double(s.planes) * s.out_h() * s.out_w() * (s.kh * s.kw + 2.0)));
                maxpool2d_forward(s, in(x), yp, ip);
            }
            return py::make_tuple(y, idx);
        },
        py::arg("x"), py::arg("kernel"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
        py::arg("ceil_mode"), py::arg("save") = true);
    m.def(
        "maxpool2d_backward",
        [](const py::array& g_, const py::array& idx_, const std::vector<int64_t>& x_shape,
           Pair kernel, Pair stride, Pair padding, Pair dilation, bool ceil_mode,
           const std::string& activation, py::object act_x_, py::object act_y_) {
            auto g = f32(g_, "grad");
            auto idx = i64(idx_, "indices");
            const Shape xs(x_shape.begin(), x_shape.end());
            const PoolShape s =
                pool_shape("max_pool2d", xs, kernel, stride, padding, dilation, ceil_mode);
            const Shape ys{xs[0], xs[1], s.out_h(), s.out_w()};
            PYDL_CHECK(shape_of(g) == ys && shape_of(idx) == ys, ValueError, "max_pool2d: grad ",
                       shape_str(shape_of(g)), " and indices ", shape_str(shape_of(idx)),
                       " must match the output ", shape_str(ys));
            // act_y: the pool's input
            const FusedActivationGrad act =
                fused_activation_grad("max_pool2d", activation, act_x_, act_y_, xs);
            auto gx = empty(xs);
            float* gp = out(gx);
            {
                ReleaseGil nogil(
                    cost_elements(double(s.planes) * s.h * s.w + 3.0 * double(numel(ys))));
                maxpool2d_backward(s, in(g), idx.data(), gp, act.act, act.x_data(), act.y_data());
            }
            return gx;
        },
        py::arg("grad"), py::arg("indices"), py::arg("x_shape"), py::arg("kernel"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("ceil_mode"),
        py::arg("activation") = "none", py::arg("act_x") = py::none(),
        py::arg("act_y") = py::none());
    m.def(
        "avgpool2d_forward",
        [](const py::array& x_, Pair kernel, Pair stride, Pair padding, bool ceil_mode,
           bool count_include_pad) {
            auto x = f32(x_, "input");
            const Shape xs = shape_of(x);
            const PoolShape s =
                pool_shape("avg_pool2d", xs, kernel, stride, padding, {1, 1}, ceil_mode);
            auto y = empty({xs[0], xs[1], s.out_h(), s.out_w()});
            float* yp = out(y);
            ReleaseGil nogil(
                cost_math(double(s.planes) * s.out_h() * s.out_w() * (s.kh * s.kw + 1.0)));
            avgpool2d_forward(s, count_include_pad, in(x), yp);
            return y;
        },
        py::arg("x"), py::arg("kernel"), py::arg("stride"), py::arg("padding"),
        py::arg("ceil_mode"), py::arg("count_include_pad"));
    m.def(
        "avgpool2d_backward",
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
            ReleaseGil nogil(cost_elements(double(s.planes) * s.h * s.w +
                                           double(numel(ys)) * (s.kh * s.kw + 1.0)));
            avgpool2d_backward(s, count_include_pad, in(g), gp);
            return gx;
        },
        py::arg("grad"), py::arg("x_shape"), py::arg("kernel"), py::arg("stride"),
        py::arg("padding"), py::arg("ceil_mode"), py::arg("count_include_pad"));
    m.def(
        "adaptive_avgpool2d_forward",
        [](const py::array& x_, Pair out_size) {
            auto x = f32(x_, "input");
            const Shape xs = shape_of(x);
            PYDL_CHECK(xs.size() == 4 && out_size[0] >= 1 && out_size[1] >= 1, ValueError,
                       "adaptive_avg_pool2d expects input (N, C, H, W) and output_size >= 1; got ",
                       shape_str(xs), " and (", out_size[0], ", ", out_size[1], ")");
            auto y = empty({xs[0], xs[1], out_size[0], out_size[1]});
            float* yp = out(y);
            ReleaseGil nogil(cost_elements(2.0 * double(numel(xs)) +
                                           double(xs[0]) * xs[1] * out_size[0] * out_size[1]));
            adaptive_avgpool2d_forward(xs[0] * xs[1], xs[2], xs[3], out_size[0], out_size[1], in(x),
                                       yp);
            return y;
        },
        py::arg("x"), py::arg("out_size"));
    m.def(
        "adaptive_avgpool2d_backward",
        [](const py::array& g_, const std::vector<int64_t>& x_shape) {
            auto g = f32(g_, "grad");
            const Shape xs(x_shape.begin(), x_shape.end()), gs = shape_of(g);
            PYDL_CHECK(xs.size() == 4 && gs.size() == 4 && gs[0] == xs[0] && gs[1] == xs[1],
                       ValueError, "adaptive_avg_pool2d: grad ", shape_str(gs),
                       " does not match input ", shape_str(xs));
            auto gx = empty(xs);
            float* gp = out(gx);
            ReleaseGil nogil(cost_elements(2.0 * double(numel(xs)) + double(numel(gs))));
            adaptive_avgpool2d_backward(xs[0] * xs[1], xs[2], xs[3], gs[2], gs[3], in(g), gp);
            return gx;
        },
        py::arg("grad"), py::arg("x_shape"));
}

}  // namespace pydl::bind
