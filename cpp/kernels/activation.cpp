#include "kernels/activation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"

namespace pydl {

namespace {

constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

inline float sigmoid(float x) {
    // Two branches so exp never overflows.
    if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
    const float e = std::exp(x);
    return e / (1.0f + e);
}
inline float softplus(float x) { return std::max(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }

struct Neg {
    static float f(float x, float, float) { return -x; }
    static float df(float, float, float, float) { return -1.0f; }
};
struct Exp {
    static float f(float x, float, float) { return std::exp(x); }
    static float df(float, float y, float, float) { return y; }
};
struct Log {
    static float f(float x, float, float) { return std::log(x); }
    static float df(float x, float, float, float) { return 1.0f / x; }
};
struct Sqrt {
    static float f(float x, float, float) { return std::sqrt(x); }
    static float df(float, float y, float, float) { return 0.5f / y; }
};
struct Abs {
    static float f(float x, float, float) { return std::fabs(x); }
    static float df(float x, float, float, float) { return float((x > 0) - (x < 0)); }
};
struct Clamp {  // p0 = min, p1 = max; the gradient passes where min <= x <= max
    static float f(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }
    static float df(float x, float, float lo, float hi) { return x >= lo && x <= hi ? 1.0f : 0.0f; }
};
struct Sigmoid {
    static float f(float x, float, float) { return sigmoid(x); }
    static float df(float, float y, float, float) { return y * (1.0f - y); }
};
struct Tanh {
    static float f(float x, float, float) { return std::tanh(x); }
    static float df(float, float y, float, float) { return 1.0f - y * y; }
};
struct Relu {
    static float f(float x, float, float) { return x > 0 ? x : 0.0f; }
    static float df(float x, float, float, float) { return x > 0 ? 1.0f : 0.0f; }
};
struct LeakyRelu {  // p0 = negative slope
    static float f(float x, float s, float) { return x >= 0 ? x : s * x; }
    static float df(float x, float, float s, float) { return x > 0 ? 1.0f : s; }
};
struct Elu {  // p0 = alpha
    static float f(float x, float a, float) { return x > 0 ? x : a * std::expm1(x); }
    static float df(float x, float y, float a, float) { return x > 0 ? 1.0f : y + a; }
};
struct Selu {
    static float f(float x, float, float) {
        return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    }
    static float df(float x, float, float, float) {
        return x > 0 ? kSeluScale : kSeluScale * kSeluAlpha * std::exp(x);
    }
};
struct Gelu {  // x * Phi(x)
    static float f(float x, float, float) { return 0.5f * x * (1.0f + std::erf(x * kInvSqrt2)); }
    static float df(float x, float, float, float) {
        return 0.5f * (1.0f + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x);
    }
};
struct GeluTanh {
    static float f(float x, float, float) {
        return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    }
    static float df(float x, float, float, float) {
        const float t = std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x));
        return 0.5f * (1.0f + t) +
               0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * x * x);
    }
};
struct Silu {
    static float f(float x, float, float) { return x * sigmoid(x); }
    static float df(float x, float, float, float) {
        const float s = sigmoid(x);
        return s * (1.0f + x * (1.0f - s));
    }
};
struct Mish {  // x * tanh(softplus(x))
    static float f(float x, float, float) { return x * std::tanh(softplus(x)); }
    static float df(float x, float, float, float) {
        const float t = std::tanh(softplus(x));
        return t + x * (1.0f - t * t) * sigmoid(x);
    }
};
struct Softplus {  // p0 = beta, p1 = threshold (linear above it, as PyTorch)
    static float f(float x, float beta, float thr) {
        return beta * x > thr ? x : softplus(beta * x) / beta;
    }
    static float df(float x, float, float beta, float thr) {
        return beta * x > thr ? 1.0f : sigmoid(beta * x);
    }
};
struct Softsign {
    static float f(float x, float, float) { return x / (1.0f + std::fabs(x)); }
    static float df(float x, float, float, float) {
        const float d = 1.0f + std::fabs(x);
        return 1.0f / (d * d);
    }
};
struct HardSigmoid {  // clamp(p0 * x + p1, 0, 1)
    static float f(float x, float s, float o) { return std::min(std::max(s * x + o, 0.0f), 1.0f); }
    static float df(float x, float, float s, float o) {
        const float z = s * x + o;
        return z > 0.0f && z < 1.0f ? s : 0.0f;
    }
};
struct HardTanh {  // clamp(x, p0, p1); the gradient is zero at and beyond the bounds
    static float f(float x, float lo, float hi) { return std::min(std::max(x, lo), hi); }
    static float df(float x, float, float lo, float hi) { return x > lo && x < hi ? 1.0f : 0.0f; }
};

constexpr int64_t kGrain = 1 << 14;

template <typename Op>
void fwd(const float* x, float* y, int64_t n, float p0, float p1) {
    parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) y[i] = Op::f(x[i], p0, p1);
    });
}

template <typename Op>
void bwd(const float* g, const float* x, const float* y, float* gx, int64_t n, float p0,
         float p1) {
    parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) gx[i] = g[i] * Op::df(x[i], y[i], p0, p1);
    });
}

template <template <typename> class Fn, typename... Args>
void dispatch(UnaryOp op, Args... args) {
    switch (op) {
#define PYDL_UNARY_CASE(Name) \
    case UnaryOp::Name: return Fn<Name>::run(args...);
        PYDL_UNARY_CASE(Neg) PYDL_UNARY_CASE(Exp) PYDL_UNARY_CASE(Log) PYDL_UNARY_CASE(Sqrt)
        PYDL_UNARY_CASE(Abs) PYDL_UNARY_CASE(Clamp) PYDL_UNARY_CASE(Sigmoid)
        PYDL_UNARY_CASE(Tanh) PYDL_UNARY_CASE(Relu) PYDL_UNARY_CASE(LeakyRelu)
        PYDL_UNARY_CASE(Elu) PYDL_UNARY_CASE(Selu) PYDL_UNARY_CASE(Gelu)
        PYDL_UNARY_CASE(GeluTanh) PYDL_UNARY_CASE(Silu) PYDL_UNARY_CASE(Mish)
        PYDL_UNARY_CASE(Softplus) PYDL_UNARY_CASE(Softsign) PYDL_UNARY_CASE(HardSigmoid)
        PYDL_UNARY_CASE(HardTanh)
#undef PYDL_UNARY_CASE
    }
}

template <typename Op>
struct Fwd {
    static void run(const float* x, float* y, int64_t n, float p0, float p1) {
        fwd<Op>(x, y, n, p0, p1);
    }
};
template <typename Op>
struct Bwd {
    static void run(const float* g, const float* x, const float* y, float* gx, int64_t n,
                    float p0, float p1) {
        bwd<Op>(g, x, y, gx, n, p0, p1);
    }
};

}  // namespace

void unary_forward(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1) {
    dispatch<Fwd>(op, x, y, n, p0, p1);
}

void unary_backward(UnaryOp op, const float* grad, const float* x, const float* y, float* grad_x,
                    int64_t n, float p0, float p1) {
    dispatch<Bwd>(op, grad, x, y, grad_x, n, p0, p1);
}

void prelu_forward(const float* x, const float* w, int64_t outer, int64_t channels,
                   int64_t inner, float* y) {
    parallel_for(0, outer * channels, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)),
                 [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            const float a = w[r % channels];
            for (int64_t i = r * inner; i < (r + 1) * inner; ++i) y[i] = x[i] >= 0 ? x[i] : a * x[i];
        }
    });
}

void prelu_backward(const float* grad, const float* x, const float* w, int64_t outer,
                    int64_t channels, int64_t inner, float* grad_x, float* grad_w) {
    // One task per channel: its slope's gradient sums over (outer, inner) in order.
    parallel_for(0, channels, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t c = lo; c < hi; ++c) {
            double gw = 0.0;
            for (int64_t o = 0; o < outer; ++o) {
                const int64_t base = (o * channels + c) * inner;
                for (int64_t i = base; i < base + inner; ++i) {
                    grad_x[i] = x[i] >= 0 ? grad[i] : w[c] * grad[i];
                    if (x[i] < 0) gw += double(grad[i]) * x[i];
                }
            }
            grad_w[c] = float(gw);
        }
    });
}

void softmax_forward(const float* x, int64_t outer, int64_t n, int64_t inner, bool log, float* y) {
    parallel_for(0, outer * inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
                 [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            const int64_t base = (r / inner) * n * inner + r % inner;
            float m = -INFINITY;
            for (int64_t j = 0; j < n; ++j) m = std::max(m, x[base + j * inner]);
            double s = 0.0;
            for (int64_t j = 0; j < n; ++j) s += std::exp(double(x[base + j * inner]) - m);
            if (log) {
                const float lse = m + float(std::log(s));
                for (int64_t j = 0; j < n; ++j) y[base + j * inner] = x[base + j * inner] - lse;
            } else {
                const float inv = float(1.0 / s);
                for (int64_t j = 0; j < n; ++j)
                    y[base + j * inner] = std::exp(x[base + j * inner] - m) * inv;
            }
        }
    });
}

void softmax_backward(const float* grad, const float* y, int64_t outer, int64_t n, int64_t inner,
                      bool log, float* grad_x) {
    parallel_for(0, outer * inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
                 [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
            const int64_t base = (r / inner) * n * inner + r % inner;
            double s = 0.0;
            for (int64_t j = 0; j < n; ++j) {
                const int64_t i = base + j * inner;
                s += log ? double(grad[i]) : double(grad[i]) * y[i];
            }
            for (int64_t j = 0; j < n; ++j) {
                const int64_t i = base + j * inner;
                grad_x[i] = log ? grad[i] - std::exp(y[i]) * float(s) : y[i] * (grad[i] - float(s));
            }
        }
    });
}

}  // namespace pydl
