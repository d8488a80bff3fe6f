// Comparisons and logical ops: bool results, forward only (not differentiable).
#include "bindings/common.h"
#include "kernels/compare.h"

namespace pydl::bind {
namespace {

CompareOp parse_compare(const std::string& op) {
    static const std::pair<const char*, CompareOp> kOps[] = {
        {"eq", CompareOp::Eq}, {"ne", CompareOp::Ne}, {"lt", CompareOp::Lt},
        {"le", CompareOp::Le}, {"gt", CompareOp::Gt}, {"ge", CompareOp::Ge}};
    for (const auto& [name, value] : kOps)
        if (op == name) return value;
    PYDL_CHECK(false, ValueError, "compare: op must be 'eq', 'ne', 'lt', 'le', 'gt' or 'ge'; got '",
               op, "'");
    return CompareOp::Eq;
}

LogicalOp parse_logical(const std::string& op) {
    if (op == "and") return LogicalOp::And;
    if (op == "or") return LogicalOp::Or;
    PYDL_CHECK(op == "xor", ValueError, "logical: op must be 'and', 'or' or 'xor'; got '", op, "'");
    return LogicalOp::Xor;
}

// kernel(a, as, b, bs, out, os) over a and b of one of the six dtypes, into a new bool array.
template <typename Kernel>
py::object bool_binary(const char* fn, const py::array& a_, const py::array& b_, Kernel kernel) {
    same_dtype(a_, b_, fn);
    return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
        a_, fn, [&](auto t) -> py::object {
            using T = typename decltype(t)::type;
            auto a = typed<T>(a_, "a"), b = typed<T>(b_, "b");
            const Shape as = shape_of(a), bs = shape_of(b), os = broadcast_shapes(as, bs);
            auto y = empty<bool>(os);
            bool* yp = y.mutable_data();
            const T *ap = a.data(), *bp = b.data();
            ReleaseGil nogil(cost_elements(3.0 * double(numel(os))));
            kernel(ap, as, bp, bs, yp, os);
            return y;
        });
}

}  // namespace

// Native dtypes (Note [Dtypes in the core]): operands of any of the six, both of one dtype.
void bind_compare(KernelModule& m) {
    m.def(
        "compare_forward",
        [](const py::array& a, const py::array& b, const std::string& op) {
            const CompareOp o = parse_compare(op);
            return bool_binary("compare_forward", a, b,
                               [o](auto... args) { compare_forward(o, args...); });
        },
        py::arg("a"), py::arg("b"), py::arg("op"));
    m.def(
        "logical_forward",
        [](const py::array& a, const py::array& b, const std::string& op) {
            const LogicalOp o = parse_logical(op);
            return bool_binary("logical_forward", a, b,
                               [o](auto... args) { logical_forward(o, args...); });
        },
        py::arg("a"), py::arg("b"), py::arg("op"));
    m.def(
        "logical_not_forward",
        [](const py::array& x_) {
            return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
                x_, "logical_not_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "x");
                    auto y = empty<bool>(shape_of(x));
                    bool* yp = y.mutable_data();
                    const int64_t n = x.size();
                    ReleaseGil nogil(cost_elements(2.0 * double(n)));
                    logical_not_forward(x.data(), yp, n);
                    return y;
                });
        },
        py::arg("x"));
}

}  // namespace pydl::bind
