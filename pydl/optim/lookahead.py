"""Lookahead (Zhang et al., 2019) around any optimizer."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import _capture
from .. import backend as _b
from ..tensor import bump_version
from .optimizer import Optimizer, integer, real


class Lookahead:
    """Wraps an optimizer: every k steps of it (the fast weights), the slow weights move
    alpha of the way towards the fast ones and the fast weights restart from them:
    slow += alpha (fast - slow); fast = slow. The update is one kernel call per group."""

    def __init__(self, optimizer: Optimizer, k: int = 5, alpha: float = 0.5) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"Lookahead wraps an Optimizer, got {type(optimizer).__name__} (pass "
                "Lookahead(optim.SGD(params, ...)))"
            )
        k = integer(1)("Lookahead", "k (lookahead steps)", k)
        alpha = real(0.0, 1.0, high_open=False, label="slow update rate alpha")(
            "Lookahead", "alpha", alpha)  # fmt: skip
        self.optimizer, self.k, self.alpha = optimizer, k, alpha
        self.step_count = 0
        self.slow = {p: p._array.copy() for g in optimizer.param_groups for p in g["params"]}

    @property
    def param_groups(self) -> list[dict]:
        return self.optimizer.param_groups

    @property
    def state(self) -> dict:
        return self.optimizer.state

    @property
    def defaults(self) -> dict:
        return self.optimizer.defaults

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none)

    @_capture.replayed_whole  # its slow weights update in Python
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """A step of the wrapped optimizer (closure as in Optimizer.step), then, every k
        steps, the slow update. Returns the closure's loss."""
        loss = self.optimizer.step(closure)
        self.step_count += 1
        if self.step_count % self.k:
            return loss
        for g in self.param_groups:
            params = g["params"]
            for p in params:
                bump_version(p)  # written in place below
            _b.active.lookahead_step(
                [p._array for p in params], [self.slow[p] for p in params], self.alpha
            )
        return loss

    def state_dict(self) -> dict:
        params = [p for g in self.param_groups for p in g["params"]]
        return {
            "optimizer": self.optimizer.state_dict(),
            "step_count": self.step_count,
            "slow": [self.slow[p].copy() for p in params],
            "k": self.k,
            "alpha": self.alpha,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        params = [p for g in self.param_groups for p in g["params"]]
        if len(state["slow"]) != len(params):
            raise ValueError("loaded Lookahead state has a different number of parameters")
        self.slow = {p: np.array(s, copy=True) for p, s in zip(params, state["slow"])}
        self.step_count, self.k, self.alpha = state["step_count"], state["k"], state["alpha"]
