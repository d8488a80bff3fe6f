"""Cross-entropy (integer labels or probabilities) and NLL on (N, C) inputs."""

import numpy as np


def _check_labels(target, c, ignore_index):
    bad = (target != ignore_index) & ((target < 0) | (target >= c))
    if bad.any():
        i = int(np.argmax(bad))
        raise IndexError(f"target {int(target[i])} is out of bounds for {c} classes (sample {i})")


def _reduce_loss(per, count, reduction, dtype):
    if reduction == "none":
        return np.asarray(per, dtype=dtype, order="C")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")
    s = per.sum()
    return np.asarray(s / count if reduction == "mean" else s, dtype=dtype)


def _sample_grad(grad, reduction, count, n):
    if reduction == "none":
        return grad.reshape(n, 1)
    return np.full((n, 1), grad.reshape(()) / count if reduction == "mean" else grad.reshape(()))


def _check(x, target):
    if x.ndim != 2:
        raise ValueError(f"expected (N, C) input; got {x.shape}")
    if target.dtype.kind == "f":
        if target.shape != x.shape:
            raise ValueError(f"probability target {target.shape} must match input {x.shape}")
    elif target.shape != (x.shape[0],):
        raise ValueError(f"target {target.shape} must be (N,) for input {x.shape}")


def cross_entropy_forward(x, target, reduction, ignore_index):
    """loss_n = lse(x_n) - x_n[t_n]; soft targets: sum_c t_nc (lse(x_n) - x_nc).
    Returns (loss, lse)."""
    _check(x, target)
    m = x.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
    if target.dtype.kind == "f":
        per = (target * (lse[:, None] - x)).sum(axis=1)
        return _reduce_loss(per, x.shape[0], reduction, x.dtype), lse.astype(x.dtype)
    _check_labels(target, x.shape[1], ignore_index)
    keep = target != ignore_index
    picked = x[np.arange(x.shape[0]), np.where(keep, target, 0)]
    per = np.where(keep, lse - picked, 0)
    return _reduce_loss(per, keep.sum(), reduction, x.dtype), lse.astype(x.dtype)


def cross_entropy_backward(grad, x, target, lse, reduction, ignore_index):
    """d loss_n / d x_n = softmax(x_n) - onehot(t_n)  (soft: softmax * sum(t) - t)"""
    _check(x, target)
    p = np.exp(x - lse[:, None])
    n = x.shape[0]
    if target.dtype.kind == "f":
        g = _sample_grad(grad, reduction, n, n)
        return np.asarray(
            g * (p * target.sum(axis=1, keepdims=True) - target), dtype=x.dtype, order="C"
        )
    _check_labels(target, x.shape[1], ignore_index)
    keep = target != ignore_index
    onehot = np.zeros_like(p)
    onehot[np.arange(n)[keep], target[keep]] = 1
    g = _sample_grad(grad, reduction, keep.sum(), n) * keep[:, None]
    return np.asarray(g * (p - onehot), dtype=x.dtype, order="C")


def nll_loss_forward(logp, target, reduction, ignore_index):
    """loss_n = -logp[n, t_n]"""
    _check(logp, target)
    _check_labels(target, logp.shape[1], ignore_index)
    keep = target != ignore_index
    per = np.where(keep, -logp[np.arange(logp.shape[0]), np.where(keep, target, 0)], 0)
    return _reduce_loss(per, keep.sum(), reduction, logp.dtype)


def nll_loss_backward(grad, logp, target, reduction, ignore_index):
    """d loss_n / d logp[n, t_n] = -1"""
    _check(logp, target)
    _check_labels(target, logp.shape[1], ignore_index)
    n = logp.shape[0]
    keep = target != ignore_index
    g = np.zeros_like(logp)
    gs = _sample_grad(grad, reduction, keep.sum(), n)[:, 0]
    g[np.arange(n)[keep], target[keep]] = -gs[keep]
    return g
