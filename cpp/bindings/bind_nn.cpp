// Losses, linear and matmul, data movement, optimizer steps.
#include <algorithm>

#include "bindings/common.h"
#include "gemm/gemm.h"
#include "gemm/peak.h"
#include "kernels/layout.h"
#include "kernels/linear.h"
#include "kernels/optim.h"
#include "kernels/softmax_loss.h"

namespace pydl::bind {
namespace {

Reduction parse_reduction(const std::string& r) {
    if (r == "mean") return Reduction::Mean;
    if (r == "sum") return Reduction::Sum;
    PYDL_CHECK(r == "none", ValueError, "reduction must be 'mean', 'sum' or 'none'; got '", r, "'");
    return Reduction::None;
}

// Checks (N, C) logits against integer (N,) or probability (N, C) targets.
void check_loss_shapes(const char* fn, const Shape& ls, const py::array& target, bool probs) {
    PYDL_CHECK(ls.size() == 2, ValueError, fn, " expects (N, C) input; got ", shape_str(ls));
    const Shape ts = shape_of(target);
    if (probs)
        PYDL_CHECK(ts == ls, ValueError, fn, ": probability target ", shape_str(ts),
                   " must match input ", shape_str(ls));
    else
        PYDL_CHECK(ts.size() == 1 && ts[0] == ls[0], ValueError, fn, ": target ", shape_str(ts),
                   " must be (N,) for input ", shape_str(ls));
}

py::array_t<float> loss_array(Reduction r, int64_t n) {
    return r == Reduction::None ? empty({n}) : empty({});
}

void check_loss_grad(const py::array_t<float>& g, Reduction r, int64_t n) {
    PYDL_CHECK(g.size() == (r == Reduction::None ? n : 1), ValueError, "grad of shape ",
               shape_str(shape_of(g)), " does not match the loss");
}

void def_losses(py::module_& m) {
    m.def("cross_entropy_forward", [](const py::array& x_, const py::array& t_,
                                      const std::string& red, int64_t ignore_index) {
        auto x = f32(x_, "input");
        const Shape ls = shape_of(x);
        const Reduction r = parse_reduction(red);
        const bool probs = t_.dtype().kind() == 'f';
        check_loss_shapes("cross_entropy", ls, t_, probs);
        const int64_t n = ls[0], c = ls[1];
        auto loss = loss_array(r, n);
        auto lse = empty({n});
        float* lp = out(loss);
        float* sp = out(lse);
        if (probs) {
            auto t = f32(t_, "target");
            py::gil_scoped_release nogil;
            cross_entropy_prob_forward(in(x), in(t), n, c, r, lp, sp);
        } else {
            auto t = i64(t_, "target");
            py::gil_scoped_release nogil;
            cross_entropy_forward(in(x), t.data(), n, c, r, ignore_index, lp, sp);
        }
        return py::make_tuple(loss, lse);
    });
    m.def("cross_entropy_backward", [](const py::array& g_, const py::array& x_,
                                       const py::array& t_, const py::array& lse_,
                                       const std::string& red, int64_t ignore_index) {
        auto g = f32(g_, "grad"), x = f32(x_, "input"), lse = f32(lse_, "lse");
        const Shape ls = shape_of(x);
        const Reduction r = parse_reduction(red);
        const bool probs = t_.dtype().kind() == 'f';
        check_loss_shapes("cross_entropy", ls, t_, probs);
        const int64_t n = ls[0], c = ls[1];
        check_loss_grad(g, r, n);
        PYDL_CHECK(lse.size() == n, ValueError, "lse must have ", n, " values");
        auto gx = empty(ls);
        float* gp = out(gx);
        if (probs) {
            auto t = f32(t_, "target");
            py::gil_scoped_release nogil;
            cross_entropy_prob_backward(in(g), in(x), in(t), in(lse), n, c, r, gp);
        } else {
            auto t = i64(t_, "target");
            py::gil_scoped_release nogil;
            cross_entropy_backward(in(g), in(x), t.data(), in(lse), n, c, r, ignore_index, gp);
        }
        return gx;
    });
    m.def("nll_loss_forward", [](const py::array& x_, const py::array& t_, const std::string& red,
                                 int64_t ignore_index) {
        auto x = f32(x_, "input");
        auto t = i64(t_, "target");
        const Shape ls = shape_of(x);
        check_loss_shapes("nll_loss", ls, t, false);
        const Reduction r = parse_reduction(red);
        auto loss = loss_array(r, ls[0]);
        float* lp = out(loss);
        py::gil_scoped_release nogil;
        nll_loss_forward(in(x), t.data(), ls[0], ls[1], r, ignore_index, lp);
        return loss;
    });
    m.def("nll_loss_backward", [](const py::array& g_, const py::array& x_, const py::array& t_,
                                  const std::string& red, int64_t ignore_index) {
        auto g = f32(g_, "grad");
        auto t = i64(t_, "target");
        const Shape ls = shape_of(x_);
        check_loss_shapes("nll_loss", ls, t, false);
        const Reduction r = parse_reduction(red);
        check_loss_grad(g, r, ls[0]);
        auto gx = empty(ls);
        float* gp = out(gx);
        py::gil_scoped_release nogil;
        nll_loss_backward(in(g), t.data(), ls[0], ls[1], r, ignore_index, gp);
        return gx;
    });
}

// The output shape of linear, after checking input (..., in) against weight (out, in).
Shape linear_out_shape(const Shape& xs, const Shape& ws) {
    PYDL_CHECK(ws.size() == 2 && xs.size() >= 1 && xs.back() == ws[1], ValueError, "linear: input ",
               shape_str(xs), " does not match weight ", shape_str(ws), " (expected input (..., ",
               ws.size() == 2 ? ws[1] : -1, "))");
    Shape ys(xs);
    ys.back() = ws[0];
    return ys;
}

// The output shape of a batched matmul, after checking the operands align.
Shape matmul_out_shape(const Shape& as, const Shape& bs) {
    PYDL_CHECK(as.size() >= 2 && bs.size() >= 2 && as.back() == bs[bs.size() - 2], ValueError,
               "matmul: shapes ", shape_str(as), " and ", shape_str(bs), " are not aligned");
    Shape os = broadcast_shapes(Shape(as.begin(), as.end() - 2), Shape(bs.begin(), bs.end() - 2));
    os.push_back(as[as.size() - 2]);
    os.push_back(bs.back());
    return os;
}

gemm::Activation parse_activation(const std::string& name) {
    if (name == "none") return gemm::Activation::None;
    if (name == "relu") return gemm::Activation::Relu;
    if (name == "gelu") return gemm::Activation::Gelu;
    if (name == "tanh") return gemm::Activation::Tanh;
    if (name == "sigmoid") return gemm::Activation::Sigmoid;
    PYDL_CHECK(false, ValueError, "activation must be 'none', 'relu', 'gelu', 'tanh' or ",
               "'sigmoid'; got '", name, "'");
    return gemm::Activation::None;
}

// The extent in elements a rows x cols matrix with row stride ld needs.
void check_matrix(const char* name, const py::array& arr, int64_t rows, int64_t cols, int64_t ld) {
    PYDL_CHECK(ld >= std::max<int64_t>(1, cols), ValueError, "sgemm: leading dimension of ", name,
               " is ", ld, " but its rows hold ", cols, " elements");
    const int64_t need = rows > 0 && cols > 0 ? (rows - 1) * ld + cols : 0;
    PYDL_CHECK(arr.size() >= need, ValueError, "sgemm: ", name, " has ", arr.size(),
               " elements but a ", rows, " x ", cols, " matrix with leading dimension ", ld,
               " needs ", need);
}

void def_gemm(py::module_& m) {
    m.def(
        "sgemm",
        [](bool trans_a, bool trans_b, int64_t mm, int64_t n, int64_t k, double alpha,
           const py::array& a_, int64_t lda, const py::array& b_, int64_t ldb, double beta,
           py::array c_, int64_t ldc) {
            PYDL_CHECK(mm >= 0 && n >= 0 && k >= 0, ValueError, "sgemm: negative size m=", mm,
                       " n=", n, " k=", k);
            auto a = f32(a_, "a"), b = f32(b_, "b");
            PYDL_CHECK(c_.dtype().is(py::dtype::of<float>()) && (c_.flags() & py::array::c_style) &&
                           c_.writeable(),
                       TypeError, "sgemm: c must be a writable C-contiguous float32 array");
            check_matrix("a", a, trans_a ? k : mm, trans_a ? mm : k, lda);
            check_matrix("b", b, trans_b ? n : k, trans_b ? k : n, ldb);
            check_matrix("c", c_, mm, n, ldc);
            float* cp = static_cast<float*>(c_.mutable_data());
            py::gil_scoped_release nogil;
            sgemm(trans_a, trans_b, mm, n, k, float(alpha), in(a), lda, in(b), ldb, float(beta), cp,
                  ldc);
        },
        "C := alpha op(A) op(B) + beta C in place on row-major buffers (for tests/benchmarks).");
    m.def(
        "gemm_set_kernel", [](const std::string& name) { gemm::set_kernel(name.c_str()); },
        "Select the GEMM micro-kernel: 'auto', 'ref', 'avx2' or 'avx512'.");
    m.def("gemm_kernel", [] { return std::string(gemm::kernel_name()); });
    m.def(
        "fma_peak_loop",
        [](int64_t iterations) {
            py::gil_scoped_release nogil;
            return gemm::fma_peak_loop(iterations);
        },
        "192 flops per iteration of independent FMAs: the machine's peak (benchmarks).");
}

// The optional bias of a linear layer (null when None), checked against the weight.
const float* linear_bias(const py::object& b_, const Shape& ws, py::array_t<float>& keep) {
    if (b_.is_none()) return nullptr;
    keep = f32(b_.cast<py::array>(), "bias");
    PYDL_CHECK(keep.ndim() == 1 && keep.shape(0) == ws[0], ValueError, "linear: bias ",
               shape_str(shape_of(keep)), " does not match weight ", shape_str(ws));
    return keep.data();
}

void def_linear(py::module_& m) {
    m.def("linear_forward", [](const py::array& x_, const py::array& w_, py::object b_) {
        auto x = f32(x_, "input"), w = f32(w_, "weight");
        const Shape xs = shape_of(x), ws = shape_of(w), ys = linear_out_shape(xs, ws);
        py::array_t<float> b;
        const float* bp = linear_bias(b_, ws, b);
        auto y = empty(ys);
        float* yp = out(y);
        const int64_t rows = numel(Shape(xs.begin(), xs.end() - 1));
        py::gil_scoped_release nogil;
        linear_forward(in(x), in(w), bp, rows, ws[1], ws[0], yp);
        return y;
    });
    m.def("linear_act_forward", [](const py::array& x_, const py::array& w_, py::object b_,
                                   const std::string& activation) {
        auto x = f32(x_, "input"), w = f32(w_, "weight");
        const Shape xs = shape_of(x), ws = shape_of(w), ys = linear_out_shape(xs, ws);
        const gemm::Activation act = parse_activation(activation);
        py::array_t<float> b;
        const float* bp = linear_bias(b_, ws, b);
        auto y = empty(ys);
        py::object pre = py::none();
        float* pre_p = nullptr;
        if (act == gemm::Activation::Gelu) {  // gelu's derivative needs the pre-activation
            auto t = empty(ys);
            pre_p = out(t);
            pre = t;
        }
        float* yp = out(y);
        const int64_t rows = numel(Shape(xs.begin(), xs.end() - 1));
        {
            py::gil_scoped_release nogil;
            linear_forward(in(x), in(w), bp, rows, ws[1], ws[0], yp, act, pre_p);
        }
        return py::make_tuple(y, pre);
    });
    m.def(
        "linear_act_backward",
        [](const py::array& g_, const py::array& x_, const py::array& w_, const py::array& y_,
           py::object pre_, bool has_bias, const std::string& activation, bool need_x,
           bool need_w) {
            auto g = f32(g_, "grad"), x = f32(x_, "input"), w = f32(w_, "weight"), y = f32(y_, "y");
            const Shape xs = shape_of(x), ws = shape_of(w), ys = linear_out_shape(xs, ws);
            const gemm::Activation act = parse_activation(activation);
            PYDL_CHECK(shape_of(g) == ys && shape_of(y) == ys, ValueError, "linear: grad ",
                       shape_str(shape_of(g)), " and y ", shape_str(shape_of(y)),
                       " must match output ", shape_str(ys));
            py::array_t<float> pre;
            if (act == gemm::Activation::Gelu) {
                PYDL_CHECK(!pre_.is_none(), ValueError, "linear with gelu: backward needs pre");
                pre = f32(pre_.cast<py::array>(), "pre");
                PYDL_CHECK(shape_of(pre) == ys, ValueError, "linear: pre ",
                           shape_str(shape_of(pre)), " must match output ", shape_str(ys));
            }
            float *gxp, *gwp, *gbp;
            py::object gx = maybe_empty(need_x, xs, gxp), gw = maybe_empty(need_w, ws, gwp),
                       gb = maybe_empty(has_bias, {ws[0]}, gbp);
            const float* pre_p = act == gemm::Activation::Gelu ? in(pre) : nullptr;
            const int64_t rows = numel(Shape(xs.begin(), xs.end() - 1));
            {
                py::gil_scoped_release nogil;
                linear_act_backward(in(g), in(x), in(w), in(y), pre_p, rows, ws[1], ws[0], act, gxp,
                                    gwp, gbp);
            }
            return py::make_tuple(gx, gw, gb);
        },
        py::arg("grad"), py::arg("x"), py::arg("w"), py::arg("y"), py::arg("pre"),
        py::arg("has_bias"), py::arg("activation"), py::arg("need_x") = true,
        py::arg("need_w") = true);
    m.def(
        "linear_backward",
        [](const py::array& g_, const py::array& x_, const py::array& w_, bool has_bias,
           bool need_x, bool need_w) {
            auto g = f32(g_, "grad"), x = f32(x_, "input"), w = f32(w_, "weight");
            const Shape xs = shape_of(x), ws = shape_of(w), ys = linear_out_shape(xs, ws);
            PYDL_CHECK(shape_of(g) == ys, ValueError, "linear: grad ", shape_str(shape_of(g)),
                       " does not match output ", shape_str(ys));
            float *gxp, *gwp, *gbp;
            py::object gx = maybe_empty(need_x, xs, gxp), gw = maybe_empty(need_w, ws, gwp),
                       gb = maybe_empty(has_bias, {ws[0]}, gbp);
            const int64_t rows = numel(Shape(xs.begin(), xs.end() - 1));
            {
                py::gil_scoped_release nogil;
                linear_backward(in(g), in(x), in(w), rows, ws[1], ws[0], gxp, gwp, gbp);
            }
            return py::make_tuple(gx, gw, gb);
        },
        py::arg("grad"), py::arg("x"), py::arg("w"), py::arg("has_bias"), py::arg("need_x") = true,
        py::arg("need_w") = true);
    m.def("matmul_forward", [](const py::array& a_, const py::array& b_) {
        auto a = f32(a_, "a"), b = f32(b_, "b");
        const Shape as = shape_of(a), bs = shape_of(b), os = matmul_out_shape(as, bs);
        auto y = empty(os);
        float* yp = out(y);
        py::gil_scoped_release nogil;
        matmul_forward(in(a), as, in(b), bs, yp, os);
        return y;
    });
    m.def(
        "matmul_backward",
        [](const py::array& g_, const py::array& a_, const py::array& b_, bool need_a,
           bool need_b) {
            auto g = f32(g_, "grad"), a = f32(a_, "a"), b = f32(b_, "b");
            const Shape as = shape_of(a), bs = shape_of(b), os = matmul_out_shape(as, bs);
            PYDL_CHECK(shape_of(g) == os, ValueError, "matmul: grad ", shape_str(shape_of(g)),
                       " does not match output ", shape_str(os));
            float *gap, *gbp;
            py::object ga = maybe_empty(need_a, as, gap), gb = maybe_empty(need_b, bs, gbp);
            {
                py::gil_scoped_release nogil;
                matmul_backward(in(g), os, in(a), as, in(b), bs, gap, gbp);
            }
            return py::make_tuple(ga, gb);
        },
        py::arg("grad"), py::arg("a"), py::arg("b"), py::arg("need_a") = true,
        py::arg("need_b") = true);
}

std::vector<int64_t> check_perm(const std::vector<int64_t>& dims, size_t rank) {
    PYDL_CHECK(dims.size() == rank, ValueError, "permute: ", dims.size(),
               " dims given for a tensor of rank ", rank);
    std::vector<bool> seen(rank, false);
    for (int64_t d : dims) {
        PYDL_CHECK(d >= 0 && size_t(d) < rank && !seen[d], ValueError,
                   "permute: dims must be a permutation of 0..", rank - 1);
        seen[d] = true;
    }
    return dims;
}

void def_layout(py::module_& m) {
    m.def("permute_forward", [](const py::array& x_, const std::vector<int64_t>& dims) {
        auto x = f32(x_, "x");
        const Shape s = shape_of(x);
        check_perm(dims, s.size());
        Shape os(s.size());
        for (size_t d = 0; d < s.size(); ++d) os[d] = s[dims[d]];
        auto y = empty(os);
        float* yp = out(y);
        py::gil_scoped_release nogil;
        permute_forward(in(x), s, dims, yp);
        return y;
    });
    m.def("permute_backward", [](const py::array& g_, const std::vector<int64_t>& dims) {
        auto g = f32(g_, "grad");
        const Shape s = shape_of(g);
        check_perm(dims, s.size());
        std::vector<int64_t> inv(dims.size());
        for (size_t d = 0; d < dims.size(); ++d) inv[dims[d]] = int64_t(d);
        Shape os(s.size());
        for (size_t d = 0; d < s.size(); ++d) os[d] = s[inv[d]];
        auto y = empty(os);
        float* yp = out(y);
        py::gil_scoped_release nogil;
        permute_forward(in(g), s, inv, yp);
        return y;
    });
    m.def("index_forward", [](const py::array& x_, const py::array& idx_) {
        auto x = f32(x_, "x");
        auto idx = i64(idx_, "index");
        auto y = empty(shape_of(idx));
        float* yp = out(y);
        const int64_t n = x.size(), count = idx.size();
        py::gil_scoped_release nogil;
        index_forward(in(x), n, idx.data(), count, yp);
        return y;
    });
    m.def("index_backward", [](const py::array& g_, const py::array& idx_,
                               const std::vector<int64_t>& x_shape) {
        auto g = f32(g_, "grad");
        auto idx = i64(idx_, "index");
        PYDL_CHECK(g.size() == idx.size(), ValueError, "index_backward: grad ",
                   shape_str(shape_of(g)), " does not match index ", shape_str(shape_of(idx)));
        const Shape s(x_shape.begin(), x_shape.end());
        auto gx = empty(s);
        float* gp = out(gx);
        const int64_t n = gx.size(), count = idx.size();
        py::gil_scoped_release nogil;
        index_backward(in(g), idx.data(), count, gp, n);
        return gx;
    });
    m.def("embedding_forward", [](const py::array& w_, const py::array& idx_) {
        auto w = f32(w_, "weight");
        auto idx = i64(idx_, "indices");
        PYDL_CHECK(w.ndim() == 2, ValueError,
                   "embedding weight must be (num_embeddings, dim); got ", shape_str(shape_of(w)));
        Shape os = shape_of(idx);
        os.push_back(w.shape(1));
        auto y = empty(os);
        float* yp = out(y);
        const int64_t rows = w.shape(0), dim = w.shape(1), count = idx.size();
        py::gil_scoped_release nogil;
        embedding_forward(in(w), rows, dim, idx.data(), count, yp);
        return y;
    });
    m.def("embedding_backward",
          [](const py::array& g_, const py::array& idx_, int64_t rows, int64_t padding_idx) {
              auto g = f32(g_, "grad");
              auto idx = i64(idx_, "indices");
              PYDL_CHECK(g.ndim() >= 1 && g.size() == idx.size() * g.shape(g.ndim() - 1),
                         ValueError, "embedding: grad ", shape_str(shape_of(g)),
                         " does not match indices ", shape_str(shape_of(idx)));
              const int64_t dim = g.shape(g.ndim() - 1), count = idx.size();
              auto gw = empty({rows, dim});
              float* gp = out(gw);
              py::gil_scoped_release nogil;
              embedding_backward(in(g), idx.data(), count, dim, rows, padding_idx, gp);
              return gw;
          });
    m.def("concat_forward", [](const std::vector<py::array>& xs_, int64_t axis) {
        PYDL_CHECK(!xs_.empty(), ValueError, "concatenate needs at least one tensor");
        std::vector<py::array_t<float>> xs;
        for (const auto& x : xs_) xs.push_back(f32(x, "tensors"));
        const Shape s0 = shape_of(xs[0]);
        PYDL_CHECK(axis >= 0 && size_t(axis) < s0.size(), ValueError, "concatenate: axis ", axis,
                   " is out of range for rank ", s0.size());
        std::vector<int64_t> sizes;
        std::vector<const float*> ptrs;
        Shape os = s0;
        os[axis] = 0;
        for (const auto& x : xs) {
            Shape s = shape_of(x);
            Shape a = s, b = s0;
            if (s.size() == s0.size()) a[axis] = b[axis] = 0;
            PYDL_CHECK(a == b, ValueError, "concatenate: shapes ", shape_str(s0), " and ",
                       shape_str(s), " differ outside axis ", axis);
            sizes.push_back(s[axis]);
            ptrs.push_back(in(x));
            os[axis] += s[axis];
        }
        int64_t outer = 1, inner = 1;
        for (int64_t d = 0; d < axis; ++d) outer *= s0[d];
        for (size_t d = axis + 1; d < s0.size(); ++d) inner *= s0[d];
        auto y = empty(os);
        float* yp = out(y);
        py::gil_scoped_release nogil;
        concat_forward(ptrs, sizes, outer, inner, yp);
        return y;
    });
    m.def("concat_backward",
          [](const py::array& g_, const std::vector<int64_t>& sizes, int64_t axis) {
              auto g = f32(g_, "grad");
              const Shape s = shape_of(g);
              PYDL_CHECK(axis >= 0 && size_t(axis) < s.size(), ValueError, "concatenate: axis ",
                         axis, " is out of range for rank ", s.size());
              int64_t total = 0;
              for (int64_t k : sizes) total += k;
              PYDL_CHECK(total == s[axis], ValueError, "concatenate: sizes sum to ", total,
                         " but grad has ", s[axis], " along axis ", axis);
              int64_t outer = 1, inner = 1;
              for (int64_t d = 0; d < axis; ++d) outer *= s[d];
              for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
              py::list result;
              std::vector<float*> ptrs;
              for (int64_t k : sizes) {
                  Shape ps = s;
                  ps[axis] = k;
                  auto t = empty(ps);
                  ptrs.push_back(out(t));
                  result.append(t);
              }
              {
                  py::gil_scoped_release nogil;
                  concat_backward(in(g), sizes, outer, inner, ptrs);
              }
              return result;
          });
}

using ArrayList = std::vector<py::array>;

// A writable C-contiguous float32 array of `size` elements, or TypeError/ValueError.
float* writable_f32(const py::array& a, const char* what, int64_t size) {
    PYDL_CHECK(
        a.dtype().is(py::dtype::of<float>()) && (a.flags() & py::array::c_style) && a.writeable(),
        TypeError, "optimizer step: every ", what,
        " must be a writable C-contiguous float32 array");
    PYDL_CHECK(a.size() == size, ValueError, "optimizer step: a ", what, " has ", a.size(),
               " elements, its parameter ", size);
    return static_cast<float*>(const_cast<void*>(a.data()));
}

// Parameters, one gradient each (none at all only with grads_optional, for Lookahead),
// and up to three state lists (empty: unused), checked and paired up.
std::vector<ParamSlot> slots_of(const ArrayList& params, const ArrayList& grads,
                                std::initializer_list<const ArrayList*> states,
                                bool grads_optional = false) {
    PYDL_CHECK(grads.size() == params.size() || (grads_optional && grads.empty()), ValueError,
               "optimizer step: ", params.size(), " params but ", grads.size(), " grads");
    for (const ArrayList* st : states)
        PYDL_CHECK(st->empty() || st->size() == params.size(), ValueError,
                   "optimizer step: ", params.size(), " params but ", st->size(), " state tensors");
    std::vector<ParamSlot> slots;
    for (size_t i = 0; i < params.size(); ++i) {
        ParamSlot s{};
        s.size = params[i].size();
        s.param = writable_f32(params[i], "parameter", s.size);
        s.grad = grads.empty() ? nullptr : writable_f32(grads[i], "gradient", s.size);
        int k = 0;
        for (const ArrayList* st : states) {
            s.state[k++] = st->empty() ? nullptr : writable_f32((*st)[i], "state buffer", s.size);
        }
        slots.push_back(s);
    }
    return slots;
}

void require_states(const char* fn, size_t params, std::initializer_list<const ArrayList*> states) {
    for (const ArrayList* st : states)
        PYDL_CHECK(params == 0 || !st->empty(), ValueError, fn, " needs every state list");
}

void def_optim(py::module_& m) {
    m.def("sgd_step", [](const ArrayList& params, const ArrayList& grads, const ArrayList& bufs,
                         double lr, double momentum, double dampening, bool nesterov,
                         double weight_decay, bool maximize, bool first_step) {
        const ArrayList none;
        auto slots = slots_of(params, grads, {momentum != 0 ? &bufs : &none});
        if (momentum != 0) require_states("sgd_step with momentum", params.size(), {&bufs});
        py::gil_scoped_release nogil;
        sgd_step(slots, float(lr), float(momentum), float(dampening), nesterov, float(weight_decay),
                 maximize, first_step);
    });
    m.def("adam_step",
          [](const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
             const ArrayList& exp_avg_sqs, const ArrayList& max_exp_avg_sqs, int64_t step,
             double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
             bool amsgrad, bool maximize) {
              PYDL_CHECK(step >= 1, ValueError, "adam_step: step must be >= 1, got ", step);
              auto slots = slots_of(params, grads, {&exp_avgs, &exp_avg_sqs, &max_exp_avg_sqs});
              require_states("adam_step", params.size(), {&exp_avgs, &exp_avg_sqs});
              if (amsgrad)
                  require_states("adam_step with amsgrad", params.size(), {&max_exp_avg_sqs});
              py::gil_scoped_release nogil;
              adam_step(slots, step, float(lr), float(beta1), float(beta2), float(eps),
                        float(weight_decay), decoupled, amsgrad, maximize);
          });
    m.def("adagrad_step", [](const ArrayList& params, const ArrayList& grads, const ArrayList& sums,
                             double clr, double weight_decay, double eps, bool maximize) {
        auto slots = slots_of(params, grads, {&sums});
        require_states("adagrad_step", params.size(), {&sums});
        py::gil_scoped_release nogil;
        adagrad_step(slots, float(clr), float(weight_decay), float(eps), maximize);
    });
    m.def("rmsprop_step",
          [](const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs,
             const ArrayList& momentum_buffers, const ArrayList& grad_avgs, double lr, double alpha,
             double eps, double weight_decay, double momentum, bool centered, bool maximize) {
              auto slots = slots_of(params, grads, {&square_avgs, &momentum_buffers, &grad_avgs});
              require_states("rmsprop_step", params.size(), {&square_avgs});
              if (momentum > 0)
                  require_states("rmsprop_step with momentum", params.size(), {&momentum_buffers});
              if (centered) require_states("rmsprop_step centered", params.size(), {&grad_avgs});
              py::gil_scoped_release nogil;
              rmsprop_step(slots, float(lr), float(alpha), float(eps), float(weight_decay),
                           float(momentum), centered, maximize);
          });
    m.def("adadelta_step", [](const ArrayList& params, const ArrayList& grads,
                              const ArrayList& square_avgs, const ArrayList& acc_deltas, double lr,
                              double rho, double eps, double weight_decay, bool maximize) {
        auto slots = slots_of(params, grads, {&square_avgs, &acc_deltas});
        require_states("adadelta_step", params.size(), {&square_avgs, &acc_deltas});
        py::gil_scoped_release nogil;
        adadelta_step(slots, float(lr), float(rho), float(eps), float(weight_decay), maximize);
    });
    m.def("nadam_step",
          [](const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
             const ArrayList& exp_avg_sqs, double beta1, double beta2, double bias_correction2,
             double coef_grad, double coef_avg, double eps, double weight_decay, bool decoupled,
             double lr, bool maximize) {
              auto slots = slots_of(params, grads, {&exp_avgs, &exp_avg_sqs});
              require_states("nadam_step", params.size(), {&exp_avgs, &exp_avg_sqs});
              py::gil_scoped_release nogil;
              nadam_step(slots, float(beta1), float(beta2), float(bias_correction2),
                         float(coef_grad), float(coef_avg), float(eps), float(weight_decay),
                         decoupled, float(lr), maximize);
          });
    m.def(
        "lion_step", [](const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
                        double lr, double beta1, double beta2, double weight_decay, bool maximize) {
            auto slots = slots_of(params, grads, {&exp_avgs});
            require_states("lion_step", params.size(), {&exp_avgs});
            py::gil_scoped_release nogil;
            lion_step(slots, float(lr), float(beta1), float(beta2), float(weight_decay), maximize);
        });
    m.def("lamb_step",
          [](const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
             const ArrayList& exp_avg_sqs, int64_t step, double lr, double beta1, double beta2,
             double eps, double weight_decay, bool bias_correction, bool maximize) {
              PYDL_CHECK(step >= 1, ValueError, "lamb_step: step must be >= 1, got ", step);
              auto slots = slots_of(params, grads, {&exp_avgs, &exp_avg_sqs});
              require_states("lamb_step", params.size(), {&exp_avgs, &exp_avg_sqs});
              py::gil_scoped_release nogil;
              lamb_step(slots, step, float(lr), float(beta1), float(beta2), float(eps),
                        float(weight_decay), bias_correction, maximize);
          });
    m.def("lookahead_step", [](const ArrayList& fast, const ArrayList& slow, double alpha) {
        auto slots = slots_of(fast, {}, {&slow}, /*grads_optional=*/true);
        require_states("lookahead_step", fast.size(), {&slow});
        py::gil_scoped_release nogil;
        lookahead_step(slots, float(alpha));
    });
    m.def("adafactor_step",
          [](py::array param, const py::array& grad, py::object row_var, py::object col_var,
             py::object variance, int64_t step, double lr, double beta2_decay, double eps1,
             double eps2, double d, double weight_decay, bool maximize) {
              PYDL_CHECK(step >= 1, ValueError, "adafactor_step: step must be >= 1, got ", step);
              const int64_t n = param.size();
              float* p = writable_f32(param, "parameter", n);
              const float* g = writable_f32(grad, "gradient", n);
              const bool factored = param.ndim() >= 2;
              int64_t rows = 1, cols = n, batch = 1;
              float* rv = nullptr;
              float* cv = nullptr;
              float* var = nullptr;
              if (factored) {
                  rows = param.shape(param.ndim() - 2);
                  cols = param.shape(param.ndim() - 1);
                  batch = rows * cols ? n / (rows * cols) : 0;
                  rv = writable_f32(row_var.cast<py::array>(), "row_var", batch * rows);
                  cv = writable_f32(col_var.cast<py::array>(), "col_var", batch * cols);
              } else {
                  var = writable_f32(variance.cast<py::array>(), "variance", n);
              }
              py::gil_scoped_release nogil;
              adafactor_step(p, g, batch, rows, cols, factored, rv, cv, var, step, float(lr),
                             float(beta2_decay), float(eps1), float(eps2), float(d),
                             float(weight_decay), maximize);
          });
}

}  // namespace

void bind_nn(py::module_& m) {
    def_losses(m);
    def_linear(m);
    def_gemm(m);
    def_layout(m);
    def_optim(m);
}

}  // namespace pydl::bind
