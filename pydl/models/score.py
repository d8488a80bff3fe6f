"""A score-based model: a noise-conditional score network (Song & Ermon 2019) trained by
denoising score matching and sampled by annealed Langevin dynamics; seed 002's
"Score-Based Models" row. `langevin_dynamics` is that row's sampler, shared with the EBM.

Note [Langevin dynamics]: x_{t+1} = x_t + (eps / 2) s(x_t) + sqrt(eps) z_t, z_t ~ N(0, I),
has p as its stationary law as eps -> 0 when s = grad_x log p. A finite eps biases the law
by O(eps), and chains cross between far modes only rarely, so the weights of separated
modes come out wrong from a single eps. Annealing fixes that (Song & Ermon): run the chain
on p convolved with N(0, sigma_i^2 I) for a decreasing sequence of sigma_i, where large
sigma_i merge the modes and put mass on them in proportion, with step
eps_i = step_lr * sigma_i^2 / sigma_L^2 so that the signal-to-noise of each step is the
same at every level.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import nn, optim
from .._random import manual_seed
from ..tensor import Tensor, no_grad, tensor
from ._digits import fit
from ._generative import (
    NoiseConditionalMLP,
    as_batch,
    check_bounds,
    check_count,
    digits,
    normal,
    sample_metrics,
    uniform,
)


def langevin_dynamics(
    score: Callable[[np.ndarray], np.ndarray],
    x: Any,
    step_size: float,
    n_steps: int,
    bounds: Any = None,
) -> np.ndarray:
    """n_steps of the spec's x_{t+1} = x_t + (eps/2) s(x_t) + sqrt(eps) z_t with
    eps = step_size, from x (n, d); `score` maps an (n, d) float32 array to s(x) of that
    shape. With bounds (low, high) each step is clipped into that box (an image sampler's
    convention). z_t draws from pydl's generator (Note [Langevin dynamics])."""
    if not step_size > 0:
        raise ValueError(f"step_size must be positive, got {step_size!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative int, got {n_steps!r}")
    bounds = check_bounds(bounds)
    x = np.array(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"x must be an (n, d) array, got shape {x.shape}")
    for step in range(n_steps):
        x = x + (step_size / 2) * score(x) + math.sqrt(step_size) * normal(x.shape)
        if bounds is not None:
            x = np.clip(x, *bounds)
        x = x.astype(np.float32, copy=False)
        if not np.isfinite(x).all():  # a step too large for the score's curvature
            raise FloatingPointError(
                f"Langevin dynamics diverged at step {step + 1} with step_size {step_size:g}: "
                "use a smaller step"
            )
    return x


def annealed_langevin_dynamics(
    score: Callable[[np.ndarray, int], np.ndarray],
    x: Any,
    sigmas: Any,
    n_steps_each: int,
    step_lr: float,
    bounds: Any = None,
) -> np.ndarray:
    """Langevin dynamics at each noise level i in turn (sigmas decreasing), n_steps_each
    steps of size step_lr * sigma_i^2 / sigma_L^2 with score(x, i) ~ grad log p_{sigma_i}
    (Note [Langevin dynamics])."""
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if sigmas.ndim != 1 or len(sigmas) == 0 or not (sigmas > 0).all():
        raise ValueError(
            f"sigmas must be a non-empty 1-D sequence of positive numbers, got {sigmas}"
        )
    if not step_lr > 0:
        raise ValueError(f"step_lr must be positive, got {step_lr!r}")
    if isinstance(n_steps_each, bool) or not isinstance(n_steps_each, int) or n_steps_each < 0:
        raise ValueError(f"n_steps_each must be a non-negative int, got {n_steps_each!r}")
    for i, sigma in enumerate(sigmas):
        step = step_lr * (sigma / sigmas[-1]) ** 2
        x = langevin_dynamics(lambda y, i=i: score(y, i), x, step, n_steps_each, bounds)
    return x


class ScoreModel(nn.Module):
    """A noise-conditional score network s_theta(x, sigma) ~ grad_x log p_sigma(x), where
    p_sigma is the data's density convolved with N(0, sigma^2 I) (seed 002, "Score-Based
    Models": s_theta(x) = grad_x log p(x), x_{t+1} = x_t + (eps/2) s_theta(x_t) + sqrt(eps) z_t).

    Noise levels sigma_1 > ... > sigma_L are geometric from sigma_max to sigma_min.
    s_theta(x, sigma_i) = f(x, i) / sigma_i with f a NoiseConditionalMLP: the division
    gives the score its known 1/sigma scale (NCSNv2's parameterization), so f works at one
    scale at every level. Training is denoising score matching (Vincent 2011): for
    x~ = x + sigma z the score of the noising kernel is -(x~ - x) / sigma^2 = -z / sigma, and

        loss = E_{i, x, z} sigma_i^2 / 2 || s_theta(x~, sigma_i) + z / sigma_i ||^2
             = E 1/2 || f(x~, i) + z ||^2,

    weighted by lambda(sigma) = sigma^2 so that every level contributes alike (summed
    over dimensions, averaged over the batch; i uniform). `sample` runs annealed Langevin
    dynamics (Note [Langevin dynamics]) from uniform noise on `bounds` (N(0, sigma_max^2 I)
    when bounds is None), then one denoising step x + sigma_L^2 s_theta(x, sigma_L) (Tweedie's
    formula, as NCSNv2 ends), clipped into `bounds`.

    The defaults are for the digits in [0, 1]^64: sigma_max = 3 is of the order of the
    distances between training digits (median 3.1, max 4.8; NCSNv2's first technique),
    sigma_min = 0.01 is below the 1/16 between pixel levels, and sampling with 20 steps per
    level at step_lr = 2e-5 (Song & Ermon's rate) scored better (Frechet 9.3) than 10 steps
    (17) or step_lr 1e-5 (17) and 4e-5 (12); 5e-4 diverges.
    """

    def __init__(
        self,
        dim: int = 64,
        sigma_max: float = 3.0,
        sigma_min: float = 0.01,
        n_levels: int = 10,
        hidden: int = 256,
        depth: int = 2,
        bounds: Any = (0.0, 1.0),
    ) -> None:
        super().__init__()
        if not 0 < sigma_min < sigma_max:
            raise ValueError(
                f"need 0 < sigma_min < sigma_max, got sigma_min={sigma_min!r}, "
                f"sigma_max={sigma_max!r}"
            )
        n_levels = check_count(n_levels, "n_levels")
        self.sigmas = np.geomspace(sigma_max, sigma_min, n_levels)
        self.bounds = check_bounds(bounds)
        self.dim = dim
        self.net = NoiseConditionalMLP(dim, n_levels, hidden, depth)

    def forward(self, x: Any, level: Any) -> Tensor:
        """s_theta(x, sigma_level) for (B, dim) x and (B,) level indices."""
        level = self._levels(level, len(x))
        sigma = tensor((1.0 / self.sigmas[level])[:, None].astype(np.float32))
        return self.net(x, level) * sigma

    @no_grad()
    def score(self, x: Any, level: Any) -> np.ndarray:
        """s_theta(x, sigma_level) as an array; level an index or one per row."""
        x = as_batch(x, self.dim)
        return self(tensor(x), np.broadcast_to(level, (len(x),))).numpy()

    def loss(self, x: Any, levels: Any = None, noise: Any = None) -> Tensor:
        """Denoising score matching on a batch x (B, dim), weighted by sigma^2; the levels
        (B,) and noise z (B, dim) are drawn from pydl's generator unless given."""
        x = as_batch(x, self.dim)
        n_levels = len(self.sigmas)
        if levels is None:
            levels = np.minimum(uniform((len(x),)) * n_levels, n_levels - 1).astype(np.int64)
        levels = self._levels(levels, len(x))
        z = normal(x.shape) if noise is None else as_batch(noise, self.dim, "noise")
        if z.shape != x.shape:
            raise ValueError(f"noise must have x's shape {x.shape}, got {z.shape}")
        noisy = x + self.sigmas[levels][:, None].astype(np.float32) * z
        f = self.net(tensor(noisy), levels)  # = sigma * s_theta
        return ((f + tensor(z)) ** 2).sum(dim=1).mean() * 0.5

    @no_grad()
    def sample(
        self, n: int, n_steps_each: int = 20, step_lr: float = 2e-5, denoise: bool = True
    ) -> np.ndarray:
        """n draws by annealed Langevin dynamics, (n, dim)."""
        n = check_count(n)
        was_training = self.training
        self.eval()
        if self.bounds is None:
            x = normal((n, self.dim)) * np.float32(self.sigmas[0])
        else:
            x = uniform((n, self.dim), *self.bounds)
        x = annealed_langevin_dynamics(self.score, x, self.sigmas, n_steps_each, step_lr)
        if denoise:
            x = x + self.sigmas[-1] ** 2 * self.score(x, len(self.sigmas) - 1)
        self.train(was_training)
        return x if self.bounds is None else np.clip(x, *self.bounds)

    def _levels(self, levels: Any, n: int) -> np.ndarray:
        levels = np.asarray(levels)
        if levels.dtype.kind not in "iu" or levels.shape != (n,):
            raise ValueError(f"levels must be {n} integer noise-level indices, got {levels!r}")
        if n and (levels.min() < 0 or levels.max() >= len(self.sigmas)):
            raise ValueError(f"levels must lie in [0, {len(self.sigmas)}), got {levels!r}")
        return levels.astype(np.int64)


# The digits recipe (train_score and `pydl train score`)
EPOCHS, BATCH_SIZE, LR = 300, 128, 2e-3


def train_score(
    epochs: int = EPOCHS,
    seed: int = 0,
    progress: bool = False,
    *,
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    samples: int = 1000,
) -> dict[str, float]:
    """Train a ScoreModel on the digits' training split with Adam; returns the last epoch's
    mean loss, the training seconds and, for `samples` > 0 draws, their sample_quality
    (Note [Sample quality]) and the sampling seconds."""
    check_count(epochs, "epochs")
    manual_seed(seed)
    model = ScoreModel()
    opt = optim.Adam(model.parameters(), lr=lr)
    annealing = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    metrics = fit(model, opt, epochs, batch_size, progress, data=digits(), scheduler=annealing,
                  drop_last=True)  # fmt: skip
    return metrics | sample_metrics(model, samples)
