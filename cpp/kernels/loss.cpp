// The loss kernels (declared in loss.h).
#include "kernels/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/buffer_pool.h"
#include "core/parallel.h"

namespace pydl {

namespace {

using EL = ElementwiseLoss;
constexpr int64_t kElementGrain = 1 << 14;
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(2 pi) / 2

// fn(std::integral_constant<EL, kind>) so that each kind's loop is compiled on its own,
// without a switch per element.
template <typename Fn>
void with_kind(EL kind, Fn&& fn) {
    switch (kind) {
        case EL::L1:
            return fn(std::integral_constant<EL, EL::L1>());
        case EL::SmoothL1:
            return fn(std::integral_constant<EL, EL::SmoothL1>());
        case EL::Huber:
            return fn(std::integral_constant<EL, EL::Huber>());
        case EL::SoftMargin:
            return fn(std::integral_constant<EL, EL::SoftMargin>());
        case EL::PoissonLog:
            return fn(std::integral_constant<EL, EL::PoissonLog>());
        case EL::Poisson:
            return fn(std::integral_constant<EL, EL::Poisson>());
        case EL::HingeEmbedding:
            return fn(std::integral_constant<EL, EL::HingeEmbedding>());
    }
}

inline float sign(float d) { return float((d > 0.0f) - (d < 0.0f)); }

// log(1 + exp(z)), without overflow
inline float softplus(float z) { return std::max(z, 0.0f) + std::log1p(std::exp(-std::abs(z))); }
inline float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

// The Poisson losses' Stirling term and its derivative (Note [Elementwise losses]).
inline float stirling(float y) {
    return y > 1.0f ? float(y * std::log(double(y)) - y + kHalfLog2Pi + 0.5 * std::log(double(y)))
                    : 0.0f;
}
inline float stirling_grad(float y) { return y > 1.0f ? std::log(y) + 0.5f / y : 0.0f; }

template <EL K>
inline float loss_of(float x, float y, float p, bool full) {
    const float d = x - y, a = std::abs(d);
    if constexpr (K == EL::L1) return a;
    if constexpr (K == EL::SmoothL1) return a < p ? 0.5f * d * d / p : a - 0.5f * p;
    if constexpr (K == EL::Huber) return a < p ? 0.5f * d * d : p * (a - 0.5f * p);
    if constexpr (K == EL::SoftMargin) return softplus(-y * x);
    if constexpr (K == EL::PoissonLog) return std::exp(x) - y * x + (full ? stirling(y) : 0.0f);
    if constexpr (K == EL::Poisson) return x - y * std::log(x + p) + (full ? stirling(y) : 0.0f);
    if constexpr (K == EL::HingeEmbedding)
        return (y != 1.0f ? std::max(0.0f, p - x) : 0.0f) + (y != -1.0f ? x : 0.0f);
}

// (d loss / dx, d loss / dy)
template <EL K>
inline void grads_of(float x, float y, float p, bool full, float& gx, float& gy) {
    const float d = x - y, a = std::abs(d);
    if constexpr (K == EL::L1 || K == EL::SmoothL1 || K == EL::Huber) {
        if constexpr (K == EL::L1) gx = sign(d);
        if constexpr (K == EL::SmoothL1) gx = a < p ? d / p : sign(d);
        if constexpr (K == EL::Huber) gx = a < p ? d : p * sign(d);
        gy = -gx;
    }
    if constexpr (K == EL::SoftMargin) {
        const float s = sigmoid(y * x) - 1.0f;  // -sigmoid(-y x)
        gx = y * s;
        gy = x * s;
    }
    if constexpr (K == EL::PoissonLog) {
        gx = std::exp(x) - y;
        gy = -x + (full ? stirling_grad(y) : 0.0f);
    }
    if constexpr (K == EL::Poisson) {
        gx = 1.0f - y / (x + p);
        gy = -std::log(x + p) + (full ? stirling_grad(y) : 0.0f);
    }
    if constexpr (K == EL::HingeEmbedding) {
        gx = (y != 1.0f && p - x > 0.0f ? -1.0f : 0.0f) + (y != -1.0f ? 1.0f : 0.0f);
        gy = 0.0f;
    }
}

}  // namespace

void elementwise_loss_forward(EL kind, const float* x, const float* y, int64_t n, float param,
                              bool full, float* loss) {
    with_kind(kind, [&](auto k) {
        constexpr EL K = decltype(k)::value;
        parallel_for(0, n, kElementGrain, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) loss[i] = loss_of<K>(x[i], y[i], param, full);
        });
    });
}

void elementwise_loss_backward(EL kind, const float* grad, const float* x, const float* y,
                               int64_t n, float param, bool full, float* grad_x, float* grad_y) {
    with_kind(kind, [&](auto k) {
        constexpr EL K = decltype(k)::value;
        parallel_for(0, n, kElementGrain, [&](int64_t lo, int64_t hi) {
            for (int64_t i = lo; i < hi; ++i) {
                float gx, gy;
                grads_of<K>(x[i], y[i], param, full, gx, gy);
                if (grad_x) grad_x[i] = grad[i] * gx;
                if (grad_y) grad_y[i] = grad[i] * gy;
            }
        });
    });
}

namespace {

constexpr int64_t kRowGrain = 64;

}  // namespace

void multi_margin_loss_forward(const float* x, const int64_t* target, const float* weight,
                               int64_t n, int64_t c, int p, float margin, float* loss) {
    parallel_for(0, n, kRowGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t s = lo; s < hi; ++s) {
            const float* row = x + s * c;
            const int64_t y = target[s];
            double sum = 0.0;
            for (int64_t i = 0; i < c; ++i) {
                const float z = margin - row[y] + row[i];
                if (i != y && z > 0.0f) sum += p == 2 ? double(z) * z : double(z);
            }
            loss[s] = float(sum / double(c)) * (weight ? weight[y] : 1.0f);
        }
    });
}

void multi_margin_loss_backward(const float* grad, const float* x, const int64_t* target,
                                const float* weight, int64_t n, int64_t c, int p, float margin,
                                float* grad_x) {
    parallel_for(0, n, kRowGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t s = lo; s < hi; ++s) {
            const float* row = x + s * c;
            float* g = grad_x + s * c;
            const int64_t y = target[s];
            const float k = grad[s] * (weight ? weight[y] : 1.0f) / float(c);
            float gy = 0.0f;
            for (int64_t i = 0; i < c; ++i) {
                const float z = margin - row[y] + row[i];
                g[i] = i != y && z > 0.0f ? k * (p == 2 ? 2.0f * z : 1.0f) : 0.0f;
                gy += g[i];
            }
            g[y] = -gy;
        }
    });
}

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

inline double log_add(double a, double b) {
    if (a == kNegInf) return b;
    if (b == kNegInf) return a;
    const double m = std::max(a, b);
    return m + std::log1p(std::exp(-std::abs(a - b)));
}

// One sample's view of the CTC problem (Note [CTC]).
struct CtcSample {
    const float* lp;  // log_probs + n * c: step t's row at lp + t * stride
    int64_t stride, steps, states, blank;
    const int64_t* label;  // the sample's L labels

    int64_t symbol(int64_t s) const { return s % 2 ? label[s / 2] : blank; }
    double y(int64_t t, int64_t s) const { return lp[t * stride + symbol(s)]; }
    // whether state s may be entered from s - 2 (skipping a blank between distinct labels)
    bool skips(int64_t s) const { return s % 2 && s >= 2 && label[s / 2] != label[s / 2 - 1]; }
};

CtcSample ctc_sample(const CtcShape& s, const float* log_probs, const int64_t* targets,
                     const int64_t* offsets, const int64_t* input_lengths,
                     const int64_t* target_lengths, int64_t n) {
    return CtcSample{log_probs + n * s.c,       s.n * s.c, input_lengths[n],
                     2 * target_lengths[n] + 1, s.blank,   targets + offsets[n]};
}

// alpha (steps x states, log space); returns the sample's nll.
double ctc_alpha(const CtcSample& q, CheckedVector<double>& alpha) {
    const int64_t S = q.states;
    if (q.steps == 0) return S == 1 ? 0.0 : std::numeric_limits<double>::infinity();
    alpha.assign(size_t(q.steps * S), kNegInf);
    alpha[0] = q.y(0, 0);
    if (S > 1) alpha[1] = q.y(0, 1);
    for (int64_t t = 1; t < q.steps; ++t) {
        const double* prev = alpha.data() + (t - 1) * S;
        double* cur = alpha.data() + t * S;
        // states s < S - 2 (T - t) cannot reach the end in time, nor s > 2 t + 1 be reached:
        // they stay -inf (the recursion would give that too, only slower)
        const int64_t lo = std::max<int64_t>(0, S - 2 * (q.steps - t)), hi = std::min(S, 2 * t + 2);
        for (int64_t s = lo; s < hi; ++s) {
            double a = prev[s];
            if (s >= 1) a = log_add(a, prev[s - 1]);
            if (q.skips(s)) a = log_add(a, prev[s - 2]);
            cur[s] = a == kNegInf ? kNegInf : a + q.y(t, s);
        }
    }
    const double* last = alpha.data() + (q.steps - 1) * S;
    return -log_add(last[S - 1], S > 1 ? last[S - 2] : kNegInf);
}

}  // namespace

void ctc_loss_forward(const CtcShape& s, const float* log_probs, const int64_t* targets,
                      const int64_t* offsets, const int64_t* input_lengths,
                      const int64_t* target_lengths, float* nll) {
    parallel_for(0, s.n, 1, [&](int64_t lo, int64_t hi) {
        CheckedVector<double> alpha;
        for (int64_t n = lo; n < hi; ++n)
            nll[n] = float(ctc_alpha(
                ctc_sample(s, log_probs, targets, offsets, input_lengths, target_lengths, n),
                alpha));
    });
}

void ctc_loss_backward(const CtcShape& s, const float* grad, const float* log_probs,
                       const int64_t* targets, const int64_t* offsets, const int64_t* input_lengths,
                       const int64_t* target_lengths, bool zero_infinity, float* grad_log_probs) {
    const int64_t row = s.n * s.c;
    parallel_for(0, s.n, 1, [&](int64_t lo, int64_t hi) {
        CheckedVector<double> alpha, beta, gamma;
        for (int64_t n = lo; n < hi; ++n) {
            const CtcSample q =
                ctc_sample(s, log_probs, targets, offsets, input_lengths, target_lengths, n);
            for (int64_t t = 0; t < s.t; ++t)
                std::fill_n(grad_log_probs + t * row + n * s.c, s.c, 0.0f);
            const double loss = ctc_alpha(q, alpha);
            if (std::isinf(loss)) {
                if (zero_infinity) continue;
                for (int64_t t = 0; t < q.steps; ++t)
                    std::fill_n(grad_log_probs + t * row + n * s.c, s.c,
                                std::numeric_limits<float>::quiet_NaN());
                continue;
            }
            const int64_t S = q.states, T = q.steps;
            if (T == 0) continue;  // no steps: nothing to differentiate
            beta.assign(size_t(T * S), kNegInf);
            beta[(T - 1) * S + S - 1] = q.y(T - 1, S - 1);
            if (S > 1) beta[(T - 1) * S + S - 2] = q.y(T - 1, S - 2);
            for (int64_t t = T - 2; t >= 0; --t) {
                const double* next = beta.data() + (t + 1) * S;
                double* cur = beta.data() + t * S;
                for (int64_t s2 = 0; s2 < S; ++s2) {
                    double b = next[s2];
                    if (s2 + 1 < S) b = log_add(b, next[s2 + 1]);
                    if (s2 + 2 < S && q.skips(s2 + 2)) b = log_add(b, next[s2 + 2]);
                    cur[s2] = b == kNegInf ? kNegInf : b + q.y(t, s2);
                }
            }
            // gamma_t(k) = log sum_{s: l'(s) = k} alpha_t(s) beta_t(s), per class
            const double g = grad[n];
            gamma.resize(size_t(s.c));
            for (int64_t t = 0; t < T; ++t) {
                std::fill(gamma.begin(), gamma.end(), kNegInf);
                for (int64_t s2 = 0; s2 < S; ++s2) {
                    double& gk = gamma[size_t(q.symbol(s2))];
                    gk = log_add(gk, alpha[t * S + s2] + beta[t * S + s2]);
                }
                float* gr = grad_log_probs + t * row + n * s.c;
                const float* lp = q.lp + t * q.stride;
                for (int64_t k = 0; k < s.c; ++k)
                    if (gamma[k] != kNegInf) gr[k] = float(-g * std::exp(gamma[k] - lp[k] + loss));
            }
        }
    });
}

}  // namespace pydl
