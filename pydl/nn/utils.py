"""Gradient clipping and the spec's L1/L2 regularization terms (seed 000 section 15)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import _capture
from .. import functional as F
from ..tensor import Tensor, as_tensor


def _with_grads(parameters: Any) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def _bound(owner: str, name: str, value: Any) -> float:
    """A clipping bound: a number >= 0 (infinity: no clipping), never NaN."""
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    if not value >= 0:
        raise ValueError(f"{owner}: {name} must be a number >= 0, got {value}")
    return float(value)


def _materialized(parameters: Any) -> Any:
    return parameters if isinstance(parameters, (Tensor, list, tuple)) else list(parameters)


def clip_grad_norm_(
    parameters: Any, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together so their joint norm is at most max_norm (as PyTorch:
    by max_norm / (norm + 1e-6) when that is below 1). Returns the norm before clipping."""
    if _capture.here():  # pydl.compile replays it whole: it reads the norm
        parameters = _materialized(parameters)  # replayed: an iterator would run dry
        return _capture.live(clip_grad_norm_, parameters, max_norm, norm_type, error_if_nonfinite)
    max_norm = _bound("clip_grad_norm_", "max_norm", max_norm)
    try:
        norm_type = float(norm_type)  # "inf" too, as PyTorch
    except (TypeError, ValueError):
        raise ValueError(
            f"clip_grad_norm_: norm_type should be a number or 'inf', got {norm_type!r}"
        ) from None
    if math.isnan(norm_type):
        raise ValueError("clip_grad_norm_: norm_type should be a number or 'inf', got nan")
    params = _with_grads(parameters)
    if not params:
        return as_tensor(np.zeros((), np.float32))
    if norm_type == math.inf:
        total = max(float(np.abs(p.grad._array).max()) for p in params)
    else:
        total = sum(
            float(np.sum(np.abs(p.grad._array.astype(np.float64)) ** norm_type)) for p in params
        ) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from "
            "`parameters` is non-finite, so it cannot be clipped."
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for p in params:
            p.grad._array *= p.grad._array.dtype.type(coef)
    return as_tensor(np.array(total, dtype=params[0].grad.dtype))


def clip_grad_value_(parameters: Any, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    if _capture.here():  # pydl.compile replays it whole
        return _capture.live(clip_grad_value_, _materialized(parameters), clip_value)
    clip_value = _bound("clip_grad_value_", "clip_value", clip_value)
    for p in _with_grads(parameters):
        np.clip(p.grad._array, -clip_value, clip_value, out=p.grad._array)


def l2_penalty(parameters: Iterable[Tensor], weight: float) -> Tensor:
    """The spec's L2 term (weight / 2) * sum W^2, differentiable (gradient weight * W)."""
    terms = [F.sum(F.mul(p, p)) for p in parameters]
    return F.mul(_total(terms), 0.5 * weight)


def l1_penalty(parameters: Iterable[Tensor], weight: float) -> Tensor:
    """The spec's L1 term weight * sum |W|, differentiable (gradient weight * sign(W))."""
    return F.mul(_total([F.sum(F.abs(p)) for p in parameters]), weight)


def _total(terms: list[Tensor]) -> Tensor:
    if not terms:
        raise ValueError("a regularization term needs at least one parameter")
    total = terms[0]
    for t in terms[1:]:
        total = F.add(total, t)
    return total
