// The RBM's contrastive-divergence step (Note [RBM contrastive divergence] in kernels/rbm.h).
#include <algorithm>

#include "bindings/common.h"
#include "kernels/rbm.h"

namespace pydl::bind {

void bind_rbm(KernelModule& m) {
    m.def(
        "rbm_cd",
        [](const py::array& w_, const py::array& b_, const py::array& c_, const py::array& v_,
           const py::array& chain_, int64_t k, uint64_t seed, uint64_t offset) {
            auto w = f32(w_, "weight"), b = f32(b_, "visible bias"), c = f32(c_, "hidden bias");
            auto v = f32(v_, "v_data"), chain0 = f32(chain_, "chain");
            PYDL_CHECK(w.ndim() == 2, ValueError, "rbm_cd: weight must be (visible, hidden), got ",
                       w.ndim(), " dims");
            const int64_t visible = w.shape(0), hidden = w.shape(1);
            PYDL_CHECK(b.ndim() == 1 && b.shape(0) == visible, ValueError,
                       "rbm_cd: visible bias must have shape (", visible, ",)");
            PYDL_CHECK(c.ndim() == 1 && c.shape(0) == hidden, ValueError,
                       "rbm_cd: hidden bias must have shape (", hidden, ",)");
            PYDL_CHECK(v.ndim() == 2 && v.shape(1) == visible, ValueError,
                       "rbm_cd: v_data must be (batch, ", visible, "), got ndim ", v.ndim());
            PYDL_CHECK(shape_of(chain0) == shape_of(v), ValueError,
                       "rbm_cd: chain must have v_data's shape");
            PYDL_CHECK(k >= 1, ValueError, "rbm_cd: k (Gibbs steps) must be >= 1, got ", k);
            const int64_t batch = v.shape(0);
            auto chain = empty(shape_of(v));
            auto gw = empty({visible, hidden}), gb = empty({visible}), gc = empty({hidden});
            float *chain_p = out(chain), *gw_p = out(gw), *gb_p = out(gb), *gc_p = out(gc);
            const float *w_p = in(w), *b_p = in(b), *c_p = in(c), *v_p = in(v);
            const float* chain0_p = in(chain0);
            {
                ReleaseGil nogil(
                    cost_macs((2.0 * double(k) + 3.0) * double(batch) * visible * hidden));
                std::copy(chain0_p, chain0_p + batch * visible, chain_p);
                rbm_cd(w_p, b_p, c_p, batch, visible, hidden, v_p, chain_p, k, seed, offset, gw_p,
                       gb_p, gc_p);
            }
            return py::make_tuple(gw, gb, gc, chain);
        },
        py::arg("w"), py::arg("b"), py::arg("c"), py::arg("v_data"), py::arg("chain"), py::arg("k"),
        py::arg("seed"), py::arg("offset"));
}

}  // namespace pydl::bind
