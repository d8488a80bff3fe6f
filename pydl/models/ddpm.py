"""Denoising diffusion probabilistic model (Ho, Jain & Abbeel 2020), seed 002's DDPM row.

Note [DDPM steps]: the arrays are indexed k = 0 .. T-1 for the paper's steps t = k + 1:
betas[k] = beta_t, alpha_bar[k] = prod_{s <= t} (1 - beta_s), and the network is given k.
Data in the model's `bounds` (the digits' [0, 1]) are mapped linearly onto [-1, 1], where
the prior x_T ~ N(0, I) has the data's scale, and mapped back by `sample`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import nn, optim
from .._random import manual_seed
from ..nn import functional as NF
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

SCHEDULES = ("linear", "cosine")


def beta_schedule(name: str, timesteps: int) -> np.ndarray:
    """beta_1 .. beta_T (float64) of a named schedule.

    linear: Ho et al.'s beta from 1e-4 to 0.02 over T = 1000 steps, both ends scaled by
    1000 / T for other T (Nichol & Dhariwal's convention), so alpha_bar_T stays near 0.
    cosine (Nichol & Dhariwal 2021): alpha_bar(t) = f(t) / f(0), f(t) = cos^2((t/T + s) /
    (1 + s) * pi / 2), s = 0.008, and beta_t = 1 - alpha_bar(t) / alpha_bar(t - 1); both
    schedules' betas are capped at 0.999 so that no step destroys the signal outright.
    """
    if name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {name!r}")
    timesteps = check_count(timesteps, "timesteps")
    if name == "linear":
        scale = 1000.0 / timesteps
        betas = np.linspace(scale * 1e-4, scale * 0.02, timesteps)
    else:
        s = 0.008
        f = np.cos((np.arange(timesteps + 1) / timesteps + s) / (1 + s) * math.pi / 2) ** 2
        betas = 1.0 - f[1:] / f[:-1]
    return np.minimum(betas, 0.999)


class DDPM(nn.Module):
    """DDPM with an epsilon-predicting MLP (seed 002, "DDPM" rows):

        q(x_t | x_{t-1}) = N(x_t; sqrt(1 - beta_t) x_{t-1}, beta_t I)        (`q_step`)
        q(x_t | x_0)     = N(x_t; sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)  (`q_sample`)
        L = E_{t, x_0, eps} || eps - eps_theta(x_t, t) ||^2                   (`loss`)

    with t uniform on 1..T and eps ~ N(0, I); `loss` is the mean over the batch and the
    dimensions (mse_loss), so its gradient with respect to eps_theta is the spec's
    2 (eps_theta - eps) divided by the element count. eps_theta is a NoiseConditionalMLP
    (x_t and a sinusoidal embedding of t).

    `sample` is ancestral sampling: x_T ~ N(0, I), then for t = T .. 1
        x_{t-1} = mu_t + sigma_t z,  z ~ N(0, I) (z = 0 at t = 1),
        mu_t = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta(x_t, t))
    written as the posterior mean of q(x_{t-1} | x_t, x_0) at the predicted
    x_0 = (x_t - sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_bar_t), which is the same mu_t;
    with clip_denoised that x_0 is first clipped to the data's range (Ho et al.'s sampler).
    sigma_t^2 is the posterior variance beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t).
    Steps are indexed as Note [DDPM steps] says.
    """

    def __init__(
        self,
        dim: int = 64,
        timesteps: int = 1000,
        schedule: str = "linear",
        hidden: int = 256,
        depth: int = 2,
        bounds: Any = (0.0, 1.0),
    ) -> None:
        super().__init__()
        self.betas = beta_schedule(schedule, timesteps)
        self.bounds = check_bounds(bounds)
        if self.bounds is None:
            raise ValueError("bounds must be (low, high) for DDPM: the data are scaled to [-1, 1]")
        self.dim, self.timesteps, self.schedule = dim, timesteps, schedule
        self.alphas = 1.0 - self.betas
        self.alpha_bar = np.cumprod(self.alphas)
        self.net = NoiseConditionalMLP(dim, timesteps, hidden, depth)

    # ----- the forward (noising) process, on the model's [-1, 1] scale -----

    def q_step(self, x_prev: Any, t: Any, noise: Any) -> np.ndarray:
        """One step of q(x_t | x_{t-1}): sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) noise."""
        t = self._steps(t)
        b = self.betas[t][..., None]
        return (np.sqrt(1.0 - b) * x_prev + np.sqrt(b) * noise).astype(np.float32)

    def q_sample(self, x0: Any, t: Any, noise: Any) -> np.ndarray:
        """A draw of q(x_t | x_0): sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise."""
        t = self._steps(t)
        ab = self.alpha_bar[t][..., None]
        return (np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * noise).astype(np.float32)

    # ----- training -----

    def to_model_scale(self, x: Any) -> np.ndarray:
        """Data in `bounds` -> [-1, 1]."""
        low, high = self.bounds
        return (2.0 * (as_batch(x, self.dim) - low) / (high - low) - 1.0).astype(np.float32)

    def loss(self, x: Any, t: Any = None, noise: Any = None) -> Tensor:
        """The spec's L on a batch of data x (B, dim) in `bounds`; t (B,) step indices and
        noise (B, dim) are drawn from pydl's generator unless given."""
        x0 = self.to_model_scale(x)
        if t is None:
            t = np.minimum(uniform((len(x0),)) * self.timesteps, self.timesteps - 1)
            t = t.astype(np.int64)
        t = self._steps(t)
        if t.shape != (len(x0),):
            raise ValueError(f"t must hold one step per row of x, got shape {t.shape}")
        noise = normal(x0.shape) if noise is None else as_batch(noise, self.dim, "noise")
        if noise.shape != x0.shape:
            raise ValueError(f"noise must have x's shape {x0.shape}, got {noise.shape}")
        eps_theta = self.net(tensor(self.q_sample(x0, t, noise)), t)
        return NF.mse_loss(eps_theta, tensor(noise))

    # ----- sampling -----

    @no_grad()
    def sample(self, n: int, clip_denoised: bool = True) -> np.ndarray:
        """n draws by ancestral sampling, (n, dim) in `bounds`."""
        n = check_count(n)
        was_training = self.training
        self.eval()
        x = normal((n, self.dim))
        for k in range(self.timesteps - 1, -1, -1):
            eps = self.net(tensor(x), np.full(n, k)).numpy()
            ab, ab_prev = self.alpha_bar[k], self.alpha_bar[k - 1] if k > 0 else 1.0
            x0 = (x - math.sqrt(1.0 - ab) * eps) / math.sqrt(ab)
            if clip_denoised:
                x0 = np.clip(x0, -1.0, 1.0)
            beta = self.betas[k]
            mean = (
                beta * math.sqrt(ab_prev) / (1.0 - ab) * x0
                + (1.0 - ab_prev) * math.sqrt(self.alphas[k]) / (1.0 - ab) * x
            )
            x = mean
            if k > 0:
                x = x + math.sqrt(beta * (1.0 - ab_prev) / (1.0 - ab)) * normal(x.shape)
            x = x.astype(np.float32)
        self.train(was_training)
        low, high = self.bounds
        return np.clip((x + 1.0) / 2.0 * (high - low) + low, low, high)

    def _steps(self, t: Any) -> np.ndarray:
        t = np.asarray(t)
        if t.dtype.kind not in "iu" or (t.size and (t.min() < 0 or t.max() >= self.timesteps)):
            raise ValueError(f"t must be integer steps in [0, {self.timesteps}), got {t!r}")
        return t.astype(np.int64)


# The digits recipe (train_ddpm and `pydl train ddpm`)
EPOCHS, BATCH_SIZE, LR, TIMESTEPS, SCHEDULE = 300, 128, 2e-3, 200, "cosine"


def train_ddpm(
    epochs: int = EPOCHS,
    seed: int = 0,
    progress: bool = False,
    *,
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    timesteps: int = TIMESTEPS,
    schedule: str = SCHEDULE,
    samples: int = 1000,
) -> dict[str, float]:
    """Train a DDPM on the digits' training split with Adam; returns the last epoch's mean
    loss (train_loss), the training seconds and, for `samples` > 0 draws, their sample_quality (Note
    [Sample quality]) and the sampling seconds.

    200 steps keep sampling to 200 network passes; annealing the learning rate to 0 took
    the Frechet distance of 300 epochs from 24 (cosine schedule) and 21 (linear) to 11."""
    check_count(epochs, "epochs")
    manual_seed(seed)
    model = DDPM(timesteps=timesteps, schedule=schedule)
    opt = optim.Adam(model.parameters(), lr=lr)
    # annealing to zero stands in for the weight average (EMA) of longer runs
    annealing = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    metrics = fit(model, opt, epochs, batch_size, progress, data=digits(), scheduler=annealing,
                  drop_last=True)  # fmt: skip
    return metrics | sample_metrics(model, samples)
