// The C++ core without Python: a 2-8-1 tanh/sigmoid MLP learns XOR using only
// pydl's kernels (linear, activations, optimizer step) on plain arrays.
// Build: cmake -B build/cpp -G Ninja -DPYDL_BUILD_EXAMPLES=ON && ninja -C build/cpp
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/rng.h"
#include "kernels/activation.h"
#include "kernels/linear.h"
#include "kernels/optim.h"

int main() {
    using namespace pydl;
    const int n = 4, hidden = 8;
    const float x[n * 2] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float y[n] = {0, 1, 1, 0};
    std::vector<float> w1(hidden * 2), b1(hidden, 0.0f), w2(hidden), b2(1, 0.0f);
    normal_fill(w1.data(), w1.size(), 0.0f, 1.0f, 7, 0);
    normal_fill(w2.data(), w2.size(), 0.0f, 1.0f, 7, 2 * w1.size());
    std::vector<float> z1(n * hidden), h(n * hidden), z2(n), p(n), gp(n), gz2(n), gh(n * hidden),
        gz1(n * hidden), gw1(w1.size()), gb1(hidden), gw2(w2.size()), gb2(1), gx(n * 2);
    std::vector<float> m[4], v[4];
    std::vector<float>* params[4] = {&w1, &b1, &w2, &b2};
    std::vector<float>* grads[4] = {&gw1, &gb1, &gw2, &gb2};
    for (int i = 0; i < 4; ++i)
        m[i].assign(params[i]->size(), 0.0f), v[i].assign(params[i]->size(), 0.0f);
    float loss = 0.0f;
    for (int step = 1; step <= 500; ++step) {
        linear_forward(x, w1.data(), b1.data(), n, 2, hidden, z1.data());
        unary_forward(UnaryOp::Tanh, z1.data(), h.data(), z1.size());
        linear_forward(h.data(), w2.data(), b2.data(), n, hidden, 1, z2.data());
        unary_forward(UnaryOp::Sigmoid, z2.data(), p.data(), n);
        loss = 0.0f;
        for (int i = 0; i < n; ++i) {  // mean squared error
            loss += (p[i] - y[i]) * (p[i] - y[i]) / n;
            gp[i] = 2.0f * (p[i] - y[i]) / n;
        }
        unary_backward(UnaryOp::Sigmoid, gp.data(), z2.data(), p.data(), gz2.data(), n);
        linear_backward(gz2.data(), h.data(), w2.data(), n, hidden, 1, gh.data(), gw2.data(),
                        gb2.data());
        unary_backward(UnaryOp::Tanh, gh.data(), z1.data(), h.data(), gz1.data(), gz1.size());
        linear_backward(gz1.data(), x, w1.data(), n, 2, hidden, gx.data(), gw1.data(), gb1.data());
        std::vector<ParamSlot> slots;
        for (int i = 0; i < 4; ++i)
            slots.push_back({params[i]->data(),
                             grads[i]->data(),
                             {m[i].data(), v[i].data(), nullptr},
                             int64_t(params[i]->size())});
        AdamParams adam;  // torch.optim.Adam's defaults but the rate
        adam.lr = 0.05f;
        adam.step = step;
        adam_step(slots, adam);
    }
    int correct = 0;
    for (int i = 0; i < n; ++i) correct += (p[i] > 0.5f) == (y[i] > 0.5f);
    std::printf("xor: loss %.5f, %d/4 correct\n", loss, correct);
    return correct == 4 ? 0 : 1;
}
