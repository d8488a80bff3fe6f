"""Losses: the fused softmax cross-entropy and NLL kernels, and the losses composed of other
ops (cpp/kernels/softmax_loss, pydl/reference/softmax_loss)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, grad_needed, record
from .activation import clamp, exp, log, log_softmax, neg, softplus
from .elementwise import add, div, mul, sub
from .layout import permute, reshape
from .reduce import mean, sum
from .registry import op


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


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


def _class_last(fn: str, input: Tensor, target: Any) -> tuple[Tensor, np.ndarray, tuple]:
    """(N, C, d1, ...) logits -> (N * d1 * ..., C); returns the per-sample shape too."""
    t = target._array if isinstance(target, Tensor) else np.asarray(target)
    if input.ndim < 1:
        raise ValueError(f"{fn}: input must have a class dimension; got shape {input.shape}")
    if input.ndim == 1:  # one sample of C logits
        return reshape(input, (1, input.shape[0])), t.reshape((1,) + t.shape), ()
    if input.ndim == 2:
        return input, t, (input.shape[0],)
    dims = (0,) + tuple(range(2, input.ndim)) + (1,)
    moved = permute(input, dims)
    sample_shape = moved.shape[:-1]
    flat = reshape(moved, (-1, input.shape[1]))
    if t.dtype.kind == "f":
        t = np.moveaxis(t, 1, -1).reshape(-1, input.shape[1]) if t.ndim == input.ndim else t
    else:
        if t.shape != sample_shape:
            raise ValueError(
                f"{fn}: target of shape {t.shape} does not match input of shape "
                f"{input.shape} (expected {sample_shape})"
            )
        t = t.reshape(-1)
    return flat, np.asarray(t, order="C"), sample_shape


@op()
def cross_entropy(
    input: Tensor, target: Any, reduction: str = "mean", ignore_index: int = -100
) -> Tensor:
    """Softmax cross-entropy from logits, fused and stable: lse(z) - z_target.

    target holds class indices (N,) or class probabilities (N, C) (float dtype).
    Labels equal to ignore_index contribute nothing and leave the mean's count.
    Probabilities that require grad get it (-log_softmax(input) per class), through the
    composed form -sum(target * log_softmax(input)) (the fused kernel differentiates the
    logits only).
    """
    _check_reduction(reduction)
    input = as_tensor(input)
    if isinstance(target, Tensor) and target.dtype.kind == "f" and grad_needed(target):
        if target.shape != input.shape:
            raise ValueError(
                f"cross_entropy: probability target of shape {target.shape} must match "
                f"input of shape {input.shape}"
            )
        class_dim = 1 if input.ndim > 1 else 0
        per_sample = neg(sum(mul(target, log_softmax(input, class_dim)), class_dim))
        return _apply_reduction(per_sample, reduction)
    logits, t, sample_shape = _class_last("cross_entropy", input, target)
    if t.dtype.kind == "f":
        t = t.astype(logits.dtype, copy=False)
    elif t.dtype.kind in "iu":
        t = t.astype(np.int64, copy=False)
    else:
        raise TypeError(
            f"cross_entropy: target must hold class indices or probabilities, got dtype {t.dtype}"
        )
    loss, lse = _b.active.cross_entropy_forward(logits._array, t, reduction, ignore_index)

    def backward(node: Any, g: np.ndarray) -> Any:
        (x,) = node.inputs
        return (_b.active.cross_entropy_backward(g, x._array, t, lse, reduction, ignore_index),)

    out = record(loss, (logits,), backward)
    return reshape(out, sample_shape) if reduction == "none" else out


@op()
def nll_loss(
    input: Tensor, target: Any, reduction: str = "mean", ignore_index: int = -100
) -> Tensor:
    """-input[n, target[n]] for log-probabilities `input` of shape (N, C)."""
    _check_reduction(reduction)
    input = as_tensor(input)
    logp, t, sample_shape = _class_last("nll_loss", input, target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices, got dtype {t.dtype}")
    t = t.astype(np.int64, copy=False)
    loss = _b.active.nll_loss_forward(logp._array, t, reduction, ignore_index)

    def backward(node: Any, g: np.ndarray) -> Any:
        (x,) = node.inputs
        return (_b.active.nll_loss_backward(g, x._array, t, reduction, ignore_index),)

    out = record(loss, (logp,), backward)
    return reshape(out, sample_shape) if reduction == "none" else out


@op(kernels=())
def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced."""
    input, target = as_tensor(input), as_tensor(target)
    _check_same_shape("mse_loss", input, target)
    d = sub(input, target)
    return _apply_reduction(mul(d, d), reduction)


@op(kernels=())
def binary_cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) for probabilities p; logs clamped at -100 as PyTorch."""
    input, target = as_tensor(input), as_tensor(target, like=None)
    _check_same_shape("binary_cross_entropy", input, target)
    if np.any((input._array < 0) | (input._array > 1)):
        raise ValueError("binary_cross_entropy: input values must lie in [0, 1]")
    log_p = clamp(log(input), min=-100.0)
    log_1mp = clamp(log(sub(1.0, input)), min=-100.0)
    loss = neg(add(mul(target, log_p), mul(sub(1.0, target), log_1mp)))
    return _apply_reduction(loss, reduction)


@op(kernels=())
def binary_cross_entropy_with_logits(
    input: Tensor, target: Any, reduction: str = "mean", pos_weight: Any = None
) -> Tensor:
    """BCE of sigmoid(input), stable for any logit.

    (1 - y) x + w softplus(-x) with w = 1 + (pw - 1) y.
    """
    input, target = as_tensor(input), as_tensor(target)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    sp = softplus(neg(input))
    if pos_weight is not None:
        w = add(1.0, mul(sub(as_tensor(pos_weight, like=input), 1.0), target))
        sp = mul(w, sp)
    loss = add(mul(sub(1.0, target), input), sp)
    return _apply_reduction(loss, reduction)


@op(kernels=())
def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise target * (log target - input) for log-probabilities `input` (PyTorch's kl_div).

    reduction "batchmean" divides the sum by the batch size (the true KL divergence);
    "mean" averages over every element, as PyTorch does. Gradients flow to input only.
    """
    input = as_tensor(input)
    t = as_tensor(target)._array.astype(input.dtype, copy=False)
    if t.shape != input.shape:
        raise ValueError(
            f"kl_div: input of shape {input.shape} and target of shape {t.shape} differ"
        )
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
