"""Cross-entropy (integer labels or probabilities) and NLL on (N, C) inputs, with optional
class weights w (None: all ones) and label smoothing e (Note [Label smoothing] in
cpp/kernels/softmax_loss.h)."""

import numpy as np


def _check_labels(target, c, ignore_index):
    bad = (target != ignore_index) & ((target < 0) | (target >= c))
    if bad.any():
        i = int(np.argmax(bad))
        raise IndexError(f"target {int(target[i])} is out of bounds for {c} classes (sample {i})")


def _reduce_loss(per, denom, reduction, dtype):
    if reduction == "none":
        return np.asarray(per, dtype=dtype, order="C")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")
    s = per.sum()
    with np.errstate(divide="ignore", invalid="ignore"):  # nothing kept: nan, as PyTorch
        return np.asarray(s / denom if reduction == "mean" else s, dtype=dtype)


def _sample_grad(grad, reduction, denom, n):
    if reduction == "none":
        return grad.reshape(n, 1)
    g = grad.reshape(())
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.full((n, 1), g / denom if reduction == "mean" else g)


def _check(x, target, weight=None, label_smoothing=0.0):
    if x.ndim != 2:
        raise ValueError(f"expected (N, C) input; got {x.shape}")
    if target.dtype.kind == "f":
        if target.shape != x.shape:
            raise ValueError(f"probability target {target.shape} must match input {x.shape}")
    elif target.shape != (x.shape[0],):
        raise ValueError(f"target {target.shape} must be (N,) for input {x.shape}")
    if weight is not None and np.shape(weight) != (x.shape[1],):
        raise ValueError(
            f"weight of shape {np.shape(weight)} must hold one value per class ({x.shape[1]})"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0; got {label_smoothing}")


def _weights(weight, c, dtype):
    return np.ones(c, dtype) if weight is None else np.asarray(weight, dtype)


def _kept(target, ignore_index):
    keep = target != ignore_index
    return keep, np.where(keep, target, 0)


def _lse(x):
    m = x.max(axis=1, keepdims=True) if x.shape[1] else np.zeros((x.shape[0], 1), x.dtype)
    return (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]


def cross_entropy_forward(x, target, reduction, ignore_index, weight=None, label_smoothing=0.0):
    """Labels: loss_n = (1 - e) w[t_n] (lse(x_n) - x_n[t_n]) + e / C sum_c w_c (lse(x_n) - x_nc);
    probabilities: loss_n = sum_c w_c t_nc (lse(x_n) - x_nc). The mean divides by
    sum_n w[t_n] over the kept labels (probabilities: by N). Returns (loss, lse)."""
    _check(x, target, weight, label_smoothing)
    n, c = x.shape
    w = _weights(weight, c, x.dtype)
    lse = _lse(x)
    nll = lse[:, None] - x
    if target.dtype.kind == "f":
        per = (w * target * nll).sum(axis=1)
        return _reduce_loss(per, n, reduction, x.dtype), lse.astype(x.dtype)
    _check_labels(target, c, ignore_index)
    keep, t = _kept(target, ignore_index)
    per = (1 - label_smoothing) * w[t] * nll[np.arange(n), t]
    per = per + label_smoothing / c * (w * nll).sum(axis=1)
    per = np.where(keep, per, 0)
    return _reduce_loss(per, w[t][keep].sum(), reduction, x.dtype), lse.astype(x.dtype)


def cross_entropy_backward(
    grad, x, target, lse, reduction, ignore_index, weight=None, label_smoothing=0.0
):
    """Labels: d loss_n / d x_n = (1 - e) w[t_n] (p_n - onehot(t_n)) + e / C (p_n sum(w) - w);
    probabilities: p_n sum_c(w_c t_nc) - w t_n, with p_n = softmax(x_n)."""
    _check(x, target, weight, label_smoothing)
    n, c = x.shape
    w = _weights(weight, c, x.dtype)
    p = np.exp(x - lse[:, None])
    if target.dtype.kind == "f":
        wt = w * target
        g = _sample_grad(grad, reduction, n, n)
        return np.asarray(g * (p * wt.sum(axis=1, keepdims=True) - wt), dtype=x.dtype, order="C")
    _check_labels(target, c, ignore_index)
    keep, t = _kept(target, ignore_index)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), t] = 1
    a = ((1 - label_smoothing) * w[t])[:, None]
    d = a * (p - onehot) + label_smoothing / c * (p * w.sum() - w)
    g = _sample_grad(grad, reduction, w[t][keep].sum(), n) * keep[:, None]
    return np.asarray(g * d, dtype=x.dtype, order="C")


def nll_loss_forward(logp, target, reduction, ignore_index, weight=None):
    """loss_n = -w[t_n] logp[n, t_n]; the mean divides by sum_n w[t_n] over the kept labels."""
    _check(logp, target, weight)
    n, c = logp.shape
    _check_labels(target, c, ignore_index)
    w = _weights(weight, c, logp.dtype)
    keep, t = _kept(target, ignore_index)
    per = np.where(keep, -w[t] * logp[np.arange(n), t], 0)
    return _reduce_loss(per, w[t][keep].sum(), reduction, logp.dtype)


def nll_loss_backward(grad, logp, target, reduction, ignore_index, weight=None):
    """d loss_n / d logp[n, t_n] = -w[t_n]"""
    _check(logp, target, weight)
    n, c = logp.shape
    _check_labels(target, c, ignore_index)
    w = _weights(weight, c, logp.dtype)
    keep, t = _kept(target, ignore_index)
    g = np.zeros_like(logp)
    gs = _sample_grad(grad, reduction, w[t][keep].sum(), n)[:, 0]
    g[np.arange(n)[keep], t[keep]] = -(w[t] * gs)[keep]
    return g
