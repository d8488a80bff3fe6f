from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .. import backend as _b
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam (seed 000 section 14.3), as torch.optim.Adam.

    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr * m_hat / (sqrt(v_hat) + eps)
    with bias-corrected m_hat, v_hat. weight_decay adds weight_decay * p to g (L2).
    Every parameter of a group is updated in one kernel call.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, maximize: bool = False) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def step(self) -> None:
        for g in self.param_groups:
            # Parameters at the same step count share one kernel call.
            by_step: dict[int, list] = {}
            for p in self._with_grads(g):
                st = self.state.setdefault(id(p), {})
                if "step" not in st:
                    st.update(step=0, exp_avg=np.zeros_like(p.data),
                              exp_avg_sq=np.zeros_like(p.data))
                st["step"] += 1
                by_step.setdefault(st["step"], []).append(p)
            for step, params in by_step.items():
                states = [self.state[id(p)] for p in params]
                _b.active.adam_step([p.data for p in params], [p.grad.data for p in params],
                                    [s["exp_avg"] for s in states],
                                    [s["exp_avg_sq"] for s in states], step, g["lr"],
                                    g["betas"][0], g["betas"][1], g["eps"], g["weight_decay"],
                                    g["maximize"])
