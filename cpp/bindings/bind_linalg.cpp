// Bindings of cpp/kernels/linalg: float32 and float64 (the kernels compute in double).
#include "bindings/common.h"
#include "kernels/linalg.h"

namespace pydl::bind {
namespace {

// A stack of matrices (..., rows, cols): its batch shape, count and matrix size.
struct Stack {
    Shape batch;
    int64_t count, rows, cols;
    Shape with(std::initializer_list<int64_t> tail) const {
        Shape s(batch);
        s.insert(s.end(), tail);
        return s;
    }
};

Stack stack_of(const py::array& a, const char* fn, const char* name, bool square) {
    const Shape s = shape_of(a);
    PYDL_CHECK(s.size() >= 2, ValueError, fn, ": ", name,
               " must be a batch of matrices (..., m, n), got shape ", shape_str(s));
    Stack st{Shape(s.begin(), s.end() - 2), 0, s[s.size() - 2], s.back()};
    st.count = numel(st.batch);
    PYDL_CHECK(!square || st.rows == st.cols, ValueError, fn, ": ", name,
               " must be a batch of square matrices, got shape ", shape_str(s));
    return st;
}

// An array of `shape` that must match what the kernel reads.
void expect_shape(const py::array& a, const Shape& shape, const char* fn, const char* name) {
    PYDL_CHECK(shape_of(a) == shape, ValueError, fn, ": ", name, " has shape ",
               shape_str(shape_of(a)), ", expected ", shape_str(shape));
}

// B (..., n, k) for a square A (..., n, n) of the same batch.
Stack rhs_of(const py::array& b, const Stack& a, const char* fn) {
    const Stack sb = stack_of(b, fn, "B", false);
    PYDL_CHECK(sb.batch == a.batch && sb.rows == a.rows, ValueError, fn, ": B of shape ",
               shape_str(shape_of(b)), " does not match A's ", shape_str(a.with({a.rows, a.rows})),
               " (expected (..., ", a.rows, ", k) with A's batch)");
    return sb;
}

template <typename Fn>
py::object float_types(const py::array& x, const char* fn_name, Fn&& fn) {
    return with_dtype<float, double>(x, fn_name, std::forward<Fn>(fn));
}

void same_dtypes(const char* fn, const py::array& x, std::initializer_list<py::array> others) {
    for (const py::array& o : others) same_dtype(x, o, fn);
}

}  // namespace

void bind_linalg(KernelModule& m) {
    m.def(
        "cholesky_forward",
        [](const py::array& a_, bool upper) {
            return float_types(a_, "cholesky_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto a = typed<T>(a_, "A");
                const Stack s = stack_of(a, "cholesky", "A", true);
                auto l = empty<T>(shape_of(a));
                auto info = empty<int64_t>(s.batch);
                T* lp = l.mutable_data();
                int64_t* ip = info.mutable_data();
                {
                    ReleaseGil nogil(cost_linalg(double(s.count) * s.rows * s.rows * s.rows / 3.0));
                    cholesky_forward(a.data(), s.count, s.rows, upper, lp, ip);
                }
                return py::make_tuple(l, info);
            });
        },
        py::arg("a"), py::arg("upper"));
    m.def(
        "cholesky_backward",
        [](const py::array& g_, const py::array& l_, bool upper) {
            same_dtype(g_, l_, "cholesky_backward");
            return float_types(g_, "cholesky_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad"), l = typed<T>(l_, "L");
                const Stack s = stack_of(l, "cholesky", "L", true);
                expect_shape(g, shape_of(l), "cholesky_backward", "grad");
                auto ga = empty<T>(shape_of(l));
                T* gp = ga.mutable_data();
                ReleaseGil nogil(cost_linalg(double(s.count) * s.rows * s.rows * s.rows));
                cholesky_backward(g.data(), l.data(), s.count, s.rows, upper, gp);
                return ga;
            });
        },
        py::arg("grad"), py::arg("l"), py::arg("upper"));
    m.def(
        "solve_forward",
        [](const py::array& a_, const py::array& b_) {
            same_dtype(a_, b_, "solve_forward");
            return float_types(a_, "solve_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto a = typed<T>(a_, "A"), b = typed<T>(b_, "B");
                const Stack s = stack_of(a, "solve", "A", true), sb = rhs_of(b, s, "solve");
                auto x = empty<T>(shape_of(b));
                auto info = empty<int64_t>(s.batch);
                T* xp = x.mutable_data();
                int64_t* ip = info.mutable_data();
                {
                    ReleaseGil nogil(
                        cost_linalg(double(s.count) * s.rows * s.rows * (s.rows / 3.0 + sb.cols)));
                    solve_forward(a.data(), b.data(), s.count, s.rows, sb.cols, xp, ip);
                }
                return py::make_tuple(x, info);
            });
        },
        py::arg("a"), py::arg("b"));
    m.def(
        "solve_backward",
        [](const py::array& g_, const py::array& a_, const py::array& x_, bool need_a,
           bool need_b) {
            same_dtypes("solve_backward", g_, {a_, x_});
            return float_types(g_, "solve_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad"), a = typed<T>(a_, "A"), x = typed<T>(x_, "X");
                const Stack s = stack_of(a, "solve", "A", true), sx = rhs_of(x, s, "solve");
                expect_shape(g, shape_of(x), "solve_backward", "grad");
                T *gap, *gbp;
                py::object ga = maybe_empty(need_a, shape_of(a), gap),
                           gb = maybe_empty(need_b, shape_of(x), gbp);
                {
                    ReleaseGil nogil(cost_linalg(double(s.count) * s.rows * s.rows *
                                                 (s.rows / 3.0 + 2.0 * sx.cols)));
                    solve_backward(g.data(), a.data(), x.data(), s.count, s.rows, sx.cols, gap,
                                   gbp);
                }
                return py::make_tuple(ga, gb);
            });
        },
        py::arg("grad"), py::arg("a"), py::arg("x"), py::arg("need_a") = true,
        py::arg("need_b") = true);
    m.def(
        "inv_forward",
        [](const py::array& a_) {
            return float_types(a_, "inv_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto a = typed<T>(a_, "A");
                const Stack s = stack_of(a, "inv", "A", true);
                auto y = empty<T>(shape_of(a));
                auto info = empty<int64_t>(s.batch);
                T* yp = y.mutable_data();
                int64_t* ip = info.mutable_data();
                {
                    ReleaseGil nogil(cost_linalg(double(s.count) * s.rows * s.rows * s.rows));
                    inv_forward(a.data(), s.count, s.rows, yp, ip);
                }
                return py::make_tuple(y, info);
            });
        },
        py::arg("a"));
    m.def(
        "inv_backward",
        [](const py::array& g_, const py::array& y_) {
            same_dtype(g_, y_, "inv_backward");
            return float_types(g_, "inv_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad"), y = typed<T>(y_, "ainv");
                const Stack s = stack_of(y, "inv", "ainv", true);
                expect_shape(g, shape_of(y), "inv_backward", "grad");
                auto ga = empty<T>(shape_of(y));
                T* gp = ga.mutable_data();
                ReleaseGil nogil(cost_linalg(2.0 * double(s.count) * s.rows * s.rows * s.rows));
                inv_backward(g.data(), y.data(), s.count, s.rows, gp);
                return ga;
            });
        },
        py::arg("grad"), py::arg("ainv"));
    m.def(
        "slogdet_forward",
        [](const py::array& a_) {
            return float_types(a_, "slogdet_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto a = typed<T>(a_, "A");
                const Stack s = stack_of(a, "slogdet", "A", true);
                auto sign = empty<T>(s.batch), logabsdet = empty<T>(s.batch);
                T *sp = sign.mutable_data(), *lp = logabsdet.mutable_data();
                {
                    ReleaseGil nogil(cost_linalg(double(s.count) * s.rows * s.rows * s.rows / 3.0));
                    slogdet_forward(a.data(), s.count, s.rows, sp, lp);
                }
                return py::make_tuple(sign, logabsdet);
            });
        },
        py::arg("a"));
    m.def(
        "slogdet_backward",
        [](const py::array& g_, const py::array& a_) {
            same_dtype(g_, a_, "slogdet_backward");
            return float_types(g_, "slogdet_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad"), a = typed<T>(a_, "A");
                const Stack s = stack_of(a, "slogdet", "A", true);
                expect_shape(g, s.batch, "slogdet_backward", "grad");
                auto ga = empty<T>(shape_of(a));
                T* gp = ga.mutable_data();
                ReleaseGil nogil(cost_linalg(double(s.count) * s.rows * s.rows * s.rows));
                slogdet_backward(g.data(), a.data(), s.count, s.rows, gp);
                return ga;
            });
        },
        py::arg("grad"), py::arg("a"));
    m.def(
        "solve_triangular_forward",
        [](const py::array& a_, const py::array& b_, bool upper, bool unitriangular) {
            same_dtype(a_, b_, "solve_triangular_forward");
            return float_types(a_, "solve_triangular_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto a = typed<T>(a_, "A"), b = typed<T>(b_, "B");
                const Stack s = stack_of(a, "solve_triangular", "A", true),
                            sb = rhs_of(b, s, "solve_triangular");
                auto x = empty<T>(shape_of(b));
                T* xp = x.mutable_data();
                ReleaseGil nogil(cost_linalg(0.5 * double(s.count) * s.rows * s.rows * sb.cols));
                solve_triangular_forward(a.data(), b.data(), s.count, s.rows, sb.cols, upper,
                                         unitriangular, xp);
                return x;
            });
        },
        py::arg("a"), py::arg("b"), py::arg("upper"), py::arg("unitriangular"));
    m.def(
        "solve_triangular_backward",
        [](const py::array& g_, const py::array& a_, const py::array& x_, bool upper,
           bool unitriangular, bool need_a, bool need_b) {
            same_dtypes("solve_triangular_backward", g_, {a_, x_});
            return float_types(g_, "solve_triangular_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto g = typed<T>(g_, "grad"), a = typed<T>(a_, "A"), x = typed<T>(x_, "X");
                const Stack s = stack_of(a, "solve_triangular", "A", true),
                            sx = rhs_of(x, s, "solve_triangular");
                expect_shape(g, shape_of(x), "solve_triangular_backward", "grad");
                T *gap, *gbp;
                py::object ga = maybe_empty(need_a, shape_of(a), gap),
                           gb = maybe_empty(need_b, shape_of(x), gbp);
                {
                    ReleaseGil nogil(
                        cost_linalg(1.5 * double(s.count) * s.rows * s.rows * sx.cols));
                    solve_triangular_backward(g.data(), a.data(), x.data(), s.count, s.rows,
                                              sx.cols, upper, unitriangular, gap, gbp);
                }
                return py::make_tuple(ga, gb);
            });
        },
        py::arg("grad"), py::arg("a"), py::arg("x"), py::arg("upper"), py::arg("unitriangular"),
        py::arg("need_a") = true, py::arg("need_b") = true);
    m.def(
        "qr_forward",
        [](const py::array& a_, const std::string& mode) {
            PYDL_CHECK(mode == "reduced" || mode == "complete", ValueError,
                       "qr: mode must be 'reduced' or 'complete', got '", mode, "'");
            return float_types(a_, "qr_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto a = typed<T>(a_, "A");
                const Stack s = stack_of(a, "qr", "A", false);
                const bool complete = mode == "complete";
                const int64_t k = std::min(s.rows, s.cols), qc = complete ? s.rows : k;
                auto q = empty<T>(s.with({s.rows, qc})), r = empty<T>(s.with({qc, s.cols}));
                T *qp = q.mutable_data(), *rp = r.mutable_data();
                {
                    ReleaseGil nogil(cost_linalg(8.0 * double(s.count) * s.rows * s.cols * k));
                    qr_forward(a.data(), s.count, s.rows, s.cols, complete, qp, rp);
                }
                return py::make_tuple(q, r);
            });
        },
        py::arg("a"), py::arg("mode"));
    m.def(
        "qr_backward",
        [](const py::array& gq_, const py::array& gr_, const py::array& q_, const py::array& r_) {
            same_dtypes("qr_backward", gq_, {gr_, q_, r_});
            return float_types(gq_, "qr_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto gq = typed<T>(gq_, "grad_q"), gr = typed<T>(gr_, "grad_r"),
                     q = typed<T>(q_, "Q"), r = typed<T>(r_, "R");
                const Stack sq = stack_of(q, "qr", "Q", false), sr = stack_of(r, "qr", "R", false);
                const int64_t m = sq.rows, n = sr.cols, k = std::min(m, n);
                PYDL_CHECK(sq.batch == sr.batch && sq.cols == k && sr.rows == k, ValueError,
                           "qr_backward: Q ", shape_str(shape_of(q)), " and R ",
                           shape_str(shape_of(r)), " are not reduced factors of one A");
                expect_shape(gq, shape_of(q), "qr_backward", "grad_q");
                expect_shape(gr, shape_of(r), "qr_backward", "grad_r");
                auto ga = empty<T>(sq.with({m, n}));
                T* gp = ga.mutable_data();
                ReleaseGil nogil(cost_linalg(3.0 * double(sq.count) * m * n * k));
                qr_backward(gq.data(), gr.data(), q.data(), r.data(), sq.count, m, n, gp);
                return ga;
            });
        },
        py::arg("grad_q"), py::arg("grad_r"), py::arg("q"), py::arg("r"));
    m.def(
        "svd_forward",
        [](const py::array& a_, bool full_matrices) {
            return float_types(a_, "svd_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto a = typed<T>(a_, "A");
                const Stack s = stack_of(a, "svd", "A", false);
                const int64_t k = std::min(s.rows, s.cols);
                const int64_t uc = full_matrices ? s.rows : k, vr = full_matrices ? s.cols : k;
                auto u = empty<T>(s.with({s.rows, uc})), sv = empty<T>(s.with({k})),
                     vh = empty<T>(s.with({vr, s.cols}));
                T *up = u.mutable_data(), *sp = sv.mutable_data(), *vp = vh.mutable_data();
                {
                    ReleaseGil nogil(cost_linalg(30.0 * double(s.count) * s.rows * s.cols * k));
                    svd_forward(a.data(), s.count, s.rows, s.cols, full_matrices, up, sp, vp);
                }
                return py::make_tuple(u, sv, vh);
            });
        },
        py::arg("a"), py::arg("full_matrices"));
    m.def(
        "svd_backward",
        [](const py::array& gu_, const py::array& gs_, const py::array& gvh_, const py::array& u_,
           const py::array& s_, const py::array& vh_) {
            same_dtypes("svd_backward", gu_, {gs_, gvh_, u_, s_, vh_});
            return float_types(gu_, "svd_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto gu = typed<T>(gu_, "grad_u"), gs = typed<T>(gs_, "grad_s"),
                     gvh = typed<T>(gvh_, "grad_vh"), u = typed<T>(u_, "U"), s = typed<T>(s_, "S"),
                     vh = typed<T>(vh_, "Vh");
                const Stack su = stack_of(u, "svd", "U", false),
                            sv = stack_of(vh, "svd", "Vh", false);
                const int64_t m = su.rows, n = sv.cols, k = std::min(m, n);
                PYDL_CHECK(su.batch == sv.batch && su.cols == k && sv.rows == k, ValueError,
                           "svd_backward: U ", shape_str(shape_of(u)), " and Vh ",
                           shape_str(shape_of(vh)), " are not reduced factors of one A");
                expect_shape(s, su.with({k}), "svd_backward", "S");
                expect_shape(gs, su.with({k}), "svd_backward", "grad_s");
                expect_shape(gu, shape_of(u), "svd_backward", "grad_u");
                expect_shape(gvh, shape_of(vh), "svd_backward", "grad_vh");
                auto ga = empty<T>(su.with({m, n}));
                T* gp = ga.mutable_data();
                ReleaseGil nogil(cost_linalg(5.0 * double(su.count) * m * n * k));
                svd_backward(gu.data(), gs.data(), gvh.data(), u.data(), s.data(), vh.data(),
                             su.count, m, n, gp);
                return ga;
            });
        },
        py::arg("grad_u"), py::arg("grad_s"), py::arg("grad_vh"), py::arg("u"), py::arg("s"),
        py::arg("vh"));
    m.def(
        "eigh_forward",
        [](const py::array& a_, bool upper) {
            return float_types(a_, "eigh_forward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto a = typed<T>(a_, "A");
                const Stack s = stack_of(a, "eigh", "A", true);
                auto w = empty<T>(s.with({s.rows})), v = empty<T>(shape_of(a));
                T *wp = w.mutable_data(), *vp = v.mutable_data();
                {
                    ReleaseGil nogil(
                        cost_linalg(60.0 * double(s.count) * s.rows * s.rows * s.rows));
                    eigh_forward(a.data(), s.count, s.rows, upper, wp, vp);
                }
                return py::make_tuple(w, v);
            });
        },
        py::arg("a"), py::arg("upper"));
    m.def(
        "eigh_backward",
        [](const py::array& gw_, const py::array& gv_, const py::array& w_, const py::array& v_) {
            same_dtypes("eigh_backward", gw_, {gv_, w_, v_});
            return float_types(gw_, "eigh_backward", [&](auto t) -> py::object {
                using T = typename decltype(t)::type;
                auto gw = typed<T>(gw_, "grad_w"), gv = typed<T>(gv_, "grad_v"),
                     w = typed<T>(w_, "w"), v = typed<T>(v_, "V");
                const Stack s = stack_of(v, "eigh", "V", true);
                expect_shape(w, s.with({s.rows}), "eigh_backward", "w");
                expect_shape(gw, s.with({s.rows}), "eigh_backward", "grad_w");
                expect_shape(gv, shape_of(v), "eigh_backward", "grad_v");
                auto ga = empty<T>(shape_of(v));
                T* gp = ga.mutable_data();
                ReleaseGil nogil(cost_linalg(3.0 * double(s.count) * s.rows * s.rows * s.rows));
                eigh_backward(gw.data(), gv.data(), w.data(), v.data(), s.count, s.rows, gp);
                return ga;
            });
        },
        py::arg("grad_w"), py::arg("grad_v"), py::arg("w"), py::arg("v"));
}

}  // namespace pydl::bind
