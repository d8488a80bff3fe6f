// Recurrent layers.
#include <string>

#include "bindings/common.h"
#include "kernels/recurrent.h"

namespace pydl::bind {
namespace {

CellKind parse_mode(const std::string& mode) {
    if (mode == "rnn_tanh") return CellKind::RnnTanh;
    if (mode == "rnn_relu") return CellKind::RnnRelu;
    if (mode == "lstm") return CellKind::Lstm;
    if (mode == "gru") return CellKind::Gru;
    PYDL_CHECK(mode == "gru_reset_before", ValueError, "recurrent mode must be rnn_tanh, ",
               "rnn_relu, lstm, gru or gru_reset_before; got '", mode, "'");
    return CellKind::GruResetBefore;
}

// Checks every array against x (T, B, I) and the weights; returns the shape.
RecurrentShape check(const std::string& mode, const py::array& x, const py::array& h0,
                     const py::object& c0, const py::array& w_ih, const py::array& w_hh,
                     bool reverse) {
    const CellKind kind = parse_mode(mode);
    const Shape xs = shape_of(x), wi = shape_of(w_ih), wh = shape_of(w_hh), hs = shape_of(h0);
    PYDL_CHECK(xs.size() == 3, ValueError, mode, ": input must be (T, B, input_size); got ",
               shape_str(xs));
    PYDL_CHECK(wh.size() == 2 && wh[0] == cell_gates(kind) * wh[1], ValueError, mode,
               ": weight_hh ", shape_str(wh), " must be (", cell_gates(kind), " * hidden, hidden)");
    const int64_t H = wh[1];
    PYDL_CHECK(wi.size() == 2 && wi[0] == wh[0] && wi[1] == xs[2], ValueError, mode, ": weight_ih ",
               shape_str(wi), " does not match input ", shape_str(xs), " and hidden size ", H);
    PYDL_CHECK(hs == Shape({xs[1], H}), ValueError, mode, ": initial hidden state ", shape_str(hs),
               " must be (", xs[1], ", ", H, ")");
    if (kind == CellKind::Lstm) {
        PYDL_CHECK(!c0.is_none(), ValueError, "lstm needs an initial cell state");
        const Shape cs = shape_of(c0.cast<py::array>());
        PYDL_CHECK(cs == hs, ValueError, "lstm: initial cell state ", shape_str(cs), " must be (",
                   xs[1], ", ", H, ")");
    }
    return {xs[0], xs[1], xs[2], H, kind, reverse};
}

const float* opt(const py::object& o, const char* what, int64_t size, py::array_t<float>& keep) {
    if (o.is_none()) return nullptr;
    keep = f32(o.cast<py::array>(), what);
    PYDL_CHECK(keep.size() == size, ValueError, what, " has ", keep.size(), " values, expected ",
               size);
    return keep.data();
}

}  // namespace

void bind_recurrent(KernelModule& m) {
    // save=False (no backward will run) returns None for saved and saves nothing.
    m.def(
        "recurrent_forward",
        [](const py::array& x_, const py::array& h0_, py::object c0_, const py::array& w_ih_,
           const py::array& w_hh_, py::object b_ih_, py::object b_hh_, const std::string& mode,
           bool reverse, bool save, bool bf16) {
            auto x = f32(x_, "input"), h0 = f32(h0_, "h0"), w_ih = f32(w_ih_, "weight_ih"),
                 w_hh = f32(w_hh_, "weight_hh");
            RecurrentShape s = check(mode, x, h0, c0_, w_ih, w_hh, reverse);
            if (bf16) s.precision = Precision::BFloat16;
            const int64_t G = cell_gates(s.kind) * s.hidden;
            py::array_t<float> c0k, bik, bhk;
            const float* c0 = opt(c0_, "c0", s.batch * s.hidden, c0k);
            const float* b_ih = opt(b_ih_, "bias_ih", G, bik);
            const float* b_hh = opt(b_hh_, "bias_hh", G, bhk);
            auto y = empty({s.steps, s.batch, s.hidden});
            auto h_n = empty({s.batch, s.hidden});
            float* cnp;
            py::object c_n = maybe_empty(s.kind == CellKind::Lstm, {s.batch, s.hidden}, cnp);
            float* sp;
            py::object saved =
                maybe_empty(save, {s.steps, s.batch, cell_saved(s.kind, s.hidden)}, sp);
            float* yp = out(y);
            float* hnp = out(h_n);
            {
                ReleaseGil nogil(cost_macs(double(s.steps) * s.batch * G * (s.input + s.hidden)));
                recurrent_forward(s, {in(x), in(h0), c0, in(w_ih), in(w_hh), b_ih, b_hh},
                                  {yp, hnp, cnp, sp});
            }
            return py::make_tuple(y, h_n, c_n, saved);
        },
        py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"),
        py::arg("b_ih"), py::arg("b_hh"), py::arg("mode"), py::arg("reverse"),
        py::arg("save") = true, py::arg("bf16") = false);
    m.def(
        "recurrent_backward",
        [](const py::array& dy_, py::object dh_n_, py::object dc_n_, const py::array& x_,
           const py::array& h0_, py::object c0_, const py::array& w_ih_, const py::array& w_hh_,
           bool has_bias, const py::array& y_, const py::object& saved_, const std::string& mode,
           bool reverse, bool need_x, bool need_h0, bool need_w, bool bf16) {
            // saved_ is any object: the reference's forward (Note [Reference fallback]) saves a
            // dict, which its backward, not this one, receives.
            auto x = f32(x_, "input"), h0 = f32(h0_, "h0"), w_ih = f32(w_ih_, "weight_ih"),
                 w_hh = f32(w_hh_, "weight_hh"), dy = f32(dy_, "grad"), y = f32(y_, "output"),
                 saved = f32(saved_.cast<py::array>(), "saved");
            RecurrentShape s = check(mode, x, h0, c0_, w_ih, w_hh, reverse);
            if (bf16) s.precision = Precision::BFloat16;
            const Shape ys{s.steps, s.batch, s.hidden};
            PYDL_CHECK(shape_of(dy) == ys && shape_of(y) == ys, ValueError, mode, ": grad ",
                       shape_str(shape_of(dy)), " and output ", shape_str(shape_of(y)), " must be ",
                       shape_str(ys));
            PYDL_CHECK(shape_of(saved) == Shape({s.steps, s.batch, cell_saved(s.kind, s.hidden)}),
                       ValueError, mode, ": saved state ", shape_str(shape_of(saved)),
                       " does not match");
            const int64_t bh = s.batch * s.hidden, G = cell_gates(s.kind) * s.hidden;
            py::array_t<float> c0k, dhk, dck;
            const float* c0 = opt(c0_, "c0", bh, c0k);
            const float* dh_n = opt(dh_n_, "grad of h_n", bh, dhk);
            const float* dc_n = opt(dc_n_, "grad of c_n", bh, dck);
            const bool lstm = s.kind == CellKind::Lstm;
            float *dxp, *dh0p, *dc0p, *dwip, *dwhp, *dbip, *dbhp;
            py::object dx = maybe_empty(need_x, shape_of(x), dxp),
                       dh0 = maybe_empty(need_h0, {s.batch, s.hidden}, dh0p),
                       dc0 = maybe_empty(need_h0 && lstm, {s.batch, s.hidden}, dc0p),
                       dwi = maybe_empty(need_w, shape_of(w_ih), dwip),
                       dwh = maybe_empty(need_w, shape_of(w_hh), dwhp),
                       dbi = maybe_empty(need_w && has_bias, {G}, dbip),
                       dbh = maybe_empty(need_w && has_bias, {G}, dbhp);
            {
                ReleaseGil nogil(
                    cost_macs(2.0 * double(s.steps) * s.batch * G * (s.input + s.hidden)));
                recurrent_backward(s, in(dy), dh_n, dc_n,
                                   {in(x), in(h0), c0, in(w_ih), in(w_hh), nullptr, nullptr}, in(y),
                                   in(saved), {dxp, dh0p, dc0p, dwip, dwhp, dbip, dbhp});
            }
            return py::make_tuple(dx, dh0, dc0, dwi, dwh, dbi, dbh);
        },
        py::arg("dy"), py::arg("dh_n"), py::arg("dc_n"), py::arg("x"), py::arg("h0"), py::arg("c0"),
        py::arg("w_ih"), py::arg("w_hh"), py::arg("has_bias"), py::arg("y"), py::arg("saved"),
        py::arg("mode"), py::arg("reverse"), py::arg("need_x"), py::arg("need_h0"),
        py::arg("need_w"), py::arg("bf16") = false);
}

}  // namespace pydl::bind
