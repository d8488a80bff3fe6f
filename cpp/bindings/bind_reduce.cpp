// Reductions: sum, mean, max; along rows (Note [Row kernels]): var, prod, logsumexp, norm.
#include "bindings/common.h"
#include "bindings/rows.h"
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
        ReleaseGil nogil(cost_elements(double(x.size())));
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
        ReleaseGil nogil(cost_elements(double(x.size())));
        if (x.size() == 0)
            std::fill(yp, yp + y.size(), uint8_t(0));
        else
            reduce_forward(ReduceOp::Max, xp, s, mask, yp);
        for (py::ssize_t i = 0; i < y.size(); ++i) yp[i] = yp[i] != 0;
    }
    return y;
}

// One value per row from fn(x, rows, n, out): var, prod, logsumexp, norm forward.
template <typename T, typename Fn>
py::object per_row(const py::array& x_, Fn&& fn) {
    auto x = typed<T>(x_, "rows");
    const RowShape r = row_shape(x, "rows");
    auto y = empty<T>(r.kept);
    T* yp = y.mutable_data();
    {
        ReleaseGil nogil(cost_math(double(r.rows) * r.n));
        fn(x.data(), r.rows, r.n, yp);
    }
    return y;
}

// grad_x from fn(grad, x, out, rows, n, grad_x): prod, logsumexp, norm backward.
template <typename T, typename Fn>
py::object row_backward(const py::array& g_, const py::array& x_, const py::array& y_, Fn&& fn) {
    auto g = typed<T>(g_, "grad"), x = typed<T>(x_, "rows"), y = typed<T>(y_, "out");
    const RowShape r = row_shape(x, "rows");
    check_rows(g, r, "grad");
    check_rows(y, r, "out");
    auto gx = empty<T>(shape_of(x));
    T* gp = gx.mutable_data();
    {
        ReleaseGil nogil(cost_math(2.0 * double(r.rows) * r.n));
        fn(g.data(), x.data(), y.data(), r.rows, r.n, gp);
    }
    return gx;
}

void bind_rows(KernelModule& m) {
    m.def(
        "var_forward",
        [](const py::array& x_, double correction) {
            return with_dtype<float, double>(x_, "var_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto x = typed<T>(x_, "rows");
                const RowShape r = row_shape(x, "rows");
                auto var = empty<T>(r.kept), mean = empty<T>(r.kept);
                T *vp = var.mutable_data(), *mp = mean.mutable_data();
                {
                    ReleaseGil nogil(cost_elements(2.0 * double(r.rows) * r.n));
                    var_forward(x.data(), r.rows, r.n, correction, vp, mp);
                }
                return py::make_tuple(var, mean);
            });
        },
        py::arg("rows"), py::arg("correction"));
    m.def(
        "var_backward",
        [](const py::object& gv_, const py::object& gm_, const py::array& x_,
           const py::array& mean_, double correction) {
            return with_dtype<float, double>(x_, "var_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto x = typed<T>(x_, "rows"), mean = typed<T>(mean_, "mean");
                const RowShape r = row_shape(x, "rows");
                check_rows(mean, r, "mean");
                // A None gradient is a null pointer (a default py::array_t is an empty
                // array, not a null one).
                py::array_t<T> gv, gm;
                const T *gvp = nullptr, *gmp = nullptr;
                if (!gv_.is_none()) {
                    gv = typed<T>(gv_, "grad_var");
                    check_rows(gv, r, "grad_var");
                    gvp = gv.data();
                }
                if (!gm_.is_none()) {
                    gm = typed<T>(gm_, "grad_mean");
                    check_rows(gm, r, "grad_mean");
                    gmp = gm.data();
                }
                auto gx = empty<T>(shape_of(x));
                T* gp = gx.mutable_data();
                {
                    ReleaseGil nogil(cost_elements(3.0 * double(r.rows) * r.n));
                    var_backward(gvp, gmp, x.data(), mean.data(), r.rows, r.n, correction, gp);
                }
                return gx;
            });
        },
        py::arg("grad_var"), py::arg("grad_mean"), py::arg("rows"), py::arg("mean"),
        py::arg("correction"));
    m.def(
        "prod_forward",
        [](const py::array& x) {
            return with_dtype<float, double, int64_t>(x, "prod_forward", [&](auto t) {
                using T = typename decltype(t)::type;
                return per_row<T>(x, prod_forward<T>);
            });
        },
        py::arg("rows"));
    m.def(
        "prod_backward",
        [](const py::array& g, const py::array& x) {
            same_dtype(g, x, "prod_backward");
            return with_dtype<float, double>(x, "prod_backward", [&](auto t) {
                using T = typename decltype(t)::type;
                return row_backward<T>(
                    g, x, g,
                    [](const T* gp, const T* xp, const T*, int64_t rows, int64_t n, T* out) {
                        prod_backward(gp, xp, rows, n, out);
                    });
            });
        },
        py::arg("grad"), py::arg("rows"));
    m.def(
        "logsumexp_forward",
        [](const py::array& x) {
            return with_dtype<float, double>(x, "logsumexp_forward", [&](auto t) {
                using T = typename decltype(t)::type;
                return per_row<T>(x, logsumexp_forward<T>);
            });
        },
        py::arg("rows"));
    m.def(
        "logsumexp_backward",
        [](const py::array& g, const py::array& x, const py::array& out) {
            same_dtype(g, x, "logsumexp_backward");
            same_dtype(g, out, "logsumexp_backward");
            return with_dtype<float, double>(x, "logsumexp_backward", [&](auto t) {
                using T = typename decltype(t)::type;
                return row_backward<T>(g, x, out, logsumexp_backward<T>);
            });
        },
        py::arg("grad"), py::arg("rows"), py::arg("out"));
    m.def(
        "norm_forward",
        [](const py::array& x, double p) {
            return with_dtype<float, double>(x, "norm_forward", [&](auto t) {
                using T = typename decltype(t)::type;
                return per_row<T>(x, [p](const T* xp, int64_t rows, int64_t n, T* out) {
                    norm_forward(xp, rows, n, p, out);
                });
            });
        },
        py::arg("rows"), py::arg("p"));
    m.def(
        "norm_backward",
        [](const py::array& g, const py::array& x, const py::array& out, double p) {
            same_dtype(g, x, "norm_backward");
            same_dtype(g, out, "norm_backward");
            return with_dtype<float, double>(x, "norm_backward", [&](auto t) {
                using T = typename decltype(t)::type;
                return row_backward<T>(
                    g, x, out,
                    [p](const T* gp, const T* xp, const T* yp, int64_t rows, int64_t n, T* gx) {
                        norm_backward(gp, xp, yp, rows, n, p, gx);
                    });
            });
        },
        py::arg("grad"), py::arg("rows"), py::arg("out"), py::arg("p"));
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
                    int64_t count = 1, total = 0;  // (fit: numel(s) passed)
                    for (size_t d = 0; d < s.size(); ++d)
                        if (mask[d]) count *= s[d];
                    // g of the wrong size times count may overflow (Note [Checked sizes])
                    PYDL_CHECK(!__builtin_mul_overflow(int64_t(g.size()), count, &total) &&
                                   total == gx.size(),
                               ValueError, "grad ", shape_str(shape_of(g)),
                               " does not match the reduction of ", shape_str(s));
                    T* gp = gx.mutable_data();
                    {
                        ReleaseGil nogil(cost_elements(double(gx.size()) + double(g.size())));
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
                    ReleaseGil nogil(cost_elements(3.0 * double(gx.size())));
                    max_backward(g.data(), x.data(), y.data(), s, mask, gp);
                }
                return gx;
            });
        },
        py::arg("grad"), py::arg("x"), py::arg("out"), py::arg("axes"));
    bind_rows(m);
}

}  // namespace pydl::bind
