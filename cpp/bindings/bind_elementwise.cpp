// Binary arithmetic with broadcasting, and where().
#include "bindings/common.h"
#include "kernels/elementwise.h"

namespace pydl::bind {
namespace {

void def_binary(py::module_& m, const std::string& name, BinaryOp op) {
    m.def((name + "_forward").c_str(),
          [op](const py::array& a_, const py::array& b_) {
              auto a = f32(a_, "a"), b = f32(b_, "b");
              const Shape as = shape_of(a), bs = shape_of(b), os = broadcast_shapes(as, bs);
              auto y = empty(os);
              float* yp = out(y);
              {
                  py::gil_scoped_release nogil;
                  binary_forward(op, in(a), as, in(b), bs, yp, os);
              }
              return y;
          },
          py::arg("a"), py::arg("b"));
    m.def((name + "_backward").c_str(),
          [op](const py::array& g_, const py::array& a_, const py::array& b_, bool need_a,
               bool need_b) {
              auto g = f32(g_, "grad"), a = f32(a_, "a"), b = f32(b_, "b");
              const Shape as = shape_of(a), bs = shape_of(b), os = broadcast_shapes(as, bs);
              PYDL_CHECK(shape_of(g) == os, ValueError, "grad has shape ", shape_str(shape_of(g)),
                         " but the output has shape ", shape_str(os));
              float *gap, *gbp;
              py::object ga = maybe_empty(need_a, as, gap), gb = maybe_empty(need_b, bs, gbp);
              {
                  py::gil_scoped_release nogil;
                  binary_backward(op, in(g), os, in(a), as, in(b), bs, gap, gbp);
              }
              return py::make_tuple(ga, gb);
          },
          py::arg("grad"), py::arg("a"), py::arg("b"), py::arg("need_a") = true,
          py::arg("need_b") = true);
}

void def_where(py::module_& m) {
    m.def(
        "where_forward",
        [](const py::array& cond_, const py::array& a_, const py::array& b_) {
            PYDL_CHECK(cond_.dtype().kind() == 'b', TypeError,
                       "where: condition must be bool, got ", dtype_name(cond_));
            auto cond = py::reinterpret_steal<py::array_t<bool>>(c_contiguous(cond_).release());
            auto a = f32(a_, "a"), b = f32(b_, "b");
            const Shape cs = shape_of(cond), as = shape_of(a), bs = shape_of(b);
            const Shape os = broadcast_shapes(cs, broadcast_shapes(as, bs));
            auto y = empty(os);
            float* yp = out(y);
            {
                py::gil_scoped_release nogil;
                where_forward(cond.data(), cs, in(a), as, in(b), bs, yp, os);
            }
            return y;
        },
        py::arg("cond"), py::arg("a"), py::arg("b"));
    m.def(
        "where_backward",
        [](const py::array& g_, const py::array& cond_, const py::array& a_, const py::array& b_,
           bool need_a, bool need_b) {
            PYDL_CHECK(cond_.dtype().kind() == 'b', TypeError,
                       "where: condition must be bool, got ", dtype_name(cond_));
            auto cond = py::reinterpret_steal<py::array_t<bool>>(c_contiguous(cond_).release());
            auto g = f32(g_, "grad");
            const Shape cs = shape_of(cond), as = shape_of(a_), bs = shape_of(b_);
            const Shape os = broadcast_shapes(cs, broadcast_shapes(as, bs));
            PYDL_CHECK(shape_of(g) == os, ValueError, "grad has shape ", shape_str(shape_of(g)),
                       " but the output has shape ", shape_str(os));
            float *gap, *gbp;
            py::object ga = maybe_empty(need_a, as, gap), gb = maybe_empty(need_b, bs, gbp);
            {
                py::gil_scoped_release nogil;
                where_backward(in(g), os, cond.data(), cs, as, bs, gap, gbp);
            }
            return py::make_tuple(ga, gb);
        },
        py::arg("grad"), py::arg("cond"), py::arg("a"), py::arg("b"), py::arg("need_a") = true,
        py::arg("need_b") = true);
}

}  // namespace

void bind_elementwise(py::module_& m) {
    def_binary(m, "add", BinaryOp::Add);
    def_binary(m, "sub", BinaryOp::Sub);
    def_binary(m, "mul", BinaryOp::Mul);
    def_binary(m, "div", BinaryOp::Div);
    def_binary(m, "pow", BinaryOp::Pow);
    def_where(m);
}

}  // namespace pydl::bind
