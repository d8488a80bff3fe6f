// Recurrent layers (and, as they land, attention).
#include <string>

#include "bindings/common.h"
#include "kernels/attention.h"
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

void def_recurrent(py::module_& m) {
    m.def("recurrent_forward", [](const py::array& x_, const py::array& h0_, py::object c0_,
                                  const py::array& w_ih_, const py::array& w_hh_, py::object b_ih_,
                                  py::object b_hh_, const std::string& mode, bool reverse) {
        auto x = f32(x_, "input"), h0 = f32(h0_, "h0"), w_ih = f32(w_ih_, "weight_ih"),
             w_hh = f32(w_hh_, "weight_hh");
        const RecurrentShape s = check(mode, x, h0, c0_, w_ih, w_hh, reverse);
        const int64_t G = cell_gates(s.kind) * s.hidden;
        py::array_t<float> c0k, bik, bhk;
        const float* c0 = opt(c0_, "c0", s.batch * s.hidden, c0k);
        const float* b_ih = opt(b_ih_, "bias_ih", G, bik);
        const float* b_hh = opt(b_hh_, "bias_hh", G, bhk);
        auto y = empty({s.steps, s.batch, s.hidden});
        auto h_n = empty({s.batch, s.hidden});
        float* cnp;
        py::object c_n = maybe_empty(s.kind == CellKind::Lstm, {s.batch, s.hidden}, cnp);
        auto saved = empty({s.steps, s.batch, cell_saved(s.kind, s.hidden)});
        float* yp = out(y);
        float* hnp = out(h_n);
        float* sp = out(saved);
        {
            py::gil_scoped_release nogil;
            recurrent_forward(s, in(x), in(h0), c0, in(w_ih), in(w_hh), b_ih, b_hh, yp, hnp, cnp,
                              sp);
        }
        return py::make_tuple(y, h_n, c_n, saved);
    });
    m.def("recurrent_backward",
          [](const py::array& dy_, py::object dh_n_, py::object dc_n_, const py::array& x_,
             const py::array& h0_, py::object c0_, const py::array& w_ih_, const py::array& w_hh_,
             bool has_bias, const py::array& y_, const py::array& saved_, const std::string& mode,
             bool reverse, bool need_x, bool need_h0, bool need_w) {
              auto x = f32(x_, "input"), h0 = f32(h0_, "h0"), w_ih = f32(w_ih_, "weight_ih"),
                   w_hh = f32(w_hh_, "weight_hh"), dy = f32(dy_, "grad"), y = f32(y_, "output"),
                   saved = f32(saved_, "saved");
              const RecurrentShape s = check(mode, x, h0, c0_, w_ih, w_hh, reverse);
              const Shape ys{s.steps, s.batch, s.hidden};
              PYDL_CHECK(shape_of(dy) == ys && shape_of(y) == ys, ValueError, mode, ": grad ",
                         shape_str(shape_of(dy)), " and output ", shape_str(shape_of(y)),
                         " must be ", shape_str(ys));
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
                  py::gil_scoped_release nogil;
                  recurrent_backward(s, in(dy), dh_n, dc_n, in(x), in(h0), c0, in(w_ih), in(w_hh),
                                     in(y), in(saved), dxp, dh0p, dc0p, dwip, dwhp, dbip, dbhp);
              }
              return py::make_tuple(dx, dh0, dc0, dwi, dwh, dbi, dbh);
          });
}

// mask: None or (1 or batch, tq, tk).
void set_attention_mask(AttentionShape& s, const py::object& mask) {
    if (mask.is_none()) return;
    const Shape ms = shape_of(mask.cast<py::array>());
    PYDL_CHECK(ms.size() == 3 && (ms[0] == 1 || ms[0] == s.batch) && ms[1] == s.tq && ms[2] == s.tk,
               ValueError, "scaled_dot_product_attention: mask ", shape_str(ms), " must be (1 or ",
               s.batch, ", ", s.tq, ", ", s.tk, ")");
    s.mask_batch = ms[0];
}

// The mask's float32 data, or null; `keep` holds the converted array alive.
const float* attention_mask_data(const py::object& mask, py::array_t<float>& keep) {
    if (mask.is_none()) return nullptr;
    keep = f32(mask.cast<py::array>(), "mask");
    return in(keep);
}

// q, k, v as (B, Tq, D), (B, Tk, D), (B, Tk, Dv), or with heads as (N, Tq, H, D),
// (N, Tk, H, D), (N, Tk, H, Dv) (AttentionShape::heads; B = N * H).
AttentionShape attention_shape(const py::array& q, const py::array& k, const py::array& v,
                               const py::object& mask, double scale, bool causal) {
    const Shape qs = shape_of(q), ks = shape_of(k), vs = shape_of(v);
    const size_t rank = qs.size();
    const bool fits = (rank == 3 || rank == 4) && ks.size() == rank && vs.size() == rank &&
                      ks[0] == qs[0] && vs[0] == qs[0] && vs[1] == ks[1] &&
                      ks[rank - 1] == qs[rank - 1] &&
                      (rank == 3 || (ks[2] == qs[2] && vs[2] == qs[2]));
    PYDL_CHECK(fits, ValueError, "scaled_dot_product_attention: q ", shape_str(qs), ", k ",
               shape_str(ks), " and v ", shape_str(vs),
               " must be (B, Tq, D), (B, Tk, D), (B, Tk, Dv) or (N, Tq, H, D), (N, Tk, H, D), "
               "(N, Tk, H, Dv)");
    const int64_t heads = rank == 4 ? qs[2] : 1;
    AttentionShape s{qs[0] * heads, qs[1],  ks[1], qs[rank - 1], vs[rank - 1],
                     float(scale),  causal, 0,     heads};
    set_attention_mask(s, mask);
    return s;
}

// A packed projection qkv (N, T, 3 * E): q, k and v side by side, each E = heads * d.
AttentionShape attention_qkv_shape(const py::array& qkv, int64_t heads, const py::object& mask,
                                   double scale, bool causal) {
    const Shape qs = shape_of(qkv);
    PYDL_CHECK(heads > 0 && qs.size() == 3 && qs[2] % (3 * heads) == 0, ValueError,
               "attention: packed qkv ", shape_str(qs),
               " must be (N, T, 3 * E) with E divisible by ", heads, " heads");
    const int64_t d = qs[2] / (3 * heads);
    AttentionShape s{qs[0] * heads, qs[1], qs[1], d, d, float(scale), causal, 0, heads, qs[2]};
    set_attention_mask(s, mask);
    return s;
}

// A packed self-attention's output: (N, T, E).
Shape attention_qkv_out_shape(const AttentionShape& s) {
    return {s.batch / s.heads, s.tq, s.heads * s.dv};
}

// The output's shape: q's with the last dimension dv.
Shape attention_out_shape(const py::array& q, const AttentionShape& s) {
    Shape shape = shape_of(q);
    shape.back() = s.dv;
    return shape;
}

void def_attention(py::module_& m) {
    m.def("attention_forward", [](const py::array& q_, const py::array& k_, const py::array& v_,
                                  py::object mask_, double scale, bool causal) {
        auto q = f32(q_, "q"), k = f32(k_, "k"), v = f32(v_, "v");
        const AttentionShape s = attention_shape(q, k, v, mask_, scale, causal);
        py::array_t<float> mk;
        const float* mp = attention_mask_data(mask_, mk);
        auto o = empty(attention_out_shape(q, s));
        auto lse = empty({s.batch, s.tq});
        float* op = out(o);
        float* lp = out(lse);
        {
            py::gil_scoped_release nogil;
            attention_forward(s, in(q), in(k), in(v), mp, op, lp);
        }
        return py::make_tuple(o, lse);
    });
    m.def("attention_backward", [](const py::array& dout_, const py::array& q_, const py::array& k_,
                                   const py::array& v_, py::object mask_, const py::array& out_,
                                   const py::array& lse_, double scale, bool causal, bool need_q,
                                   bool need_k, bool need_v) {
        auto q = f32(q_, "q"), k = f32(k_, "k"), v = f32(v_, "v"), o = f32(out_, "out"),
             lse = f32(lse_, "lse"), dout = f32(dout_, "grad");
        const AttentionShape s = attention_shape(q, k, v, mask_, scale, causal);
        PYDL_CHECK(shape_of(dout) == attention_out_shape(q, s) && shape_of(o) == shape_of(dout) &&
                       lse.size() == s.batch * s.tq,
                   ValueError, "scaled_dot_product_attention: grad ", shape_str(shape_of(dout)),
                   " does not match the output");
        py::array_t<float> mk;
        const float* mp = attention_mask_data(mask_, mk);
        float *dqp, *dkp, *dvp;
        py::object dq = maybe_empty(need_q, shape_of(q), dqp),
                   dk = maybe_empty(need_k, shape_of(k), dkp),
                   dv = maybe_empty(need_v, shape_of(v), dvp);
        {
            py::gil_scoped_release nogil;
            attention_backward(s, in(q), in(k), in(v), mp, in(o), in(lse), in(dout), dqp, dkp, dvp);
        }
        return py::make_tuple(dq, dk, dv);
    });
    // Self-attention on a packed projection (N, T, 3 * E): out (N, T, E) and lse; the
    // backward returns d(qkv) in the same packed layout.
    m.def("attention_qkv_forward",
          [](const py::array& qkv_, int64_t heads, py::object mask_, double scale, bool causal) {
              auto qkv = f32(qkv_, "qkv");
              const AttentionShape s = attention_qkv_shape(qkv, heads, mask_, scale, causal);
              py::array_t<float> mk;
              const float* mp = attention_mask_data(mask_, mk);
              const int64_t e = s.heads * s.d;
              auto o = empty(attention_qkv_out_shape(s));
              auto lse = empty({s.batch, s.tq});
              float* op = out(o);
              float* lp = out(lse);
              const float* x = in(qkv);
              {
                  py::gil_scoped_release nogil;
                  attention_forward(s, x, x + e, x + 2 * e, mp, op, lp);
              }
              return py::make_tuple(o, lse);
          });
    m.def("attention_qkv_backward",
          [](const py::array& dout_, const py::array& qkv_, int64_t heads, py::object mask_,
             const py::array& out_, const py::array& lse_, double scale, bool causal) {
              auto qkv = f32(qkv_, "qkv"), o = f32(out_, "out"), lse = f32(lse_, "lse"),
                   dout = f32(dout_, "grad");
              const AttentionShape s = attention_qkv_shape(qkv, heads, mask_, scale, causal);
              const int64_t e = s.heads * s.d;
              const Shape out_shape = attention_qkv_out_shape(s);
              PYDL_CHECK(shape_of(dout) == out_shape && shape_of(o) == out_shape &&
                             lse.size() == s.batch * s.tq,
                         ValueError, "attention: grad ", shape_str(shape_of(dout)),
                         " does not match the output ", shape_str(out_shape));
              py::array_t<float> mk;
              const float* mp = attention_mask_data(mask_, mk);
              auto dqkv = empty(shape_of(qkv));  // every element is written
              float* d = out(dqkv);
              const float* x = in(qkv);
              {
                  py::gil_scoped_release nogil;
                  attention_backward(s, x, x + e, x + 2 * e, mp, in(o), in(lse), in(dout), d, d + e,
                                     d + 2 * e);
              }
              return dqkv;
          });
}

}  // namespace

void bind_seq(py::module_& m) {
    def_recurrent(m);
    def_attention(m);
}

}  // namespace pydl::bind
