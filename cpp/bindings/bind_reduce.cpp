// Reductions: sum, mean, max.
#include "bindings/common.h"
#include "kernels/reduce.h"

namespace pydl::bind {
namespace {

Shape reduce_out_shape(const Shape& s, const std::vector<bool>& mask, bool keepdim) {
    Shape o;
    for (size_t d = 0; d < s.size(); ++d) {
        if (!mask[d])
            o.push_back(s[d]);
        else if (keepdim)
            o.push_back(1);
    }
    return o;
}

// reduce_forward over x's `axes` into a new array of x's dtype; mean divides by the count.
template <typename T>
py::object reduce_as(ReduceOp op, bool mean, const py::array& x_, const std::vector<int64_t>& axes,
                     bool keepdim) {
    auto x = typed<T>(x_, "x");
    const Shape s = shape_of(x);
    PYDL_CHECK(op != ReduceOp::Max || x.size() > 0, ValueError, "max of an empty tensor of shape ",
               shape_str(s));
    const auto mask = axis_mask(axes, s.size());
    auto y = empty<T>(reduce_out_shape(s, mask, keepdim));
    T* yp = y.mutable_data();
    const int64_t count = y.size() ? x.size() / y.size() : 0;
    {
        py::gil_scoped_release nogil;
        reduce_forward(op, x.data(), s, mask, yp);
        if constexpr (std::is_floating_point_v<T>)
            if (mean)
                for (py::ssize_t i = 0; i < y.size(); ++i) yp[i] /= T(count);
    }
    return y;
}

// Sum and max of bool are `any` (a sum of bools cast back to bool is true where one is): the
// max of the bytes, normalized to 0/1.
py::object any_of_bools(const py::array& x_, const std::vector<int64_t>& axes, bool keepdim,
                        bool max) {
    auto x = typed<bool>(x_, "x");
    const Shape s = shape_of(x);
    PYDL_CHECK(!max || x.size() > 0, ValueError, "max of an empty tensor of shape ", shape_str(s));
    const auto mask = axis_mask(axes, s.size());
    auto y = empty<bool>(reduce_out_shape(s, mask, keepdim));
    auto* yp = reinterpret_cast<uint8_t*>(y.mutable_data());
    const auto* xp = reinterpret_cast<const uint8_t*>(x.data());
    {
        py::gil_scoped_release nogil;
        if (x.size() == 0)
            std::fill(yp, yp + y.size(), uint8_t(0));
        else
            reduce_forward(ReduceOp::Max, xp, s, mask, yp);
        for (py::ssize_t i = 0; i < y.size(); ++i) yp[i] = yp[i] != 0;
    }
    return y;
}

}  // namespace

// Native dtypes (Note [Dtypes in the core]): sum forward float32, float64, int64, int32,
// uint8, bool; mean forward float32, float64; max forward the six; the backwards float32,
// float64.
void bind_reduce(KernelModule& m) {
    for (const char* name : {"sum", "mean"}) {
        const bool mean = std::string(name) == "mean";
        const std::string fwd = std::string(name) + "_forward",
                          bwd = std::string(name) + "_backward";
        m.def(
            fwd.c_str(),
            [mean, fwd](const py::array& x, const std::vector<int64_t>& axes, bool keepdim) {
                const auto run = [&](auto t) {
                    return reduce_as<typename decltype(t)::type>(ReduceOp::Sum, mean, x, axes,
                                                                 keepdim);
                };
                if (mean) return with_dtype<float, double>(x, fwd.c_str(), run);
                if (dtype_of(x) == DType::Bool) return any_of_bools(x, axes, keepdim, false);
                return with_dtype<float, double, int64_t, int32_t, uint8_t>(x, fwd.c_str(), run);
            },
            py::arg("x"), py::arg("axes"), py::arg("keepdim"));
        m.def(
            bwd.c_str(),
            [mean, bwd](const py::array& g_, const std::vector<int64_t>& x_shape,
                        const std::vector<int64_t>& axes) {
                return with_dtype<float, double>(g_, bwd.c_str(), [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto g = typed<T>(g_, "grad");
                    const Shape s(x_shape.begin(), x_shape.end());
                    const auto mask = axis_mask(axes, s.size());
                    auto gx = empty<T>(s);
                    int64_t count = 1;
                    for (size_t d = 0; d < s.size(); ++d)
                        if (mask[d]) count *= s[d];
                    PYDL_CHECK(g.size() * count == gx.size(), ValueError, "grad ",
                               shape_str(shape_of(g)), " does not match the reduction of ",
                               shape_str(s));
                    T* gp = gx.mutable_data();
                    {
                        py::gil_scoped_release nogil;
                        sum_backward(g.data(), s, mask, mean ? T(1) / T(count) : T(1), gp);
                    }
                    return gx;
                });
            },
            py::arg("grad"), py::arg("x_shape"), py::arg("axes"));
    }
    m.def(
        "max_forward",
        [](const py::array& x, const std::vector<int64_t>& axes, bool keepdim) {
            if (dtype_of(x) == DType::Bool) return any_of_bools(x, axes, keepdim, true);
            return with_dtype<float, double, int64_t, int32_t, uint8_t>(
                x, "max_forward", [&](auto t) {
                    return reduce_as<typename decltype(t)::type>(ReduceOp::Max, false, x, axes,
                                                                 keepdim);
                });
        },
        py::arg("x"), py::arg("axes"), py::arg("keepdim"));
    m.def(
        "max_backward",
        [](const py::array& g_, const py::array& x_, const py::array& y_,
           const std::vector<int64_t>& axes) {
            same_dtype(g_, x_, "max_backward");
            same_dtype(g_, y_, "max_backward");
            return with_dtype<float, double>(g_, "max_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad"), x = typed<T>(x_, "x"), y = typed<T>(y_, "out");
                const Shape s = shape_of(x);
                const auto mask = axis_mask(axes, s.size());
                int64_t kept = 1;
                for (size_t d = 0; d < s.size(); ++d)
                    if (!mask[d]) kept *= s[d];
                PYDL_CHECK(g.size() == kept && y.size() == kept, ValueError, "grad ",
                           shape_str(shape_of(g)), " and out ", shape_str(shape_of(y)),
                           " do not match the reduction of ", shape_str(s));
                auto gx = empty<T>(s);
                T* gp = gx.mutable_data();
                {
                    py::gil_scoped_release nogil;
                    max_backward(g.data(), x.data(), y.data(), s, mask, gp);
                }
                return gx;
            });
        },
        py::arg("grad"), py::arg("x"), py::arg("out"), py::arg("axes"));
}

}  // namespace pydl::bind
