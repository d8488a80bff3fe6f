"""Optimizer base: parameter groups, zero_grad, state_dict."""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Iterable, Iterator
from typing import Any, Callable

import numpy as np

from .. import _capture
from ..tensor import Tensor, bump_version, enable_grad


class Optimizer:
    """Holds parameter groups (dicts with "params" and hyper-parameters) and per-parameter state."""

    # How each hyper-parameter of a group is checked (Note [Optimizer arguments]): name ->
    # check(owner, name, value) returning the value to store. Subclasses extend it.
    _hypers: dict[str, Check] = {}

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = defaults
        # Keyed by the parameter itself, as PyTorch's, so copy.deepcopy and pickle carry the
        # state over to the copied parameters (id() keys pointed at the originals).
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict] = []
        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{owner}: params should be an iterable of Tensors or dicts, but got a Tensor "
                f"of shape {tuple(params.shape)} (pass [tensor])"
            )
        try:
            params = list(params)
        except TypeError:
            hint = " (pass module.parameters())" if hasattr(params, "parameters") else ""
            raise TypeError(
                f"{owner}: params should be an iterable of Tensors or dicts, but got "
                f"{type(params).__name__}{hint}"
            ) from None
        if not params:
            raise ValueError(f"{owner} got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        if not isinstance(group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(group).__name__}")
        if "params" not in group:
            raise KeyError(f"param_group must have a 'params' entry, got keys {sorted(group)}")
        group = dict(group)
        params = group["params"]
        if isinstance(params, Tensor):
            group["params"] = [params]
        else:
            try:
                group["params"] = list(params)
            except TypeError:
                raise TypeError(
                    f"param_group['params'] should be an iterable of Tensors, but got "
                    f"{type(params).__name__}"
                ) from None
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
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Checks (and normalises) the group's hyper-parameters by `_hypers`, in place."""
        owner = type(self).__name__
        for name, check in self._hypers.items():
            if name in group:
                group[name] = check(owner, name, group[name])

    @_capture.replayed_whole  # its step counts and scalars change from step to step
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

    @_capture.replayed_whole  # it sets .grad
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
        owner = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{owner}.load_state_dict: state_dict should be a dict, got "
                f"{type(state_dict).__name__}"
            )
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(
                    f"{owner}.load_state_dict: state_dict has no {key!r} entry (keys: "
                    f"{sorted(map(str, state_dict))}); is it a model's state_dict?"
                )
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
            len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)
        ):
            raise ValueError("loaded state dict has a different number of parameters or groups")
        params = [p for g in self.param_groups for p in g["params"]]
        state = {}
        for i, s in state_dict["state"].items():
            try:
                p = params[int(i)]
            except (ValueError, IndexError):
                raise ValueError(
                    f"{owner}.load_state_dict: state for parameter {i!r}, but there are "
                    f"{len(params)} parameters"
                ) from None
            for name, value in s.items():
                expected = self._state_shape(p, name)
                if isinstance(value, np.ndarray) and value.ndim and expected is not None and (
                    value.shape != expected):  # fmt: skip
                    raise ValueError(
                        f"{owner}.load_state_dict: state {name!r} of parameter {i} has shape "
                        f"{value.shape}, but the parameter needs {expected}"
                    )
            state[p] = copy.deepcopy(s)
        updated = []
        for g, saved in zip(self.param_groups, groups):
            new = {**g, **{k: v for k, v in saved.items() if k != "params"}}
            self._check_group(new)  # a damaged file's lr=nan is refused like a constructor's
            updated.append(new)
        for g, new in zip(self.param_groups, updated):
            g.update(new)  # in place: schedulers hold the group dicts
        self.state = state

    def _state_shape(self, p: Tensor, name: str) -> tuple | None:
        """The shape state entry `name` of parameter p has (None: not checked)."""
        return tuple(p.shape)


def evaluate_closure(closure: Callable[[], Any] | None) -> Any:
    """closure() with gradient recording on (step may run under no_grad), or None."""
    if closure is None:
        return None
    if not callable(closure):
        raise TypeError(
            f"step: closure must be a function that recomputes the loss, got "
            f"{type(closure).__name__}"
        )
    with enable_grad():
        return closure()


def check_hyper(condition: bool, message: str) -> None:
    """Raise ValueError(message) unless condition (PyTorch's wording for each argument)."""
    if not condition:
        raise ValueError(message)


# Note [Optimizer arguments]: every hyper-parameter of every group (the constructor's
# defaults and each group's overrides) is checked once, when the group is added, by the
# optimizer's `_hypers` table: a number (a Python or NumPy real, or a one-element Tensor,
# stored as a float) in its range, NaN never and infinity only where the range includes
# it; a flag is a bool or 0/1 (a string such as "False" would be true); betas is a pair. The
# messages begin with PyTorch's ("Invalid learning rate: -1") and then say what was
# expected. step() checks nothing.

Check = Callable[[str, str, Any], Any]


def _number(owner: str, name: str, value: Any) -> Any:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"{owner}: {name} must be a number or a one-element Tensor, got a Tensor of "
                f"shape {tuple(value.shape)}"
            )
        return float(value.item())
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return value
    raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")


def real(
    low: float = 0.0,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = True,
    label: str | None = None,
    optional: bool = False,
) -> Check:
    """A number in [low, high) (bounds open or closed as asked); None too if optional.
    `label` is PyTorch's name in "Invalid <label>: <value>" (default "<name> value")."""
    if math.isinf(high) and high_open:
        bounds = f"a finite number {'>' if low_open else '>='} {low:g}"
    else:
        bounds = (f"a number in {'(' if low_open else '['}{low:g}, {high:g}"
                  f"{')' if high_open else ']'}")  # fmt: skip

    def check(owner: str, name: str, value: Any) -> Any:
        if value is None and optional:
            return None
        v = _number(owner, name, value)
        above = v > low if low_open else v >= low
        below = v < high if high_open else v <= high
        if not (above and below):
            raise ValueError(
                f"Invalid {label or name + ' value'}: {value} ({owner} expects {name} to be "
                f"{bounds}{' or None' if optional else ''})"
            )
        return v

    return check


def integer(low: int) -> Check:
    """An int (not a bool) >= low."""

    def check(owner: str, name: str, value: Any) -> Any:
        if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"{owner}: {name} must be an integer, got {type(value).__name__} {value!r}"
            )
        if value < low:
            raise ValueError(f"Invalid {name} value: {value} ({owner} expects {name} >= {low})")
        return int(value)

    return check


def flag(owner: str, name: str, value: Any) -> bool:
    """A bool (NumPy's, or the int 0 or 1, too): a string such as "False" would silently be
    true."""
    if not isinstance(value, (bool, np.bool_)) and not (
        isinstance(value, (int, np.integer)) and value in (0, 1)
    ):
        raise TypeError(f"{owner}: {name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def pair(element: Check, what: str) -> Check:
    """A tuple or list of two, each checked by `element` (named "<name>[i]")."""

    def check(owner: str, name: str, value: Any) -> tuple:
        if not isinstance(value, (tuple, list)):
            raise TypeError(
                f"{owner}: {name} must be a pair {what}, got {type(value).__name__} {value!r}"
            )
        if len(value) != 2:
            raise ValueError(
                f"{owner}: {name} must be a pair {what}, got {len(value)} values: {tuple(value)!r}"
            )
        return tuple(element(owner, f"{name}[{i}]", v) for i, v in enumerate(value))

    return check


def _beta(owner: str, name: str, value: Any) -> float:
    index = name[name.index("[") + 1 : -1]
    return real(0.0, 1.0, label=f"beta parameter at index {index}")(owner, name, value)


LR = real(label="learning rate")
EPS = real(label="epsilon value")
WEIGHT_DECAY = real()
BETAS = pair(_beta, "(beta1, beta2) of numbers in [0, 1)")
