#include "kernels/optim.h"

#include <cmath>
#include <utility>

#include "core/buffer_pool.h"
#include "core/parallel.h"
#include "core/vec.h"

namespace pydl {

namespace {

constexpr int64_t kChunk = 1 << 14;
// Below this many elements in all, one thread does the whole step.
constexpr int64_t kParallelElements = 1 << 16;
// Tensors below this many elements are not cut into parts: the GEMMs of so small a weight
// run on the calling thread alone (Note [Item 0 on the caller]), so it stays in that
// core's cache (pydl.compile'd MLP 784-256-256-10 batch-8 SGD step, 2 threads: 188-191 ->
// 174 us). A 256 x 256 weight (65536) is cut: its batch-8 products, 2^19 multiply-adds,
// are split between the threads too (gemm's kParallelWork).
constexpr int64_t kSplitElements = 1 << 16;

struct Chunk {
    size_t slot;
    int64_t lo, hi;
    int part;
};

// Each tensor is cut into `parts` equal spans (whole 64-byte lines), listed part by part:
// part t is the t-th span of every tensor, the rows of a weight the GEMMs split the same
// way (Note [Item 0 on the caller]).
CheckedVector<Chunk> chunks_of(const std::vector<ParamSlot>& slots, int parts) {
    CheckedVector<Chunk> chunks;
    for (int part = 0; part < parts; ++part)
        for (size_t s = 0; s < slots.size(); ++s) {
            const int64_t size = slots[s].size;
            const int64_t cut = size < kSplitElements ? 1 : parts;
            if (part >= cut) continue;
            const int64_t span = ((size + cut - 1) / cut + 15) & ~int64_t(15);
            const int64_t end = std::min(size, (part + 1) * span);
            for (int64_t lo = part * span; lo < end; lo += kChunk)
                chunks.push_back({s, lo, std::min(end, lo + kChunk), part});
        }
    return chunks;
}

// Runs fn(chunk index, chunk) over fixed-size chunks of every tensor, in parallel when
// the step is large enough, in the copy for the widest instruction set (vec::simd_chunks:
// an always-inline fn's loops are compiled into each copy). Thread t runs part t whole,
// so each core updates the rows its GEMMs wrote: split by chunk count, a batch-8 MLP's
// 256 x 256 weight went a quarter to the other core.
template <typename Fn>
void for_each_chunk(const CheckedVector<Chunk>& chunks, int64_t total, Fn fn) {
    const int64_t n = int64_t(chunks.size());
    const auto body = vec::simd_chunks([&](int64_t lo, int64_t hi) PYDL_INLINE_LAMBDA {
        for (int64_t c = lo; c < hi; ++c) fn(c, chunks[c]);
    });
    const int parts = n > 0 ? chunks[n - 1].part + 1 : 1;
    if (parts == 1) return parallel_for(0, n, total < kParallelElements ? n : 1, body);
    CheckedVector<int64_t> start(size_t(parts) + 1);  // the first chunk of each part
    for (int64_t p = 0, c = 0; p <= parts; ++p) {     // chunks are listed part by part
        while (c < n && chunks[c].part < p) ++c;
        start[p] = c;
    }
    parallel_for(0, parts, 1, [&](int64_t lo, int64_t hi) { body(start[lo], start[hi]); });
}

int64_t total_size(const std::vector<ParamSlot>& slots) {
    int64_t t = 0;
    for (const auto& s : slots) t += s.size;
    return t;
}

// Applies Body::run(p, g, s0, s1, s2, n, args) to every chunk.
template <typename Body, typename Args>
void run_elementwise(const std::vector<ParamSlot>& slots, const Args& args) {
    const int64_t total = total_size(slots);
    const auto chunks = chunks_of(slots, total < kParallelElements ? 1 : get_num_threads());
    for_each_chunk(chunks, total, [&](int64_t, const Chunk& c) PYDL_INLINE_LAMBDA {
        const ParamSlot& s = slots[c.slot];
        auto at = [&](float* buf) { return buf ? buf + c.lo : nullptr; };
        Body::run(s.param + c.lo, s.grad ? s.grad + c.lo : nullptr, at(s.state[0]), at(s.state[1]),
                  at(s.state[2]), c.hi - c.lo, args);
    });
}

#define PYDL_RANGE_ARGS                                                                            \
    float* __restrict p, const float* __restrict grad, float* __restrict s0, float* __restrict s1, \
        float* __restrict s2, int64_t n

struct Sgd {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const SgdParams& a) {
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

// The Adam family's shared start: from the options, the gradient's sign, the L2 factor and
// the decoupled shrink; per element, the (decayed) parameter, the gradient with L2, and the
// updated first and second moments (stored back into m_io, v_io).
struct AdamMoments {
    float sign, l2, shrink, beta1, beta2;
    AdamMoments(bool maximize, bool decoupled, float weight_decay, float lr, float beta1_,
                float beta2_)
        : sign(maximize ? -1.0f : 1.0f),
          l2(decoupled ? 0.0f : weight_decay),
          shrink(decoupled ? 1.0f - lr * weight_decay : 1.0f),
          beta1(beta1_),
          beta2(beta2_) {}
    PYDL_INLINE void operator()(float p, float grad, float& m_io, float& v_io, float& p_out,
                                float& g, float& m, float& v) const {
        p_out = p * shrink;
        g = sign * grad + l2 * p_out;
        m = beta1 * m_io + (1.0f - beta1) * g;
        v = beta2 * v_io + (1.0f - beta2) * g * g;
        m_io = m;
        v_io = v;
    }
};

// The options and the step's bias corrections: step_size = lr / (1 - b1^t),
// bc2_sqrt = sqrt(1 - b2^t).
struct AdamArgs : AdamParams {
    float step_size, bc2_sqrt;
};
struct Adam {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const AdamArgs& a) {
        const AdamMoments moments(a.maximize, a.decoupled, a.weight_decay, a.lr, a.beta1, a.beta2);
        for (int64_t i = 0; i < n; ++i) {
            float pi, g, m, v;
            moments(p[i], grad[i], s0[i], s1[i], pi, g, m, v);
            float vm = v;
            if (a.amsgrad) {
                vm = s2[i] > v ? s2[i] : v;
                s2[i] = vm;
            }
            p[i] = pi - a.step_size * m / (std::sqrt(vm) / a.bc2_sqrt + a.eps);  // as PyTorch
        }
    }
};

struct Adagrad {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const AdagradParams& a) {
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

struct Rmsprop {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const RmspropParams& a) {
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
            const float avg = a.eps_in_sqrt ? std::sqrt(var + a.eps) : std::sqrt(var) + a.eps;
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

struct Adadelta {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const AdadeltaParams& a) {
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

struct Nadam {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const NadamParams& a) {
        (void)s2;
        const AdamMoments moments(a.maximize, a.decoupled, a.weight_decay, a.lr, a.beta1, a.beta2);
        for (int64_t i = 0; i < n; ++i) {
            float pi, g, m, v;
            moments(p[i], grad[i], s0[i], s1[i], pi, g, m, v);
            const float denom = std::sqrt(v / a.bias_correction2) + a.eps;
            p[i] = pi - a.coef_grad * g / denom - a.coef_avg * m / denom;
        }
    }
};

struct Lion {
    static PYDL_INLINE void run(PYDL_RANGE_ARGS, const LionParams& a) {
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

void sgd_step(const std::vector<ParamSlot>& slots, const SgdParams& p) {
    run_elementwise<Sgd>(slots, p);
}

void adam_step(const std::vector<ParamSlot>& slots, const AdamParams& p) {
    const double t = double(p.step);
    const double bc1 = p.bias_correction ? 1.0 - std::pow(double(p.beta1), t) : 1.0;
    const double bc2 = p.bias_correction ? 1.0 - std::pow(double(p.beta2), t) : 1.0;
    run_elementwise<Adam>(slots, AdamArgs{p, float(p.lr / bc1), float(std::sqrt(bc2))});
}

void adagrad_step(const std::vector<ParamSlot>& slots, const AdagradParams& p) {
    run_elementwise<Adagrad>(slots, p);
}

void rmsprop_step(const std::vector<ParamSlot>& slots, const RmspropParams& p) {
    run_elementwise<Rmsprop>(slots, p);
}

void adadelta_step(const std::vector<ParamSlot>& slots, const AdadeltaParams& p) {
    run_elementwise<Adadelta>(slots, p);
}

void nadam_step(const std::vector<ParamSlot>& slots, const NadamParams& p) {
    run_elementwise<Nadam>(slots, p);
}

void lion_step(const std::vector<ParamSlot>& slots, const LionParams& p) {
    run_elementwise<Lion>(slots, p);
}

void lookahead_step(const std::vector<ParamSlot>& slots, float alpha) {
    run_elementwise<Lookahead>(slots, LookaheadArgs{alpha});
}

namespace {

struct LambArgs {
    float beta1, beta2, eps, weight_decay, bc1, bc2, sign;
};
// u = m^ / (sqrt(v^) + eps) + wd p
PYDL_INLINE float lamb_update(float m, float v, float p, const LambArgs& a) {
    return (m / a.bc1) / (std::sqrt(v / a.bc2) + a.eps) + a.weight_decay * p;
}
// Pass 1 over a chunk: the moments, and the chunk's sums of p^2 and u^2 (8 float lanes,
// then a fixed-order sum, so the result does not depend on the dispatch or threads).
PYDL_INLINE void lamb_moments_body(float* __restrict p, const float* __restrict g,
                                   float* __restrict m, float* __restrict v, int64_t n,
                                   const LambArgs& a, double* p_sq, double* u_sq) {
    float ps[8] = {}, us[8] = {};
    auto one = [&](int64_t i, int lane) PYDL_INLINE_LAMBDA {
        const float gi = a.sign * g[i];
        const float mi = a.beta1 * m[i] + (1.0f - a.beta1) * gi;
        const float vi = a.beta2 * v[i] + (1.0f - a.beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const float u = lamb_update(mi, vi, p[i], a);
        ps[lane] += p[i] * p[i];
        us[lane] += u * u;
    };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; ++l) one(i + l, l);
    for (; i < n; ++i) one(i, int(i & 7));
    double pt = 0.0, ut = 0.0;
    for (int l = 0; l < 8; ++l) pt += ps[l], ut += us[l];
    *p_sq = pt;
    *u_sq = ut;
}
// Pass 2: p -= step_size * u (u recomputed from the stored moments, the same formula).
PYDL_INLINE void lamb_apply_body(float* __restrict p, const float* __restrict m,
                                 const float* __restrict v, int64_t n, const LambArgs& a,
                                 float step_size) {
    for (int64_t i = 0; i < n; ++i) p[i] -= step_size * lamb_update(m[i], v[i], p[i], a);
}

}  // namespace

void lamb_step(const std::vector<ParamSlot>& slots, const LambParams& p) {
    const auto correction = [&](float beta) {
        return p.bias_correction ? float(1.0 - std::pow(double(beta), double(p.step))) : 1.0f;
    };
    const LambArgs args{p.beta1,
                        p.beta2,
                        p.eps,
                        p.weight_decay,
                        correction(p.beta1),
                        correction(p.beta2),
                        p.maximize ? -1.0f : 1.0f};
    // One part: the trust ratio's partial sums must not depend on the thread count.
    const auto chunks = chunks_of(slots, 1);
    const int64_t total = total_size(slots);
    CheckedVector<double> p_sq(chunks.size()), u_sq(chunks.size());
    for_each_chunk(chunks, total, [&](int64_t ci, const Chunk& c) PYDL_INLINE_LAMBDA {
        const ParamSlot& s = slots[c.slot];
        lamb_moments_body(s.param + c.lo, s.grad + c.lo, s.state[0] + c.lo, s.state[1] + c.lo,
                          c.hi - c.lo, args, &p_sq[ci], &u_sq[ci]);
    });
    // Trust ratio per tensor: chunk partials summed in order (Note [Determinism]).
    std::vector<float> step_size(slots.size());
    for (size_t t = 0, ci = 0; t < slots.size(); ++t) {
        double ps = 0.0, us = 0.0;
        for (; ci < chunks.size() && chunks[ci].slot == t; ++ci) ps += p_sq[ci], us += u_sq[ci];
        step_size[t] = p.lr * (ps > 0.0 && us > 0.0 ? float(std::sqrt(ps) / std::sqrt(us)) : 1.0f);
    }
    for_each_chunk(chunks, total, [&](int64_t, const Chunk& c) PYDL_INLINE_LAMBDA {
        const ParamSlot& s = slots[c.slot];
        lamb_apply_body(s.param + c.lo, s.state[0] + c.lo, s.state[1] + c.lo, c.hi - c.lo, args,
                        step_size[c.slot]);
    });
}

void adafactor_step(const AdafactorSlot& t, const AdafactorParams& p) {
    float* param = t.param;
    const float* grad = t.grad;
    const int64_t batch = t.batch, rows = t.rows, cols = t.cols;
    const bool factored = t.factored;
    float *row_var = t.row_var, *col_var = t.col_var, *variance = t.variance;
    const float lr = p.lr, eps1 = p.eps1, eps2 = p.eps2, d = p.d, weight_decay = p.weight_decay;
    // Three passes over the tensor, each in fixed chunks with partial sums combined in
    // order; no temporary of the tensor's size.
    const int64_t n = batch * rows * cols;
    const float sign = p.maximize ? -1.0f : 1.0f;
    const double step = double(p.step);
    const float one_minus_beta2 = float(std::pow(step, double(p.beta2_decay)));
    const double rho = std::min(double(lr), 1.0 / std::sqrt(step));
    const int64_t n_chunks = (n + kChunk - 1) / kChunk;
    const int64_t grain = n < kParallelElements ? n_chunks : 1;
    auto chunked_sum = [&](auto term) {  // sum over i of term(i), deterministic
        CheckedVector<double> part(n_chunks);
        parallel_for(0, n_chunks, grain, [&](int64_t lo, int64_t hi) {
            for (int64_t c = lo; c < hi; ++c) {
                double acc = 0.0;
                for (int64_t i = c * kChunk, e = std::min(n, (c + 1) * kChunk); i < e; ++i)
                    acc += term(i);
                part[c] = acc;
            }
        });
        double total = 0.0;
        for (double v : part) total += v;
        return total;
    };
    double alpha = lr;
    if (p.relative_step) {
        const double p_sq = chunked_sum([&](int64_t i) { return double(param[i]) * param[i]; });
        alpha = std::max(double(eps2), std::sqrt(p_sq / double(std::max<int64_t>(n, 1)))) * rho;
    }
    // The second-moment estimate for element i, after this step's statistics update.
    CheckedVector<float> row_mean(batch, 1.0f);
    if (factored) {
        parallel_for(0, batch * rows, std::max<int64_t>(1, kChunk / std::max<int64_t>(cols, 1)),
                     [&](int64_t lo, int64_t hi) {
                         for (int64_t r = lo; r < hi; ++r) {
                             const float* g = grad + r * cols;
                             double acc = 0.0;
                             for (int64_t c = 0; c < cols; ++c) acc += double(g[c]) * g[c];
                             row_var[r] +=
                                 one_minus_beta2 * (float(acc / double(cols)) - row_var[r]);
                         }
                     });
        parallel_for(0, batch * cols, 256, [&](int64_t lo, int64_t hi) {
            for (int64_t bc = lo; bc < hi; ++bc) {
                const int64_t b = bc / cols, c = bc % cols;
                const float* g = grad + b * rows * cols + c;
                double acc = 0.0;
                for (int64_t r = 0; r < rows; ++r) acc += double(g[r * cols]) * g[r * cols];
                col_var[bc] += one_minus_beta2 * (float(acc / double(rows)) - col_var[bc]);
            }
        });
        for (int64_t b = 0; b < batch; ++b) {
            double acc = 0.0;
            for (int64_t r = 0; r < rows; ++r) acc += row_var[b * rows + r];
            row_mean[b] = std::max(float(acc / double(rows)), eps1);
        }
    } else {
        parallel_for(0, n, grain == n_chunks ? n : kChunk, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) {
                const float g = grad[i];
                variance[i] += one_minus_beta2 * (g * g - variance[i]);
            }
        });
    }
    auto update = [&](int64_t i) {  // U = g / sqrt(max(V, eps1^2))
        float v;
        if (factored) {
            const int64_t b = i / (rows * cols), r = (i / cols) % rows, c = i % cols;
            v = row_var[b * rows + r] * col_var[b * cols + c] / row_mean[b];
        } else {
            v = variance[i];
        }
        return sign * grad[i] / std::sqrt(std::max(v, eps1 * eps1));
    };
    const double u_sq = chunked_sum([&](int64_t i) {
        const double u = update(i);
        return u * u;
    });
    const double denom = std::max(1.0, std::sqrt(u_sq / double(std::max<int64_t>(n, 1))) / d);
    const float scale = float(alpha / denom), shrink = 1.0f - lr * weight_decay;
    parallel_for(0, n, grain == n_chunks ? n : kChunk, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) param[i] = param[i] * shrink - scale * update(i);
    });
}

}  // namespace pydl
