"""Optimizer steps over lists of arrays, updated in place (torch.optim's definitions).

Signatures match pydl._core's; the formulas are in each docstring.
"""

import numpy as np


def _g(g, maximize):
    return -g if maximize else g


def _set(dst, value):
    dst[...] = value


def sgd_step(
    params, grads, bufs, lr, momentum, dampening, nesterov, weight_decay, maximize, first_step
):
    """g = +-grad + wd p; buf = g (first) or mu buf + (1 - dampening) g;
    g = g + mu buf (nesterov) or buf; p -= lr g"""
    for i, (p, g) in enumerate(zip(params, grads)):
        g = _g(g, maximize) + weight_decay * p
        if momentum != 0:
            b = bufs[i]
            _set(b, g if first_step else momentum * b + (1 - dampening) * g)
            g = g + momentum * b if nesterov else b
        _set(p, p - lr * g)


def adam_step(
    params,
    grads,
    exp_avgs,
    exp_avg_sqs,
    max_exp_avg_sqs,
    step,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay,
    decoupled,
    amsgrad,
    maximize,
    bias_correction=True,
):
    """AdamW: p *= 1 - lr wd (decoupled), else g += wd p; m = b1 m + (1 - b1) g;
    v = b2 v + (1 - b2) g^2; v_max = max(v_max, v) (amsgrad);
    p -= lr / (1 - b1^t) * m / (sqrt(v or v_max) / sqrt(1 - b2^t) + eps), or without the
    two (1 - b^t) factors when not bias_correction"""
    if step < 1:
        raise ValueError(f"adam_step: step must be >= 1, got {step}")
    bc1, bc2 = (1 - beta1**step, 1 - beta2**step) if bias_correction else (1.0, 1.0)
    for i, (p, g) in enumerate(zip(params, grads)):
        if decoupled:
            _set(p, p * (1 - lr * weight_decay))
            g = _g(g, maximize)
        else:
            g = _g(g, maximize) + weight_decay * p
        m, v = exp_avgs[i], exp_avg_sqs[i]
        _set(m, beta1 * m + (1 - beta1) * g)
        _set(v, beta2 * v + (1 - beta2) * g * g)
        denom_v = v
        if amsgrad:
            _set(max_exp_avg_sqs[i], np.maximum(max_exp_avg_sqs[i], v))
            denom_v = max_exp_avg_sqs[i]
        _set(p, p - lr / bc1 * m / (np.sqrt(denom_v) / np.sqrt(bc2) + eps))


def adagrad_step(params, grads, sums, clr, weight_decay, eps, maximize):
    """g += wd p; sum += g^2; p -= clr g / (sqrt(sum) + eps)"""
    for p, g, s in zip(params, grads, sums):
        g = _g(g, maximize) + weight_decay * p
        _set(s, s + g * g)
        _set(p, p - clr * g / (np.sqrt(s) + eps))


def rmsprop_step(
    params,
    grads,
    square_avgs,
    momentum_buffers,
    grad_avgs,
    lr,
    alpha,
    eps,
    weight_decay,
    momentum,
    centered,
    maximize,
    eps_in_sqrt=False,
):
    """sq = a sq + (1 - a) g^2; avg = sqrt(sq - ga^2) + eps (centered, ga = a ga + (1 - a) g)
    or sqrt(sq) + eps, with eps under the root when eps_in_sqrt;
    buf = mu buf + g / avg, p -= lr buf (momentum) or p -= lr g / avg"""
    for i, (p, g) in enumerate(zip(params, grads)):
        g = _g(g, maximize) + weight_decay * p
        sq = square_avgs[i]
        _set(sq, alpha * sq + (1 - alpha) * g * g)
        var = sq
        if centered:
            ga = grad_avgs[i]
            _set(ga, alpha * ga + (1 - alpha) * g)
            var = sq - ga * ga
        avg = np.sqrt(var + eps) if eps_in_sqrt else np.sqrt(var) + eps
        if momentum > 0:
            buf = momentum_buffers[i]
            _set(buf, momentum * buf + g / avg)
            _set(p, p - lr * buf)
        else:
            _set(p, p - lr * g / avg)


def adadelta_step(params, grads, square_avgs, acc_deltas, lr, rho, eps, weight_decay, maximize):
    """sq = rho sq + (1 - rho) g^2; delta = sqrt(acc + eps) / sqrt(sq + eps) g;
    acc = rho acc + (1 - rho) delta^2; p -= lr delta"""
    for p, g, sq, acc in zip(params, grads, square_avgs, acc_deltas):
        g = _g(g, maximize) + weight_decay * p
        _set(sq, rho * sq + (1 - rho) * g * g)
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
        _set(acc, rho * acc + (1 - rho) * delta * delta)
        _set(p, p - lr * delta)


def nadam_step(
    params,
    grads,
    exp_avgs,
    exp_avg_sqs,
    beta1,
    beta2,
    bias_correction2,
    coef_grad,
    coef_avg,
    eps,
    weight_decay,
    decoupled,
    lr,
    maximize,
):
    """m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; d = sqrt(v / bc2) + eps;
    p -= coef_grad g / d + coef_avg m / d (coefficients from the caller's momentum schedule)"""
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        if decoupled:
            _set(p, p * (1 - lr * weight_decay))
            g = _g(g, maximize)
        else:
            g = _g(g, maximize) + weight_decay * p
        _set(m, beta1 * m + (1 - beta1) * g)
        _set(v, beta2 * v + (1 - beta2) * g * g)
        denom = np.sqrt(v / bias_correction2) + eps
        _set(p, p - coef_grad * g / denom - coef_avg * m / denom)


def lion_step(params, grads, exp_avgs, lr, beta1, beta2, weight_decay, maximize):
    """c = b1 m + (1 - b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1 - b2) g"""
    for p, g, m in zip(params, grads, exp_avgs):
        g = _g(g, maximize)
        c = beta1 * m + (1 - beta1) * g
        _set(p, p - lr * (np.sign(c) + weight_decay * p))
        _set(m, beta2 * m + (1 - beta2) * g)


def lamb_step(
    params,
    grads,
    exp_avgs,
    exp_avg_sqs,
    step,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay,
    bias_correction,
    maximize,
):
    """m, v as Adam; u = m^ / (sqrt(v^) + eps) + wd p (m^ = m / (1 - b1^t) when
    bias_correction); r = ||p|| / ||u|| (1 if either is 0); p -= lr r u"""
    if step < 1:
        raise ValueError(f"lamb_step: step must be >= 1, got {step}")
    bc1 = 1 - beta1**step if bias_correction else 1.0
    bc2 = 1 - beta2**step if bias_correction else 1.0
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        g = _g(g, maximize)
        _set(m, beta1 * m + (1 - beta1) * g)
        _set(v, beta2 * v + (1 - beta2) * g * g)
        u = (m / bc1) / (np.sqrt(v / bc2) + eps) + weight_decay * p
        pn, un = np.linalg.norm(p), np.linalg.norm(u)
        r = pn / un if pn > 0 and un > 0 else 1.0
        _set(p, p - lr * r * u)


def lookahead_step(fast, slow, alpha):
    """slow += alpha (fast - slow); fast = slow"""
    for f, s in zip(fast, slow):
        _set(s, s + alpha * (f - s))
        _set(f, s)


def adafactor_step(
    param,
    grad,
    row_var,
    col_var,
    variance,
    step,
    lr,
    beta2_decay,
    eps1,
    eps2,
    d,
    weight_decay,
    maximize,
    relative_step=True,
):
    """torch.optim.Adafactor: beta2_t = 1 - t^decay; rho = min(lr, 1/sqrt t);
    alpha = max(eps2, RMS(p)) rho (relative_step) or lr (the spec's fixed step);
    p *= 1 - lr wd; factored (rank >= 2): row/col means of g^2 averaged into R, C and
    V = R C / mean(R), else V averages g^2; U = g / sqrt(max(V, eps1^2));
    p -= alpha U / max(1, RMS(U) / d)"""
    if step < 1:
        raise ValueError(f"adafactor_step: step must be >= 1, got {step}")
    g = _g(grad, maximize)
    one_minus_beta2 = step**beta2_decay
    rho = min(lr, 1 / np.sqrt(step))
    alpha = max(eps2, np.linalg.norm(param) / np.sqrt(param.size)) * rho if relative_step else lr
    if weight_decay != 0:
        _set(param, param * (1 - lr * weight_decay))
    if param.ndim >= 2:
        rows, cols = param.shape[-2:]
        g3 = g.reshape(-1, rows, cols)
        rv, cv = row_var.reshape(-1, rows), col_var.reshape(-1, cols)
        _set(rv, rv + one_minus_beta2 * ((g3 * g3).mean(axis=2) - rv))
        _set(cv, cv + one_minus_beta2 * ((g3 * g3).mean(axis=1) - cv))
        est = rv[:, :, None] * cv[:, None, :] / np.maximum(rv.mean(axis=1), eps1)[:, None, None]
        u = g3 / np.sqrt(np.maximum(est, eps1 * eps1))
        u = u.reshape(param.shape)
    else:
        _set(variance, variance + one_minus_beta2 * (g * g - variance))
        u = g / np.sqrt(np.maximum(variance, eps1 * eps1))
    denom = max(1.0, np.linalg.norm(u) / (np.sqrt(u.size) * d))
    _set(param, param - alpha / denom * u)
