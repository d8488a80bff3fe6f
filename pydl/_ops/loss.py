"""Losses beyond softmax_loss: the elementwise losses of an input and a target (l1,
smooth_l1, huber, soft_margin, poisson_nll, hinge_embedding: one fused kernel each way,
Note [Elementwise losses]), CTC (Note [CTC]), the losses composed of other ops, and the
distance functions they use (normalize, cosine_similarity, pairwise_distance, cdist)
(cpp/kernels/loss, pydl/reference/loss)."""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from .. import _capture
from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from ._util import axis_index, promoted
from .activation import abs, clamp, int_arg, log, logsigmoid, neg, real_arg, relu, sqrt
from .elementwise import add, div, mul, pow, sub, where
from .layout import expand, reshape, unsqueeze
from .reduce import amax, minimum, sum, vector_norm
from .registry import op
from .softmax_loss import (
    _apply_reduction,
    _broadcast_pair,
    _input_target,
    _legacy_reduction,
    _operand,
    _weighted,
)


def _elementwise_loss(
    fn: str, input: Any, target: Any, kind: str, param: float = 0.0, full: bool = False
) -> Tensor:
    """The unreduced elementwise loss `kind` of input and target (promoted, broadcast),
    both differentiable (Note [Elementwise losses])."""
    x, y = _broadcast_pair(fn, *_input_target(input, target))
    param = float(param)
    loss = _b.active.elementwise_loss_forward(x._array, y._array, kind, param, full)

    def backward(node: Any, g: np.ndarray) -> Any:
        xx, yy = node.inputs
        return _b.active.elementwise_loss_backward(
            g, xx._array, yy._array, kind, param, full, xx.requires_grad, yy.requires_grad
        )

    return record(loss, (x, y), backward)


@op(kernels=("elementwise_loss",))
def l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    """|input - target| (times weight), reduced."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = _elementwise_loss("l1_loss", input, target, "l1")
    return _apply_reduction(_weighted(loss, weight), reduction)


@op(kernels=("elementwise_loss",))
def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """d^2 / (2 beta) where |d| < beta, else |d| - beta / 2 (d = input - target); beta = 0
    is the L1 loss."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta: {beta}")
    loss = _elementwise_loss("smooth_l1_loss", input, target, "smooth_l1", beta)
    return _apply_reduction(loss, reduction)


@op(kernels=("elementwise_loss",))
def huber_loss(
    input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None
) -> Tensor:
    """d^2 / 2 where |d| < delta, else delta (|d| - delta / 2) (d = input - target), times
    weight."""
    reduction = _legacy_reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta: {delta}")
    loss = _elementwise_loss("huber_loss", input, target, "huber", delta)
    return _apply_reduction(_weighted(loss, weight), reduction)


@op(kernels=("elementwise_loss",))
def soft_margin_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-target * input)) for targets in {1, -1}."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = _elementwise_loss("soft_margin_loss", input, target, "soft_margin")
    return _apply_reduction(loss, reduction)


@op(kernels=("elementwise_loss",))
def poisson_nll_loss(
    input: Tensor,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """exp(input) - target * input (log_input), else input - target * log(input + eps);
    full adds Stirling's target * log(target) - target + log(2 pi target) / 2 where target > 1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    kind = "poisson_nll_log" if log_input else "poisson_nll"
    loss = _elementwise_loss("poisson_nll_loss", input, target, kind, eps, bool(full))
    return _apply_reduction(loss, reduction)


@op(kernels=("elementwise_loss",))
def hinge_embedding_loss(
    input: Tensor,
    target: Any,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """input where target == 1, max(0, margin - input) where target == -1 (as PyTorch's,
    both terms for other target values); the target gets no gradient."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = _elementwise_loss("hinge_embedding_loss", input, target, "hinge_embedding", margin)
    return _apply_reduction(loss, reduction)


@op(kernels=())
def gaussian_nll_loss(
    input: Tensor,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """(log(max(var, eps)) + (input - target)^2 / max(var, eps)) / 2 (+ log(2 pi) / 2 if
    full). var has input's shape, or one dim fewer (one variance per sample), or a size-1
    dim where input has more (homoscedastic). As PyTorch's, the clamp at eps is not
    differentiated: var's gradient passes it unchanged."""
    reduction = _legacy_reduction(None, None, reduction)
    input, target = _input_target(input, target)
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = as_tensor(_capture.snapshot(np.full(input.shape, float(var), input.dtype)))
    var = _operand(var, input)
    if np.any(var._array < 0):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = unsqueeze(var, -1)
        elif not (
            input.ndim == var.ndim
            and builtins.sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1
        ):
            raise ValueError(
                f"gaussian_nll_loss: var of shape {var.shape} is of incorrect size for input "
                f"of shape {input.shape}"
            )
    v = var._array
    var = add(var, as_tensor(np.maximum(v, eps).astype(v.dtype) - v))  # straight through
    d = sub(input, target)
    loss = mul(add(log(var), div(mul(d, d), var)), 0.5)
    if full:
        loss = add(loss, 0.5 * math.log(2 * math.pi))
    return _apply_reduction(loss, reduction)


@op(kernels=())
def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -target * (input1 - input2) + margin)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x1, x2 = promoted(as_tensor(input1), as_tensor(input2), floating=True)
    x1, y = promoted(x1, _operand(target, x1))
    if not (x1.ndim == x2.ndim == y.ndim):
        raise RuntimeError(
            f"margin_ranking_loss: all input tensors should have the same number of dims: "
            f"input1 {x1.shape}, input2 {x2.shape}, target {y.shape}"
        )
    loss = relu(add(mul(neg(y), sub(x1, x2)), float(margin)))
    return _apply_reduction(loss, reduction)


def _pair_dim(fn: str, x1: Tensor, x2: Tensor, target: Tensor) -> int:
    """The feature dim of (N, D) / (D,) inputs, checked against the (N,) / () target."""
    if x1.shape != x2.shape or x1.ndim not in (1, 2) or target.shape != x1.shape[:-1]:
        raise ValueError(
            f"{fn}: expected (N, D) or (D,) inputs of one shape and an (N,) or 0-d target; "
            f"got {x1.shape}, {x2.shape} and {target.shape}"
        )
    return x1.ndim - 1


@op(kernels=())
def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where target == 1, max(0, cos(x1, x2) - margin) where target == -1,
    with cos = x1.x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12)) along the last dim."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x1, x2 = promoted(as_tensor(input1), as_tensor(input2), floating=True)
    t = as_tensor(target)._array
    dim = _pair_dim("cosine_embedding_loss", x1, x2, as_tensor(t))
    sq1 = add(sum(mul(x1, x1), dim), 1e-12)
    sq2 = add(sum(mul(x2, x2), dim), 1e-12)
    cos = div(sum(mul(x1, x2), dim), sqrt(mul(sq1, sq2)))
    zero = as_tensor(np.zeros(cos.shape, cos.dtype))
    pos = where(t == 1, sub(1.0, cos), zero)
    neg_part = where(t == -1, relu(sub(cos, float(margin))), zero)
    return _apply_reduction(add(pos, neg_part), reduction)


@op(kernels=())
def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with d = pairwise_distance(., ., p, eps); swap:
    d(a, n) becomes min(d(a, n), d(p, n))."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not margin > 0:  # NaN too
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    a, pos, negt = promoted(
        as_tensor(anchor), as_tensor(positive), as_tensor(negative), floating=True
    )
    if not (a.ndim == pos.ndim == negt.ndim) or a.ndim not in (1, 2):
        raise RuntimeError(
            f"triplet_margin_loss: expected 1-D or 2-D anchor, positive and negative of one "
            f"rank; got {a.shape}, {pos.shape} and {negt.shape}"
        )
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, negt, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(pos, negt, p, eps))
    loss = relu(sub(add(d_pos, float(margin)), d_neg))
    return _apply_reduction(loss, reduction)


def _class_targets(fn: str, input: Tensor, target: Any) -> tuple[Tensor, np.ndarray, bool]:
    """(N, C) scores and (N,) int64 class indices in [0, C) from (N, C) / (C,) input and
    (N,) / () target (a 0-d input is one sample of one class, as PyTorch's); whether input
    was one sample."""
    t = np.asarray(target._array if isinstance(target, Tensor) else target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold class indices, got dtype {t.dtype}")
    single = input.ndim <= 1
    if single:
        input, t = reshape(input, (1, -1)), t.reshape(1)
    if input.ndim != 2 or t.shape != (input.shape[0],):
        raise ValueError(
            f"{fn}: expected (N, C) or (C,) input and an (N,) or 0-d target; got "
            f"{input.shape} and {t.shape}"
        )
    c = input.shape[1]
    bad = (t < 0) | (t >= c)
    if bad.any():
        raise IndexError(f"{fn}: target {int(t[bad][0])} is out of bounds for {c} classes")
    return input, t.astype(np.int64), single


@op()
def multi_margin_loss(
    input: Tensor,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """sum_{i != y} w[y] max(0, margin - x[y] + x[i])^p / C per sample (p 1 or 2), one
    kernel each way; input (N, C) or (C,), target (N,) or () class indices."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported; got {p}")
    x, t, single = _class_targets("multi_margin_loss", as_tensor(input), target)
    w = None
    if weight is not None:
        w = np.ascontiguousarray(getattr(weight, "_array", weight), dtype=x.dtype)
        if w.shape != (x.shape[1],):
            raise ValueError(
                f"multi_margin_loss: weight of shape {w.shape} must be ({x.shape[1]},)"
            )
    p, margin = int(p), float(margin)
    loss = _b.active.multi_margin_loss_forward(x._array, t, p, margin, w)

    def backward(node: Any, g: np.ndarray) -> Any:
        (xx,) = node.inputs
        return (_b.active.multi_margin_loss_backward(g, xx._array, t, p, margin, w),)

    per = record(loss, (x,), backward)
    return _apply_reduction(reshape(per, ()) if single else per, reduction)


@op(kernels=())
def multilabel_soft_margin_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-mean_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)) per sample."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x, y = _input_target(input, target)
    if x.shape != y.shape:
        raise ValueError(
            f"multilabel_soft_margin_loss: input of shape {x.shape} and target of shape "
            f"{y.shape} differ"
        )
    loss = neg(add(mul(y, logsigmoid(x)), mul(sub(1.0, y), logsigmoid(neg(x)))))
    loss = _weighted(loss, weight)
    c = x.shape[-1] if x.ndim else 1
    per = div(sum(loss, x.ndim - 1) if x.ndim else loss, float(c))
    return _apply_reduction(per, reduction)


def _lengths(name: str, v: Any, n: int) -> np.ndarray:
    a = np.asarray(getattr(v, "_array", v))
    if a.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: {name} must hold integers, got dtype {a.dtype}")
    return np.ascontiguousarray(
        np.broadcast_to(a.astype(np.int64), (n,)) if a.ndim == 0 else a, np.int64
    )


@op(kernels=("ctc_loss",))
def ctc_loss(
    log_probs: Tensor,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification (Note [CTC]): -log p(target | log_probs) per
    sample, summed over every alignment of its labels to its first input_lengths[n] steps.

    log_probs (T, N, C) (or (T, C) for one sample), log-probabilities (a log_softmax's);
    targets (N, S) padded or the 1-D concatenation of the N label sequences; "mean" divides
    each sample's loss by its target length (at least 1), then averages, as PyTorch's.
    zero_infinity: impossible alignments (an infinite loss) count 0 and get no gradient.
    """
    reduction = _legacy_reduction(None, None, reduction)
    lp = as_tensor(log_probs)
    single = lp.ndim == 2
    tg = np.asarray(getattr(targets, "_array", targets))
    if single:
        lp = unsqueeze(lp, 1)
        tg = tg.reshape(1, -1) if tg.ndim == 1 else tg
    if lp.ndim != 3:
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C) or (T, C); got {lp.shape}")
    if tg.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: targets must hold class indices, got dtype {tg.dtype}")
    n = lp.shape[1]
    il, tl = (
        _lengths("input_lengths", input_lengths, n),
        _lengths("target_lengths", target_lengths, n),
    )
    tg, blank = np.ascontiguousarray(tg, np.int64), int(blank)
    nll = _b.active.ctc_loss_forward(lp._array, tg, il, tl, blank)
    loss = np.where(np.isinf(nll), 0, nll).astype(nll.dtype) if zero_infinity else nll

    def backward(node: Any, g: np.ndarray) -> Any:
        (x,) = node.inputs
        return (_b.active.ctc_loss_backward(g, x._array, tg, il, tl, blank, bool(zero_infinity)),)

    out = record(loss, (lp,), backward)
    if reduction == "mean":
        return div(sum(div(out, as_tensor(np.maximum(tl, 1).astype(nll.dtype)))), float(n))
    if reduction == "sum":
        return sum(out)
    return reshape(out, ()) if single else out


# ----- distances --------------------------------------------------------------------


def _vector_norm(x: Tensor, p: float, dim: int, keepdim: bool) -> Tensor:
    """The p-norm along dim, with a zero gradient where the norm is 0 for p > 0 (as
    PyTorch's, where the composed root's would be NaN)."""
    if p == math.inf:
        return amax(abs(x), dim, keepdim)
    if p <= 0:  # PyTorch's p-"norm" for any p: the reduce family's kernel has them all
        return vector_norm(x, p, dim, keepdim)
    s = sum(mul(x, x) if p == 2 else (abs(x) if p == 1 else pow(abs(x), float(p))), dim, keepdim)
    if p == 1:
        return s
    pos = s._array > 0
    safe = where(pos, s, as_tensor(np.ones(s.shape, s.dtype)))  # no root of 0 differentiated
    root = sqrt(safe) if p == 2 else pow(safe, 1.0 / p)
    return where(pos, root, as_tensor(np.zeros(s.shape, s.dtype)))


@op(kernels=())
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(||input||_p, eps) along dim."""
    x = as_tensor(input)
    dim = axis_index(int_arg("normalize", "dim", dim), x.ndim)
    p = real_arg("normalize", "p", p)
    return div(x, clamp(_vector_norm(x, p, dim, True), min=eps))


@op(kernels=(), toplevel=True)
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 / max(|x1|, eps) * x2 / max(|x2|, eps)) along dim, x1 and x2 broadcast; as
    PyTorch's, the clamp at eps is not differentiated."""
    a, b = promoted(as_tensor(x1), as_tensor(x2), floating=True)
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = (t if t.shape == shape else expand(t, shape) for t in (a, b))
    dim = axis_index(dim, len(shape))

    def unit(t: Tensor) -> Tensor:
        n = _vector_norm(t, 2, dim, True)
        clamped = add(n, as_tensor(np.maximum(n._array, eps).astype(n.dtype) - n._array))
        return div(t, clamped)

    return sum(mul(unit(a), unit(b)), dim)


@op(kernels=(), toplevel=True)
def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim (x1 and x2 broadcast)."""
    a, b = promoted(as_tensor(x1), as_tensor(x2), floating=True)
    d = add(sub(a, b), float(eps))
    if d.ndim == 0:
        d = reshape(d, (1,))
    return _vector_norm(d, float(p), d.ndim - 1, keepdim)


@op(kernels=(), toplevel=True)
def cdist(
    x1: Tensor,
    x2: Tensor,
    p: float = 2.0,
    compute_mode: str = "use_mm_for_euclid_dist_if_necessary",
) -> Tensor:
    """||x1[..., i, :] - x2[..., j, :]||_p for (..., P, M) and (..., R, M): (..., P, R).
    Composed of the difference of every pair (memory P R M); compute_mode is accepted for
    PyTorch's signature, the result is the direct one's."""
    a, b = promoted(as_tensor(x1), as_tensor(x2), floating=True)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"cdist: x1 {a.shape} and x2 {b.shape} must be (..., P, M) and (..., R, M)"
        )
    if compute_mode not in (
        "use_mm_for_euclid_dist_if_necessary",
        "use_mm_for_euclid_dist",
        "donot_use_mm_for_euclid_dist",
    ):
        raise ValueError(f"cdist: {compute_mode} is not a valid value for compute_mode")
    d = sub(unsqueeze(a, -2), unsqueeze(b, -3))
    return _vector_norm(d, float(p), d.ndim - 1, False)
