// Reductions: sum, mean, max.
#include "bindings/common.h"
#include "kernels/reduce.h"

namespace pydl::bind {
namespace {

py::array_t<float> reduce_out_shape_array(const Shape& s, const std::vector<bool>& mask,
                                          bool keepdim) {
    Shape o;
    for (size_t d = 0; d < s.size(); ++d) {
        if (!mask[d])
            o.push_back(s[d]);
        else if (keepdim)
            o.push_back(1);
    }
    return empty(o);
}

}  // namespace

void bind_reduce(py::module_& m) {
    for (const char* name : {"sum", "mean"}) {
        const bool mean = std::string(name) == "mean";
        m.def((std::string(name) + "_forward").c_str(),
              [mean](const py::array& x_, const std::vector<int64_t>& axes, bool keepdim) {
                  auto x = f32(x_, "x");
                  const Shape s = shape_of(x);
                  const auto mask = axis_mask(axes, s.size());
                  auto y = reduce_out_shape_array(s, mask, keepdim);
                  float* yp = out(y);
                  const int64_t count = y.size() ? x.size() / y.size() : 0;
                  {
                      py::gil_scoped_release nogil;
                      reduce_forward(ReduceOp::Sum, in(x), s, mask, yp);
                      if (mean)
                          for (py::ssize_t i = 0; i < y.size(); ++i) yp[i] /= float(count);
                  }
                  return y;
              },
              py::arg("x"), py::arg("axes"), py::arg("keepdim"));
        m.def((std::string(name) + "_backward").c_str(),
              [mean](const py::array& g_, const std::vector<int64_t>& x_shape,
                     const std::vector<int64_t>& axes) {
                  auto g = f32(g_, "grad");
                  const Shape s(x_shape.begin(), x_shape.end());
                  const auto mask = axis_mask(axes, s.size());
                  auto gx = empty(s);
                  int64_t count = 1;
                  for (size_t d = 0; d < s.size(); ++d)
                      if (mask[d]) count *= s[d];
                  PYDL_CHECK(g.size() * count == gx.size(), ValueError, "grad ",
                             shape_str(shape_of(g)), " does not match the reduction of ",
                             shape_str(s));
                  float* gp = out(gx);
                  {
                      py::gil_scoped_release nogil;
                      sum_backward(in(g), s, mask, mean ? 1.0f / float(count) : 1.0f, gp);
                  }
                  return gx;
              },
              py::arg("grad"), py::arg("x_shape"), py::arg("axes"));
    }
    m.def(
        "max_forward",
        [](const py::array& x_, const std::vector<int64_t>& axes, bool keepdim) {
            auto x = f32(x_, "x");
            const Shape s = shape_of(x);
            PYDL_CHECK(x.size() > 0, ValueError, "max of an empty tensor of shape ", shape_str(s));
            const auto mask = axis_mask(axes, s.size());
            auto y = reduce_out_shape_array(s, mask, keepdim);
            float* yp = out(y);
            {
                py::gil_scoped_release nogil;
                reduce_forward(ReduceOp::Max, in(x), s, mask, yp);
            }
            return y;
        },
        py::arg("x"), py::arg("axes"), py::arg("keepdim"));
    m.def(
        "max_backward",
        [](const py::array& g_, const py::array& x_, const py::array& y_,
           const std::vector<int64_t>& axes) {
            auto g = f32(g_, "grad"), x = f32(x_, "x"), y = f32(y_, "out");
            const Shape s = shape_of(x);
            const auto mask = axis_mask(axes, s.size());
            int64_t kept = 1;
            for (size_t d = 0; d < s.size(); ++d)
                if (!mask[d]) kept *= s[d];
            PYDL_CHECK(g.size() == kept && y.size() == kept, ValueError, "grad ",
                       shape_str(shape_of(g)), " and out ", shape_str(shape_of(y)),
                       " do not match the reduction of ", shape_str(s));
            auto gx = empty(s);
            float* gp = out(gx);
            {
                py::gil_scoped_release nogil;
                max_backward(in(g), in(x), in(y), s, mask, gp);
            }
            return gx;
        },
        py::arg("grad"), py::arg("x"), py::arg("out"), py::arg("axes"));
}

}  // namespace pydl::bind
