#include "kernels/optim.h"

#include <cmath>
#include <utility>

#include "core/parallel.h"
#include "core/vec.h"

namespace pydl {

namespace {

constexpr int64_t kChunk = 1 << 14;
// Below this many elements in all, one thread does the whole step.
constexpr int64_t kParallelElements = 1 << 16;

// Runs fn(slot, lo, hi) over fixed-size chunks of every tensor, in parallel when
// the step is large enough. Chunks are elementwise, so the split never changes results.
template <typename Fn>
void for_each_chunk(const std::vector<ParamSlot>& slots, Fn fn) {
    std::vector<std::pair<size_t, int64_t>> chunks;  // (slot, start)
    int64_t total = 0;
    for (size_t s = 0; s < slots.size(); ++s) {
        total += slots[s].size;
        for (int64_t lo = 0; lo < slots[s].size; lo += kChunk) chunks.emplace_back(s, lo);
    }
    const int64_t n = int64_t(chunks.size());
    parallel_for(0, n, total < kParallelElements ? n : 1, [&](int64_t lo, int64_t hi) {
        for (int64_t c = lo; c < hi; ++c) {
            const ParamSlot& slot = slots[chunks[c].first];
            const int64_t start = chunks[c].second;
            fn(slot, start, std::min(slot.size, start + kChunk));
        }
    });
}

struct SgdArgs {
    float lr, momentum, dampening, weight_decay;
    bool nesterov, maximize, first_step;
};

PYDL_INLINE void sgd_range_body(float* __restrict p, const float* __restrict grad,
                                float* __restrict buf, int64_t n, const SgdArgs& a) {
    const float sign = a.maximize ? -1.0f : 1.0f;
    if (!buf) {
        for (int64_t i = 0; i < n; ++i) p[i] -= a.lr * (sign * grad[i] + a.weight_decay * p[i]);
        return;
    }
    const float mu = a.momentum, keep = a.first_step ? 0.0f : mu;
    const float take = a.first_step ? 1.0f : 1.0f - a.dampening;
    const float nest = a.nesterov ? 1.0f : 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        const float g = sign * grad[i] + a.weight_decay * p[i];
        const float b = keep * buf[i] + take * g;
        buf[i] = b;
        // nesterov: g + mu * b; otherwise b
        p[i] -= a.lr * (nest * (g + mu * b) + (1.0f - nest) * b);
    }
}
void sgd_range_generic(float* p, const float* g, float* buf, int64_t n, const SgdArgs& a) {
    sgd_range_body(p, g, buf, n, a);
}
PYDL_TARGET_AVX2 void sgd_range_avx2(float* p, const float* g, float* buf, int64_t n,
                                     const SgdArgs& a) {
    sgd_range_body(p, g, buf, n, a);
}

struct AdamArgs {
    float beta1, beta2, eps, weight_decay, step_size, bc2_sqrt;
    bool maximize;
};

PYDL_INLINE void adam_range_body(float* __restrict p, const float* __restrict grad,
                                 float* __restrict m, float* __restrict v, int64_t n,
                                 const AdamArgs& a) {
    const float sign = a.maximize ? -1.0f : 1.0f;
    for (int64_t i = 0; i < n; ++i) {
        const float g = sign * grad[i] + a.weight_decay * p[i];
        const float mi = a.beta1 * m[i] + (1.0f - a.beta1) * g;
        const float vi = a.beta2 * v[i] + (1.0f - a.beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        p[i] -= a.step_size * mi / (std::sqrt(vi) / a.bc2_sqrt + a.eps);  // as PyTorch
    }
}
void adam_range_generic(float* p, const float* g, float* m, float* v, int64_t n,
                        const AdamArgs& a) {
    adam_range_body(p, g, m, v, n, a);
}
PYDL_TARGET_AVX2 void adam_range_avx2(float* p, const float* g, float* m, float* v, int64_t n,
                                      const AdamArgs& a) {
    adam_range_body(p, g, m, v, n, a);
}

}  // namespace

void sgd_step(const std::vector<ParamSlot>& slots, float lr, float momentum, float dampening,
              bool nesterov, float weight_decay, bool maximize, bool first_step) {
    const SgdArgs args{lr, momentum, dampening, weight_decay, nesterov, maximize, first_step};
    for_each_chunk(slots, [&](const ParamSlot& s, int64_t lo, int64_t hi) {
        float* buf = momentum != 0.0f ? s.state0 + lo : nullptr;
        if (use_avx2())
            sgd_range_avx2(s.param + lo, s.grad + lo, buf, hi - lo, args);
        else
            sgd_range_generic(s.param + lo, s.grad + lo, buf, hi - lo, args);
    });
}

void adam_step(const std::vector<ParamSlot>& slots, int64_t step, float lr, float beta1,
               float beta2, float eps, float weight_decay, bool maximize) {
    const double bc1 = 1.0 - std::pow(double(beta1), double(step));
    const double bc2 = 1.0 - std::pow(double(beta2), double(step));
    const AdamArgs args{beta1, beta2, eps, weight_decay, float(lr / bc1),
                        float(std::sqrt(bc2)), maximize};
    for_each_chunk(slots, [&](const ParamSlot& s, int64_t lo, int64_t hi) {
        if (use_avx2())
            adam_range_avx2(s.param + lo, s.grad + lo, s.state0 + lo, s.state1 + lo, hi - lo, args);
        else
            adam_range_generic(s.param + lo, s.grad + lo, s.state0 + lo, s.state1 + lo, hi - lo,
                               args);
    });
}

}  // namespace pydl
