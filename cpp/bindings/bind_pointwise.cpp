// Bindings of cpp/kernels/pointwise: the binary ops (<name>_forward(a, b) and
// <name>_backward(grad, a, b, need_a, need_b), as the elementwise ones), the predicates
// (classify_forward), nan_to_num and the bitwise ops.
#include <string>

#include "bindings/common.h"
#include "kernels/pointwise.h"

namespace pydl::bind {
namespace {

// Native dtypes: forward float32, float64, and int64, int32, uint8 for the integer ops
// (pointwise_integer_op); backward float32, float64. Both operands of one dtype (Note
// [Dtypes in the core]).
void def_binary(KernelModule& m, const std::string& name, PointwiseOp op, bool differentiable) {
    const std::string fwd = name + "_forward", bwd = name + "_backward";
    m.def(
        fwd.c_str(),
        [op, fwd](const py::array& a_, const py::array& b_) {
            same_dtype(a_, b_, fwd.c_str());
            const auto run = [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto a = typed<T>(a_, "a"), b = typed<T>(b_, "b");
                const Shape as = shape_of(a), bs = shape_of(b), os = broadcast_shapes(as, bs);
                auto y = empty<T>(os);
                T* yp = y.mutable_data();
                {
                    ReleaseGil nogil(cost_math(2.0 * double(numel(os))));
                    pointwise_binary_forward(op, a.data(), as, b.data(), bs, yp, os);
                }
                return y;
            };
            if (!pointwise_integer_op(op)) return with_dtype<float, double>(a_, fwd.c_str(), run);
            return with_dtype<float, double, int64_t, int32_t, uint8_t>(a_, fwd.c_str(), run);
        },
        py::arg("a"), py::arg("b"));
    if (!differentiable) return;
    m.def(
        bwd.c_str(),
        [op, bwd](const py::array& g_, const py::array& a_, const py::array& b_, bool need_a,
                  bool need_b) {
            same_dtype(g_, a_, bwd.c_str());
            same_dtype(g_, b_, bwd.c_str());
            return with_dtype<float, double>(g_, bwd.c_str(), [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad"), a = typed<T>(a_, "a"), b = typed<T>(b_, "b");
                const Shape as = shape_of(a), bs = shape_of(b), os = broadcast_shapes(as, bs);
                PYDL_CHECK(shape_of(g) == os, ValueError, "grad has shape ", shape_str(shape_of(g)),
                           " but the output has shape ", shape_str(os));
                T *gap, *gbp;
                py::object ga = maybe_empty(need_a, as, gap), gb = maybe_empty(need_b, bs, gbp);
                {
                    ReleaseGil nogil(cost_math(3.0 * double(numel(os))));
                    pointwise_binary_backward(op, g.data(), os, a.data(), as, b.data(), bs, gap,
                                              gbp);
                }
                return py::make_tuple(ga, gb);
            });
        },
        py::arg("grad"), py::arg("a"), py::arg("b"), py::arg("need_a") = true,
        py::arg("need_b") = true);
}

// Native dtypes: float32, float64 (the integer dtypes have no NaN or inf: the reference).
void def_classify(KernelModule& m) {
    m.def(
        "classify_forward",
        [](const py::array& x_, const std::string& what) {
            Classify c;
            if (what == "isnan")
                c = Classify::IsNan;
            else if (what == "isinf")
                c = Classify::IsInf;
            else if (what == "isposinf")
                c = Classify::IsPosInf;
            else if (what == "isneginf")
                c = Classify::IsNegInf;
            else if (what == "isfinite")
                c = Classify::IsFinite;
            else if (what == "signbit")
                c = Classify::Signbit;
            else
                PYDL_CHECK(false, ValueError, "classify: what must be 'isnan', 'isinf', ",
                           "'isposinf', 'isneginf', 'isfinite' or 'signbit'; got '", what, "'");
            return with_dtype<float, double>(x_, "classify_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto x = typed<T>(x_, "x");
                auto y = empty<bool>(shape_of(x));
                bool* yp = y.mutable_data();
                {
                    ReleaseGil nogil(cost_elements(2.0 * double(x.size())));
                    classify_forward(c, x.data(), yp, int64_t(x.size()));
                }
                return y;
            });
        },
        py::arg("x"), py::arg("what"));
}

// Native dtypes: float32, float64.
void def_nan_to_num(KernelModule& m) {
    m.def(
        "nan_to_num_forward",
        [](const py::array& x_, double nan, double posinf, double neginf) {
            return with_dtype<float, double>(x_, "nan_to_num_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto x = typed<T>(x_, "x");
                auto y = empty<T>(shape_of(x));
                T* yp = y.mutable_data();
                {
                    ReleaseGil nogil(cost_elements(2.0 * double(x.size())));
                    nan_to_num_forward(x.data(), yp, int64_t(x.size()), T(nan), T(posinf),
                                       T(neginf));
                }
                return y;
            });
        },
        py::arg("x"), py::arg("nan"), py::arg("posinf"), py::arg("neginf"));
    m.def(
        "nan_to_num_backward",
        [](const py::array& g_, const py::array& x_, const py::array& y_, double, double, double) {
            same_dtype(g_, x_, "nan_to_num_backward");
            return with_dtype<float, double>(g_, "nan_to_num_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad"), x = typed<T>(x_, "x");
                PYDL_CHECK(shape_of(g) == shape_of(x) && shape_of(y_) == shape_of(x), ValueError,
                           "grad ", shape_str(shape_of(g)), ", x ", shape_str(shape_of(x)),
                           " and y ", shape_str(shape_of(y_)), " must have the same shape");
                auto gx = empty<T>(shape_of(x));
                T* gp = gx.mutable_data();
                {
                    ReleaseGil nogil(cost_elements(3.0 * double(x.size())));
                    nan_to_num_backward(g.data(), x.data(), gp, int64_t(x.size()));
                }
                return gx;
            });
        },
        py::arg("grad"), py::arg("x"), py::arg("y"), py::arg("nan"), py::arg("posinf"),
        py::arg("neginf"));
}

// Native dtypes: bool, uint8, int32, int64 (a and b of one dtype).
void def_bitwise(KernelModule& m) {
    m.def(
        "bitwise_forward",
        [](const py::array& a_, const py::array& b_, const std::string& op) {
            BitwiseOp o;
            if (op == "and")
                o = BitwiseOp::And;
            else if (op == "or")
                o = BitwiseOp::Or;
            else if (op == "xor")
                o = BitwiseOp::Xor;
            else if (op == "left_shift")
                o = BitwiseOp::LeftShift;
            else if (op == "right_shift")
                o = BitwiseOp::RightShift;
            else
                PYDL_CHECK(false, ValueError, "bitwise: op must be 'and', 'or', 'xor', ",
                           "'left_shift' or 'right_shift'; got '", op, "'");
            same_dtype(a_, b_, "bitwise_forward");
            return with_dtype<bool, uint8_t, int32_t, int64_t>(
                a_, "bitwise_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto a = typed<T>(a_, "a"), b = typed<T>(b_, "b");
                    const Shape as = shape_of(a), bs = shape_of(b), os = broadcast_shapes(as, bs);
                    auto y = empty<T>(os);
                    T* yp = y.mutable_data();
                    {
                        ReleaseGil nogil(cost_elements(3.0 * double(numel(os))));
                        bitwise_forward(o, a.data(), as, b.data(), bs, yp, os);
                    }
                    return y;
                });
        },
        py::arg("a"), py::arg("b"), py::arg("op"));
    m.def(
        "bitwise_not_forward",
        [](const py::array& x_) {
            return with_dtype<bool, uint8_t, int32_t, int64_t>(
                x_, "bitwise_not_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "x");
                    auto y = empty<T>(shape_of(x));
                    T* yp = y.mutable_data();
                    {
                        ReleaseGil nogil(cost_elements(2.0 * double(x.size())));
                        bitwise_not_forward(x.data(), yp, int64_t(x.size()));
                    }
                    return y;
                });
        },
        py::arg("x"));
}

}  // namespace

void bind_pointwise(KernelModule& m) {
    def_binary(m, "fmax", PointwiseOp::Fmax, true);
    def_binary(m, "fmin", PointwiseOp::Fmin, true);
    def_binary(m, "atan2", PointwiseOp::Atan2, true);
    def_binary(m, "copysign", PointwiseOp::Copysign, true);
    def_binary(m, "logaddexp", PointwiseOp::Logaddexp, true);
    def_binary(m, "logaddexp2", PointwiseOp::Logaddexp2, true);
    def_binary(m, "hypot", PointwiseOp::Hypot, true);
    def_binary(m, "xlogy", PointwiseOp::Xlogy, true);
    def_binary(m, "fmod", PointwiseOp::Fmod, true);
    def_binary(m, "floor_divide", PointwiseOp::FloorDivide, false);
    def_binary(m, "div_trunc", PointwiseOp::DivTrunc, false);
    def_classify(m);
    def_nan_to_num(m);
    def_bitwise(m);
}

}  // namespace pydl::bind
