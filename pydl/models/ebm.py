"""An energy-based model, seed 002's "Energy-Based Models (EBM)" rows, trained by maximum
likelihood with short-run Langevin chains kept in a replay buffer (Du & Mordatch 2019).

Note [EBM sampling]: the likelihood gradient needs draws from p_theta, which only MCMC can
give. Each training step takes its negatives from persistent chains: a replay buffer of
past chain states, of which a fraction `restart` is replaced by fresh uniform noise on
`bounds` (so that the chains keep exploring and modes the buffer has lost can be found
again), advanced by n_steps of the spec's Langevin update with s = -grad_x E (pydl.autograd
.grad, which leaves the parameters' .grad alone), clipped into `bounds`, and written back.
Short chains do not reach p_theta; the model learns an energy whose short-run chains from
the buffer look like the data (Nijkamp et al. 2019), so `sample` draws the same way: from
the buffer, a further n_steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import autograd, nn, optim
from .._random import manual_seed
from ..tensor import Tensor, enable_grad, tensor
from ._digits import fit
from ._generative import as_batch, check_bounds, check_count, digits, sample_metrics, uniform
from .score import langevin_dynamics


class EBM(nn.Module):
    """p_theta(x) = exp(-E_theta(x)) / Z_theta, Z_theta = int exp(-E_theta(x)) dx (seed 002),
    with E_theta(x) = f_theta(x) / temperature, f_theta an MLP (SiLU, `depth` hidden layers
    of width `hidden`, a scalar output).

    Training follows the spec's gradient of the log-likelihood,
        grad_theta log p(x) = -grad_theta E(x_data) + E_{p_theta}[grad_theta E(x)],
    as the loss whose gradient is its negative:
        loss = mean E(x_data) - mean E(x_model) + alpha (mean f(x_data)^2 + mean f(x_model)^2)
    with x_model the negatives of Note [EBM sampling], drawn by the spec's Langevin update
    on E_theta. The alpha term (Du & Mordatch's regularizer) is not in the spec: Z_theta
    leaves the energy's offset free, and the term keeps f near 0 so that the two means
    cannot drift apart without bound.

    The fixed temperature sets how sharp p_theta can be while f stays at unit scale: one
    Langevin step moves x by (step_size / 2 temperature) grad f plus noise of std
    sqrt(step_size). On the 2-D toys temperature 1 works; on the digits' 64 dimensions
    its chains stay noise (Frechet 309 after 40 epochs at step_size 1e-3), so the
    defaults there are step_size 1e-4 (noise 0.01 per pixel) and temperature 5e-5 (a
    drift of grad f per step), the small-noise regime of Du & Mordatch's sampler written
    as the spec's update.
    """

    def __init__(
        self,
        dim: int = 64,
        hidden: int = 256,
        depth: int = 2,
        bounds: Any = (0.0, 1.0),
        step_size: float = 1e-4,
        n_steps: int = 20,
        buffer_size: int = 10_000,
        restart: float = 0.05,
        alpha: float = 0.1,
        temperature: float = 5e-5,
    ) -> None:
        super().__init__()
        for name, value in (("dim", dim), ("hidden", hidden), ("depth", depth)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.bounds = check_bounds(bounds)
        if self.bounds is None:
            raise ValueError("bounds must be (low, high) for an EBM: its chains restart there")
        if not step_size > 0:
            raise ValueError(f"step_size must be positive, got {step_size!r}")
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
            raise ValueError(f"n_steps must be a non-negative int, got {n_steps!r}")
        if not 0.0 <= restart <= 1.0:
            raise ValueError(f"restart must be a fraction in [0, 1], got {restart!r}")
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.temperature = temperature
        self.dim, self.step_size, self.n_steps = dim, step_size, n_steps
        self.restart, self.alpha = restart, alpha
        sizes = [dim] + [hidden] * depth
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.SiLU()]
        self.net = nn.Sequential(*layers, nn.Linear(hidden, 1))
        # the chains are part of the sampler's state: saved in state_dict with the weights
        size = check_count(buffer_size, "buffer_size")
        self.register_buffer("replay_buffer", tensor(uniform((size, dim), *self.bounds)))

    def energy(self, x: Any) -> Tensor:
        """E_theta(x) = f_theta(x) / temperature, (B,) for (B, dim) x."""
        return self.f(x) * (1.0 / self.temperature)

    def f(self, x: Any) -> Tensor:
        """The network's output f_theta(x), (B,) for (B, dim) x."""
        return self.net(x if isinstance(x, Tensor) else tensor(as_batch(x, self.dim))).reshape(-1)

    @enable_grad()  # called from inside no_grad code too (evaluation)
    def score(self, x: Any) -> np.ndarray:
        """grad_x log p_theta(x) = -grad_x E_theta(x), an array like x."""
        leaf = tensor(as_batch(x, self.dim), requires_grad=True)
        (grad,) = autograd.grad(self.energy(leaf).sum(), leaf)
        return -grad.numpy()

    def negatives(self, n: int) -> np.ndarray:
        """n draws of the persistent chains (Note [EBM sampling]); the buffer is updated."""
        n = check_count(n)
        buffer = self.replay_buffer.numpy()  # a view: the writes below update the model
        if n > len(buffer):
            raise ValueError(f"n must be at most the buffer's {len(buffer)} chains, got {n}")
        rows = np.argsort(uniform((len(buffer),)), kind="stable")[:n]  # distinct chains
        start = buffer[rows]
        fresh = uniform((n,)) < self.restart
        start[fresh] = uniform((int(fresh.sum()), self.dim), *self.bounds)
        x = langevin_dynamics(self.score, start, self.step_size, self.n_steps, self.bounds)
        buffer[rows] = x
        return x

    def loss(self, x: Any, negatives: Any = None) -> Tensor:
        """The contrastive loss above on a data batch x (B, dim); negatives (M, dim) are
        drawn from the chains (B of them) unless given."""
        x = as_batch(x, self.dim)
        neg = (
            self.negatives(len(x))
            if negatives is None
            else as_batch(negatives, self.dim, "negatives")
        )
        f = self.f(np.concatenate([x, neg]))  # one pass for both
        f_data, f_model = f[: len(x)], f[len(x) :]
        loss = (f_data.mean() - f_model.mean()) * (1.0 / self.temperature)
        if self.alpha:
            loss = loss + self.alpha * ((f_data**2).mean() + (f_model**2).mean())
        return loss

    def sample(self, n: int, n_steps: int | None = None) -> np.ndarray:
        """n draws, (n, dim) in `bounds`: states of the replay buffer, drawn with
        replacement, advanced by n_steps (the training chains' length unless given); the
        buffer is left as it was."""
        n = check_count(n)
        buffer = self.replay_buffer.numpy()
        rows = (uniform((n,)) * len(buffer)).astype(np.int64) % len(buffer)
        steps = self.n_steps if n_steps is None else n_steps
        return langevin_dynamics(self.score, buffer[rows], self.step_size, steps, self.bounds)


# The digits recipe (train_ebm and `pydl train ebm`); Adam's betas (0, 0.999): no momentum,
# since the negatives, the loss's other half, move with every step
EPOCHS, BATCH_SIZE, LR, BETAS = 30, 128, 3e-4, (0.0, 0.999)


def train_ebm(
    epochs: int = EPOCHS,
    seed: int = 0,
    progress: bool = False,
    *,
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    samples: int = 1000,
) -> dict[str, float]:
    """Train an EBM on the digits' training split with Adam; returns the last epoch's mean
    loss (train_loss), the training seconds and, for `samples` > 0 draws, their sample_quality (Note
    [Sample quality]) and the sampling seconds."""
    check_count(epochs, "epochs")
    manual_seed(seed)
    model = EBM()
    opt = optim.Adam(model.parameters(), lr=lr, betas=BETAS)
    metrics = fit(model, opt, epochs, batch_size, progress, data=digits(), drop_last=True)
    return metrics | sample_metrics(model, samples)
