"""Optimizer base: parameter groups, zero_grad, state_dict."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any, Callable

import numpy as np

from ..tensor import Tensor, bump_version, enable_grad


class Optimizer:
    """Holds parameter groups (dicts with "params" and hyper-parameters) and per-parameter state."""

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = defaults
        # Keyed by the parameter itself, as PyTorch's, so copy.deepcopy and pickle carry the
        # state over to the copied parameters (id() keys pointed at the originals).
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict] = []
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if id(p) in seen:
                raise ValueError("some parameters appear in more than one parameter group")
            seen.add(id(p))
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self.param_groups.append(group)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter from its gradient. `closure`, if given, is called
        first (with gradients recorded) to recompute the loss and the gradients; its loss
        is returned (None without a closure), as PyTorch's."""
        loss = evaluate_closure(closure)
        self._update()
        return loss

    def _update(self) -> None:
        """The update from the current gradients (each optimizer's rule)."""
        raise NotImplementedError

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad._array[...] = 0

    def _with_grads(self, group: dict) -> list[Tensor]:
        """The group's parameters that have a gradient (the others are skipped): the ones
        this step writes in place, so their version counters count the write (a backward
        through a graph that read them before the step then raises, as in PyTorch)."""
        params = [p for p in group["params"] if p.grad is not None]
        for p in params:
            bump_version(p)
        return params

    def _by_step(self, group: dict, *buffers: str) -> Iterator[tuple[int, list[Tensor]]]:
        """The group's parameters with gradients, grouped by their step count after this
        step (one kernel call per group); new parameters get zeroed `buffers`."""
        by_step: dict[int, list[Tensor]] = {}
        for p in self._with_grads(group):
            st = self.state.get(p)
            if st is None:
                st = self.state[p] = {"step": 0}
                for name in buffers:
                    st[name] = np.zeros_like(p._array)
            st["step"] += 1
            by_step.setdefault(st["step"], []).append(p)
        return iter(by_step.items())

    def _buffers(self, params: list[Tensor], name: str) -> list[np.ndarray]:
        return [self.state[p][name] for p in params]

    @staticmethod
    def _arrays(params: list[Tensor]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return [p._array for p in params], [p.grad._array for p in params]

    def state_dict(self) -> dict:
        """State by parameter position (as PyTorch), and the groups' hyper-parameters."""
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        state = {
            index[id(k)]: {n: (v.copy() if isinstance(v, np.ndarray) else v) for n, v in s.items()}
            for k, s in self.state.items()
            if id(k) in index
        }
        groups = []
        for g in self.param_groups:
            d = {k: v for k, v in g.items() if k != "params"}
            d["params"] = [index[id(p)] for p in g["params"]]
            groups.append(d)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
            len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)
        ):
            raise ValueError("loaded state dict has a different number of parameters or groups")
        params = [p for g in self.param_groups for p in g["params"]]
        for g, saved in zip(self.param_groups, groups):
            g.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {params[int(i)]: copy.deepcopy(s) for i, s in state_dict["state"].items()}


def evaluate_closure(closure: Callable[[], Any] | None) -> Any:
    """closure() with gradient recording on (step may run under no_grad), or None."""
    if closure is None:
        return None
    with enable_grad():
        return closure()


def check_hyper(condition: bool, message: str) -> None:
    """Raise ValueError(message) unless condition (PyTorch's wording for each argument)."""
    if not condition:
        raise ValueError(message)


def check_common(
    lr: float, eps: float | None = None, weight_decay: float = 0.0, betas: tuple | None = None
) -> None:
    check_hyper(lr >= 0.0, f"Invalid learning rate: {lr}")
    if eps is not None:
        check_hyper(eps >= 0.0, f"Invalid epsilon value: {eps}")
    check_hyper(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
    if betas is not None:
        for i, b in enumerate(betas):
            check_hyper(0.0 <= b < 1.0, f"Invalid beta parameter at index {i}: {b}")
