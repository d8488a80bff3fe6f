// Binary arithmetic with broadcasting, and where().
#include "bindings/common.h"
#include "kernels/elementwise.h"

namespace pydl::bind {
namespace {

template <typename T>
py::object binary_forward_as(BinaryOp op, const py::array& a_, const py::array& b_) {
    auto a = typed<T>(a_, "a"), b = typed<T>(b_, "b");
    const Shape as = shape_of(a), bs = shape_of(b), os = broadcast_shapes(as, bs);
    auto y = empty<T>(os);
    T* yp = y.mutable_data();
    {
        ReleaseGil nogil(cost_elements(3.0 * double(numel(os))));
        binary_forward(op, a.data(), as, b.data(), bs, yp, os);
    }
    return y;
}

template <typename T>
py::object binary_backward_as(BinaryOp op, const py::array& g_, const py::array& a_,
                              const py::array& b_, bool need_a, bool need_b) {
    auto g = typed<T>(g_, "grad"), a = typed<T>(a_, "a"), b = typed<T>(b_, "b");
    const Shape as = shape_of(a), bs = shape_of(b), os = broadcast_shapes(as, bs);
    PYDL_CHECK(shape_of(g) == os, ValueError, "grad has shape ", shape_str(shape_of(g)),
               " but the output has shape ", shape_str(os));
    T *gap, *gbp;
    py::object ga = maybe_empty(need_a, as, gap), gb = maybe_empty(need_b, bs, gbp);
    {
        ReleaseGil nogil(cost_elements(5.0 * double(numel(os))));
        binary_backward(op, g.data(), os, a.data(), as, b.data(), bs, gap, gbp);
    }
    return py::make_tuple(ga, gb);
}

// Native dtypes: forward float32, float64, and for add/sub/mul/pow int64, int32, uint8 too
// (the op layer divides integers in floating point); backward float32, float64. Both
// operands of one dtype (Note [Dtypes in the core]).
void def_binary(KernelModule& m, const std::string& name, BinaryOp op) {
    const std::string fwd = name + "_forward", bwd = name + "_backward";
    m.def(
        fwd.c_str(),
        [op, fwd](const py::array& a, const py::array& b) {
            same_dtype(a, b, fwd.c_str());
            const auto run = [&](auto t) {
                return binary_forward_as<typename decltype(t)::type>(op, a, b);
            };
            if (op == BinaryOp::Div) return with_dtype<float, double>(a, fwd.c_str(), run);
            return with_dtype<float, double, int64_t, int32_t, uint8_t>(a, fwd.c_str(), run);
        },
        py::arg("a"), py::arg("b"));
    m.def(
        bwd.c_str(),
        [op, bwd](const py::array& g, const py::array& a, const py::array& b, bool need_a,
                  bool need_b) {
            same_dtype(g, a, bwd.c_str());
            same_dtype(g, b, bwd.c_str());
            return with_dtype<float, double>(g, bwd.c_str(), [&](auto t) {
                return binary_backward_as<typename decltype(t)::type>(op, g, a, b, need_a, need_b);
            });
        },
        py::arg("grad"), py::arg("a"), py::arg("b"), py::arg("need_a") = true,
        py::arg("need_b") = true);
}

// where's condition: a C-contiguous bool array, or TypeError.
py::array_t<bool> condition(const py::array& cond) {
    PYDL_CHECK(cond.dtype().kind() == 'b', TypeError, "where: condition must be bool, got ",
               dtype_name(cond));
    return py::reinterpret_steal<py::array_t<bool>>(c_contiguous(cond).release());
}

// Native dtypes: forward any of the six (a and b of one dtype; the kernel moves bits),
// backward float32, float64.
void def_where(KernelModule& m) {
    m.def(
        "where_forward",
        [](const py::array& cond_, const py::array& a_, const py::array& b_) {
            auto cond = condition(cond_);
            same_dtype(a_, b_, "where_forward");
            return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
                a_, "where_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto a = typed<T>(a_, "a"), b = typed<T>(b_, "b");
                    const Shape cs = shape_of(cond), as = shape_of(a), bs = shape_of(b);
                    const Shape os = broadcast_shapes(cs, broadcast_shapes(as, bs));
                    auto y = empty<T>(os);
                    T* yp = y.mutable_data();
                    {
                        ReleaseGil nogil(cost_elements(4.0 * double(numel(os))));
                        where_forward(cond.data(), cs, a.data(), as, b.data(), bs, sizeof(T), yp,
                                      os);
                    }
                    return y;
                });
        },
        py::arg("cond"), py::arg("a"), py::arg("b"));
    m.def(
        "where_backward",
        [](const py::array& g_, const py::array& cond_, const py::array& a_, const py::array& b_,
           bool need_a, bool need_b) {
            auto cond = condition(cond_);
            return with_dtype<float, double>(g_, "where_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad");
                const Shape cs = shape_of(cond), as = shape_of(a_), bs = shape_of(b_);
                const Shape os = broadcast_shapes(cs, broadcast_shapes(as, bs));
                PYDL_CHECK(shape_of(g) == os, ValueError, "grad has shape ", shape_str(shape_of(g)),
                           " but the output has shape ", shape_str(os));
                T *gap, *gbp;
                py::object ga = maybe_empty(need_a, as, gap), gb = maybe_empty(need_b, bs, gbp);
                {
                    ReleaseGil nogil(cost_elements(4.0 * double(numel(os))));
                    where_backward(g.data(), os, cond.data(), cs, as, bs, gap, gbp);
                }
                return py::make_tuple(ga, gb);
            });
        },
        py::arg("grad"), py::arg("cond"), py::arg("a"), py::arg("b"), py::arg("need_a") = true,
        py::arg("need_b") = true);
}

}  // namespace

void bind_elementwise(KernelModule& m) {
    def_binary(m, "add", BinaryOp::Add);
    def_binary(m, "sub", BinaryOp::Sub);
    def_binary(m, "mul", BinaryOp::Mul);
    def_binary(m, "div", BinaryOp::Div);
    def_binary(m, "pow", BinaryOp::Pow);
    def_binary(m, "remainder", BinaryOp::Remainder);
    def_where(m);
}

}  // namespace pydl::bind
