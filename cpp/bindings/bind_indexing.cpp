// Bindings of cpp/kernels/indexing. Native dtypes (Note [Dtypes in the core]): gather,
// index_select and index_copy forward the six; scatter and index_add forward float32,
// float64, int64 and int32; the backwards float32 and float64. Every index is range-checked
// before a kernel runs (Note [Index ranges]).
#include <string>

#include "bindings/common.h"
#include "kernels/indexing.h"

namespace pydl::bind {

namespace {

ScatterReduce reduce_of(const std::string& name) {
    if (name == "none") return ScatterReduce::None;
    if (name == "sum") return ScatterReduce::Sum;
    if (name == "prod") return ScatterReduce::Prod;
    if (name == "mean") return ScatterReduce::Mean;
    if (name == "amax") return ScatterReduce::Amax;
    if (name == "amin") return ScatterReduce::Amin;
    PYDL_CHECK(false, ValueError, "reduce must be 'none', 'sum', 'prod', 'mean', 'amax' or ",
               "'amin'; got '", name, "'");
    return ScatterReduce::None;
}

// The size of dim of a tensor of this shape (a 0-d tensor has one element along dim 0).
int64_t dim_size(const Shape& s, int64_t dim, const char* fn) {
    PYDL_CHECK(dim >= 0 && dim < std::max<int64_t>(1, int64_t(s.size())), IndexError, fn, ": dim ",
               dim, " is out of range for a tensor of rank ", s.size());
    return s.empty() ? 1 : s[dim];
}

// index's rank is x's, and no dim of index but `dim` (all of them, for `all`) is larger.
void check_fits(const Shape& index, const Shape& x, int64_t dim, bool all, const char* fn,
                const char* what) {
    PYDL_CHECK(index.size() == x.size(), ValueError, fn, ": index ", shape_str(index), " and ",
               what, " ", shape_str(x), " must have the same number of dims");
    for (size_t d = 0; d < x.size(); ++d)
        PYDL_CHECK(index[d] <= x[d] || (!all && int64_t(d) == dim), ValueError, fn, ": index ",
                   shape_str(index), " is larger than ", what, " ", shape_str(x), " in dim ", d);
}

// (outer, n, inner) of a shape around dim.
struct AroundDim {
    int64_t outer = 1, n = 1, inner = 1;
    AroundDim(const Shape& s, int64_t dim) {
        for (int64_t d = 0; d < int64_t(s.size()); ++d) {
            if (d < dim) outer *= s[d];
            if (d > dim) inner *= s[d];
        }
        n = s.empty() ? 1 : s[dim];
    }
};

// The shape of x with dim's size replaced by count (a 0-d x stays 0-d).
Shape with_size(Shape s, int64_t dim, int64_t count) {
    if (!s.empty()) s[dim] = count;
    return s;
}

}  // namespace

void bind_indexing(KernelModule& m) {
    m.def(
        "gather_forward",
        [](const py::array& x_, int64_t dim, const py::array& idx_) {
            return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
                x_, "gather_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "x");
                    auto idx = i64(idx_, "index");
                    const Shape xs = shape_of(x), is = shape_of(idx);
                    const int64_t size = dim_size(xs, dim, "gather");
                    check_fits(is, xs, dim, false, "gather", "input");
                    check_dim_indices(idx.data(), idx.size(), size, dim);
                    auto y = empty<T>(is);
                    T* yp = y.mutable_data();
                    ReleaseGil nogil(cost_elements(3.0 * double(numel(is))));
                    gather_forward(x.data(), xs, dim, idx.data(), is, yp);
                    return y;
                });
        },
        py::arg("x"), py::arg("dim"), py::arg("index"));
    m.def(
        "gather_backward",
        [](const py::array& g_, int64_t dim, const py::array& idx_,
           const std::vector<int64_t>& x_shape) {
            return with_dtype<float, double>(g_, "gather_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad");
                auto idx = i64(idx_, "index");
                const Shape xs(x_shape.begin(), x_shape.end()), is = shape_of(idx);
                const int64_t size = dim_size(xs, dim, "gather");
                check_fits(is, xs, dim, false, "gather", "input");
                PYDL_CHECK(shape_of(g) == is, ValueError, "gather_backward: grad ",
                           shape_str(shape_of(g)), " does not match index ", shape_str(is));
                check_dim_indices(idx.data(), idx.size(), size, dim);
                auto gx = empty<T>(xs);
                T* gp = gx.mutable_data();
                ReleaseGil nogil(cost_elements(double(numel(xs)) + 3.0 * double(numel(is))));
                gather_backward(g.data(), dim, idx.data(), is, xs, gp);
                return gx;
            });
        },
        py::arg("grad"), py::arg("dim"), py::arg("index"), py::arg("x_shape"));
    m.def(
        "scatter_forward",
        [](const py::array& x_, int64_t dim, const py::array& idx_, const py::array& src_,
           const std::string& reduce, bool include_self) {
            same_dtype(x_, src_, "scatter_forward");
            const ScatterReduce r = reduce_of(reduce);
            return with_dtype<float, double, int64_t, int32_t>(
                x_, "scatter_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "x");
                    auto src = typed<T>(src_, "src");
                    auto idx = i64(idx_, "index");
                    const Shape xs = shape_of(x), is = shape_of(idx), ss = shape_of(src);
                    const int64_t size = dim_size(xs, dim, "scatter");
                    check_fits(is, xs, dim, false, "scatter", "self");
                    check_fits(is, ss, dim, true, "scatter", "src");
                    check_dim_indices(idx.data(), idx.size(), size, dim);
                    auto y = empty<T>(xs);
                    T* yp = y.mutable_data();
                    ReleaseGil nogil(
                        cost_elements(2.0 * double(numel(xs)) + 3.0 * double(numel(is))));
                    scatter_forward(x.data(), xs, dim, idx.data(), is, src.data(), ss, r,
                                    include_self, yp);
                    return y;
                });
        },
        py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("src"), py::arg("reduce"),
        py::arg("include_self"));
    m.def(
        "scatter_backward",
        [](const py::array& g_, const py::array& x_, int64_t dim, const py::array& idx_,
           const py::array& src_, const py::array& out_, const std::string& reduce,
           bool include_self) {
            for (const auto* a : {&x_, &src_, &out_}) same_dtype(g_, *a, "scatter_backward");
            const ScatterReduce r = reduce_of(reduce);
            return with_dtype<float, double>(g_, "scatter_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad");
                auto x = typed<T>(x_, "x");
                auto src = typed<T>(src_, "src");
                auto out = typed<T>(out_, "out");
                auto idx = i64(idx_, "index");
                const Shape xs = shape_of(x), is = shape_of(idx), ss = shape_of(src);
                const int64_t size = dim_size(xs, dim, "scatter");
                check_fits(is, xs, dim, false, "scatter", "self");
                check_fits(is, ss, dim, true, "scatter", "src");
                PYDL_CHECK(shape_of(g) == xs && shape_of(out) == xs, ValueError,
                           "scatter_backward: grad ", shape_str(shape_of(g)), " and out ",
                           shape_str(shape_of(out)), " must have self's shape ", shape_str(xs));
                check_dim_indices(idx.data(), idx.size(), size, dim);
                auto gx = empty<T>(xs);
                auto gs = empty<T>(ss);
                T *gxp = gx.mutable_data(), *gsp = gs.mutable_data();
                {
                    ReleaseGil nogil(
                        cost_elements(4.0 * double(numel(xs)) + 4.0 * double(numel(is))));
                    scatter_backward(g.data(), x.data(), xs, dim, idx.data(), is, src.data(), ss,
                                     out.data(), r, include_self, gxp, gsp);
                }
                return py::make_tuple(gx, gs);
            });
        },
        py::arg("grad"), py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("src"),
        py::arg("out"), py::arg("reduce"), py::arg("include_self"));
    m.def(
        "index_select_forward",
        [](const py::array& x_, int64_t dim, const py::array& idx_) {
            return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
                x_, "index_select_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "x");
                    auto idx = i64(idx_, "index");
                    const Shape xs = shape_of(x);
                    const int64_t size = dim_size(xs, dim, "index_select");
                    PYDL_CHECK(idx.ndim() <= 1, ValueError,
                               "index_select: index must be 0-d or 1-d; got shape ",
                               shape_str(shape_of(idx)));
                    check_dim_indices(idx.data(), idx.size(), size, dim);
                    const AroundDim a(xs, dim);
                    const int64_t count = idx.size();
                    auto y = empty<T>(with_size(xs, dim, count));
                    T* yp = y.mutable_data();
                    ReleaseGil nogil(cost_elements(2.0 * double(a.outer) * count * a.inner));
                    index_select_forward(x.data(), a.outer, a.n, a.inner, idx.data(), count, yp);
                    return y;
                });
        },
        py::arg("x"), py::arg("dim"), py::arg("index"));
    m.def(
        "index_select_backward",
        [](const py::array& g_, int64_t dim, const py::array& idx_,
           const std::vector<int64_t>& x_shape) {
            return with_dtype<float, double>(
                g_, "index_select_backward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto g = typed<T>(g_, "grad");
                    auto idx = i64(idx_, "index");
                    const Shape xs(x_shape.begin(), x_shape.end());
                    const int64_t size = dim_size(xs, dim, "index_select");
                    const int64_t count = idx.size();
                    PYDL_CHECK(idx.ndim() <= 1 && shape_of(g) == with_size(xs, dim, count),
                               ValueError, "index_select_backward: grad ", shape_str(shape_of(g)),
                               " does not match x ", shape_str(xs), " and index ",
                               shape_str(shape_of(idx)));
                    check_dim_indices(idx.data(), count, size, dim);
                    const AroundDim a(xs, dim);
                    auto gx = empty<T>(xs);
                    T* gp = gx.mutable_data();
                    ReleaseGil nogil(
                        cost_elements(double(numel(xs)) + 2.0 * double(a.outer) * count * a.inner));
                    index_add_forward<T>(nullptr, a.outer, a.n, a.inner, idx.data(), count,
                                         g.data(), 1.0, gp);
                    return gx;
                });
        },
        py::arg("grad"), py::arg("dim"), py::arg("index"), py::arg("x_shape"));
    m.def(
        "index_add_forward",
        [](const py::array& x_, int64_t dim, const py::array& idx_, const py::array& src_,
           double alpha) {
            same_dtype(x_, src_, "index_add_forward");
            return with_dtype<float, double, int64_t, int32_t>(
                x_, "index_add_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "x");
                    auto src = typed<T>(src_, "source");
                    auto idx = i64(idx_, "index");
                    const Shape xs = shape_of(x);
                    const int64_t size = dim_size(xs, dim, "index_add");
                    const int64_t count = idx.size();
                    PYDL_CHECK(idx.ndim() <= 1 && shape_of(src) == with_size(xs, dim, count),
                               ValueError, "index_add: source ", shape_str(shape_of(src)),
                               " must be x's shape ", shape_str(xs), " with dim ", dim,
                               " of the index's length ", count);
                    check_dim_indices(idx.data(), count, size, dim);
                    const AroundDim a(xs, dim);
                    auto y = empty<T>(xs);
                    T* yp = y.mutable_data();
                    ReleaseGil nogil(cost_elements(2.0 * double(numel(xs)) +
                                                   2.0 * double(a.outer) * count * a.inner));
                    index_add_forward(x.data(), a.outer, a.n, a.inner, idx.data(), count,
                                      src.data(), alpha, yp);
                    return y;
                });
        },
        py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("source"), py::arg("alpha"));
    m.def(
        "index_add_backward",
        [](const py::array& g_, int64_t dim, const py::array& idx_, double alpha) {
            return with_dtype<float, double>(g_, "index_add_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad");
                auto idx = i64(idx_, "index");
                const Shape gs = shape_of(g);
                const int64_t size = dim_size(gs, dim, "index_add");
                PYDL_CHECK(idx.ndim() <= 1, ValueError, "index_add: index must be 0-d or 1-d");
                const int64_t count = idx.size();
                check_dim_indices(idx.data(), count, size, dim);
                const AroundDim a(gs, dim);
                auto gsrc = empty<T>(with_size(gs, dim, count));
                T* sp = gsrc.mutable_data();
                const int64_t total = a.outer * count * a.inner;
                ReleaseGil nogil(cost_elements(2.0 * double(total)));
                index_select_forward(g.data(), a.outer, a.n, a.inner, idx.data(), count, sp);
                if (alpha != 1)
                    for (int64_t i = 0; i < total; ++i) sp[i] *= T(alpha);
                return gsrc;
            });
        },
        py::arg("grad"), py::arg("dim"), py::arg("index"), py::arg("alpha"));
    m.def(
        "index_copy_forward",
        [](const py::array& x_, int64_t dim, const py::array& idx_, const py::array& src_) {
            same_dtype(x_, src_, "index_copy_forward");
            return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
                x_, "index_copy_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "x");
                    auto src = typed<T>(src_, "source");
                    auto idx = i64(idx_, "index");
                    const Shape xs = shape_of(x);
                    const int64_t size = dim_size(xs, dim, "index_copy");
                    const int64_t count = idx.size();
                    PYDL_CHECK(idx.ndim() <= 1 && shape_of(src) == with_size(xs, dim, count),
                               ValueError, "index_copy: source ", shape_str(shape_of(src)),
                               " must be x's shape ", shape_str(xs), " with dim ", dim,
                               " of the index's length ", count);
                    check_dim_indices(idx.data(), count, size, dim);
                    const AroundDim a(xs, dim);
                    auto y = empty<T>(xs);
                    T* yp = y.mutable_data();
                    ReleaseGil nogil(cost_elements(2.0 * double(numel(xs)) +
                                                   2.0 * double(a.outer) * count * a.inner));
                    index_copy_forward(x.data(), a.outer, a.n, a.inner, idx.data(), count,
                                       src.data(), yp);
                    return y;
                });
        },
        py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("source"));
    m.def(
        "index_copy_backward",
        [](const py::array& g_, int64_t dim, const py::array& idx_) {
            return with_dtype<float, double>(g_, "index_copy_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad");
                auto idx = i64(idx_, "index");
                const Shape gs = shape_of(g);
                const int64_t size = dim_size(gs, dim, "index_copy");
                PYDL_CHECK(idx.ndim() <= 1, ValueError, "index_copy: index must be 0-d or 1-d");
                const int64_t count = idx.size();
                check_dim_indices(idx.data(), count, size, dim);
                const AroundDim a(gs, dim);
                auto gx = empty<T>(gs);
                auto gsrc = empty<T>(with_size(gs, dim, count));
                T *xp = gx.mutable_data(), *sp = gsrc.mutable_data();
                {
                    ReleaseGil nogil(cost_elements(2.0 * double(numel(gs)) +
                                                   2.0 * double(a.outer) * count * a.inner));
                    index_copy_forward<T>(g.data(), a.outer, a.n, a.inner, idx.data(), count,
                                          nullptr, xp);
                    index_select_forward(g.data(), a.outer, a.n, a.inner, idx.data(), count, sp);
                }
                return py::make_tuple(gx, gsrc);
            });
        },
        py::arg("grad"), py::arg("dim"), py::arg("index"));
}

}  // namespace pydl::bind
