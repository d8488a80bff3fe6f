"""What the sampling-based generative models (DDPM, the score model, the EBM) share: input
checks, the data box, Gaussian draws from pydl's generator, and the network of the two
denoising models (DDPM's epsilon_theta(x_t, t) and the score model's s_theta(x, sigma_i) are
both an MLP of x conditioned on a discrete noise index)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import _random, nn
from ..nn import functional as NF
from ..tensor import Tensor, tensor
from . import evaluation


def as_batch(x: Any, dim: int, name: str = "x") -> np.ndarray:
    """x (a Tensor or array-like) as a float32 (B, dim) array, B >= 1, all finite."""
    arr = np.asarray(x.numpy() if isinstance(x, Tensor) else x, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != dim or len(arr) == 0:
        raise ValueError(f"{name} must be a (batch, {dim}) array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def check_bounds(bounds: Any) -> tuple[float, float] | None:
    """None, or (low, high) with low < high: the box the data lives in."""
    if bounds is None:
        return None
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be None or (low, high), got {bounds!r}") from None
    if not low < high:
        raise ValueError(f"bounds must have low < high, got {bounds!r}")
    return low, high


def check_count(n: Any, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return int(n)


def normal(shape: tuple[int, ...]) -> np.ndarray:
    """float32 N(0, 1) draws from pydl's seeded generator (pydl.manual_seed)."""
    return _random.normal_(np.empty(shape, np.float32))


def uniform(shape: tuple[int, ...], low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """float32 U[low, high) draws from pydl's seeded generator."""
    return _random.uniform_(np.empty(shape, np.float32), low, high)


def digits() -> np.ndarray:
    """The digits' training split as (n, 64) float32 in [0, 1] (17 levels)."""
    return evaluation.digit_levels("train")[0].astype(np.float32) / (evaluation.LEVELS - 1)


def sample_metrics(model: Any, samples: int) -> dict[str, float]:
    """sample_quality of model.sample(samples) (Note [Sample quality]) and the seconds the
    sampling took; nothing for samples <= 0."""
    if samples <= 0:
        return {}
    start = time.perf_counter()
    drawn = model.sample(samples)
    return evaluation.sample_quality(drawn) | {"sample_seconds": time.perf_counter() - start}


class _Block(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(hidden, hidden)
        self.cond = nn.Linear(hidden, hidden)
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, h: Tensor, e: Tensor) -> Tensor:
        return h + self.fc2(NF.silu(self.fc1(NF.silu(h)) + self.cond(e)))


class NoiseConditionalMLP(nn.Module):
    """f(x, i): (B, dim) inputs and (B,) integer noise indices in [0, n_levels) -> (B, dim).

    The index enters as the transformer's sinusoidal encoding of position i (as the DDPM
    U-Net embeds t), through a small MLP, added inside each residual block (SiLU, width
    `hidden`, `depth` blocks). The output layer starts at zero, so the initial prediction
    is 0: the mean of DDPM's noise and of a score.
    """

    def __init__(
        self, dim: int, n_levels: int, hidden: int = 256, depth: int = 2, emb_dim: int = 64
    ) -> None:
        super().__init__()
        for name, value in (("dim", dim), ("n_levels", n_levels), ("hidden", hidden)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(depth, int) or depth < 0:
            raise ValueError(f"depth must be a non-negative int, got {depth!r}")
        self.dim, self.n_levels = dim, n_levels
        self._table = nn.sinusoidal_positional_encoding(n_levels, emb_dim).numpy()
        self.embed = nn.Sequential(nn.Linear(emb_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(_Block(hidden) for _ in range(depth))
        self.out = nn.Linear(hidden, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Any, level: Any) -> Tensor:
        level = np.asarray(level)
        e = self.embed(tensor(self._table[level]))
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, e)
        return self.out(NF.silu(h))
