// Bindings of cpp/kernels/loss: the elementwise losses and CTC.
#include <vector>

#include "bindings/common.h"
#include "kernels/loss.h"

namespace pydl::bind {
namespace {

ElementwiseLoss parse_kind(const std::string& kind) {
    if (kind == "l1") return ElementwiseLoss::L1;
    if (kind == "smooth_l1") return ElementwiseLoss::SmoothL1;
    if (kind == "huber") return ElementwiseLoss::Huber;
    if (kind == "soft_margin") return ElementwiseLoss::SoftMargin;
    if (kind == "poisson_nll_log") return ElementwiseLoss::PoissonLog;
    if (kind == "poisson_nll") return ElementwiseLoss::Poisson;
    PYDL_CHECK(kind == "hinge_embedding", ValueError, "unknown elementwise loss '", kind, "'");
    return ElementwiseLoss::HingeEmbedding;
}

void check_same_shape(const py::array& a, const py::array& b, const char* what) {
    PYDL_CHECK(shape_of(a) == shape_of(b), ValueError, what, " of shape ", shape_str(shape_of(b)),
               " must match input of shape ", shape_str(shape_of(a)));
}

// Note [CTC]'s arguments, checked against log_probs (T, N, C): every length, the offset of
// each sample's labels in `targets` ((N, S) padded or the (sum of lengths,) concatenation),
// and every label the lengths select, so that the kernel reads nothing out of bounds.
struct CtcArgs {
    CtcShape shape;
    py::array_t<int64_t> targets, input_lengths, target_lengths;
    CheckedVector<int64_t> offsets;
};

CtcArgs ctc_args(const Shape& ls, const py::array& targets_, const py::array& il_,
                 const py::array& tl_, int64_t blank) {
    PYDL_CHECK(ls.size() == 3, ValueError, "ctc_loss: log_probs must be (T, N, C); got ",
               shape_str(ls));
    CtcArgs a{CtcShape{ls[0], ls[1], ls[2], blank},
              i64(targets_, "targets"),
              i64(il_, "input_lengths"),
              i64(tl_, "target_lengths"),
              {}};
    const int64_t n = ls[1], c = ls[2];
    PYDL_CHECK(blank >= 0 && blank < c, IndexError, "ctc_loss: blank ", blank,
               " is out of bounds for ", c, " classes");
    PYDL_CHECK(a.input_lengths.ndim() == 1 && a.input_lengths.size() == n, ValueError,
               "ctc_loss: input_lengths must hold ", n, " values; got shape ",
               shape_str(shape_of(a.input_lengths)));
    PYDL_CHECK(a.target_lengths.ndim() == 1 && a.target_lengths.size() == n, ValueError,
               "ctc_loss: target_lengths must hold ", n, " values; got shape ",
               shape_str(shape_of(a.target_lengths)));
    const Shape ts = shape_of(a.targets);
    const bool padded = ts.size() == 2;
    PYDL_CHECK(ts.size() == 1 || (padded && ts[0] == n), ValueError,
               "ctc_loss: targets must be (N, S) or 1-D (the targets concatenated); got ",
               shape_str(ts), " for a batch of ", n);
    const int64_t* il = a.input_lengths.data();
    const int64_t* tl = a.target_lengths.data();
    const int64_t* t = a.targets.data();
    a.offsets.resize(size_t(n));
    int64_t next = 0;
    for (int64_t i = 0; i < n; ++i) {
        PYDL_CHECK(il[i] >= 0 && il[i] <= ls[0], ValueError, "ctc_loss: input_lengths[", i,
                   "] = ", il[i], " must lie in [0, ", ls[0], "] (the time steps of log_probs)");
        const int64_t room = padded ? ts[1] : ts[0] - next;
        PYDL_CHECK(tl[i] >= 0 && tl[i] <= room, ValueError, "ctc_loss: target_lengths[", i,
                   "] = ", tl[i], " must lie in [0, ", room, "] (the targets left for it)");
        a.offsets[i] = padded ? i * ts[1] : next;
        next += tl[i];
        for (int64_t j = a.offsets[i]; j < a.offsets[i] + tl[i]; ++j)
            PYDL_CHECK(t[j] >= 0 && t[j] < c && t[j] != blank, IndexError, "ctc_loss: target ",
                       t[j], " (sample ", i, ") is out of bounds for ", c,
                       " classes or is the blank ", blank);
    }
    return a;
}

// The checks of multi_margin_loss's arguments: (N, C) input, (N,) targets in [0, C), p 1
// or 2, C weights or None (null).
struct MultiMarginArgs {
    int64_t n, c;
    py::array_t<int64_t> target;
    py::array_t<float> weight;
    const float* w = nullptr;
};

MultiMarginArgs multi_margin_args(const Shape& xs, const py::array& t_, int64_t p,
                                  const py::object& w_) {
    PYDL_CHECK(xs.size() == 2, ValueError, "multi_margin_loss: input must be (N, C); got ",
               shape_str(xs));
    MultiMarginArgs a{xs[0], xs[1], i64(t_, "target"), {}};
    PYDL_CHECK(a.target.ndim() == 1 && a.target.size() == a.n, ValueError,
               "multi_margin_loss: target of shape ", shape_str(shape_of(a.target)),
               " must be (N,) for input ", shape_str(xs));
    PYDL_CHECK(p == 1 || p == 2, ValueError, "multi_margin_loss: only p == 1 and p == 2 supported");
    const int64_t* t = a.target.data();
    for (int64_t i = 0; i < a.n; ++i)
        PYDL_CHECK(t[i] >= 0 && t[i] < a.c, IndexError, "multi_margin_loss: target ", t[i],
                   " is out of bounds for ", a.c, " classes (sample ", i, ")");
    if (!w_.is_none()) {
        a.weight = f32(w_.cast<py::array>(), "weight");
        PYDL_CHECK(a.weight.ndim() == 1 && a.weight.size() == a.c, ValueError, "weight of shape ",
                   shape_str(shape_of(a.weight)), " must hold one value per class (", a.c, ")");
        a.w = in(a.weight);
    }
    return a;
}

}  // namespace

void bind_loss(KernelModule& m) {
    m.def(
        "multi_margin_loss_forward",
        [](const py::array& x_, const py::array& t_, int64_t p, double margin,
           const py::object& w_) {
            auto x = f32(x_, "input");
            MultiMarginArgs a = multi_margin_args(shape_of(x), t_, p, w_);
            auto loss = empty({a.n});
            float* lp = out(loss);
            ReleaseGil nogil(cost_elements(2.0 * double(a.n) * a.c));
            multi_margin_loss_forward(in(x), a.target.data(), a.w, a.n, a.c, int(p), float(margin),
                                      lp);
            return loss;
        },
        py::arg("input"), py::arg("target"), py::arg("p"), py::arg("margin"),
        py::arg("weight") = py::none());
    m.def(
        "multi_margin_loss_backward",
        [](const py::array& g_, const py::array& x_, const py::array& t_, int64_t p, double margin,
           const py::object& w_) {
            auto g = f32(g_, "grad"), x = f32(x_, "input");
            MultiMarginArgs a = multi_margin_args(shape_of(x), t_, p, w_);
            PYDL_CHECK(g.ndim() == 1 && g.size() == a.n, ValueError, "grad of shape ",
                       shape_str(shape_of(g)), " must hold one value per sample (", a.n, ")");
            auto gx = empty(shape_of(x));
            float* gp = out(gx);
            ReleaseGil nogil(cost_elements(3.0 * double(a.n) * a.c));
            multi_margin_loss_backward(in(g), in(x), a.target.data(), a.w, a.n, a.c, int(p),
                                       float(margin), gp);
            return gx;
        },
        py::arg("grad"), py::arg("input"), py::arg("target"), py::arg("p"), py::arg("margin"),
        py::arg("weight") = py::none());
    m.def(
        "elementwise_loss_forward",
        [](const py::array& x_, const py::array& y_, const std::string& kind, double param,
           bool full) {
            auto x = f32(x_, "input"), y = f32(y_, "target");
            check_same_shape(x, y, "target");
            const ElementwiseLoss k = parse_kind(kind);
            auto loss = empty(shape_of(x));
            float* lp = out(loss);
            ReleaseGil nogil(cost_math(2.0 * double(x.size())));
            elementwise_loss_forward(k, in(x), in(y), x.size(), float(param), full, lp);
            return loss;
        },
        py::arg("input"), py::arg("target"), py::arg("kind"), py::arg("param"), py::arg("full"));
    m.def(
        "elementwise_loss_backward",
        [](const py::array& g_, const py::array& x_, const py::array& y_, const std::string& kind,
           double param, bool full, bool need_input, bool need_target) {
            auto g = f32(g_, "grad"), x = f32(x_, "input"), y = f32(y_, "target");
            check_same_shape(x, y, "target");
            check_same_shape(x, g, "grad");
            const ElementwiseLoss k = parse_kind(kind);
            float *gxp, *gyp;
            py::object gx = maybe_empty(need_input, shape_of(x), gxp);
            py::object gy = maybe_empty(need_target, shape_of(x), gyp);
            {
                ReleaseGil nogil(cost_math(3.0 * double(x.size())));
                elementwise_loss_backward(k, in(g), in(x), in(y), x.size(), float(param), full, gxp,
                                          gyp);
            }
            return py::make_tuple(gx, gy);
        },
        py::arg("grad"), py::arg("input"), py::arg("target"), py::arg("kind"), py::arg("param"),
        py::arg("full"), py::arg("need_input"), py::arg("need_target"));
    m.def(
        "ctc_loss_forward",
        [](const py::array& lp_, const py::array& targets, const py::array& input_lengths,
           const py::array& target_lengths, int64_t blank) {
            auto lp = f32(lp_, "log_probs");
            CtcArgs a = ctc_args(shape_of(lp), targets, input_lengths, target_lengths, blank);
            auto nll = empty({a.shape.n});
            float* np_ = out(nll);
            ReleaseGil nogil(cost_elements(double(a.shape.t) * a.shape.n * a.shape.c) +
                             cost_math(3.0 * double(a.shape.t) *
                                       (2.0 * double(a.targets.size()) + double(a.shape.n))));
            ctc_loss_forward(a.shape, in(lp), a.targets.data(), a.offsets.data(),
                             a.input_lengths.data(), a.target_lengths.data(), np_);
            return nll;
        },
        py::arg("log_probs"), py::arg("targets"), py::arg("input_lengths"),
        py::arg("target_lengths"), py::arg("blank"));
    m.def(
        "ctc_loss_backward",
        [](const py::array& g_, const py::array& lp_, const py::array& targets,
           const py::array& input_lengths, const py::array& target_lengths, int64_t blank,
           bool zero_infinity) {
            auto g = f32(g_, "grad"), lp = f32(lp_, "log_probs");
            CtcArgs a = ctc_args(shape_of(lp), targets, input_lengths, target_lengths, blank);
            PYDL_CHECK(g.ndim() == 1 && g.size() == a.shape.n, ValueError, "grad of shape ",
                       shape_str(shape_of(g)), " must hold one value per sample (", a.shape.n, ")");
            auto glp = empty(shape_of(lp));
            float* gp = out(glp);
            ReleaseGil nogil(cost_elements(2.0 * double(a.shape.t) * a.shape.n * a.shape.c) +
                             cost_math(6.0 * double(a.shape.t) *
                                       (2.0 * double(a.targets.size()) + double(a.shape.n))));
            ctc_loss_backward(a.shape, in(g), in(lp), a.targets.data(), a.offsets.data(),
                              a.input_lengths.data(), a.target_lengths.data(), zero_infinity, gp);
            return glp;
        },
        py::arg("grad"), py::arg("log_probs"), py::arg("targets"), py::arg("input_lengths"),
        py::arg("target_lengths"), py::arg("blank"), py::arg("zero_infinity"));
}

}  // namespace pydl::bind
