"""Stochastic weight averaging and EMA of weights, as torch.optim.swa_utils:
AveragedModel (a running average of a model's parameters), SWALR (anneal to a constant
SWA learning rate) and update_bn (recompute BatchNorm statistics for averaged weights)."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterable
from typing import Any, Callable

import numpy as np

from ..nn.module import Module
from ..nn.norm import _BatchNorm
from ..tensor import Tensor, bump_version, no_grad
from .lr_scheduler import LRScheduler, _check_optimizer, _per_group
from .optimizer import real
from .._dtypes import is_floating


def _lerp_(averaged: list[Tensor], current: list[Tensor], weight: float) -> None:
    """averaged += weight (current - averaged), in place (torch.lerp_'s two-sided form,
    which is exact at weight 1)."""
    for a, c in zip(averaged, current):
        bump_version(a)
        x, y = a._array, np.asarray(c._array, a._array.dtype)
        if weight < 0.5:
            x += weight * (y - x)
        else:
            x[...] = y - (y - x) * (1 - weight)


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """multi_avg_fn for an exponential moving average: ema = decay ema + (1 - decay) p."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )

    def ema_update(ema_params: list[Tensor], current: list[Tensor], _: Any) -> None:
        if is_floating(ema_params[0].dtype):
            _lerp_(ema_params, current, 1 - decay)
            return
        for e, c in zip(ema_params, current):
            bump_version(e)
            e._array[...] = e._array * decay + c._array * (1 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """multi_avg_fn for the equal-weight running mean: avg += (p - avg) / (n + 1)."""

    def swa_update(averaged: list[Tensor], current: list[Tensor], num_averaged: Any) -> None:
        n = int(num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged)
        if is_floating(averaged[0].dtype):
            _lerp_(averaged, current, 1 / (n + 1))
            return
        for a, c in zip(averaged, current):
            bump_version(a)
            a._array[...] = a._array + (c._array - a._array) / (n + 1)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """avg_fn for an exponential moving average (one tensor at a time)."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )

    @no_grad()
    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """avg_fn for the equal-weight running mean (one tensor at a time)."""

    @no_grad()
    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of `model` whose parameters (and, with use_buffers, buffers) are a running
    average of the model's, updated by update_parameters(model): the equal-weight mean
    (SWA) by default, or avg_fn (per tensor) / multi_avg_fn (per list, e.g.
    get_ema_multi_avg_fn()). Without use_buffers the buffers are copied from the model.
    n_averaged (an int64 buffer) counts the updates; the first one copies."""

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel averages a Module, got {type(model).__name__}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("Only one of avg_fn and multi_avg_fn should be provided")
        for name, fn in (("avg_fn", avg_fn), ("multi_avg_fn", multi_avg_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"AveragedModel: {name} must be callable, got {type(fn).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", Tensor(np.zeros((), np.int64)))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold model's current parameters into the average."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.module.parameters()), list(model.parameters())
        if len(mine) != len(theirs) or any(a.shape != c.shape for a, c in zip(mine, theirs)):
            raise ValueError(
                f"AveragedModel.update_parameters: the model has {len(theirs)} parameters"
                f"{' and buffers' if self.use_buffers else ''} of shapes "
                f"{[tuple(c.shape) for c in theirs]}, the averaged one "
                f"{[tuple(a.shape) for a in mine]}: not the model it was built from"
            )
        n = int(self.n_averaged.item())
        pairs = list(zip(mine, theirs))
        if n == 0:
            for a, c in pairs:
                bump_version(a)
                a._array[...] = c._array
        elif self.avg_fn is not None:
            with no_grad():
                for a, c in pairs:
                    new = self.avg_fn(a.detach(), c.detach(), self.n_averaged)
                    bump_version(a)
                    a._array[...] = new._array if isinstance(new, Tensor) else new
        else:
            fn = self.multi_avg_fn or get_swa_multi_avg_fn()
            # Grouped by dtype, as PyTorch's foreach grouping.
            groups: dict[Any, tuple[list, list]] = {}
            for a, c in pairs:
                mine_g, theirs_g = groups.setdefault(a.dtype, ([], []))
                mine_g.append(a)
                theirs_g.append(c.detach())
            with no_grad():
                for mine_g, theirs_g in groups.values():
                    fn(mine_g, theirs_g, self.n_averaged)
        if not self.use_buffers:
            for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                bump_version(b_avg)
                b_avg._array[...] = b_model._array
        self.n_averaged._array += 1


def _reset_running_stats(bn: _BatchNorm) -> None:
    reset = getattr(bn, "reset_running_stats", None)
    if callable(reset):
        reset()
        return
    if bn.running_mean is not None:
        bn.running_mean._array[...] = 0
        bn.running_var._array[...] = 1
        bn.num_batches_tracked._array[...] = 0


@no_grad()
def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute every BatchNorm's running statistics as the plain mean over one pass of
    `loader` (each batch, or its first element, is fed to model in train mode)."""
    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            _reset_running_stats(m)
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr to swa_lr over anneal_epochs (cos or linear), then holds
    it."""

    def __init__(
        self,
        optimizer: Any,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer(optimizer)
        for lr, g in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            g["swa_lr"] = real()("SWALR", "swa_lr", lr)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        return t if self._anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        groups = self.optimizer.param_groups
        prev = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev)]


__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]
