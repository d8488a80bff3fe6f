// Bindings of cpp/kernels/sort (Note [Row kernels] in kernels/reduce.h).
#include <cmath>

#include "bindings/common.h"
#include "bindings/rows.h"
#include "kernels/sort.h"

namespace pydl::bind {

py::object scatter_to_rows(const py::array& g_, const py::array& indices_, int64_t n) {
    return with_dtype<float, double>(g_, "scatter_to_rows", [&](auto t) -> py::object {
        using T = typename decltype(t)::type;
        auto g = typed<T>(g_, "grad");
        auto idx = i64(indices_, "indices");
        const RowShape r = row_shape(g, "grad");
        PYDL_CHECK(shape_of(idx) == shape_of(g), ValueError, "indices ", shape_str(shape_of(idx)),
                   " must have grad's shape ", shape_str(shape_of(g)));
        PYDL_CHECK(n >= 0, ValueError, "n must be >= 0, got ", n);
        const int64_t* ip = idx.data();
        for (int64_t i = 0; i < int64_t(idx.size()); ++i)
            PYDL_CHECK(ip[i] >= 0 && ip[i] < n, IndexError, "index ", ip[i],
                       " is out of range for a dim of size ", n);
        Shape out_shape = r.kept;
        out_shape.push_back(n);
        auto gx = empty<T>(out_shape);
        T* gp = gx.mutable_data();
        {
            ReleaseGil nogil(cost_elements(double(gx.size()) + 3.0 * double(g.size())));
            scatter_rows(g.data(), ip, r.rows, r.n, n, gp);
        }
        return gx;
    });
}

// Native dtypes: sort forward float32, float64, int64, int32, uint8; backward float32,
// float64.
void bind_sort(KernelModule& m) {
    m.def(
        "sort_forward",
        [](const py::array& x_, bool descending, int64_t k) {
            return with_dtype<float, double, int64_t, int32_t, uint8_t>(
                x_, "sort_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "rows");
                    const RowShape r = row_shape(x, "rows");
                    PYDL_CHECK(k >= 0 && k <= r.n, IndexError, "k=", k,
                               " is out of range for rows of ", r.n);
                    Shape out_shape = r.kept;
                    out_shape.push_back(k);
                    auto values = empty<T>(out_shape);
                    auto indices = empty<int64_t>(out_shape);
                    T* vp = values.mutable_data();
                    int64_t* ip = indices.mutable_data();
                    {
                        ReleaseGil nogil(
                            cost_math(double(r.rows) * r.n * std::log2(double(r.n) + 1.0)));
                        sort_forward(x.data(), r.rows, r.n, k, descending, vp, ip);
                    }
                    return py::make_tuple(values, indices);
                });
        },
        py::arg("rows"), py::arg("descending"), py::arg("k"));
    m.def(
        "sort_backward",
        [](const py::array& grad, const py::array& indices, int64_t n) {
            return scatter_to_rows(grad, indices, n);
        },
        py::arg("grad"), py::arg("indices"), py::arg("n"));
}

}  // namespace pydl::bind
