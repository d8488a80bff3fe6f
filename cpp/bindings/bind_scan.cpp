// Bindings of cpp/kernels/scan (Note [Row kernels] in kernels/reduce.h).
#include "bindings/common.h"
#include "bindings/rows.h"
#include "kernels/scan.h"

namespace pydl::bind {
namespace {

// An array of x's shape (and T) from fn(x, rows, n, out).
template <typename T, typename Fn>
py::object scan_as(const py::array& x_, const char* name, Fn&& fn) {
    auto x = typed<T>(x_, name);
    const RowShape r = row_shape(x, name);
    auto y = empty<T>(shape_of(x));
    T* yp = y.mutable_data();
    {
        ReleaseGil nogil(cost_math(double(r.rows) * r.n));
        fn(x.data(), r.rows, r.n, yp);
    }
    return y;
}

// Each array must have x's shape.
void same_shapes(const py::array& x, std::initializer_list<const py::array*> others) {
    for (const py::array* a : others)
        PYDL_CHECK(shape_of(*a) == shape_of(x), ValueError, "arrays of shapes ",
                   shape_str(shape_of(x)), " and ", shape_str(shape_of(*a)),
                   " must have one shape");
}

}  // namespace

// Native dtypes: cumsum, cumprod and cummax forward float32, float64, int64; the rest
// float32, float64.
void bind_scan(KernelModule& m) {
    m.def(
        "cumsum_forward",
        [](const py::array& x) {
            return with_dtype<float, double, int64_t>(x, "cumsum_forward", [&](auto t) {
                using T = typename decltype(t)::type;
                return scan_as<T>(x, "rows", [](const T* xp, int64_t rows, int64_t n, T* out) {
                    cumsum_forward(xp, rows, n, false, out);
                });
            });
        },
        py::arg("rows"));
    m.def(
        "cumsum_backward",
        [](const py::array& grad) {
            return with_dtype<float, double>(grad, "cumsum_backward", [&](auto t) {
                using T = typename decltype(t)::type;
                return scan_as<T>(grad, "grad", [](const T* gp, int64_t rows, int64_t n, T* out) {
                    cumsum_forward(gp, rows, n, true, out);
                });
            });
        },
        py::arg("grad"));
    m.def(
        "cumprod_forward",
        [](const py::array& x) {
            return with_dtype<float, double, int64_t>(x, "cumprod_forward", [&](auto t) {
                using T = typename decltype(t)::type;
                return scan_as<T>(x, "rows", cumprod_forward<T>);
            });
        },
        py::arg("rows"));
    m.def(
        "cumprod_backward",
        [](const py::array& grad, const py::array& x_) {
            same_dtype(grad, x_, "cumprod_backward");
            same_shapes(x_, {&grad});
            return with_dtype<float, double>(x_, "cumprod_backward", [&](auto t) {
                using T = typename decltype(t)::type;
                auto x = typed<T>(x_, "rows");
                return scan_as<T>(grad, "grad", [&](const T* gp, int64_t rows, int64_t n, T* out) {
                    cumprod_backward(gp, x.data(), rows, n, out);
                });
            });
        },
        py::arg("grad"), py::arg("rows"));
    m.def(
        "cummax_forward",
        [](const py::array& x_, bool largest) {
            return with_dtype<float, double, int64_t>(
                x_, "cummax_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "rows");
                    const RowShape r = row_shape(x, "rows");
                    auto values = empty<T>(shape_of(x));
                    auto indices = empty<int64_t>(shape_of(x));
                    T* vp = values.mutable_data();
                    int64_t* ip = indices.mutable_data();
                    {
                        ReleaseGil nogil(cost_elements(3.0 * double(r.rows) * r.n));
                        cummax_forward(x.data(), r.rows, r.n, largest, vp, ip);
                    }
                    return py::make_tuple(values, indices);
                });
        },
        py::arg("rows"), py::arg("largest"));
    m.def(
        "cummax_backward",
        [](const py::array& grad, const py::array& indices) {
            const RowShape r = row_shape(grad, "grad");
            return scatter_to_rows(grad, indices, r.n);
        },
        py::arg("grad"), py::arg("indices"));
    m.def(
        "logcumsumexp_forward",
        [](const py::array& x) {
            return with_dtype<float, double>(x, "logcumsumexp_forward", [&](auto t) {
                using T = typename decltype(t)::type;
                return scan_as<T>(x, "rows", logcumsumexp_forward<T>);
            });
        },
        py::arg("rows"));
    m.def(
        "logcumsumexp_backward",
        [](const py::array& grad, const py::array& x_, const py::array& out_) {
            same_dtype(grad, x_, "logcumsumexp_backward");
            same_dtype(grad, out_, "logcumsumexp_backward");
            same_shapes(x_, {&grad, &out_});
            return with_dtype<float, double>(x_, "logcumsumexp_backward", [&](auto t) {
                using T = typename decltype(t)::type;
                auto x = typed<T>(x_, "rows"), out = typed<T>(out_, "out");
                return scan_as<T>(grad, "grad", [&](const T* gp, int64_t rows, int64_t n, T* gx) {
                    logcumsumexp_backward(gp, x.data(), out.data(), rows, n, gx);
                });
            });
        },
        py::arg("grad"), py::arg("rows"), py::arg("out"));
}

}  // namespace pydl::bind
