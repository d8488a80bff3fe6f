"""Optimizer steps over lists of arrays, updated in place (PyTorch's definitions)."""

import numpy as np

__all__ = ["sgd_step", "adam_step"]


def sgd_step(params, grads, bufs, lr, momentum, dampening, nesterov, weight_decay, maximize,
             first_step):
    """g = +-grad + wd p; buf = g (first) or mu buf + (1 - dampening) g;
    g = g + mu buf (nesterov) or buf; p -= lr g"""
    for i, (p, g) in enumerate(zip(params, grads)):
        g = (-g if maximize else g) + weight_decay * p
        if momentum != 0:
            b = bufs[i]
            b[...] = g if first_step else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p -= (lr * g).astype(p.dtype)


def adam_step(params, grads, exp_avgs, exp_avg_sqs, step, lr, beta1, beta2, eps, weight_decay,
              maximize):
    """m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)"""
    if step < 1:
        raise ValueError(f"adam_step: step must be >= 1, got {step}")
    bc1 = 1 - beta1 ** step
    bc2 = 1 - beta2 ** step
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        g = (-g if maximize else g) + weight_decay * p
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * g * g
        p -= (lr / bc1 * m / (np.sqrt(v) / np.sqrt(bc2) + eps)).astype(p.dtype)
