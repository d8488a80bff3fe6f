// Normalization layers.
#include <array>

#include "bindings/common.h"
#include "kernels/norm.h"

namespace pydl::bind {
namespace {

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

}  // namespace

void bind_norm(KernelModule& m) {
    m.def(
        "batch_norm_forward",
        [](const py::array& x_, py::object w_, py::object b_, py::object rm_, py::object rv_,
           bool training, double momentum, double eps, const std::string& activation) {
            auto x = f32(x_, "input");
            const Shape xs = shape_of(x);
            const auto [n, c, s] = ncs("batch_norm", xs);
            const std::optional<UnaryOp> act = parse_activation(activation);
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
                ReleaseGil nogil(cost_elements(3.0 * double(n) * c * s));
                batch_norm_forward(in(x), {n, c, s}, w, b, {rm, rv},
                                   {training, float(momentum), float(eps)}, yp, mp, ip, act);
            }
            return py::make_tuple(y, mean, invstd);
        },
        py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("running_mean"),
        py::arg("running_var"), py::arg("training"), py::arg("momentum"), py::arg("eps"),
        py::arg("activation") = "none");
    m.def(
        "batch_norm_backward",
        [](const py::array& g_, const py::array& x_, bool training, py::object w_,
           const py::array& mean_, const py::array& invstd_, bool need_x, bool need_weight,
           bool need_bias) {
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
                ReleaseGil nogil(cost_elements(5.0 * double(n) * c * s));
                batch_norm_backward(in(g), in(x), {n, c, s}, w, mean, invstd, training, gxp, gwp,
                                    gbp);
            }
            return py::make_tuple(gx, gw, gb);
        },
        py::arg("grad"), py::arg("x"), py::arg("training"), py::arg("weight"), py::arg("mean"),
        py::arg("invstd"), py::arg("need_x"), py::arg("need_weight"), py::arg("need_bias"));
    m.def(
        "layer_norm_forward",
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
                ReleaseGil nogil(cost_math(3.0 * double(rows) * d));
                layer_norm_forward(in(x), rows, d, w, b, float(eps), yp, mp, ip);
            }
            return py::make_tuple(y, mean, invstd);
        },
        py::arg("x"), py::arg("d"), py::arg("weight"), py::arg("bias"), py::arg("eps"));
    m.def(
        "layer_norm_backward",
        [](const py::array& g_, const py::array& x_, int64_t d, py::object w_,
           const py::array& mean_, const py::array& invstd_, bool need_x, bool need_weight,
           bool need_bias, py::object accumulate_) {
            auto g = f32(g_, "grad"), x = f32(x_, "input");
            PYDL_CHECK(shape_of(g) == shape_of(x) && d >= 1 && x.size() % d == 0, ValueError,
                       "layer_norm: grad ", shape_str(shape_of(g)), " and input ",
                       shape_str(shape_of(x)), " do not match normalized size ", d);
            py::array_t<float> acc;  // added to the input's gradient (Note in kernels/norm.h)
            if (!accumulate_.is_none()) {
                acc = f32(accumulate_.cast<py::array>(), "accumulate");
                PYDL_CHECK(need_x && shape_of(acc) == shape_of(x), ValueError,
                           "layer_norm: accumulate ", shape_str(shape_of(acc)),
                           " must match the input ", shape_str(shape_of(x)),
                           " and need its gradient");
            }
            const int64_t rows = x.size() / d;
            py::array_t<float> wk, mk, ik;
            const float* w = opt_vec(w_, "layer_norm weight", d, wk);
            const float* mean = opt_vec(mean_, "saved mean", rows, mk);
            const float* invstd = opt_vec(invstd_, "saved invstd", rows, ik);
            float *gxp, *gwp, *gbp;
            py::object gx = maybe_empty(need_x, shape_of(x), gxp),
                       gw = maybe_empty(need_weight, {d}, gwp),
                       gb = maybe_empty(need_bias, {d}, gbp);
            {
                ReleaseGil nogil(cost_math(5.0 * double(rows) * d));
                layer_norm_backward(in(g), in(x), rows, d, w, mean, invstd, gxp, gwp, gbp,
                                    accumulate_.is_none() ? nullptr : in(acc));
            }
            return py::make_tuple(gx, gw, gb);
        },
        py::arg("grad"), py::arg("x"), py::arg("d"), py::arg("weight"), py::arg("mean"),
        py::arg("invstd"), py::arg("need_x"), py::arg("need_weight"), py::arg("need_bias"),
        py::arg("accumulate") = py::none());
    m.def(
        "group_norm_forward",
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
                ReleaseGil nogil(cost_elements(3.0 * double(n) * c * s));
                group_norm_forward(in(x), {n, c, s}, groups, w, b, float(eps), yp, mp, ip);
            }
            return py::make_tuple(y, mean, invstd);
        },
        py::arg("x"), py::arg("groups"), py::arg("weight"), py::arg("bias"), py::arg("eps"));
    m.def(
        "group_norm_backward",
        [](const py::array& g_, const py::array& x_, int64_t groups, py::object w_,
           const py::array& mean_, const py::array& invstd_, bool need_x, bool need_weight,
           bool need_bias) {
            auto g = f32(g_, "grad"), x = f32(x_, "input");
            const Shape xs = shape_of(x);
            const auto [n, c, s] = ncs("group_norm", xs);
            PYDL_CHECK(shape_of(g) == xs && groups >= 1 && c % groups == 0, ValueError,
                       "group_norm: grad ", shape_str(shape_of(g)), " must match input ",
                       shape_str(xs), " with channels divisible by ", groups);
            py::array_t<float> wk, mk, ik;
            const float* w = opt_vec(w_, "group_norm weight", c, wk);
            const float* mean = opt_vec(mean_, "saved mean", n * groups, mk);
            const float* invstd = opt_vec(invstd_, "saved invstd", n * groups, ik);
            float *gxp, *gwp, *gbp;
            py::object gx = maybe_empty(need_x, xs, gxp), gw = maybe_empty(need_weight, {c}, gwp),
                       gb = maybe_empty(need_bias, {c}, gbp);
            {
                ReleaseGil nogil(cost_elements(5.0 * double(n) * c * s));
                group_norm_backward(in(g), in(x), {n, c, s}, groups, w, mean, invstd, gxp, gwp,
                                    gbp);
            }
            return py::make_tuple(gx, gw, gb);
        },
        py::arg("grad"), py::arg("x"), py::arg("groups"), py::arg("weight"), py::arg("mean"),
        py::arg("invstd"), py::arg("need_x"), py::arg("need_weight"), py::arg("need_bias"));
}

}  // namespace pydl::bind
