"""Per-coordinate adaptive steps: Adagrad, RMSprop, Adadelta, Adafactor; and Lion."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend as _b
from .optimizer import Optimizer, check_common, check_hyper


class Adagrad(Optimizer):
    """Adagrad, as torch.optim.Adagrad: G += g^2; p -= clr g / (sqrt(G) + eps) with
    clr = lr / (1 + (t - 1) lr_decay). The spec writes sqrt(G + eps); with eps = 1e-10 the
    two differ by under 1e-5 relative once G >> eps."""

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
        check_common(lr, eps, weight_decay)
        check_hyper(lr_decay >= 0.0, f"Invalid lr_decay value: {lr_decay}")
        check_hyper(
            initial_accumulator_value >= 0.0,
            f"Invalid initial_accumulator_value value: {initial_accumulator_value}",
        )
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
        check_common(lr, eps, weight_decay)
        check_hyper(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        check_hyper(alpha >= 0.0, f"Invalid alpha value: {alpha}")
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

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        check_common(lr, eps, weight_decay)
        check_hyper(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
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
        check_common(lr, None, weight_decay)
        check_hyper(beta2_decay <= 0.0, f"beta2_decay should be <= 0 but is: {beta2_decay}")
        check_hyper(d >= 1.0, f"Clipping threshold d should be >= 1 but is: {d}")
        super().__init__(
            params,
            dict(
                lr=lr,
                beta2_decay=beta2_decay,
                eps=tuple(eps),
                d=d,
                weight_decay=weight_decay,
                maximize=maximize,
                relative_step=relative_step,
            ),
        )

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

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        check_common(lr, None, weight_decay, betas)
        super().__init__(
            params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, maximize=maximize)
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
