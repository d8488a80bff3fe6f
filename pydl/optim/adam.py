"""The Adam family: Adam (and AMSGrad), AdamW, NAdam, LAMB."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import backend as _b
from .optimizer import BETAS, EPS, LR, WEIGHT_DECAY, Optimizer, flag, real


class Adam(Optimizer):
    """Adam (seed 000 section 14.3), as torch.optim.Adam.

    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr m^ / (sqrt(v^) + eps) with
    bias-corrected m^, v^. weight_decay adds weight_decay * p to g (L2). amsgrad=True uses
    max(v) over steps in the denominator (PyTorch's AMSGrad, bias-corrected).
    bias_correction=False drops both corrections (not in PyTorch): with amsgrad=True that
    is the spec's AMSGrad row (seed 002), p -= lr m / (sqrt(max v) + eps).
    Every parameter of a group is updated in one kernel call.
    """

    _decoupled = False
    _hypers = {
        "lr": LR,
        "betas": BETAS,
        "eps": EPS,
        "weight_decay": WEIGHT_DECAY,
        "amsgrad": flag,
        "maximize": flag,
        "bias_correction": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
        *,
        bias_correction: bool = True,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
                bias_correction=bias_correction,
            ),
        )

    def _update(self) -> None:
        for g in self.param_groups:
            buffers = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if g["amsgrad"] else ())
            for step, params in self._by_step(g, *buffers):
                ps, gs = self._arrays(params)
                _b.active.adam_step(
                    ps,
                    gs,
                    self._buffers(params, "exp_avg"),
                    self._buffers(params, "exp_avg_sq"),
                    self._buffers(params, "max_exp_avg_sq") if g["amsgrad"] else [],
                    step,
                    g["lr"],
                    g["betas"][0],
                    g["betas"][1],
                    g["eps"],
                    g["weight_decay"],
                    self._decoupled,
                    g["amsgrad"],
                    g["maximize"],
                    g["bias_correction"],
                )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW:
    p *= 1 - lr * weight_decay before the Adam step (the spec's AdamW line)."""

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
        *,
        bias_correction: bool = True,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize, bias_correction=bias_correction
        )


class NAdam(Optimizer):
    """Adam with Nesterov momentum, as torch.optim.NAdam (momentum_decay schedule
    mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay))).

    The spec's Nadam, p -= lr (b1 m^ + (1 - b1) g / (1 - b1^t)) / (sqrt(v^) + eps) (Dozat's
    form with a constant b1), is `NAdam(..., momentum_decay=None)`.
    """

    _hypers = {
        "lr": LR,
        "betas": BETAS,
        "eps": EPS,
        "weight_decay": WEIGHT_DECAY,
        "momentum_decay": real(optional=True),
        "decoupled_weight_decay": flag,
        "maximize": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float | None = 4e-3,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
            ),
        )

    def _update(self) -> None:
        for g in self.param_groups:
            b1, b2, lr, decay = g["betas"][0], g["betas"][1], g["lr"], g["momentum_decay"]
            for step, params in self._by_step(g, "exp_avg", "exp_avg_sq"):
                if decay is None:  # the spec's (Dozat's) form
                    bc1 = 1 - b1**step
                    coef_grad, coef_avg = lr * (1 - b1) / bc1, lr * b1 / bc1
                else:
                    mu = b1 * (1.0 - 0.5 * 0.96 ** (step * decay))
                    mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
                    st = self.state[params[0]]
                    mu_product = st.get("mu_product", 1.0) * mu
                    for p in params:
                        self.state[p]["mu_product"] = mu_product
                    coef_grad = lr * (1.0 - mu) / (1.0 - mu_product)
                    coef_avg = lr * mu_next / (1.0 - mu_product * mu_next)
                ps, gs = self._arrays(params)
                _b.active.nadam_step(
                    ps,
                    gs,
                    self._buffers(params, "exp_avg"),
                    self._buffers(params, "exp_avg_sq"),
                    b1,
                    b2,
                    1 - b2**step,
                    coef_grad,
                    coef_avg,
                    g["eps"],
                    g["weight_decay"],
                    g["decoupled_weight_decay"],
                    lr,
                    g["maximize"],
                )


class LAMB(Optimizer):
    """LAMB (You et al., 2020): Adam's direction u = m^ / (sqrt(v^) + eps) + wd p scaled per
    tensor by the trust ratio ||p|| / ||u||; p -= lr * ratio * u. PyTorch has no LAMB; the
    defaults follow NVIDIA apex's FusedLAMB. The spec's LAMB, r = ||p|| / ||m / (sqrt(v) +
    eps)|| without bias correction or decay, is `LAMB(..., weight_decay=0,
    bias_correction=False)`.
    """

    _hypers = {
        "lr": LR,
        "betas": BETAS,
        "eps": EPS,
        "weight_decay": WEIGHT_DECAY,
        "bias_correction": flag,
        "maximize": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.01,
        bias_correction: bool = True,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                bias_correction=bias_correction,
                maximize=maximize,
            ),
        )

    def _update(self) -> None:
        for g in self.param_groups:
            for step, params in self._by_step(g, "exp_avg", "exp_avg_sq"):
                ps, gs = self._arrays(params)
                _b.active.lamb_step(
                    ps,
                    gs,
                    self._buffers(params, "exp_avg"),
                    self._buffers(params, "exp_avg_sq"),
                    step,
                    g["lr"],
                    g["betas"][0],
                    g["betas"][1],
                    g["eps"],
                    g["weight_decay"],
                    g["bias_correction"],
                    g["maximize"],
                )
