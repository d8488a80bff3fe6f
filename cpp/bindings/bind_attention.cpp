// Scaled dot-product attention.
#include "bindings/common.h"
#include "kernels/attention.h"

namespace pydl::bind {
namespace {

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
                               const py::object& mask, double scale, bool causal, bool bf16) {
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
    s.precision = bf16 ? Precision::BFloat16 : Precision::Float32;
    set_attention_mask(s, mask);
    return s;
}

// A packed projection qkv (N, T, 3 * E): q, k and v side by side, each E = heads * d.
AttentionShape attention_qkv_shape(const py::array& qkv, int64_t heads, const py::object& mask,
                                   double scale, bool causal, bool bf16) {
    const Shape qs = shape_of(qkv);
    int64_t three_heads = 0;  // heads near 2^63: no overflow (Note [Checked sizes])
    PYDL_CHECK(heads > 0 && !__builtin_mul_overflow(3, heads, &three_heads) && qs.size() == 3 &&
                   qs[2] % three_heads == 0,
               ValueError, "attention: packed qkv ", shape_str(qs),
               " must be (N, T, 3 * E) with E divisible by ", heads, " heads");
    const int64_t d = qs[2] / three_heads;
    const int64_t batch = checked_mul(qs[0], heads, "attention: batch x heads");
    AttentionShape s{batch, qs[1], qs[1], d, d, float(scale), causal, 0, heads, qs[2]};
    s.precision = bf16 ? Precision::BFloat16 : Precision::Float32;
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

}  // namespace

void bind_attention(KernelModule& m) {
    m.def(
        "attention_forward",
        [](const py::array& q_, const py::array& k_, const py::array& v_, py::object mask_,
           double scale, bool causal, bool bf16) {
            auto q = f32(q_, "q"), k = f32(k_, "k"), v = f32(v_, "v");
            const AttentionShape s = attention_shape(q, k, v, mask_, scale, causal, bf16);
            py::array_t<float> mk;
            const float* mp = attention_mask_data(mask_, mk);
            auto o = empty(attention_out_shape(q, s));
            auto lse = empty({s.batch, s.tq});
            float* op = out(o);
            float* lp = out(lse);
            {
                ReleaseGil nogil(cost_macs(double(s.batch) * s.tq * s.tk * (s.d + s.dv)));
                attention_forward(s, in(q), in(k), in(v), mp, op, lp);
            }
            return py::make_tuple(o, lse);
        },
        py::arg("q"), py::arg("k"), py::arg("v"), py::arg("mask"), py::arg("scale"),
        py::arg("causal"), py::arg("bf16") = false);
    m.def(
        "attention_backward",
        [](const py::array& dout_, const py::array& q_, const py::array& k_, const py::array& v_,
           py::object mask_, const py::array& out_, const py::array& lse_, double scale,
           bool causal, bool need_q, bool need_k, bool need_v, bool bf16) {
            auto q = f32(q_, "q"), k = f32(k_, "k"), v = f32(v_, "v"), o = f32(out_, "out"),
                 lse = f32(lse_, "lse"), dout = f32(dout_, "grad");
            const AttentionShape s = attention_shape(q, k, v, mask_, scale, causal, bf16);
            PYDL_CHECK(shape_of(dout) == attention_out_shape(q, s) &&
                           shape_of(o) == shape_of(dout) && lse.size() == s.batch * s.tq,
                       ValueError, "scaled_dot_product_attention: grad ", shape_str(shape_of(dout)),
                       " does not match the output");
            py::array_t<float> mk;
            const float* mp = attention_mask_data(mask_, mk);
            float *dqp, *dkp, *dvp;
            py::object dq = maybe_empty(need_q, shape_of(q), dqp),
                       dk = maybe_empty(need_k, shape_of(k), dkp),
                       dv = maybe_empty(need_v, shape_of(v), dvp);
            {
                ReleaseGil nogil(cost_macs(2.5 * double(s.batch) * s.tq * s.tk * (s.d + s.dv)));
                attention_backward(s, in(dout), in(q), in(k), in(v), mp, in(o), in(lse), dqp, dkp,
                                   dvp);
            }
            return py::make_tuple(dq, dk, dv);
        },
        py::arg("dout"), py::arg("q"), py::arg("k"), py::arg("v"), py::arg("mask"), py::arg("out"),
        py::arg("saved"), py::arg("scale"), py::arg("causal"), py::arg("need_q"), py::arg("need_k"),
        py::arg("need_v"), py::arg("bf16") = false);
    // Self-attention on a packed projection (N, T, 3 * E): out (N, T, E) and lse; the
    // backward returns d(qkv) in the same packed layout.
    m.def(
        "attention_qkv_forward",
        [](const py::array& qkv_, int64_t heads, py::object mask_, double scale, bool causal,
           bool bf16) {
            auto qkv = f32(qkv_, "qkv");
            const AttentionShape s = attention_qkv_shape(qkv, heads, mask_, scale, causal, bf16);
            py::array_t<float> mk;
            const float* mp = attention_mask_data(mask_, mk);
            const int64_t e = s.heads * s.d;
            auto o = empty(attention_qkv_out_shape(s));
            auto lse = empty({s.batch, s.tq});
            float* op = out(o);
            float* lp = out(lse);
            const float* x = in(qkv);
            {
                ReleaseGil nogil(cost_macs(double(s.batch) * s.tq * s.tk * (s.d + s.dv)));
                attention_forward(s, x, x + e, x + 2 * e, mp, op, lp);
            }
            return py::make_tuple(o, lse);
        },
        py::arg("qkv"), py::arg("heads"), py::arg("mask"), py::arg("scale"), py::arg("causal"),
        py::arg("bf16") = false);
    m.def(
        "attention_qkv_backward",
        [](const py::array& dout_, const py::array& qkv_, int64_t heads, py::object mask_,
           const py::array& out_, const py::array& lse_, double scale, bool causal, bool bf16) {
            auto qkv = f32(qkv_, "qkv"), o = f32(out_, "out"), lse = f32(lse_, "lse"),
                 dout = f32(dout_, "grad");
            const AttentionShape s = attention_qkv_shape(qkv, heads, mask_, scale, causal, bf16);
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
                ReleaseGil nogil(cost_macs(2.5 * double(s.batch) * s.tq * s.tk * (s.d + s.dv)));
                attention_backward(s, in(dout), x, x + e, x + 2 * e, mp, in(o), in(lse), d, d + e,
                                   d + 2 * e);
            }
            return dqkv;
        },
        py::arg("dout"), py::arg("qkv"), py::arg("heads"), py::arg("mask"), py::arg("out"),
        py::arg("saved"), py::arg("scale"), py::arg("causal"), py::arg("bf16") = false);
}

}  // namespace pydl::bind
