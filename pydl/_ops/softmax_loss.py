"""Losses: the fused softmax cross-entropy and NLL kernels, and the losses composed of other
ops (cpp/kernels/softmax_loss, pydl/reference/softmax_loss)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, grad_needed, record
from .activation import clamp, exp, log, log_softmax, neg, softplus, no_integers
from .elementwise import add, div, mul, sub, where
from ._util import promoted
from .layout import expand, permute, reshape, to
from .reduce import mean, sum
from .registry import op
from .._dtypes import is_floating, is_number


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """PyTorch's deprecated size_average/reduce pair, where given, decides the reduction
    (torch.nn._reduction.legacy_get_string); else `reduction`, checked."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead.",
            UserWarning,
            stacklevel=3,
        )
    _check_reduction(reduction)
    return reduction


def _apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    _check_reduction(reduction)
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def _check_same_shape(fn: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{fn}: input of shape {input.shape} and target of shape {target.shape} differ"
        )


def _class_weights(fn: str, weight: Any, input: Tensor) -> np.ndarray | None:
    """The C class weights as an array of input's dtype (not differentiated, as PyTorch's),
    or None."""
    if weight is None:
        return None
    w = np.asarray(weight._array if isinstance(weight, Tensor) else weight, dtype=input.dtype)
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    if w.shape != (c,):
        raise RuntimeError(
            f"{fn}: weight tensor should be defined either for all {c} classes or no classes "
            f"but got weight tensor of shape: {list(w.shape)}"
        )
    return np.ascontiguousarray(w)


def _class_last(fn: str, input: Tensor, target: Any) -> tuple[Tensor, np.ndarray, tuple]:
    """(N, C, d1, ...) inputs -> (N * d1 * ..., C) and the targets to match: class indices
    (N, d1, ...) -> (N * d1 * ...,), probabilities of input's shape -> (N * d1 * ..., C).
    Returns the per-sample shape too (the loss's with reduction "none")."""
    t = target._array if isinstance(target, Tensor) else np.asarray(target)
    if input.ndim < 1:
        raise ValueError(f"{fn}: input must have a class dimension; got shape {input.shape}")
    probs = is_floating(t.dtype)
    if probs and t.shape != input.shape:
        raise ValueError(
            f"{fn}: probability target of shape {t.shape} must match input of shape {input.shape}"
        )
    if not probs and t.dtype.kind not in "iu":
        raise TypeError(
            f"{fn}: target must hold class indices (integers) or probabilities (floats), "
            f"got dtype {t.dtype}"
        )
    if input.ndim == 1:  # one sample of C scores
        if not probs and t.ndim != 0:
            raise ValueError(f"{fn}: a 1-D input takes a 0-d target; got shape {t.shape}")
        return reshape(input, (1, input.shape[0])), t.reshape((1,) + t.shape), ()
    sample_shape = (input.shape[0],) + input.shape[2:]
    if not probs and t.shape == input.shape:  # probabilities meant, in an integer dtype
        raise RuntimeError(
            f"{fn}: Expected floating point type for target with class probabilities, got "
            f"{t.dtype} (class indices have shape {sample_shape})"
        )
    if not probs and t.shape != sample_shape:
        raise ValueError(
            f"{fn}: Expected input batch_size ({input.shape[0]}) to match target batch_size: "
            f"target of shape {t.shape} does not match input of shape {input.shape} "
            f"(expected {sample_shape})"
        )
    if input.ndim == 2:
        return input, t, sample_shape
    flat = reshape(permute(input, (0,) + tuple(range(2, input.ndim)) + (1,)), (-1, input.shape[1]))
    t = np.moveaxis(t, 1, -1).reshape(-1, input.shape[1]) if probs else t.reshape(-1)
    return flat, np.ascontiguousarray(t), sample_shape


def _check_label_smoothing(label_smoothing: float) -> float:
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    return float(label_smoothing)


def _soft_cross_entropy(
    input: Tensor, target: Tensor, w: np.ndarray | None, reduction: str, label_smoothing: float
) -> Tensor:
    """-sum_c w_c t_c log_softmax(input)_c, composed: probabilities that require grad get
    theirs (the fused kernel differentiates the logits only)."""
    class_dim = 1 if input.ndim > 1 else 0
    c = input.shape[class_dim]
    if label_smoothing > 0.0:
        target = add(mul(target, 1.0 - label_smoothing), label_smoothing / c)
    wt = target
    if w is not None:
        wt = mul(target, as_tensor(w.reshape((c,) + (1,) * (input.ndim - class_dim - 1))))
    per_sample = neg(sum(mul(wt, log_softmax(input, class_dim)), class_dim))
    return _apply_reduction(per_sample, reduction)


@op()
def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy from logits, fused and stable: lse(z) - z_target.

    input (C,), (N, C) or (N, C, d1, ...); target holds class indices of shape (), (N,) or
    (N, d1, ...), or class probabilities of input's shape (a float dtype). As PyTorch's:
    `weight` (C,) scales each class's terms, and the mean divides by the total weight of
    the kept targets; targets equal to ignore_index contribute nothing (class indices
    only); label_smoothing e mixes each target with the uniform distribution (Note [Label
    smoothing] in cpp/kernels/softmax_loss.h). Probabilities that require grad get it
    (-w log_softmax(input) per class) through the composed form.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    label_smoothing = _check_label_smoothing(label_smoothing)
    input = as_tensor(input)
    no_integers("cross_entropy", input)
    w = _class_weights("cross_entropy", weight, input)
    if isinstance(target, Tensor) and is_floating(target.dtype) and grad_needed(target):
        _check_same_shape("cross_entropy", input, target)
        return _soft_cross_entropy(input, to(target, input.dtype), w, reduction, label_smoothing)
    logits, t, sample_shape = _class_last("cross_entropy", input, target)
    if is_floating(t.dtype):
        t = t.astype(logits.dtype, copy=False)
        if label_smoothing > 0.0:  # smoothed here: the kernel then weighs t by class
            t = t * (1.0 - label_smoothing) + label_smoothing / logits.shape[1]
        label_smoothing = 0.0
    else:
        t = t.astype(np.int64, copy=False)
    loss, lse = _b.active.cross_entropy_forward(
        logits._array, t, reduction, ignore_index, w, label_smoothing
    )

    def backward(node: Any, g: np.ndarray) -> Any:
        (x,) = node.inputs
        return (
            _b.active.cross_entropy_backward(
                g, x._array, t, lse, reduction, ignore_index, w, label_smoothing
            ),
        )

    out = record(loss, (logits,), backward)
    return reshape(out, sample_shape) if reduction == "none" else out


@op()
def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-w[t] input[n, t] for log-probabilities `input` of shape (C,), (N, C) or
    (N, C, d1, ...) and class indices `target` of shape (), (N,) or (N, d1, ...); the mean
    divides by the total weight of the targets not equal to ignore_index, as PyTorch's."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input = as_tensor(input)
    no_integers("nll_loss", input)
    w = _class_weights("nll_loss", weight, input)
    logp, t, sample_shape = _class_last("nll_loss", input, target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices, got dtype {t.dtype}")
    t = t.astype(np.int64, copy=False)
    loss = _b.active.nll_loss_forward(logp._array, t, reduction, ignore_index, w)

    def backward(node: Any, g: np.ndarray) -> Any:
        (x,) = node.inputs
        return (_b.active.nll_loss_backward(g, x._array, t, reduction, ignore_index, w),)

    out = record(loss, (logp,), backward)
    return reshape(out, sample_shape) if reduction == "none" else out


def _operand(x: Any, like: Tensor) -> Tensor:
    """x itself if it is a Tensor, else a constant of like's dtype where that is floating: a
    target, weight or label given as an array, list or number does not promote the input
    (float64 NumPy targets of a float32 model stay on its float32 path)."""
    if isinstance(x, Tensor):
        return x
    array = np.asarray(getattr(x, "_array", x))
    if not is_number(array.dtype):  # None -> NaN and "1.5" -> 1.5 would be accepted
        raise TypeError(
            f"expected a tensor, an array of numbers or a number, got {type(x).__name__} "
            f"of dtype {array.dtype}"
        )
    if is_floating(like.dtype):
        return as_tensor(array.astype(like.dtype, copy=False))
    return as_tensor(array)


def _input_target(input: Any, target: Any) -> list[Tensor]:
    """input and target (a constant of input's dtype, if not a tensor) promoted to one
    floating dtype."""
    input = as_tensor(input)
    return promoted(input, _operand(target, input), floating=True)


def _broadcast_pair(fn: str, input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """input and target expanded to their common shape, with PyTorch's warning when they
    differ; ValueError naming both shapes where they do not broadcast."""
    if input.shape == target.shape:
        return input, target
    try:
        shape = np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ValueError(
            f"{fn}: input of shape {input.shape} and target of shape {target.shape} do not "
            f"broadcast"
        ) from None
    warnings.warn(
        f"{fn}: using a target size ({target.shape}) that is different to the input size "
        f"({input.shape}); they are broadcast to {shape}",
        UserWarning,
        stacklevel=3,
    )
    return expand(input, shape), expand(target, shape)


def _weighted(loss: Tensor, weight: Any) -> Tensor:
    """The elementwise loss times `weight` (broadcast), where one is given."""
    return loss if weight is None else mul(loss, _operand(weight, loss))


@op(kernels=())
def mse_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    """(input - target)^2 (times weight), reduced."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _broadcast_pair("mse_loss", *_input_target(input, target))
    d = sub(input, target)
    return _apply_reduction(_weighted(mul(d, d), weight), reduction)


@op(kernels=())
def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) for probabilities p; logs clamped at -100 as
    PyTorch's."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _input_target(input, target)
    _check_same_shape("binary_cross_entropy", input, target)
    if not np.all((input._array >= 0) & (input._array <= 1)):  # NaN is outside too
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
    log_p = clamp(log(input), min=-100.0)
    log_1mp = clamp(log(sub(1.0, input)), min=-100.0)
    loss = neg(add(mul(target, log_p), mul(sub(1.0, target), log_1mp)))
    return _apply_reduction(_weighted(loss, weight), reduction)


@op(kernels=())
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """BCE of sigmoid(input), stable for any logit.

    w ((1 - y) x + q softplus(-x)) with q = 1 + (pw - 1) y (pos_weight pw broadcast along
    the last dim, the classes).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _input_target(input, target)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    sp = softplus(neg(input))
    if pos_weight is not None:
        q = add(1.0, mul(sub(_operand(pos_weight, input), 1.0), target))
        sp = mul(q, sp)
    loss = add(mul(sub(1.0, target), input), sp)
    return _apply_reduction(_weighted(loss, weight), reduction)


@op(kernels=())
def kl_div(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Pointwise target * (log target - input) for log-probabilities `input` (PyTorch's
    kl_div); with log_target, exp(target) * (target - input).

    reduction "batchmean" divides the sum by the batch size (the true KL divergence);
    "mean" averages over every element, as PyTorch does. A target that requires grad gets
    it (log target + 1 - input where target > 0; log_target: exp(target) (target + 1 -
    input)) through the composed form.
    """
    if reduction != "batchmean":
        reduction = _legacy_reduction(size_average, reduce, reduction)
    input = as_tensor(input)
    no_integers("kl_div", input)
    target = _operand(target, input)
    if target.shape != input.shape:
        raise ValueError(
            f"kl_div: input of shape {input.shape} and target of shape {target.shape} differ"
        )
    if grad_needed(target):
        if log_target:
            loss = mul(exp(target), sub(target, input))
        else:
            pos = target._array > 0
            safe = where(pos, target, as_tensor(np.ones(target.shape, target.dtype)))
            zero = as_tensor(np.zeros(target.shape, target.dtype))
            loss = sub(where(pos, mul(target, log(safe)), zero), mul(target, input))
    else:
        t = target._array
        if log_target:
            p, t_log_t = np.exp(t), np.exp(t) * t
        else:
            p = t
            with np.errstate(divide="ignore", invalid="ignore"):
                t_log_t = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0).astype(t.dtype)
        loss = sub(as_tensor(t_log_t), mul(as_tensor(p), input))
    if reduction == "batchmean":
        return div(sum(loss), float(input.shape[0]) if input.ndim else 1.0)
    return _apply_reduction(loss, reduction)


@op(kernels=())
def gaussian_kl_divergence(mu: Tensor, logvar: Tensor, reduction: str = "mean") -> Tensor:
    """The VAE term KL(N(mu, e^logvar) || N(0, I)) = -1/2 sum(1 + logvar - mu^2 - e^logvar).

    Summed over the last (latent) dim, then reduced over the batch. Its gradients are
    the spec's dKL/dmu = mu and dKL/dsigma = sigma - 1/sigma.
    """
    mu, logvar = as_tensor(mu), as_tensor(logvar)
    _check_same_shape("gaussian_kl_divergence", mu, logvar)
    inner = sub(sub(add(1.0, logvar), mul(mu, mu)), exp(logvar))
    kl = mul(sum(inner, -1), -0.5)
    return _apply_reduction(kl, reduction)
