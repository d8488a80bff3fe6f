// Activations and elementwise math (unary ops), PReLU, softmax.
#include <cmath>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "bindings/common.h"
#include "kernels/activation.h"

namespace pydl::bind {
namespace {

// f(x, p...) and its backward (grad, x, y, p...) for an op with N float params, named as the
// list's param_names.
template <int N>
void def_unary(KernelModule& m, const std::string& name, UnaryOp op) {
    std::vector<std::string> p;  // the params' names (pybind11 copies the strings)
    std::istringstream words(unary_op_info(op).param_names);
    for (std::string w; words >> w;) p.push_back(w);
    // Native dtypes: float32, float64 (Note [Dtypes in the core]). The parameters arrive as
    // doubles, so that float64 keeps them exact; float32 rounds them as before.
    const std::string fname = name + "_forward", bname = name + "_backward";
    auto fwd = [op, fname](const py::array& x_, double p0, double p1) {
        return with_dtype<float, double>(x_, fname.c_str(), [&](auto t) -> py::object {
            using T = typename decltype(t)::type;
            auto x = typed<T>(x_, "x");
            auto y = empty<T>(shape_of(x));
            T* yp = y.mutable_data();
            const int64_t n = x.size();
            {
                ReleaseGil nogil(cost_math(double(n)));
                unary_forward(op, x.data(), yp, n, T(p0), T(p1));
            }
            return y;
        });
    };
    auto bwd = [op, bname](const py::array& g_, const py::array& x_, const py::array& y_, double p0,
                           double p1) {
        same_dtype(g_, x_, bname.c_str());
        same_dtype(g_, y_, bname.c_str());
        return with_dtype<float, double>(g_, bname.c_str(), [&](auto t) -> py::object {
            using T = typename decltype(t)::type;
            auto g = typed<T>(g_, "grad"), x = typed<T>(x_, "x"), y = typed<T>(y_, "y");
            PYDL_CHECK(shape_of(g) == shape_of(x) && shape_of(y) == shape_of(x), ValueError,
                       "grad ", shape_str(shape_of(g)), ", x ", shape_str(shape_of(x)), " and y ",
                       shape_str(shape_of(y)), " must have the same shape");
            auto gx = empty<T>(shape_of(x));
            T* gp = gx.mutable_data();
            const int64_t n = x.size();
            {
                ReleaseGil nogil(cost_elements(4.0 * double(n)));
                unary_backward(op, g.data(), x.data(), y.data(), gp, n, T(p0), T(p1));
            }
            return gx;
        });
    };
    const std::string f = name + "_forward", b = name + "_backward";
    const auto ax = py::arg("x"), ag = py::arg("grad"), ay = py::arg("y");
    if constexpr (N == 0) {
        m.def(f.c_str(), [fwd](const py::array& x) { return fwd(x, 0, 0); }, ax);
        m.def(
            b.c_str(),
            [bwd](const py::array& g, const py::array& x, const py::array& y) {
                return bwd(g, x, y, 0, 0);
            },
            ag, ax, ay);
    } else if constexpr (N == 1) {
        m.def(
            f.c_str(), [fwd](const py::array& x, double p0) { return fwd(x, p0, 0); }, ax,
            py::arg(p[0].c_str()));
        m.def(
            b.c_str(),
            [bwd](const py::array& g, const py::array& x, const py::array& y, double p0) {
                return bwd(g, x, y, p0, 0);
            },
            ag, ax, ay, py::arg(p[0].c_str()));
    } else {
        m.def(f.c_str(), fwd, ax, py::arg(p[0].c_str()), py::arg(p[1].c_str()));
        m.def(b.c_str(), bwd, ag, ax, ay, py::arg(p[0].c_str()), py::arg(p[1].c_str()));
    }
}

// (outer, n, inner) around `axis`.
std::tuple<int64_t, int64_t, int64_t> split_axis(const Shape& s, int64_t axis) {
    PYDL_CHECK(axis >= 0 && size_t(axis) < s.size(), ValueError, "axis ", axis,
               " is out of range for shape ", shape_str(s));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= s[d];
    for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
    return {outer, s[axis], inner};
}

void def_softmax(KernelModule& m) {
    for (const bool log : {false, true}) {
        const std::string name = log ? "log_softmax" : "softmax";
        m.def((name + "_forward").c_str(),
              [log](const py::array& x_, int64_t axis) {
                  auto x = f32(x_, "x");
                  auto [outer, n, inner] = split_axis(shape_of(x), axis);
                  auto y = empty(shape_of(x));
                  float* yp = out(y);
                  {
                      ReleaseGil nogil(cost_math(2.0 * double(outer) * n * inner));
                      softmax_forward(in(x), outer, n, inner, log, yp);
                  }
                  return y;
              },
              py::arg("x"), py::arg("axis"));
        m.def((name + "_backward").c_str(),
              [log](const py::array& g_, const py::array& y_, int64_t axis) {
                  auto g = f32(g_, "grad"), y = f32(y_, "y");
                  PYDL_CHECK(shape_of(g) == shape_of(y), ValueError, "grad ",
                             shape_str(shape_of(g)), " and y ", shape_str(shape_of(y)), " differ");
                  auto [outer, n, inner] = split_axis(shape_of(y), axis);
                  auto gx = empty(shape_of(y));
                  float* gp = out(gx);
                  {
                      ReleaseGil nogil(cost_elements(4.0 * double(outer) * n * inner));
                      softmax_backward(in(g), in(y), outer, n, inner, log, gp);
                  }
                  return gx;
              },
              py::arg("grad"), py::arg("y"), py::arg("axis"));
    }
}

// PReLU's channel split of x: (outer, channels, inner), channel axis 1.
std::tuple<int64_t, int64_t, int64_t> prelu_split(const Shape& s, int64_t w_size) {
    const int64_t channels = s.size() >= 2 ? s[1] : 1;
    PYDL_CHECK(w_size == 1 || w_size == channels, ValueError, "prelu weight has ", w_size,
               " values but the input ", shape_str(s), " has ", channels, " channels");
    if (w_size == 1) return {1, 1, numel(s)};
    int64_t inner = 1;
    for (size_t d = 2; d < s.size(); ++d) inner *= s[d];
    return {s[0], channels, inner};
}

void def_prelu(KernelModule& m) {
    m.def(
        "prelu_forward",
        [](const py::array& x_, const py::array& w_) {
            auto x = f32(x_, "x"), w = f32(w_, "weight");
            auto [outer, c, inner] = prelu_split(shape_of(x), w.size());
            auto y = empty(shape_of(x));
            float* yp = out(y);
            {
                ReleaseGil nogil(cost_elements(2.0 * double(outer) * c * inner));
                prelu_forward(in(x), in(w), outer, c, inner, yp);
            }
            return y;
        },
        py::arg("x"), py::arg("weight"));
    m.def(
        "prelu_backward",
        [](const py::array& g_, const py::array& x_, const py::array& w_) {
            auto g = f32(g_, "grad"), x = f32(x_, "x"), w = f32(w_, "weight");
            PYDL_CHECK(shape_of(g) == shape_of(x), ValueError, "grad ", shape_str(shape_of(g)),
                       " and x ", shape_str(shape_of(x)), " differ");
            auto [outer, c, inner] = prelu_split(shape_of(x), w.size());
            auto gx = empty(shape_of(x));
            auto gw = empty(shape_of(w));
            float* gxp = out(gx);
            float* gwp = out(gw);
            {
                ReleaseGil nogil(cost_elements(4.0 * double(outer) * c * inner));
                prelu_backward(in(g), in(x), in(w), outer, c, inner, gxp, gwp);
            }
            return py::make_tuple(gx, gw);
        },
        py::arg("grad"), py::arg("x"), py::arg("weight"));
}

}  // namespace

void bind_activation(KernelModule& m) {
    // <name>_forward / <name>_backward for every row of the unary list (Note [Unary op list]).
    for (int i = 0; i < kNumUnaryOps; ++i) {
        const UnaryOpInfo& op = kUnaryOps[i];
        if (op.params == 0) def_unary<0>(m, op.name, UnaryOp(i));
        if (op.params == 1) def_unary<1>(m, op.name, UnaryOp(i));
        if (op.params == 2) def_unary<2>(m, op.name, UnaryOp(i));
    }
    def_softmax(m);
    def_prelu(m);
}

}  // namespace pydl::bind
