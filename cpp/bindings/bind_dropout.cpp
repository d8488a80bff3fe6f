// Dropout.
#include "bindings/common.h"
#include "kernels/dropout.h"

namespace pydl::bind {

void bind_dropout(KernelModule& m) {
    for (const bool backward : {false, true}) {
        m.def(
            backward ? "dropout_backward" : "dropout_forward",
            [backward](const py::array& x_, double p, int64_t block, uint64_t seed,
                       uint64_t offset) {
                auto x = f32(x_, backward ? "grad" : "input");
                PYDL_CHECK(p >= 0.0 && p <= 1.0, ValueError,
                           "dropout probability has to be between 0 and 1, but got ", p);
                PYDL_CHECK(block >= 1 && (x.size() == 0 || x.size() % block == 0), ValueError,
                           "dropout: block ", block, " does not divide ", x.size(), " elements");
                auto y = empty(shape_of(x));
                float* yp = out(y);
                const int64_t n = x.size();
                ReleaseGil nogil(cost_math(40.0 * double(n)));  // a random draw: ~80 ns
                (backward ? dropout_backward : dropout_forward)(in(x), n, float(p), block, seed,
                                                                offset, yp);
                return y;
            },
            py::arg(backward ? "grad" : "x"), py::arg("p"), py::arg("block"), py::arg("seed"),
            py::arg("offset"));
    }
}

}  // namespace pydl::bind
