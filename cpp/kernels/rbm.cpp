// Contrastive divergence for the RBM (Note [RBM contrastive divergence] in rbm.h): each
// conditional is one GEMM with the bias and the sigmoid in its epilogue, each sample one
// pass over it with the generator's words.
#include "kernels/rbm.h"

#include <vector>

#include "core/buffer_pool.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "gemm/gemm.h"
#include "kernels/unary_ops.h"

namespace pydl {
namespace {

constexpr double kTwoPow24Inv = 1.0 / 16777216.0;

// out (rows x cols) := sigmoid(x (rows x inner) op(w) + bias); op(w) = w (inner x cols) or
// w^T when w is cols x inner.
void conditional(const float* x, const float* w, bool trans_w, const float* bias, int64_t rows,
                 int64_t inner, int64_t cols, float* out) {
    gemm::Epilogue ep;
    ep.bias = bias;
    ep.act = UnaryOp::Sigmoid;
    sgemm(false, trans_w, rows, cols, inner, 1.0f, x, inner, w, trans_w ? inner : cols, 0.0f, out,
          cols, &ep);
}

// s[i] = 1 where the uniform draw of word offset + i is below p[i], else 0.
void bernoulli(const float* p, int64_t n, uint64_t seed, uint64_t offset, float* s) {
    parallel_for(0, n, 4096, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
            s[i] = double(philox_word(seed, offset + uint64_t(i)) >> 8) * kTwoPow24Inv < p[i]
                       ? 1.0f
                       : 0.0f;
    });
}

// dst[j] = sum over rows of (a - b)[row, j] / rows, rows summed in order (deterministic).
void mean_difference(const float* a, const float* b, int64_t rows, int64_t cols, float* dst) {
    parallel_for(0, cols, 64, [&](int64_t lo, int64_t hi) {
        for (int64_t j = lo; j < hi; ++j) {
            double acc = 0.0;
            for (int64_t r = 0; r < rows; ++r) acc += double(a[r * cols + j]) - b[r * cols + j];
            dst[j] = float(acc / double(rows));
        }
    });
}

}  // namespace

void rbm_cd(const float* w, const float* b, const float* c, int64_t batch, int64_t visible,
            int64_t hidden, const float* v_data, float* chain, int64_t k, uint64_t seed,
            uint64_t offset, float* grad_w, float* grad_b, float* grad_c) {
    const int64_t nv = batch * visible, nh = batch * hidden;
    const auto hidden_size = static_cast<size_t>(nh), visible_size = static_cast<size_t>(nv);
    CheckedVector<float> h_data(hidden_size), h_prob(hidden_size), h_sample(hidden_size);
    CheckedVector<float> v_prob(visible_size);
    conditional(v_data, w, false, c, batch, visible, hidden, h_data.data());
    for (int64_t s = 0; s < k; ++s) {
        const uint64_t words = offset + uint64_t(s) * uint64_t(nh + nv);
        conditional(chain, w, false, c, batch, visible, hidden, h_prob.data());
        bernoulli(h_prob.data(), nh, seed, words, h_sample.data());
        conditional(h_sample.data(), w, true, b, batch, hidden, visible, v_prob.data());
        bernoulli(v_prob.data(), nv, seed, words + uint64_t(nh), chain);
    }
    conditional(chain, w, false, c, batch, visible, hidden, h_prob.data());
    // grad_w = (v_data^T h_data - v_k^T h_k) / B: two GEMMs accumulating into grad_w
    const float scale = batch > 0 ? 1.0f / float(batch) : 0.0f;
    sgemm(true, false, visible, hidden, batch, scale, v_data, visible, h_data.data(), hidden, 0.0f,
          grad_w, hidden);
    sgemm(true, false, visible, hidden, batch, -scale, chain, visible, h_prob.data(), hidden, 1.0f,
          grad_w, hidden);
    mean_difference(v_data, chain, batch, visible, grad_b);
    mean_difference(h_data.data(), h_prob.data(), batch, hidden, grad_c);
}

}  // namespace pydl
