// Data movement: contiguous copies, indexing, embedding, concatenation. Native dtypes
// (Note [Dtypes in the core]): the forwards (and concat's backward, which only moves
// elements) any of the six; the backwards that accumulate float32 and
// float64.
#include "bindings/common.h"
#include "kernels/layout.h"

namespace pydl::bind {
void bind_layout(KernelModule& m) {
    // A new array always: strided_copy's (Note [Strided copy]) for plain numbers of 1, 2, 4
    // or 8 bytes, else NumPy's for a strided view; the reference's for other dtypes.
    m.def(
        "contiguous_forward",
        [](const py::array& x) -> py::object {
            if (py::object y = contiguous_copy(x)) return y;
            if (!is_c_contiguous(x)) return c_contiguous(x);
            throw NeedsReference(
                str_cat("contiguous: the core copies numbers of 1, 2, 4 or 8 bytes; x has dtype ",
                        dtype_name(x)));
        },
        py::arg("x"));
    m.def(
        "index_forward",
        [](const py::array& x_, const py::array& idx_) {
            return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
                x_, "index_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto x = typed<T>(x_, "x");
                    auto idx = i64(idx_, "index");
                    auto y = empty<T>(shape_of(idx));
                    T* yp = y.mutable_data();
                    const int64_t n = x.size(), count = idx.size();
                    ReleaseGil nogil(cost_elements(3.0 * double(count)));
                    index_forward(x.data(), n, idx.data(), count, sizeof(T), yp);
                    return y;
                });
        },
        py::arg("x"), py::arg("index"));
    m.def(
        "index_backward",
        [](const py::array& g_, const py::array& idx_, const std::vector<int64_t>& x_shape) {
            return with_dtype<float, double>(g_, "index_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad");
                auto idx = i64(idx_, "index");
                PYDL_CHECK(g.size() == idx.size(), ValueError, "index_backward: grad ",
                           shape_str(shape_of(g)), " does not match index ",
                           shape_str(shape_of(idx)));
                const Shape s(x_shape.begin(), x_shape.end());
                auto gx = empty<T>(s);
                T* gp = gx.mutable_data();
                const int64_t n = gx.size(), count = idx.size();
                ReleaseGil nogil(cost_elements(double(n) + 3.0 * double(count)));
                index_backward(g.data(), idx.data(), count, gp, n);
                return gx;
            });
        },
        py::arg("grad"), py::arg("index"), py::arg("x_shape"));
    m.def(
        "embedding_forward",
        [](const py::array& w_, const py::array& idx_) {
            return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
                w_, "embedding_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto w = typed<T>(w_, "weight");
                    auto idx = i64(idx_, "indices");
                    PYDL_CHECK(w.ndim() == 2, ValueError,
                               "embedding weight must be (num_embeddings, dim); got ",
                               shape_str(shape_of(w)));
                    Shape os = shape_of(idx);
                    os.push_back(w.shape(1));
                    auto y = empty<T>(os);
                    T* yp = y.mutable_data();
                    const int64_t rows = w.shape(0), dim = w.shape(1), count = idx.size();
                    ReleaseGil nogil(cost_elements(2.0 * double(count) * dim));
                    embedding_forward(w.data(), rows, dim, idx.data(), count, sizeof(T), yp);
                    return y;
                });
        },
        py::arg("weight"), py::arg("index"));
    m.def(
        "embedding_backward",
        [](const py::array& g_, const py::array& idx_, int64_t rows, int64_t padding_idx) {
            return with_dtype<float, double>(g_, "embedding_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad");
                auto idx = i64(idx_, "indices");
                // (a zero-size grad may have any last dim: the product is checked)
                PYDL_CHECK(
                    g.ndim() >= 1 && g.size() == checked_mul(idx.size(), g.shape(g.ndim() - 1),
                                                             "embedding: grad"),
                    ValueError, "embedding: grad ", shape_str(shape_of(g)),
                    " does not match indices ", shape_str(shape_of(idx)));
                const int64_t dim = g.shape(g.ndim() - 1), count = idx.size();
                auto gw = empty<T>({rows, dim});
                T* gp = gw.mutable_data();
                ReleaseGil nogil(cost_elements(double(rows) * dim + 2.0 * double(count) * dim));
                embedding_backward(g.data(), idx.data(), count, dim, rows, padding_idx, gp);
                return gw;
            });
        },
        py::arg("grad"), py::arg("index"), py::arg("rows"), py::arg("padding_idx"));
    m.def(
        "concat_forward",
        [](const std::vector<py::array>& xs_, int64_t axis) {
            PYDL_CHECK(!xs_.empty(), ValueError, "concatenate needs at least one tensor");
            for (const auto& x : xs_) same_dtype(xs_[0], x, "concat_forward");
            return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
                xs_[0], "concat_forward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    std::vector<py::array_t<T>> xs;
                    for (const auto& x : xs_) xs.push_back(typed<T>(x, "tensors"));
                    const Shape s0 = shape_of(xs[0]);
                    PYDL_CHECK(axis >= 0 && size_t(axis) < s0.size(), ValueError,
                               "concatenate: axis ", axis, " is out of range for rank ", s0.size());
                    std::vector<int64_t> sizes;
                    std::vector<const void*> ptrs;
                    Shape os = s0;
                    os[axis] = 0;
                    for (const auto& x : xs) {
                        Shape s = shape_of(x);
                        Shape a = s, b = s0;
                        if (s.size() == s0.size()) a[axis] = b[axis] = 0;
                        PYDL_CHECK(a == b, ValueError, "concatenate: shapes ", shape_str(s0),
                                   " and ", shape_str(s), " differ outside axis ", axis);
                        sizes.push_back(s[axis]);
                        ptrs.push_back(x.data());
                        os[axis] += s[axis];
                    }
                    int64_t outer = 1, inner = 1;
                    for (int64_t d = 0; d < axis; ++d) outer *= s0[d];
                    for (size_t d = axis + 1; d < s0.size(); ++d) inner *= s0[d];
                    auto y = empty<T>(os);
                    T* yp = y.mutable_data();
                    ReleaseGil nogil(cost_elements(2.0 * double(numel(os))));
                    concat_forward(ptrs, sizes, outer, inner, sizeof(T), yp);
                    return y;
                });
        },
        py::arg("xs"), py::arg("axis"));
    m.def(
        "concat_backward",
        [](const py::array& g_, const std::vector<int64_t>& sizes, int64_t axis) {
            return with_dtype<float, double, int64_t, int32_t, uint8_t, bool>(
                g_, "concat_backward", [&](auto t) -> py::object {
                    using T = typename decltype(t)::type;
                    auto g = typed<T>(g_, "grad");
                    const Shape s = shape_of(g);
                    PYDL_CHECK(axis >= 0 && size_t(axis) < s.size(), ValueError,
                               "concatenate: axis ", axis, " is out of range for rank ", s.size());
                    int64_t total = 0;
                    for (int64_t k : sizes) total += k;
                    PYDL_CHECK(total == s[axis], ValueError, "concatenate: sizes sum to ", total,
                               " but grad has ", s[axis], " along axis ", axis);
                    int64_t outer = 1, inner = 1;
                    for (int64_t d = 0; d < axis; ++d) outer *= s[d];
                    for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
                    py::list result;
                    std::vector<void*> ptrs;
                    for (int64_t k : sizes) {
                        Shape ps = s;
                        ps[axis] = k;
                        auto part = empty<T>(ps);
                        ptrs.push_back(part.mutable_data());
                        result.append(part);
                    }
                    {
                        ReleaseGil nogil(cost_elements(2.0 * double(numel(s))));
                        concat_backward(g.data(), sizes, outer, inner, sizeof(T), ptrs);
                    }
                    return result;
                });
        },
        py::arg("grad"), py::arg("sizes"), py::arg("axis"));
}

}  // namespace pydl::bind
