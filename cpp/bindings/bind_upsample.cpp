// Upsampling (nearest, bilinear).
#include <array>
#include <vector>

#include "bindings/common.h"
#include "kernels/upsample.h"

namespace pydl::bind {
namespace {

using Pair = std::array<int64_t, 2>;
using Scales = std::array<double, 2>;

// The planes of input shape xs resized to `size`; the messages name the function.
UpsampleShape upsample_shape(const char* fn, const Shape& xs, Pair size, Scales scales) {
    PYDL_CHECK(xs.size() == 4, ValueError, fn, " expects input (N, C, H, W); got ", shape_str(xs));
    for (int64_t d : xs) PYDL_CHECK(d >= 0, ValueError, fn, ": bad input shape ", shape_str(xs));
    PYDL_CHECK(xs[2] >= 1 && xs[3] >= 1 && size[0] >= 1 && size[1] >= 1, ValueError, fn,
               ": input and output sizes must be >= 1, got input ", shape_str(xs), " and size (",
               size[0], ", ", size[1], ")");
    return {checked_mul(xs[0], xs[1], fn, ": planes"),
            xs[2],
            xs[3],
            size[0],
            size[1],
            scales[0],
            scales[1]};
}

// The output (N, C, size) of x, checked against grad's shape for a backward.
Shape upsampled(const Shape& xs, const UpsampleShape& s) {
    return {xs[0], xs[1], s.out_h, s.out_w};
}

}  // namespace

void bind_upsample(KernelModule& m) {
    m.def(
        "upsample_nearest2d_forward",
        [](const py::array& x_, Pair size, Scales scales, bool exact) {
            auto x = f32(x_, "input");
            const Shape xs = shape_of(x);
            const UpsampleShape s = upsample_shape("upsample_nearest2d", xs, size, scales);
            auto y = empty(upsampled(xs, s));
            float* yp = out(y);
            ReleaseGil nogil(cost_elements(2.0 * double(s.planes) * s.out_h * s.out_w));
            upsample_nearest2d_forward(s, exact, in(x), yp);
            return y;
        },
        py::arg("x"), py::arg("size"), py::arg("scales"), py::arg("exact") = false);
    m.def(
        "upsample_nearest2d_backward",
        [](const py::array& g_, const std::vector<int64_t>& x_shape, Scales scales, bool exact) {
            auto g = f32(g_, "grad");
            const Shape xs(x_shape.begin(), x_shape.end()), gs = shape_of(g);
            PYDL_CHECK(gs.size() == 4, ValueError,
                       "upsample_nearest2d: grad must be (N, C, H, W); got ", shape_str(gs));
            const UpsampleShape s =
                upsample_shape("upsample_nearest2d", xs, {gs[2], gs[3]}, scales);
            PYDL_CHECK(gs == upsampled(xs, s), ValueError, "upsample_nearest2d: grad ",
                       shape_str(gs), " does not match the input ", shape_str(xs));
            auto gx = empty(xs);
            float* gp = out(gx);
            ReleaseGil nogil(
                cost_elements(double(s.planes) * (double(s.h) * s.w + 2.0 * s.out_h * s.out_w)));
            upsample_nearest2d_backward(s, exact, in(g), gp);
            return gx;
        },
        py::arg("grad"), py::arg("x_shape"), py::arg("scales"), py::arg("exact") = false);
    m.def(
        "upsample_bilinear2d_forward",
        [](const py::array& x_, Pair size, Scales scales, bool align_corners) {
            auto x = f32(x_, "input");
            const Shape xs = shape_of(x);
            const UpsampleShape s = upsample_shape("upsample_bilinear2d", xs, size, scales);
            auto y = empty(upsampled(xs, s));
            float* yp = out(y);
            ReleaseGil nogil(cost_elements(5.0 * double(s.planes) * s.out_h * s.out_w));
            upsample_bilinear2d_forward(s, align_corners, in(x), yp);
            return y;
        },
        py::arg("x"), py::arg("size"), py::arg("scales"), py::arg("align_corners"));
    m.def(
        "upsample_bilinear2d_backward",
        [](const py::array& g_, const std::vector<int64_t>& x_shape, Scales scales,
           bool align_corners) {
            auto g = f32(g_, "grad");
            const Shape xs(x_shape.begin(), x_shape.end()), gs = shape_of(g);
            PYDL_CHECK(gs.size() == 4, ValueError,
                       "upsample_bilinear2d: grad must be (N, C, H, W); got ", shape_str(gs));
            const UpsampleShape s =
                upsample_shape("upsample_bilinear2d", xs, {gs[2], gs[3]}, scales);
            PYDL_CHECK(gs == upsampled(xs, s), ValueError, "upsample_bilinear2d: grad ",
                       shape_str(gs), " does not match the input ", shape_str(xs));
            auto gx = empty(xs);
            float* gp = out(gx);
            ReleaseGil nogil(
                cost_elements(double(s.planes) * (double(s.h) * s.w + 5.0 * s.out_h * s.out_w)));
            upsample_bilinear2d_backward(s, align_corners, in(g), gp);
            return gx;
        },
        py::arg("grad"), py::arg("x_shape"), py::arg("scales"), py::arg("align_corners"));
}

}  // namespace pydl::bind
