// Losses: cross-entropy, NLL.
#include "bindings/common.h"
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

// The optional class weights (null when None): C float32 values, kept alive by `keep`.
const float* class_weights(const py::object& w_, int64_t c, py::array_t<float>& keep) {
    if (w_.is_none()) return nullptr;
    keep = f32(w_.cast<py::array>(), "weight");
    PYDL_CHECK(keep.ndim() == 1 && keep.size() == c, ValueError, "weight of shape ",
               shape_str(shape_of(keep)), " must hold one value per class (", c, ")");
    return in(keep);
}

}  // namespace

void bind_softmax_loss(KernelModule& m) {
    m.def(
        "cross_entropy_forward",
        [](const py::array& x_, const py::array& t_, const std::string& red, int64_t ignore_index,
           const py::object& w_, double label_smoothing) {
            auto x = f32(x_, "input");
            const Shape ls = shape_of(x);
            const Reduction r = parse_reduction(red);
            const bool probs = t_.dtype().kind() == 'f';
            check_loss_shapes("cross_entropy", ls, t_, probs);
            const int64_t n = ls[0], c = ls[1];
            py::array_t<float> wkeep;
            const float* w = class_weights(w_, c, wkeep);
            PYDL_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ValueError,
                       "label_smoothing must be between 0.0 and 1.0; got ", label_smoothing);
            auto loss = loss_array(r, n);
            auto lse = empty({n});
            float* lp = out(loss);
            float* sp = out(lse);
            if (probs) {
                auto t = f32(t_, "target");
                ReleaseGil nogil(cost_math(3.0 * double(numel(ls))));
                cross_entropy_prob_forward(in(x), in(t), w, n, c, r, lp, sp);
            } else {
                auto t = i64(t_, "target");
                ReleaseGil nogil(cost_math(2.0 * double(numel(ls))));
                cross_entropy_forward(in(x), t.data(), w, n, c, r, ignore_index,
                                      float(label_smoothing), lp, sp);
            }
            return py::make_tuple(loss, lse);
        },
        py::arg("x"), py::arg("target"), py::arg("reduction"), py::arg("ignore_index"),
        py::arg("weight") = py::none(), py::arg("label_smoothing") = 0.0);
    m.def(
        "cross_entropy_backward",
        [](const py::array& g_, const py::array& x_, const py::array& t_, const py::array& lse_,
           const std::string& red, int64_t ignore_index, const py::object& w_,
           double label_smoothing) {
            auto g = f32(g_, "grad"), x = f32(x_, "input"), lse = f32(lse_, "lse");
            const Shape ls = shape_of(x);
            const Reduction r = parse_reduction(red);
            const bool probs = t_.dtype().kind() == 'f';
            check_loss_shapes("cross_entropy", ls, t_, probs);
            const int64_t n = ls[0], c = ls[1];
            check_loss_grad(g, r, n);
            PYDL_CHECK(lse.size() == n, ValueError, "lse must have ", n, " values");
            py::array_t<float> wkeep;
            const float* w = class_weights(w_, c, wkeep);
            PYDL_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ValueError,
                       "label_smoothing must be between 0.0 and 1.0; got ", label_smoothing);
            auto gx = empty(ls);
            float* gp = out(gx);
            if (probs) {
                auto t = f32(t_, "target");
                ReleaseGil nogil(cost_math(3.0 * double(numel(ls))));
                cross_entropy_prob_backward(in(g), in(x), in(t), w, in(lse), n, c, r, gp);
            } else {
                auto t = i64(t_, "target");
                ReleaseGil nogil(cost_math(3.0 * double(numel(ls))));
                cross_entropy_backward(in(g), in(x), t.data(), w, in(lse), n, c, r, ignore_index,
                                       float(label_smoothing), gp);
            }
            return gx;
        },
        py::arg("grad"), py::arg("x"), py::arg("target"), py::arg("lse"), py::arg("reduction"),
        py::arg("ignore_index"), py::arg("weight") = py::none(), py::arg("label_smoothing") = 0.0);
    m.def(
        "nll_loss_forward",
        [](const py::array& x_, const py::array& t_, const std::string& red, int64_t ignore_index,
           const py::object& w_) {
            auto x = f32(x_, "input");
            auto t = i64(t_, "target");
            const Shape ls = shape_of(x);
            check_loss_shapes("nll_loss", ls, t, false);
            const Reduction r = parse_reduction(red);
            py::array_t<float> wkeep;
            const float* w = class_weights(w_, ls[1], wkeep);
            auto loss = loss_array(r, ls[0]);
            float* lp = out(loss);
            ReleaseGil nogil(cost_elements(3.0 * double(t.size())));
            nll_loss_forward(in(x), t.data(), w, ls[0], ls[1], r, ignore_index, lp);
            return loss;
        },
        py::arg("logp"), py::arg("target"), py::arg("reduction"), py::arg("ignore_index"),
        py::arg("weight") = py::none());
    m.def(
        "nll_loss_backward",
        [](const py::array& g_, const py::array& x_, const py::array& t_, const std::string& red,
           int64_t ignore_index, const py::object& w_) {
            auto g = f32(g_, "grad");
            auto t = i64(t_, "target");
            const Shape ls = shape_of(x_);
            check_loss_shapes("nll_loss", ls, t, false);
            const Reduction r = parse_reduction(red);
            check_loss_grad(g, r, ls[0]);
            py::array_t<float> wkeep;
            const float* w = class_weights(w_, ls[1], wkeep);
            auto gx = empty(ls);
            float* gp = out(gx);
            ReleaseGil nogil(cost_elements(double(numel(ls)) + 2.0 * double(t.size())));
            nll_loss_backward(in(g), t.data(), w, ls[0], ls[1], r, ignore_index, gp);
            return gx;
        },
        py::arg("grad"), py::arg("logp"), py::arg("target"), py::arg("reduction"),
        py::arg("ignore_index"), py::arg("weight") = py::none());
}

}  // namespace pydl::bind
