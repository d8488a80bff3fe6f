"""Losses beyond softmax_loss: the elementwise losses (l1, smooth_l1, huber, soft_margin,
poisson_nll, hinge_embedding) and CTC.

NumPy twins of cpp/kernels/loss (Note [Elementwise losses], Note [CTC] in loss.h)."""

import numpy as np

_KINDS = ("l1", "smooth_l1", "huber", "soft_margin", "poisson_nll_log", "poisson_nll")
_KINDS += ("hinge_embedding",)


def _check(x, y, kind, what="target"):
    if x.shape != y.shape:
        raise ValueError(f"{what} of shape {y.shape} must match input of shape {x.shape}")
    if kind not in _KINDS:
        raise ValueError(f"unknown elementwise loss {kind!r}")


def _stirling(y):
    """y log y - y + log(2 pi y) / 2 where y > 1, else 0; and its derivative log y + 1/(2y)."""
    big = y > 1
    ys = np.where(big, y, 2.0)
    value = np.where(big, ys * np.log(ys) - ys + 0.5 * np.log(2 * np.pi * ys), 0)
    return value, np.where(big, np.log(ys) + 0.5 / ys, 0)


def elementwise_loss_forward(input, target, kind, param, full):
    """loss_i = f(x_i, y_i), d = x - y:
    l1 |d|; smooth_l1 (beta b) |d| < b ? d^2 / (2b) : |d| - b/2; huber (delta a)
    |d| < a ? d^2 / 2 : a (|d| - a/2); soft_margin log(1 + exp(-y x)); poisson_nll_log
    exp(x) - y x; poisson_nll (eps) x - y log(x + eps); hinge_embedding (margin a)
    [y != 1] max(0, a - x) + [y != -1] x. full: + the Stirling term of y (Poisson)."""
    x, y = input, target
    _check(x, y, kind)
    d = x - y
    a = np.abs(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "l1":
            out = a
        elif kind == "smooth_l1":
            out = np.where(a < param, 0.5 * d * d / (param if param else 1), a - 0.5 * param)
        elif kind == "huber":
            out = np.where(a < param, 0.5 * d * d, param * (a - 0.5 * param))
        elif kind == "soft_margin":
            out = np.logaddexp(0, -y * x)
        elif kind == "hinge_embedding":
            out = np.where(y != 1, np.maximum(0, param - x), 0) + np.where(y != -1, x, 0)
        else:
            out = np.exp(x) - y * x if kind == "poisson_nll_log" else x - y * np.log(x + param)
            if full:
                out = out + _stirling(y)[0]
    return np.asarray(out, dtype=x.dtype, order="C")


def elementwise_loss_backward(grad, input, target, kind, param, full, need_input, need_target):
    """(grad dloss/dx, grad dloss/dy): l1 sign(d), -sign(d); smooth_l1 d/b or sign(d);
    huber d or a sign(d); soft_margin -y s, -x s with s = sigmoid(-y x); poisson_nll_log
    exp(x) - y, -x; poisson_nll 1 - y / (x + eps), -log(x + eps); hinge_embedding
    -[y != 1][a - x > 0] + [y != -1], no dy; the Stirling term adds log y + 1/(2y)."""
    x, y = input, target
    _check(x, y, kind)
    _check(x, grad, kind, "grad")
    d = x - y
    a = np.abs(d)
    gy = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind in ("l1", "smooth_l1", "huber"):
            s = np.sign(d)
            if kind == "smooth_l1":
                s = np.where(a < param, d / (param if param else 1), s)
            elif kind == "huber":
                s = np.where(a < param, d, param * s)
            gx, gy = s, -s
        elif kind == "soft_margin":
            s = -1 / (1 + np.exp(y * x))
            gx, gy = y * s, x * s
        elif kind == "hinge_embedding":
            gx = np.where((y != 1) & (param - x > 0), -1.0, 0.0) + np.where(y != -1, 1.0, 0.0)
            gy = np.zeros_like(x)
        else:
            if kind == "poisson_nll_log":
                gx, gy = np.exp(x) - y, -x
            else:
                gx, gy = 1 - y / (x + param), -np.log(x + param)
            if full:
                gy = gy + _stirling(y)[1]

    def out(need, g):
        return np.asarray(grad * g, dtype=x.dtype, order="C") if need else None

    return out(need_input, gx), out(need_target, gy)


def _ctc_args(log_probs, targets, input_lengths, target_lengths, blank):
    """Per sample: (T_n, labels), checked as the core's binding checks them."""
    if log_probs.ndim != 3:
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C); got {log_probs.shape}")
    t_max, n, c = log_probs.shape
    if not 0 <= blank < c:
        raise IndexError(f"ctc_loss: blank {blank} is out of bounds for {c} classes")
    targets = np.asarray(targets)
    il, tl = np.asarray(input_lengths), np.asarray(target_lengths)
    for name, v in (("input_lengths", il), ("target_lengths", tl)):
        if v.shape != (n,):
            raise ValueError(f"ctc_loss: {name} must hold {n} values; got shape {v.shape}")
    padded = targets.ndim == 2
    if not (targets.ndim == 1 or (padded and targets.shape[0] == n)):
        raise ValueError(
            f"ctc_loss: targets must be (N, S) or 1-D (the targets concatenated); got "
            f"{targets.shape} for a batch of {n}"
        )
    samples, nxt = [], 0
    for i in range(n):
        if not 0 <= il[i] <= t_max:
            raise ValueError(
                f"ctc_loss: input_lengths[{i}] = {il[i]} must lie in [0, {t_max}] (the time "
                f"steps of log_probs)"
            )
        room = targets.shape[1] if padded else targets.shape[0] - nxt
        if not 0 <= tl[i] <= room:
            raise ValueError(
                f"ctc_loss: target_lengths[{i}] = {tl[i]} must lie in [0, {room}] (the targets "
                f"left for it)"
            )
        labels = targets[i, : tl[i]] if padded else targets[nxt : nxt + tl[i]]
        nxt += 0 if padded else int(tl[i])
        bad = (labels < 0) | (labels >= c) | (labels == blank)
        if bad.any():
            raise IndexError(
                f"ctc_loss: target {labels[bad][0]} (sample {i}) is out of bounds for {c} "
                f"classes or is the blank {blank}"
            )
        samples.append((int(il[i]), labels.astype(np.int64)))
    return samples


def _ctc_alpha(lp, steps, labels, blank):
    """log alpha (steps, 2L + 1) of one sample (lp: its (T, C) log-probabilities) and nll."""
    ext = np.full(2 * len(labels) + 1, blank)
    ext[1::2] = labels
    s_n = len(ext)
    skip = np.zeros(s_n, bool)
    skip[3::2] = labels[1:] != labels[:-1]
    alpha = np.full((steps, s_n), -np.inf)
    if steps == 0:
        return alpha, ext, skip, (0.0 if s_n == 1 else np.inf)
    alpha[0, :2] = lp[0, ext[:2]]
    for t in range(1, steps):
        prev = alpha[t - 1]
        a = prev.copy()
        a[1:] = np.logaddexp(a[1:], prev[:-1])
        a[2:] = np.where(skip[2:], np.logaddexp(a[2:], prev[:-2]), a[2:])
        alpha[t] = a + lp[t, ext]
    return alpha, ext, skip, -np.logaddexp.reduce(alpha[-1, -2:])


def ctc_loss_forward(log_probs, targets, input_lengths, target_lengths, blank):
    """nll_n = -log sum over the alignments of sample n's labels (blanks between, repeats
    merged) in its first input_lengths[n] steps of prod_t y_t(a_t); alpha recursion:
    alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) + [l'(s) != l'(s-2)] alpha_{t-1}(s-2))
    y_t(l'(s)) over the extended labels l' = (blank, l_1, blank, ..., l_L, blank)."""
    samples = _ctc_args(log_probs, targets, input_lengths, target_lengths, blank)
    lp = log_probs.astype(np.float64)
    nll = [
        _ctc_alpha(lp[:, i], steps, labels, blank)[3] for i, (steps, labels) in enumerate(samples)
    ]
    return np.asarray(nll, dtype=log_probs.dtype).reshape(len(samples))


def ctc_loss_backward(
    grad, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity
):
    """d nll / d log y_t(k) = -sum_{s: l'(s) = k} alpha_t(s) beta_t(s) / (y_t(k) p), beta the
    same recursion backward in time (both include y_t(l'(s))); 0 past input_lengths[n]; an
    infinite nll gets 0 (zero_infinity) or NaN."""
    samples = _ctc_args(log_probs, targets, input_lengths, target_lengths, blank)
    lp = log_probs.astype(np.float64)
    out = np.zeros(log_probs.shape)
    for i, (steps, labels) in enumerate(samples):
        y = lp[:, i]
        alpha, ext, skip, nll = _ctc_alpha(y, steps, labels, blank)
        if np.isinf(nll):
            out[:steps, i] = 0.0 if zero_infinity else np.nan
            continue
        if steps == 0:
            continue
        beta = np.full_like(alpha, -np.inf)
        beta[-1, -2:] = y[steps - 1, ext[-2:]]
        for t in range(steps - 2, -1, -1):
            nxt = beta[t + 1]
            b = nxt.copy()
            b[:-1] = np.logaddexp(b[:-1], nxt[1:])
            b[:-2] = np.where(skip[2:], np.logaddexp(b[:-2], nxt[2:]), b[:-2])
            beta[t] = b + y[t, ext]
        ab = alpha + beta
        for t in range(steps):
            gamma = np.full(lp.shape[2], -np.inf)
            np.logaddexp.at(gamma, ext, ab[t])
            with np.errstate(invalid="ignore"):
                g = -grad[i] * np.exp(gamma - y[t] + nll)
            out[t, i] = np.where(np.isneginf(gamma), 0.0, g)
    return np.asarray(out, dtype=log_probs.dtype, order="C")


def _multi_margin_args(input, target, p, weight):
    if input.ndim != 2:
        raise ValueError(f"multi_margin_loss: input must be (N, C); got {input.shape}")
    n, c = input.shape
    if target.shape != (n,):
        raise ValueError(
            f"multi_margin_loss: target of shape {target.shape} must be (N,) for input "
            f"{input.shape}"
        )
    if p not in (1, 2):
        raise ValueError("multi_margin_loss: only p == 1 and p == 2 supported")
    bad = (target < 0) | (target >= c)
    if bad.any():
        i = int(np.argmax(bad))
        raise IndexError(
            f"multi_margin_loss: target {int(target[i])} is out of bounds for {c} classes "
            f"(sample {i})"
        )
    w = np.ones(c, input.dtype) if weight is None else np.asarray(weight, input.dtype)
    if w.shape != (c,):
        raise ValueError(f"weight of shape {w.shape} must hold one value per class ({c})")
    z = input - input[np.arange(n), target][:, None]
    others = np.ones((n, c), bool)
    others[np.arange(n), target] = False
    return z, others, w[target][:, None] / c


def multi_margin_loss_forward(input, target, p, margin, weight=None):
    """loss_n = w[y_n] / C sum_{i != y_n} max(0, margin - x_n[y_n] + x_n[i])^p"""
    z, others, k = _multi_margin_args(input, target, p, weight)
    h = np.maximum(margin + z, 0) * others
    return np.asarray((k * h**p).sum(axis=1), dtype=input.dtype)


def multi_margin_loss_backward(grad, input, target, p, margin, weight=None):
    """d loss_n / d x_n[i] = w[y_n] / C p h_i^(p-1) [h_i > 0] for i != y_n (h_i = margin -
    x_n[y_n] + x_n[i]), and minus their sum for i = y_n."""
    z, others, k = _multi_margin_args(input, target, p, weight)
    h = margin + z
    g = np.where(others & (h > 0), k * (2 * h if p == 2 else 1.0), 0.0) * grad[:, None]
    g[np.arange(len(target)), target] = -g.sum(axis=1)
    return np.asarray(g, dtype=input.dtype, order="C")
