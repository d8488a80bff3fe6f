// Optimizer steps.
#include "bindings/common.h"
#include "kernels/optim.h"

namespace pydl::bind {
namespace {

using ArrayList = std::vector<py::array>;

// A writable C-contiguous float32 array of `size` elements, or TypeError/ValueError; another
// dtype goes to the reference (Note [Reference fallback]).
float* writable_f32(const py::array& a, const char* what, int64_t size) {
    if (dtype_of(a) != DType::Float32)
        throw NeedsReference(str_cat("optimizer step: a ", what, " has dtype ", dtype_name(a)));
    PYDL_CHECK((a.flags() & py::array::c_style) && a.writeable(), TypeError,
               "optimizer step: every ", what, " must be a writable C-contiguous float32 array");
    PYDL_CHECK(a.size() == size, ValueError, "optimizer step: a ", what, " has ", a.size(),
               " elements, its parameter ", size);
    return static_cast<float*>(const_cast<void*>(a.data()));
}

// Parameters, one gradient each (none at all only with grads_optional, for Lookahead),
// and up to three state lists (empty: unused), checked and paired up.
std::vector<ParamSlot> slots_of(const ArrayList& params, const ArrayList& grads,
                                std::initializer_list<const ArrayList*> states,
                                bool grads_optional = false) {
    PYDL_CHECK(grads.size() == params.size() || (grads_optional && grads.empty()), ValueError,
               "optimizer step: ", params.size(), " params but ", grads.size(), " grads");
    for (const ArrayList* st : states)
        PYDL_CHECK(st->empty() || st->size() == params.size(), ValueError,
                   "optimizer step: ", params.size(), " params but ", st->size(), " state tensors");
    std::vector<ParamSlot> slots;
    for (size_t i = 0; i < params.size(); ++i) {
        ParamSlot s{};
        s.size = params[i].size();
        s.param = writable_f32(params[i], "parameter", s.size);
        s.grad = grads.empty() ? nullptr : writable_f32(grads[i], "gradient", s.size);
        int k = 0;
        for (const ArrayList* st : states) {
            s.state[k++] = st->empty() ? nullptr : writable_f32((*st)[i], "state buffer", s.size);
        }
        slots.push_back(s);
    }
    return slots;
}

// The elements of all the parameters: an optimizer step's cost (Note [GIL]).
double total_size(const std::vector<ParamSlot>& slots) {
    double n = 0;
    for (const ParamSlot& s : slots) n += double(s.size);
    return n;
}

void require_states(const char* fn, size_t params, std::initializer_list<const ArrayList*> states) {
    for (const ArrayList* st : states)
        PYDL_CHECK(params == 0 || !st->empty(), ValueError, fn, " needs every state list");
}

}  // namespace

void bind_optim(KernelModule& m) {
    m.def(
        "sgd_step",
        [](const ArrayList& params, const ArrayList& grads, const ArrayList& bufs, double lr,
           double momentum, double dampening, bool nesterov, double weight_decay, bool maximize,
           bool first_step) {
            const ArrayList none;
            auto slots = slots_of(params, grads, {momentum != 0 ? &bufs : &none});
            if (momentum != 0) require_states("sgd_step with momentum", params.size(), {&bufs});
            ReleaseGil nogil(cost_elements(5.0 * total_size(slots)));
            SgdParams o;
            o.lr = float(lr), o.momentum = float(momentum), o.dampening = float(dampening);
            o.weight_decay = float(weight_decay), o.nesterov = nesterov, o.maximize = maximize;
            o.first_step = first_step;
            sgd_step(slots, o);
        },
        py::arg("params"), py::arg("grads"), py::arg("bufs"), py::arg("lr"), py::arg("momentum"),
        py::arg("dampening"), py::arg("nesterov"), py::arg("weight_decay"), py::arg("maximize"),
        py::arg("first_step"));
    m.def(
        "adam_step",
        [](const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
           const ArrayList& exp_avg_sqs, const ArrayList& max_exp_avg_sqs, int64_t step, double lr,
           double beta1, double beta2, double eps, double weight_decay, bool decoupled,
           bool amsgrad, bool maximize, bool bias_correction) {
            PYDL_CHECK(step >= 1, ValueError, "adam_step: step must be >= 1, got ", step);
            auto slots = slots_of(params, grads, {&exp_avgs, &exp_avg_sqs, &max_exp_avg_sqs});
            require_states("adam_step", params.size(), {&exp_avgs, &exp_avg_sqs});
            if (amsgrad)
                require_states("adam_step with amsgrad", params.size(), {&max_exp_avg_sqs});
            ReleaseGil nogil(cost_elements(7.0 * total_size(slots)));
            AdamParams o;
            o.lr = float(lr), o.beta1 = float(beta1), o.beta2 = float(beta2);
            o.eps = float(eps), o.weight_decay = float(weight_decay), o.step = step;
            o.amsgrad = amsgrad, o.maximize = maximize, o.decoupled = decoupled;
            o.bias_correction = bias_correction;
            adam_step(slots, o);
        },
        py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"),
        py::arg("max_exp_avg_sqs"), py::arg("step"), py::arg("lr"), py::arg("beta1"),
        py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"), py::arg("decoupled"),
        py::arg("amsgrad"), py::arg("maximize"), py::arg("bias_correction") = true);
    m.def(
        "adagrad_step",
        [](const ArrayList& params, const ArrayList& grads, const ArrayList& sums, double clr,
           double weight_decay, double eps, bool maximize) {
            auto slots = slots_of(params, grads, {&sums});
            require_states("adagrad_step", params.size(), {&sums});
            ReleaseGil nogil(cost_elements(5.0 * total_size(slots)));
            AdagradParams o;
            o.clr = float(clr), o.weight_decay = float(weight_decay), o.eps = float(eps);
            o.maximize = maximize;
            adagrad_step(slots, o);
        },
        py::arg("params"), py::arg("grads"), py::arg("sums"), py::arg("clr"),
        py::arg("weight_decay"), py::arg("eps"), py::arg("maximize"));
    m.def(
        "rmsprop_step",
        [](const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs,
           const ArrayList& momentum_buffers, const ArrayList& grad_avgs, double lr, double alpha,
           double eps, double weight_decay, double momentum, bool centered, bool maximize,
           bool eps_in_sqrt) {
            auto slots = slots_of(params, grads, {&square_avgs, &momentum_buffers, &grad_avgs});
            require_states("rmsprop_step", params.size(), {&square_avgs});
            if (momentum > 0)
                require_states("rmsprop_step with momentum", params.size(), {&momentum_buffers});
            if (centered) require_states("rmsprop_step centered", params.size(), {&grad_avgs});
            ReleaseGil nogil(cost_elements(7.0 * total_size(slots)));
            RmspropParams o;
            o.lr = float(lr), o.alpha = float(alpha), o.eps = float(eps);
            o.weight_decay = float(weight_decay), o.momentum = float(momentum);
            o.centered = centered, o.maximize = maximize, o.eps_in_sqrt = eps_in_sqrt;
            rmsprop_step(slots, o);
        },
        py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("momentum_buffers"),
        py::arg("grad_avgs"), py::arg("lr"), py::arg("alpha"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("momentum"), py::arg("centered"), py::arg("maximize"),
        py::arg("eps_in_sqrt") = false);
    m.def(
        "adadelta_step",
        [](const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs,
           const ArrayList& acc_deltas, double lr, double rho, double eps, double weight_decay,
           bool maximize) {
            auto slots = slots_of(params, grads, {&square_avgs, &acc_deltas});
            require_states("adadelta_step", params.size(), {&square_avgs, &acc_deltas});
            ReleaseGil nogil(cost_elements(7.0 * total_size(slots)));
            AdadeltaParams o;
            o.lr = float(lr), o.rho = float(rho), o.eps = float(eps);
            o.weight_decay = float(weight_decay), o.maximize = maximize;
            adadelta_step(slots, o);
        },
        py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("acc_deltas"),
        py::arg("lr"), py::arg("rho"), py::arg("eps"), py::arg("weight_decay"),
        py::arg("maximize"));
    m.def(
        "nadam_step",
        [](const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
           const ArrayList& exp_avg_sqs, double beta1, double beta2, double bias_correction2,
           double coef_grad, double coef_avg, double eps, double weight_decay, bool decoupled,
           double lr, bool maximize) {
            auto slots = slots_of(params, grads, {&exp_avgs, &exp_avg_sqs});
            require_states("nadam_step", params.size(), {&exp_avgs, &exp_avg_sqs});
            ReleaseGil nogil(cost_elements(7.0 * total_size(slots)));
            NadamParams o;
            o.lr = float(lr), o.beta1 = float(beta1), o.beta2 = float(beta2);
            o.eps = float(eps), o.weight_decay = float(weight_decay);
            o.bias_correction2 = float(bias_correction2), o.coef_grad = float(coef_grad);
            o.coef_avg = float(coef_avg), o.decoupled = decoupled, o.maximize = maximize;
            nadam_step(slots, o);
        },
        py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"),
        py::arg("beta1"), py::arg("beta2"), py::arg("bias_correction2"), py::arg("coef_grad"),
        py::arg("coef_avg"), py::arg("eps"), py::arg("weight_decay"), py::arg("decoupled"),
        py::arg("lr"), py::arg("maximize"));
    m.def(
        "lion_step",
        [](const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs, double lr,
           double beta1, double beta2, double weight_decay, bool maximize) {
            auto slots = slots_of(params, grads, {&exp_avgs});
            require_states("lion_step", params.size(), {&exp_avgs});
            ReleaseGil nogil(cost_elements(5.0 * total_size(slots)));
            LionParams o;
            o.lr = float(lr), o.beta1 = float(beta1), o.beta2 = float(beta2);
            o.weight_decay = float(weight_decay), o.maximize = maximize;
            lion_step(slots, o);
        },
        py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("lr"), py::arg("beta1"),
        py::arg("beta2"), py::arg("weight_decay"), py::arg("maximize"));
    m.def(
        "lamb_step",
        [](const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
           const ArrayList& exp_avg_sqs, int64_t step, double lr, double beta1, double beta2,
           double eps, double weight_decay, bool bias_correction, bool maximize) {
            PYDL_CHECK(step >= 1, ValueError, "lamb_step: step must be >= 1, got ", step);
            auto slots = slots_of(params, grads, {&exp_avgs, &exp_avg_sqs});
            require_states("lamb_step", params.size(), {&exp_avgs, &exp_avg_sqs});
            ReleaseGil nogil(cost_elements(9.0 * total_size(slots)));
            LambParams o;
            o.lr = float(lr), o.beta1 = float(beta1), o.beta2 = float(beta2);
            o.eps = float(eps), o.weight_decay = float(weight_decay), o.step = step;
            o.bias_correction = bias_correction, o.maximize = maximize;
            lamb_step(slots, o);
        },
        py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"),
        py::arg("step"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("bias_correction"), py::arg("maximize"));
    m.def(
        "lookahead_step",
        [](const ArrayList& fast, const ArrayList& slow, double alpha) {
            auto slots = slots_of(fast, {}, {&slow}, /*grads_optional=*/true);
            require_states("lookahead_step", fast.size(), {&slow});
            ReleaseGil nogil(cost_elements(3.0 * total_size(slots)));
            lookahead_step(slots, float(alpha));
        },
        py::arg("fast"), py::arg("slow"), py::arg("alpha"));
    m.def(
        "adafactor_step",
        [](py::array param, const py::array& grad, py::object row_var, py::object col_var,
           py::object variance, int64_t step, double lr, double beta2_decay, double eps1,
           double eps2, double d, double weight_decay, bool maximize, bool relative_step) {
            PYDL_CHECK(step >= 1, ValueError, "adafactor_step: step must be >= 1, got ", step);
            const int64_t n = param.size();
            float* p = writable_f32(param, "parameter", n);
            const float* g = writable_f32(grad, "gradient", n);
            const bool factored = param.ndim() >= 2;
            int64_t rows = 1, cols = n, batch = 1;
            float* rv = nullptr;
            float* cv = nullptr;
            float* var = nullptr;
            if (factored) {
                rows = param.shape(param.ndim() - 2);
                cols = param.shape(param.ndim() - 1);
                batch = rows * cols ? n / (rows * cols) : 0;
                rv = writable_f32(row_var.cast<py::array>(), "row_var", batch * rows);
                cv = writable_f32(col_var.cast<py::array>(), "col_var", batch * cols);
            } else {
                var = writable_f32(variance.cast<py::array>(), "variance", n);
            }
            ReleaseGil nogil(cost_elements(6.0 * double(n)));
            const AdafactorSlot slot{p, g, batch, rows, cols, factored, rv, cv, var};
            AdafactorParams o;
            o.lr = float(lr), o.beta2_decay = float(beta2_decay), o.eps1 = float(eps1);
            o.eps2 = float(eps2), o.d = float(d), o.weight_decay = float(weight_decay);
            o.step = step, o.maximize = maximize, o.relative_step = relative_step;
            adafactor_step(slot, o);
        },
        py::arg("param"), py::arg("grad"), py::arg("row_var"), py::arg("col_var"),
        py::arg("variance"), py::arg("step"), py::arg("lr"), py::arg("beta2_decay"),
        py::arg("eps1"), py::arg("eps2"), py::arg("d"), py::arg("weight_decay"),
        py::arg("maximize"), py::arg("relative_step") = true);
}

}  // namespace pydl::bind
