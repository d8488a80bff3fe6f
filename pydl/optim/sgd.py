from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend as _b
from .optimizer import Optimizer, check_common, check_hyper


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as torch.optim.SGD.

    g = grad + weight_decay * p; buf = g on the first step, then
    buf = momentum * buf + (1 - dampening) * g; g = g + momentum * buf (nesterov) or buf;
    p -= lr * g. The spec's momentum v = mu v + g is dampening=0 (the default); its
    exponential average v = beta v + (1 - beta) g is momentum=beta, dampening=beta.
    Every parameter of a group is updated in one kernel call.
    """

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
        check_common(lr, None, weight_decay)
        check_hyper(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
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

    def step(self) -> None:
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
                (seen if "momentum_buffer" in st else fresh).append(p)
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
