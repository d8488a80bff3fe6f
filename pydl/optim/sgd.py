from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend as _b
from .optimizer import LR, WEIGHT_DECAY, Optimizer, flag, real


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as torch.optim.SGD.

    g = grad + weight_decay * p; buf = g on the first step, then
    buf = momentum * buf + (1 - dampening) * g; g = g + momentum * buf (nesterov) or buf;
    p -= lr * g. Seed 000's momentum v = mu v + g (v_0 = 0) is momentum=mu. Seed 002's
    average v = beta v + (1 - beta) g is not momentum=beta, dampening=beta: PyTorch's first
    buffer is g itself, where the spec's is (1 - beta) g; that form is `Momentum`.
    Every parameter of a group is updated in one kernel call.
    """

    _buffer_starts_at_gradient = True  # PyTorch's first step: buf = g
    _hypers = {
        "lr": LR,
        "momentum": real(),
        "dampening": real(),
        "weight_decay": WEIGHT_DECAY,
        "nesterov": flag,
        "maximize": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            ),
        )

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening (SGD got nesterov="
                f"True, momentum={group['momentum']}, dampening={group['dampening']})"
            )

    def _update(self) -> None:
        for g in self.param_groups:
            params = self._with_grads(g)
            if not params:
                continue
            if g["momentum"] == 0:
                self._call(g, params, [], False)
                continue
            # A buffer starts as the first gradient, so parameters seen for the first
            # time go in a call of their own with first_step=True.
            fresh, seen = [], []
            for p in params:
                st = self.state.setdefault(p, {})
                new = "momentum_buffer" not in st and self._buffer_starts_at_gradient
                (fresh if new else seen).append(p)
                st.setdefault("momentum_buffer", np.zeros_like(p._array))
            for subset, first in ((seen, False), (fresh, True)):
                if subset:
                    bufs = [self.state[p]["momentum_buffer"] for p in subset]
                    self._call(g, subset, bufs, first)

    @staticmethod
    def _call(g: dict, params: list, bufs: list, first: bool) -> None:
        _b.active.sgd_step(
            [p._array for p in params],
            [p.grad._array for p in params],
            bufs,
            g["lr"],
            g["momentum"],
            g["dampening"],
            g["nesterov"],
            g["weight_decay"],
            g["maximize"],
            first,
        )


class Momentum(SGD):
    """The spec's momentum (seed 002's optimizer table): v = beta v + (1 - beta) g with
    v_0 = 0, p -= lr v. From p = 1 with g = 1, lr = 0.1, beta = 0.9 the first two steps
    give 0.99 and 0.971 (SGD(momentum=0.9, dampening=0.9) gives 0.9 and 0.8: its first
    buffer is g). weight_decay adds weight_decay * p to g, as SGD's."""

    _buffer_starts_at_gradient = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        beta: float = 0.9,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        beta = real(0.0, 1.0, label="beta value")("Momentum", "beta", beta)
        super().__init__(params, lr, beta, beta, weight_decay, False, maximize)
