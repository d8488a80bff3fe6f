// Linear layers (optionally with a fused activation) and matmul.
#include <type_traits>

#include "bindings/common.h"
#include "gemm/gemm.h"
#include "kernels/linear.h"

namespace pydl::bind {
namespace {

// The output shape of linear, after checking input (..., in) against weight (out, in).
Shape linear_out_shape(const Shape& xs, const Shape& ws) {
    PYDL_CHECK(ws.size() == 2 && xs.size() >= 1 && xs.back() == ws[1], ValueError, "linear: input ",
               shape_str(xs), " does not match weight ", shape_str(ws), " (expected input (..., ",
               ws.size() == 2 ? ws[1] : -1, "))");
    Shape ys(xs);
    ys.back() = ws[0];
    return ys;
}

// The output shape of a batched matmul, after checking the operands align.
Shape matmul_out_shape(const Shape& as, const Shape& bs) {
    PYDL_CHECK(as.size() >= 2 && bs.size() >= 2 && as.back() == bs[bs.size() - 2], ValueError,
               "matmul: shapes ", shape_str(as), " and ", shape_str(bs), " are not aligned");
    Shape os = broadcast_shapes(Shape(as.begin(), as.end() - 2), Shape(bs.begin(), bs.end() - 2));
    os.push_back(as[as.size() - 2]);
    os.push_back(bs.back());
    return os;
}

// The optional bias of a linear layer (null when None), checked against the weight.
template <typename T>
const T* linear_bias(const py::object& b_, const Shape& ws, py::array_t<T>& keep) {
    if (b_.is_none()) return nullptr;
    keep = typed<T>(b_.cast<py::array>(), "bias");
    PYDL_CHECK(keep.ndim() == 1 && keep.shape(0) == ws[0], ValueError, "linear: bias ",
               shape_str(shape_of(keep)), " does not match weight ", shape_str(ws));
    return keep.data();
}

// NeedsReference unless every array among `others` has x's dtype (None and other objects are
// checked where they are converted).
void same_dtypes(const char* fn, const py::array& x, std::initializer_list<py::handle> others) {
    for (py::handle o : others)
        if (py::isinstance<py::array>(o)) same_dtype(x, py::reinterpret_borrow<py::array>(o), fn);
}

// Native dtypes (Note [Dtypes in the core]): float32 (sgemm and its fused epilogue) and
// float64 (dgemm, Note [Double GEMM]).
template <typename Fn>
py::object float_types(const py::array& x, const char* fn_name, Fn&& fn) {
    return with_dtype<float, double>(x, fn_name, std::forward<Fn>(fn));
}

// The precision asked for with bf16=True (autocast), which only float32 operands take.
template <typename T>
Precision precision_for(bool bf16, const char* fn) {
    PYDL_CHECK((!bf16 || std::is_same_v<T, float>), ValueError, fn,
               ": bf16 products take float32 operands, got float64");
    return bf16 ? Precision::BFloat16 : Precision::Float32;
}

}  // namespace

void bind_linear(KernelModule& m) {
    m.def(
        "linear_forward",
        [](const py::array& x_, const py::array& w_, py::object b_, bool bf16) {
            same_dtypes("linear_forward", x_, {w_, b_});
            return float_types(x_, "linear_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                const Precision precision = precision_for<T>(bf16, "linear_forward");
                auto x = typed<T>(x_, "input"), w = typed<T>(w_, "weight");
                const Shape xs = shape_of(x), ws = shape_of(w), ys = linear_out_shape(xs, ws);
                py::array_t<T> b;
                const T* bp = linear_bias(b_, ws, b);
                auto y = empty<T>(ys);
                T* yp = y.mutable_data();
                const int64_t rows = numel(Shape(xs.begin(), xs.end() - 1));
                ReleaseGil nogil(cost_macs(double(rows) * ws[0] * ws[1]));
                linear_forward(x.data(), w.data(), bp, rows, ws[1], ws[0], yp, std::nullopt,
                               nullptr, precision);
                return y;
            });
        },
        py::arg("x"), py::arg("w"), py::arg("b"), py::arg("bf16") = false);
    // save=False (no backward will run) returns None for pre and keeps none.
    m.def(
        "linear_act_forward",
        [](const py::array& x_, const py::array& w_, py::object b_, const std::string& activation,
           bool save, bool bf16) {
            same_dtypes("linear_act_forward", x_, {w_, b_});
            return float_types(x_, "linear_act_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                const Precision precision = precision_for<T>(bf16, "linear_act_forward");
                auto x = typed<T>(x_, "input"), w = typed<T>(w_, "weight");
                const Shape xs = shape_of(x), ws = shape_of(w), ys = linear_out_shape(xs, ws);
                const std::optional<UnaryOp> act = parse_activation(activation);
                py::array_t<T> b;
                const T* bp = linear_bias(b_, ws, b);
                auto y = empty<T>(ys);
                // pre: for an activation whose derivative needs it (gelu), when saving
                T* pre_p;
                py::object pre = maybe_empty(save && linear_act_needs_pre(act), ys, pre_p);
                T* yp = y.mutable_data();
                const int64_t rows = numel(Shape(xs.begin(), xs.end() - 1));
                {
                    ReleaseGil nogil(cost_macs(double(rows) * ws[0] * ws[1]));
                    linear_forward(x.data(), w.data(), bp, rows, ws[1], ws[0], yp, act, pre_p,
                                   precision);
                }
                return py::make_tuple(y, pre);
            });
        },
        py::arg("x"), py::arg("w"), py::arg("b"), py::arg("activation"), py::arg("save") = true,
        py::arg("bf16") = false);
    m.def(
        "linear_act_backward",
        [](const py::array& g_, const py::array& x_, const py::array& w_, const py::array& y_,
           py::object pre_, bool has_bias, const std::string& activation, bool need_x, bool need_w,
           bool bf16) {
            same_dtypes("linear_act_backward", g_, {x_, w_, y_, pre_});
            return float_types(g_, "linear_act_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                const Precision precision = precision_for<T>(bf16, "linear_act_backward");
                auto g = typed<T>(g_, "grad"), x = typed<T>(x_, "input"),
                     w = typed<T>(w_, "weight"), y = typed<T>(y_, "y");
                const Shape xs = shape_of(x), ws = shape_of(w), ys = linear_out_shape(xs, ws);
                const std::optional<UnaryOp> act = parse_activation(activation);
                PYDL_CHECK(shape_of(g) == ys && shape_of(y) == ys, ValueError, "linear: grad ",
                           shape_str(shape_of(g)), " and y ", shape_str(shape_of(y)),
                           " must match output ", shape_str(ys));
                py::array_t<T> pre;
                if (linear_act_needs_pre(act)) {
                    PYDL_CHECK(!pre_.is_none(), ValueError, "linear with ", activation,
                               ": backward needs pre");
                    pre = typed<T>(pre_.cast<py::array>(), "pre");
                    PYDL_CHECK(shape_of(pre) == ys, ValueError, "linear: pre ",
                               shape_str(shape_of(pre)), " must match output ", shape_str(ys));
                }
                T *gxp, *gwp, *gbp;
                py::object gx = maybe_empty(need_x, xs, gxp), gw = maybe_empty(need_w, ws, gwp),
                           gb = maybe_empty(has_bias, {ws[0]}, gbp);
                const T* pre_p = linear_act_needs_pre(act) ? pre.data() : nullptr;
                const int64_t rows = numel(Shape(xs.begin(), xs.end() - 1));
                {
                    ReleaseGil nogil(cost_macs(2.0 * double(rows) * ws[0] * ws[1]));
                    linear_act_backward(g.data(), x.data(), w.data(), y.data(), pre_p, rows, ws[1],
                                        ws[0], act, gxp, gwp, gbp, precision);
                }
                return py::make_tuple(gx, gw, gb);
            });
        },
        py::arg("grad"), py::arg("x"), py::arg("w"), py::arg("y"), py::arg("pre"),
        py::arg("has_bias"), py::arg("activation"), py::arg("need_x") = true,
        py::arg("need_w") = true, py::arg("bf16") = false);
    m.def(
        "linear_backward",
        [](const py::array& g_, const py::array& x_, const py::array& w_, bool has_bias,
           bool need_x, bool need_w, bool bf16) {
            same_dtypes("linear_backward", g_, {x_, w_});
            return float_types(g_, "linear_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                const Precision precision = precision_for<T>(bf16, "linear_backward");
                auto g = typed<T>(g_, "grad"), x = typed<T>(x_, "input"),
                     w = typed<T>(w_, "weight");
                const Shape xs = shape_of(x), ws = shape_of(w), ys = linear_out_shape(xs, ws);
                PYDL_CHECK(shape_of(g) == ys, ValueError, "linear: grad ", shape_str(shape_of(g)),
                           " does not match output ", shape_str(ys));
                T *gxp, *gwp, *gbp;
                py::object gx = maybe_empty(need_x, xs, gxp), gw = maybe_empty(need_w, ws, gwp),
                           gb = maybe_empty(has_bias, {ws[0]}, gbp);
                const int64_t rows = numel(Shape(xs.begin(), xs.end() - 1));
                {
                    ReleaseGil nogil(cost_macs(2.0 * double(rows) * ws[0] * ws[1]));
                    linear_backward(g.data(), x.data(), w.data(), rows, ws[1], ws[0], gxp, gwp, gbp,
                                    precision);
                }
                return py::make_tuple(gx, gw, gb);
            });
        },
        py::arg("grad"), py::arg("x"), py::arg("w"), py::arg("has_bias"), py::arg("need_x") = true,
        py::arg("need_w") = true, py::arg("bf16") = false);
    m.def(
        "matmul_forward",
        [](const py::array& a_, const py::array& b_, bool bf16) {
            same_dtype(a_, b_, "matmul_forward");
            return float_types(a_, "matmul_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                const Precision precision = precision_for<T>(bf16, "matmul_forward");
                auto a = typed<T>(a_, "a"), b = typed<T>(b_, "b");
                const Shape as = shape_of(a), bs = shape_of(b), os = matmul_out_shape(as, bs);
                auto y = empty<T>(os);
                T* yp = y.mutable_data();
                ReleaseGil nogil(cost_macs(double(numel(os)) * as.back()));
                matmul_forward(a.data(), as, b.data(), bs, yp, os, precision);
                return y;
            });
        },
        py::arg("a"), py::arg("b"), py::arg("bf16") = false);
    m.def(
        "matmul_backward",
        [](const py::array& g_, const py::array& a_, const py::array& b_, bool need_a, bool need_b,
           bool bf16) {
            same_dtypes("matmul_backward", g_, {a_, b_});
            return float_types(g_, "matmul_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                const Precision precision = precision_for<T>(bf16, "matmul_backward");
                auto g = typed<T>(g_, "grad"), a = typed<T>(a_, "a"), b = typed<T>(b_, "b");
                const Shape as = shape_of(a), bs = shape_of(b), os = matmul_out_shape(as, bs);
                PYDL_CHECK(shape_of(g) == os, ValueError, "matmul: grad ", shape_str(shape_of(g)),
                           " does not match output ", shape_str(os));
                T *gap, *gbp;
                py::object ga = maybe_empty(need_a, as, gap), gb = maybe_empty(need_b, bs, gbp);
                {
                    ReleaseGil nogil(cost_macs(2.0 * double(numel(os)) * as.back()));
                    matmul_backward(g.data(), os, a.data(), as, b.data(), bs, gap, gbp, precision);
                }
                return py::make_tuple(ga, gb);
            });
        },
        py::arg("grad"), py::arg("a"), py::arg("b"), py::arg("need_a") = true,
        py::arg("need_b") = true, py::arg("bf16") = false);
}

}  // namespace pydl::bind
