"""Per-coordinate adaptive steps: Adagrad, RMSprop, Adadelta, Adafactor; and Lion."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor
from .optimizer import BETAS, EPS, LR, WEIGHT_DECAY, Optimizer, flag, pair, real


class Adagrad(Optimizer):
    """Adagrad, as torch.optim.Adagrad: G += g^2; p -= clr g / (sqrt(G) + eps) with
    clr = lr / (1 + (t - 1) lr_decay). The spec writes sqrt(G + eps); with eps = 1e-10 the
    two differ by under 1e-5 relative once G >> eps."""

    _hypers = {
        "lr": LR,
        "lr_decay": real(),
        "weight_decay": WEIGHT_DECAY,
        "initial_accumulator_value": real(),
        "eps": EPS,
        "maximize": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
                maximize=maximize,
            ),
        )
        for g in self.param_groups:  # PyTorch creates the state eagerly
            for p in g["params"]:
                self.state[p] = {
                    "step": 0,
                    "sum": np.full_like(p._array, g["initial_accumulator_value"]),
                }

    def _update(self) -> None:
        for g in self.param_groups:
            for step, params in self._by_step(g):
                clr = g["lr"] / (1 + (step - 1) * g["lr_decay"])
                ps, gs = self._arrays(params)
                _b.active.adagrad_step(
                    ps,
                    gs,
                    self._buffers(params, "sum"),
                    clr,
                    g["weight_decay"],
                    g["eps"],
                    g["maximize"],
                )


class RMSprop(Optimizer):
    """RMSprop, as torch.optim.RMSprop: E[g^2] = alpha E[g^2] + (1 - alpha) g^2;
    p -= lr g / (sqrt(E[g^2]) + eps); centered subtracts E[g]^2 under the root; momentum
    accumulates g / avg. eps_in_sqrt=True (not in PyTorch) puts eps under the root,
    p -= lr g / sqrt(E[g^2] + eps): the spec's RMSProp row (seed 002) with beta = alpha."""

    _hypers = {
        "lr": LR,
        "alpha": real(),
        "eps": EPS,
        "weight_decay": WEIGHT_DECAY,
        "momentum": real(),
        "centered": flag,
        "maximize": flag,
        "eps_in_sqrt": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
        *,
        eps_in_sqrt: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
                eps_in_sqrt=eps_in_sqrt,
            ),
        )

    def _update(self) -> None:
        for g in self.param_groups:
            buffers = (
                ("square_avg",)
                + (("momentum_buffer",) if g["momentum"] > 0 else ())
                + (("grad_avg",) if g["centered"] else ())
            )
            for _, params in self._by_step(g, *buffers):
                ps, gs = self._arrays(params)
                _b.active.rmsprop_step(
                    ps,
                    gs,
                    self._buffers(params, "square_avg"),
                    self._buffers(params, "momentum_buffer") if g["momentum"] > 0 else [],
                    self._buffers(params, "grad_avg") if g["centered"] else [],
                    g["lr"],
                    g["alpha"],
                    g["eps"],
                    g["weight_decay"],
                    g["momentum"],
                    g["centered"],
                    g["maximize"],
                    g["eps_in_sqrt"],
                )


class Adadelta(Optimizer):
    """Adadelta, as torch.optim.Adadelta (the spec's form is lr = 1):
    E[g^2] = rho E[g^2] + (1 - rho) g^2; d = sqrt(E[d^2] + eps) / sqrt(E[g^2] + eps) g;
    E[d^2] = rho E[d^2] + (1 - rho) d^2; p -= lr d."""

    _hypers = {
        "lr": LR,
        "rho": real(0.0, 1.0, high_open=False),
        "eps": EPS,
        "weight_decay": WEIGHT_DECAY,
        "maximize": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        )

    def _update(self) -> None:
        for g in self.param_groups:
            for _, params in self._by_step(g, "square_avg", "acc_delta"):
                ps, gs = self._arrays(params)
                _b.active.adadelta_step(
                    ps,
                    gs,
                    self._buffers(params, "square_avg"),
                    self._buffers(params, "acc_delta"),
                    g["lr"],
                    g["rho"],
                    g["eps"],
                    g["weight_decay"],
                    g["maximize"],
                )


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern), as torch.optim.Adafactor. For parameters of rank >= 2
    the second moment is factored, v ~ r c / mean(r) (the spec's v ~ r c), from running
    row and column means of g^2; vectors keep a full second moment. One kernel call per
    parameter (the factored statistics are per tensor). The step is PyTorch's relative one,
    max(eps2, RMS(p)) * min(lr, 1/sqrt(t)); relative_step=False (not in PyTorch) makes it
    lr itself, the spec's fixed eta: with d=inf (no update clipping) that is the spec's
    Adafactor row, p -= lr g / sqrt(v), eps1 bounding v from below."""

    _hypers = {
        "lr": LR,
        "beta2_decay": real(-math.inf, 0.0, low_open=True, high_open=False),
        # eps1 None: the parameter dtype's machine epsilon
        "eps": pair(real(label="epsilon value", optional=True), "(eps1, eps2)"),
        "d": real(1.0, math.inf, high_open=False, label="Clipping threshold d"),
        "weight_decay": WEIGHT_DECAY,
        "maximize": flag,
        "relative_step": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        maximize: bool = False,
        *,
        relative_step: bool = True,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                beta2_decay=beta2_decay,
                eps=eps,
                d=d,
                weight_decay=weight_decay,
                maximize=maximize,
                relative_step=relative_step,
            ),
        )

    def _state_shape(self, p: Tensor, name: str) -> tuple | None:
        shape = tuple(p.shape)
        return {"row_var": shape[:-1], "col_var": shape[:-2] + shape[-1:]}.get(name, shape)

    def _update(self) -> None:
        for g in self.param_groups:
            for p in self._with_grads(g):
                st = self.state.get(p)
                if st is None:
                    st = self.state[p] = {"step": 0}
                    if p.ndim >= 2:
                        st["row_var"] = np.zeros(p.shape[:-1], p.dtype)
                        st["col_var"] = np.zeros(p.shape[:-2] + p.shape[-1:], p.dtype)
                    else:
                        st["variance"] = np.zeros_like(p._array)
                st["step"] += 1
                eps1 = g["eps"][0] if g["eps"][0] is not None else float(np.finfo(p.dtype).eps)
                _b.active.adafactor_step(
                    p._array,
                    p.grad._array,
                    st.get("row_var"),
                    st.get("col_var"),
                    st.get("variance"),
                    st["step"],
                    g["lr"],
                    g["beta2_decay"],
                    eps1,
                    g["eps"][1],
                    g["d"],
                    g["weight_decay"],
                    g["maximize"],
                    g["relative_step"],
                )


class Lion(Optimizer):
    """Lion (Chen et al., 2023): c = b1 m + (1 - b1) g; p -= lr (sign(c) + wd p);
    m = b2 m + (1 - b2) g. PyTorch has no Lion; the defaults are the paper's. The spec's
    single-beta form (m = b m + (1 - b) g; p -= lr sign(m)) is `Lion(betas=(b, b))`."""

    _hypers = {"lr": LR, "betas": BETAS, "weight_decay": WEIGHT_DECAY, "maximize": flag}

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, dict(lr=lr, betas=betas, weight_decay=weight_decay, maximize=maximize)
        )

    def _update(self) -> None:
        for g in self.param_groups:
            for _, params in self._by_step(g, "exp_avg"):
                ps, gs = self._arrays(params)
                _b.active.lion_step(
                    ps,
                    gs,
                    self._buffers(params, "exp_avg"),
                    g["lr"],
                    g["betas"][0],
                    g["betas"][1],
                    g["weight_decay"],
                    g["maximize"],
                )
