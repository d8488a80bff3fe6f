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

struct Chunk {
    size_t slot;
    int64_t lo, hi;
};

std::vector<Chunk> chunks_of(const std::vector<ParamSlot>& slots) {
    std::vector<Chunk> chunks;
    for (size_t s = 0; s < slots.size(); ++s)
        for (int64_t lo = 0; lo < slots[s].size; lo += kChunk)
            chunks.push_back({s, lo, std::min(slots[s].size, lo + kChunk)});
    return chunks;
}

// Runs fn(chunk index, chunk) over fixed-size chunks of every tensor, in parallel when
// the step is large enough.
template <typename Fn>
void for_each_chunk(const std::vector<Chunk>& chunks, int64_t total, Fn fn) {
    const int64_t n = int64_t(chunks.size());
    parallel_for(0, n, total < kParallelElements ? n : 1, [&](int64_t lo, int64_t hi) {
        for (int64_t c = lo; c < hi; ++c) fn(c, chunks[c]);
    });
}

int64_t total_size(const std::vector<ParamSlot>& slots) {
    int64_t t = 0;
    for (const auto& s : slots) t += s.size;
    return t;
}

// Applies Body::run over every chunk, with the AVX2 copy where the CPU has it
// (Note [SIMD dispatch]). Body::run(p, g, s0, s1, s2, n, args) works on one chunk.
template <typename Body, typename Args>
void generic_range(float* p, const float* g, float* s0, float* s1, float* s2, int64_t n,
                   const Args& a) {
    Body::run(p, g, s0, s1, s2, n, a);
}
template <typename Body, typename Args>
PYDL_TARGET_AVX2 void avx2_range(float* p, const float* g, float* s0, float* s1, float* s2,
                                 int64_t n, const Args& a) {
    Body::run(p, g, s0, s1, s2, n, a);
}
template <typename Body, typename Args>
void run_elementwise(const std::vector<ParamSlot>& slots, const Args& args) {
    const auto chunks = chunks_of(slots);
    const bool avx2 = use_avx2();
    for_each_chunk(chunks, total_size(slots), [&](int64_t, const Chunk& c) {
        const ParamSlot& s = slots[c.slot];
        auto at = [&](float* buf) { return buf ? buf + c.lo : nullptr; };
        (avx2 ? avx2_range<Body, Args> : generic_range<Body, Args>)(
            s.param + c.lo, s.grad ? s.grad + c.lo : nullptr, at(s.state[0]), at(s.state[1]),
            at(s.state[2]), c.hi - c.lo, args);
    });
}

#define PYDL_RANGE_ARGS                                                                  \
    float* __restrict p, const float* __restrict grad, float* __restrict s0,            \
        float* __restrict s1, float* __restrict s2, int64_t n

struct SgdArgs {
    float lr, momentum, dampening, weight_decay;
    bool nesterov, maximize, first_step;
};
struct Sgd {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const SgdArgs& a) {
        (void)s1, (void)s2;
        const float sign = a.maximize ? -1.0f : 1.0f;
        if (!s0) {
            for (int64_t i = 0; i < n; ++i) p[i] -= a.lr * (sign * grad[i] + a.weight_decay * p[i]);
            return;
        }
        const float mu = a.momentum, keep = a.first_step ? 0.0f : mu;
        const float take = a.first_step ? 1.0f : 1.0f - a.dampening;
        const float nest = a.nesterov ? 1.0f : 0.0f;
        for (int64_t i = 0; i < n; ++i) {
            const float g = sign * grad[i] + a.weight_decay * p[i];
            const float b = keep * s0[i] + take * g;
            s0[i] = b;
            p[i] -= a.lr * (nest * (g + mu * b) + (1.0f - nest) * b);
        }
    }
};

struct AdamArgs {
    float lr, beta1, beta2, eps, weight_decay, step_size, bc2_sqrt;
    bool decoupled, amsgrad, maximize;
};
struct Adam {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const AdamArgs& a) {
        const float sign = a.maximize ? -1.0f : 1.0f;
        const float l2 = a.decoupled ? 0.0f : a.weight_decay;
        const float shrink = a.decoupled ? 1.0f - a.lr * a.weight_decay : 1.0f;
        for (int64_t i = 0; i < n; ++i) {
            const float pi = p[i] * shrink;
            const float g = sign * grad[i] + l2 * pi;
            const float m = a.beta1 * s0[i] + (1.0f - a.beta1) * g;
            const float v = a.beta2 * s1[i] + (1.0f - a.beta2) * g * g;
            s0[i] = m;
            s1[i] = v;
            float vm = v;
            if (a.amsgrad) {
                vm = s2[i] > v ? s2[i] : v;
                s2[i] = vm;
            }
            p[i] = pi - a.step_size * m / (std::sqrt(vm) / a.bc2_sqrt + a.eps);  // as PyTorch
        }
    }
};

struct AdagradArgs {
    float clr, weight_decay, eps;
    bool maximize;
};
struct Adagrad {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const AdagradArgs& a) {
        (void)s1, (void)s2;
        const float sign = a.maximize ? -1.0f : 1.0f;
        for (int64_t i = 0; i < n; ++i) {
            const float g = sign * grad[i] + a.weight_decay * p[i];
            const float sum = s0[i] + g * g;
            s0[i] = sum;
            p[i] -= a.clr * g / (std::sqrt(sum) + a.eps);
        }
    }
};

struct RmspropArgs {
    float lr, alpha, eps, weight_decay, momentum;
    bool centered, maximize;
};
struct Rmsprop {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const RmspropArgs& a) {
        const float sign = a.maximize ? -1.0f : 1.0f;
        for (int64_t i = 0; i < n; ++i) {
            const float g = sign * grad[i] + a.weight_decay * p[i];
            const float sq = a.alpha * s0[i] + (1.0f - a.alpha) * g * g;
            s0[i] = sq;
            float var = sq;
            if (a.centered) {
                const float ga = a.alpha * s2[i] + (1.0f - a.alpha) * g;
                s2[i] = ga;
                var = sq - ga * ga;
            }
            const float avg = std::sqrt(var) + a.eps;
            if (a.momentum > 0.0f) {
                const float buf = a.momentum * s1[i] + g / avg;
                s1[i] = buf;
                p[i] -= a.lr * buf;
            } else {
                p[i] -= a.lr * g / avg;
            }
        }
    }
};

struct AdadeltaArgs {
    float lr, rho, eps, weight_decay;
    bool maximize;
};
struct Adadelta {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const AdadeltaArgs& a) {
        (void)s2;
        const float sign = a.maximize ? -1.0f : 1.0f;
        for (int64_t i = 0; i < n; ++i) {
            const float g = sign * grad[i] + a.weight_decay * p[i];
            const float sq = a.rho * s0[i] + (1.0f - a.rho) * g * g;
            s0[i] = sq;
            const float delta = std::sqrt(s1[i] + a.eps) / std::sqrt(sq + a.eps) * g;
            s1[i] = a.rho * s1[i] + (1.0f - a.rho) * delta * delta;
            p[i] -= a.lr * delta;
        }
    }
};

struct NadamArgs {
    float beta1, beta2, bc2, coef_grad, coef_avg, eps, weight_decay, lr;
    bool decoupled, maximize;
};
struct Nadam {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const NadamArgs& a) {
        (void)s2;
        const float sign = a.maximize ? -1.0f : 1.0f;
        const float l2 = a.decoupled ? 0.0f : a.weight_decay;
        const float shrink = a.decoupled ? 1.0f - a.lr * a.weight_decay : 1.0f;
        for (int64_t i = 0; i < n; ++i) {
            const float pi = p[i] * shrink;
            const float g = sign * grad[i] + l2 * pi;
            const float m = a.beta1 * s0[i] + (1.0f - a.beta1) * g;
            const float v = a.beta2 * s1[i] + (1.0f - a.beta2) * g * g;
            s0[i] = m;
            s1[i] = v;
            const float denom = std::sqrt(v / a.bc2) + a.eps;
            p[i] = pi - a.coef_grad * g / denom - a.coef_avg * m / denom;
        }
    }
};

struct LionArgs {
    float lr, beta1, beta2, weight_decay;
    bool maximize;
};
struct Lion {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const LionArgs& a) {
        (void)s1, (void)s2;
        const float sign = a.maximize ? -1.0f : 1.0f;
        for (int64_t i = 0; i < n; ++i) {
            const float g = sign * grad[i];
            const float c = a.beta1 * s0[i] + (1.0f - a.beta1) * g;
            const float sgn = c > 0.0f ? 1.0f : (c < 0.0f ? -1.0f : 0.0f);
            p[i] -= a.lr * (sgn + a.weight_decay * p[i]);
            s0[i] = a.beta2 * s0[i] + (1.0f - a.beta2) * g;
        }
    }
};

struct LookaheadArgs {
    float alpha;
};
struct Lookahead {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const LookaheadArgs& a) {
        (void)grad, (void)s1, (void)s2;
        for (int64_t i = 0; i < n; ++i) {
            const float slow = s0[i] + a.alpha * (p[i] - s0[i]);
            s0[i] = slow;
            p[i] = slow;
        }
    }
};

}  // namespace

void sgd_step(const std::vector<ParamSlot>& slots, float lr, float momentum, float dampening,
              bool nesterov, float weight_decay, bool maximize, bool first_step) {
    run_elementwise<Sgd>(slots, SgdArgs{lr, momentum, dampening, weight_decay, nesterov,
                                        maximize, first_step});
}

void adam_step(const std::vector<ParamSlot>& slots, int64_t step, float lr, float beta1,
               float beta2, float eps, float weight_decay, bool decoupled, bool amsgrad,
               bool maximize) {
    const double bc1 = 1.0 - std::pow(double(beta1), double(step));
    const double bc2 = 1.0 - std::pow(double(beta2), double(step));
    run_elementwise<Adam>(slots, AdamArgs{lr, beta1, beta2, eps, weight_decay, float(lr / bc1),
                                          float(std::sqrt(bc2)), decoupled, amsgrad, maximize});
}

void adagrad_step(const std::vector<ParamSlot>& slots, float clr, float weight_decay, float eps,
                  bool maximize) {
    run_elementwise<Adagrad>(slots, AdagradArgs{clr, weight_decay, eps, maximize});
}

void rmsprop_step(const std::vector<ParamSlot>& slots, float lr, float alpha, float eps,
                  float weight_decay, float momentum, bool centered, bool maximize) {
    run_elementwise<Rmsprop>(slots,
                             RmspropArgs{lr, alpha, eps, weight_decay, momentum, centered, maximize});
}

void adadelta_step(const std::vector<ParamSlot>& slots, float lr, float rho, float eps,
                   float weight_decay, bool maximize) {
    run_elementwise<Adadelta>(slots, AdadeltaArgs{lr, rho, eps, weight_decay, maximize});
}

void nadam_step(const std::vector<ParamSlot>& slots, float beta1, float beta2, float bc2,
                float coef_grad, float coef_avg, float eps, float weight_decay,
                bool decoupled, float lr, bool maximize) {
    run_elementwise<Nadam>(slots, NadamArgs{beta1, beta2, bc2, coef_grad, coef_avg, eps,
                                            weight_decay, lr, decoupled, maximize});
}

void lion_step(const std::vector<ParamSlot>& slots, float lr, float beta1, float beta2,
               float weight_decay, bool maximize) {
    run_elementwise<Lion>(slots, LionArgs{lr, beta1, beta2, weight_decay, maximize});
}

void lookahead_step(const std::vector<ParamSlot>& slots, float alpha) {
    run_elementwise<Lookahead>(slots, LookaheadArgs{alpha});
}

void lamb_step(const std::vector<ParamSlot>& slots, int64_t step, float lr, float beta1,
               float beta2, float eps, float weight_decay, bool bias_correction, bool maximize) {
    const float bc1 = bias_correction ? float(1.0 - std::pow(double(beta1), double(step))) : 1.0f;
    const float bc2 = bias_correction ? float(1.0 - std::pow(double(beta2), double(step))) : 1.0f;
    const float sign = maximize ? -1.0f : 1.0f;
    const auto chunks = chunks_of(slots);
    const int64_t total = total_size(slots);
    // Pass 1: moments, and per-chunk sums of squares of p and of the update u.
    std::vector<double> p_sq(chunks.size()), u_sq(chunks.size());
    auto update = [&](const ParamSlot& s, int64_t i) {
        return (s.state[0][i] / bc1) / (std::sqrt(s.state[1][i] / bc2) + eps) +
               weight_decay * s.param[i];
    };
    for_each_chunk(chunks, total, [&](int64_t ci, const Chunk& c) {
        const ParamSlot& s = slots[c.slot];
        double ps = 0.0, us = 0.0;
        for (int64_t i = c.lo; i < c.hi; ++i) {
            const float g = sign * s.grad[i];
            s.state[0][i] = beta1 * s.state[0][i] + (1.0f - beta1) * g;
            s.state[1][i] = beta2 * s.state[1][i] + (1.0f - beta2) * g * g;
            const float u = update(s, i);
            ps += double(s.param[i]) * s.param[i];
            us += double(u) * u;
        }
        p_sq[ci] = ps;
        u_sq[ci] = us;
    });
    // Trust ratio per tensor: chunk partials summed in order (Note [Determinism]).
    std::vector<float> ratio(slots.size());
    for (size_t t = 0, ci = 0; t < slots.size(); ++t) {
        double ps = 0.0, us = 0.0;
        for (; ci < chunks.size() && chunks[ci].slot == t; ++ci) ps += p_sq[ci], us += u_sq[ci];
        ratio[t] = ps > 0.0 && us > 0.0 ? float(std::sqrt(ps) / std::sqrt(us)) : 1.0f;
    }
    // Pass 2: p -= lr r u (u recomputed from the stored moments, same formula).
    for_each_chunk(chunks, total, [&](int64_t, const Chunk& c) {
        const ParamSlot& s = slots[c.slot];
        const float step_size = lr * ratio[c.slot];
        for (int64_t i = c.lo; i < c.hi; ++i) s.param[i] -= step_size * update(s, i);
    });
}

void adafactor_step(float* param, const float* grad, int64_t batch, int64_t rows, int64_t cols,
                    bool factored, float* row_var, float* col_var, float* variance,
                    int64_t step, float lr, float beta2_decay, float eps1, float eps2, float d,
                    float weight_decay, bool maximize) {
    const int64_t n = batch * rows * cols;
    const float sign = maximize ? -1.0f : 1.0f;
    const double t = double(step);
    const float one_minus_beta2 = float(std::pow(t, double(beta2_decay)));
    const double rho = std::min(double(lr), 1.0 / std::sqrt(t));
    double p_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) p_sq += double(param[i]) * param[i];
    const double alpha = std::max(double(eps2), std::sqrt(p_sq) / std::sqrt(double(n))) * rho;
    if (weight_decay != 0.0f)
        for (int64_t i = 0; i < n; ++i) param[i] *= 1.0f - lr * weight_decay;
    // update = g / sqrt(max(var_estimate, eps1^2)); written into a scratch buffer
    std::vector<float> upd(n);
    if (factored) {
        for (int64_t b = 0; b < batch; ++b) {
            const float* g = grad + b * rows * cols;
            float* rv = row_var + b * rows;
            float* cv = col_var + b * cols;
            std::vector<double> col_sum(cols, 0.0);
            double row_var_sum = 0.0;
            for (int64_t r = 0; r < rows; ++r) {
                double s = 0.0;
                for (int64_t c = 0; c < cols; ++c) {
                    const double gv = double(g[r * cols + c]);
                    s += gv * gv;
                    col_sum[c] += gv * gv;
                }
                rv[r] += one_minus_beta2 * (float(s / double(cols)) - rv[r]);  // lerp
                row_var_sum += rv[r];
            }
            for (int64_t c = 0; c < cols; ++c)
                cv[c] += one_minus_beta2 * (float(col_sum[c] / double(rows)) - cv[c]);
            const float row_mean = std::max(float(row_var_sum / double(rows)), eps1);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) {
                    const float v = std::max(rv[r] * cv[c] / row_mean, eps1 * eps1);
                    upd[b * rows * cols + r * cols + c] = sign * g[r * cols + c] / std::sqrt(v);
                }
        }
    } else {
        for (int64_t i = 0; i < n; ++i) {
            const float g = sign * grad[i];
            variance[i] += one_minus_beta2 * (g * g - variance[i]);
            upd[i] = g / std::sqrt(std::max(variance[i], eps1 * eps1));
        }
    }
    double u_sq = 0.0;
    for (float u : upd) u_sq += double(u) * u;
    const double denom = std::max(1.0, std::sqrt(u_sq) / (std::sqrt(double(n)) * d));
    const float scale = float(alpha / denom);
    for (int64_t i = 0; i < n; ++i) param[i] -= scale * upd[i];
}

}  // namespace pydl
