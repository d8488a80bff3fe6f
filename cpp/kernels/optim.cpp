#include "kernels/optim.h"

#include <cmath>

#include "core/parallel.h"

namespace pydl {

namespace {

constexpr int64_t kChunk = 1 << 15;

// Runs fn(slot, lo, hi) over fixed-size chunks of every tensor, in parallel.
template <typename Fn>
void for_each_chunk(const std::vector<ParamSlot>& slots, Fn fn) {
    std::vector<std::pair<size_t, int64_t>> chunks;  // (slot, start)
    for (size_t s = 0; s < slots.size(); ++s)
        for (int64_t lo = 0; lo < slots[s].size; lo += kChunk) chunks.emplace_back(s, lo);
    parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t lo, int64_t hi) {
        for (int64_t c = lo; c < hi; ++c) {
            const ParamSlot& slot = slots[chunks[c].first];
            const int64_t start = chunks[c].second;
            fn(slot, start, std::min(slot.size, start + kChunk));
        }
    });
}

}  // namespace

void sgd_step(const std::vector<ParamSlot>& slots, float lr, float momentum, float dampening,
              bool nesterov, float weight_decay, bool maximize, bool first_step) {
    for_each_chunk(slots, [&](const ParamSlot& s, int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            float g = maximize ? -s.grad[i] : s.grad[i];
            g += weight_decay * s.param[i];
            if (momentum != 0.0f) {
                float& buf = s.state0[i];
                buf = first_step ? g : momentum * buf + (1.0f - dampening) * g;
                g = nesterov ? g + momentum * buf : buf;
            }
            s.param[i] -= lr * g;
        }
    });
}

void adam_step(const std::vector<ParamSlot>& slots, int64_t step, float lr, float beta1,
               float beta2, float eps, float weight_decay, bool maximize) {
    const double bc1 = 1.0 - std::pow(double(beta1), double(step));
    const double bc2 = 1.0 - std::pow(double(beta2), double(step));
    const float step_size = float(lr / bc1);
    const float bc2_sqrt = float(std::sqrt(bc2));
    for_each_chunk(slots, [&](const ParamSlot& s, int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
            float g = maximize ? -s.grad[i] : s.grad[i];
            g += weight_decay * s.param[i];
            float& m = s.state0[i];
            float& v = s.state1[i];
            m = beta1 * m + (1.0f - beta1) * g;
            v = beta2 * v + (1.0f - beta2) * g * g;
            s.param[i] -= step_size * m / (std::sqrt(v) / bc2_sqrt + eps);
        }
    });
}

}  // namespace pydl
