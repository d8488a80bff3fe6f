"""The variational autoencoder of seed 002's table and seed 003 section 7, on digits as 64
pixels of 17 levels.

Note [VAE on digit levels]: the encoder gives q(z|x) = N(mu, diag sigma^2) through two
heads, mu = f_mu(x) and log sigma^2 = f_logvar(x) (seed 003); z = mu + sigma * eps with
eps ~ N(0, I) (the reparameterization, so that dz/dphi exists); the decoder p(x|z) is a
17-way categorical per pixel, independent given z, so log p(x|z) is exact and the ELBO is
a bound on the same discrete log P(x) as MADE's (Note [Digits likelihoods]):
    ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)),  loss = -ELBO,
the expectation by one draw of eps per digit and step, the KL in closed form,
-1/2 sum(1 + log sigma^2 - mu^2 - sigma^2) (`gaussian_kl_divergence`, whose gradients are
the spec's dKL/dmu_i = mu_i and dKL/dsigma_i = sigma_i - 1/sigma_i).

The ELBO falls short of log P(x) by KL(q(z|x) || p(z|x)); the importance-weighted
estimate (Burda et al. 2015) with k draws z_i ~ q(z|x),
    log P(x) ~ log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),
is a tighter bound whose expectation rises with k towards log P(x): `log_prob` reports
it (k = 100 for the table), the ELBO's own estimate is `elbo`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _random, nn, optim
from ..nn import functional as NF
from .._factories import randn
from ..tensor import Tensor, no_grad, tensor
from ._digits import LevelHead, check_levels, check_positive_int, eval_mode, fit
from .evaluation import DIMS, LEVELS, digit_levels, discrete_bits_per_dim, sample_quality


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


def _log_normal(z: np.ndarray, mu: Any = 0.0, logvar: Any = 0.0) -> np.ndarray:
    """log N(z; mu, diag e^logvar), summed over the last axis."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / np.exp(logvar)).sum(-1)


class VAE(nn.Module):
    """A VAE with a Gaussian encoder and a per-pixel categorical decoder
    (Note [VAE on digit levels]). Implements seed 002's

        ELBO = E_{q_phi(z|x)}[log p_theta(x|z)] - D_KL(q_phi(z|x) || p(z)),
        z = mu_phi(x) + sigma_phi(x) eps,  eps ~ N(0, I),

    and seed 003's encoder mu = f_mu(x), log sigma^2 = f_{log sigma^2}(x).

    The encoder is an MLP of the levels scaled to [0, 1] (widths `hidden`) with the two
    linear heads; the decoder mirrors it and ends in `features` units per pixel and the
    shared level head (Note [Shared level head]).

    vae = VAE(latent=16)
    loss = vae.loss(x)      # x: (B, 64) int64 levels; mean -ELBO, nats
    vae.log_prob(x, k=100)  # (B,) importance-weighted estimate of log P(x), nats
    vae.sample(16)          # (16, 64) in [0, 1]: z ~ N(0, I), then x ~ p(x|z)
    """

    def __init__(
        self, latent: int = 16, hidden: Sequence[int] = (256,), features: int = 16
    ) -> None:
        super().__init__()
        self.latent = check_positive_int(latent, "latent")
        hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
        if not hidden:
            raise ValueError("hidden must name at least one hidden layer width")
        self.encoder = _mlp((DIMS, *hidden))
        self.mu = nn.Linear(hidden[-1], latent)
        self.logvar = nn.Linear(hidden[-1], latent)
        self.decoder = _mlp((latent, *hidden[::-1]))
        self.features = check_positive_int(features, "features")
        self.out = nn.Sequential(nn.Linear(hidden[0], DIMS * features), nn.ReLU())
        self.head = LevelHead(features)  # Note [Shared level head]

    def encode(self, x: Any) -> tuple[Tensor, Tensor]:
        """mu and log sigma^2 of q(z|x), each (B, latent)."""
        levels = check_levels(x)
        h = self.encoder(tensor(levels.astype(np.float32) / (LEVELS - 1)))
        return self.mu(h), self.logvar(h)

    def decode(self, z: Any) -> Tensor:
        """Logits (B, 64, 17) of p(x|z)."""
        z = z if isinstance(z, Tensor) else tensor(np.asarray(z, np.float32))
        if z.ndim != 2 or z.shape[1] != self.latent:
            raise ValueError(f"z must have shape (B, {self.latent}), got {tuple(z.shape)}")
        return self.head(self.out(self.decoder(z)))

    def _log_px_given_z(self, logits: Tensor, levels: np.ndarray) -> Tensor:
        """log p(x|z) per digit, (B,): the 64 pixels' categorical log-probabilities."""
        nll = NF.cross_entropy(logits.reshape(-1, LEVELS), levels.reshape(-1), reduction="none")
        return -nll.reshape(len(levels), DIMS).sum(-1)

    def elbo(self, x: Any) -> Tensor:
        """One-draw estimate of the ELBO per digit, (B,), nats (differentiable)."""
        levels = check_levels(x)
        mu, logvar = self.encode(levels)
        eps = randn(*mu.shape)
        z = mu + (logvar * 0.5).exp() * eps  # the reparameterization: sigma = e^(logvar / 2)
        kl = NF.gaussian_kl_divergence(mu, logvar, reduction="none")
        return self._log_px_given_z(self.decode(z), levels) - kl

    def loss(self, x: Any) -> Tensor:
        """-ELBO, the batch mean, nats per digit (Note [Generative losses])."""
        return -self.elbo(x).mean()

    @no_grad()
    def log_prob(self, x: Any, k: int = 100) -> np.ndarray:
        """The importance-weighted estimate of log P(x) with k draws from q(z|x), (B,)
        float64, nats (Note [VAE on digit levels]); k = 1 is an unbiased ELBO estimate
        with a sampled KL."""
        levels = check_levels(x)
        k = check_positive_int(k, "k")
        mu, logvar = (t.numpy().astype(np.float64) for t in self.encode(levels))
        out = np.empty(len(levels))
        chunk = max(1, 4096 // k)  # digits per decoder pass: k * chunk rows
        for s in range(0, len(levels), chunk):
            m, lv, lev = mu[s : s + chunk], logvar[s : s + chunk], levels[s : s + chunk]
            eps = _random.normal_(np.empty((k, len(m), self.latent), np.float32))
            z = m + np.exp(0.5 * lv) * eps  # (k, b, latent)
            logits = self.decode(z.reshape(-1, self.latent).astype(np.float32))
            log_px = self._log_px_given_z(logits, np.tile(lev, (k, 1))).numpy()
            log_w = log_px.reshape(k, len(m)) + _log_normal(z) - _log_normal(z, m, lv)
            top = log_w.max(axis=0)
            out[s : s + chunk] = top + np.log(np.exp(log_w - top).mean(axis=0))
        return out

    def bits_per_dim(self, x: Any, k: int = 100) -> float:
        """Mean bits/dim of the digits x by the importance-weighted bound with k draws (an
        upper bound in expectation; Note [Digits likelihoods])."""
        return discrete_bits_per_dim(self.log_prob(x, k))

    @no_grad()
    def sample(self, n: int, mean: bool = False) -> np.ndarray:
        """n digits (n, 64) in [0, 1]: z ~ N(0, I), then each pixel drawn from p(x|z), or
        with mean=True its expected level E[x|z] (the smoother picture usually shown)."""
        n = check_positive_int(n, "n")
        with eval_mode(self):
            logits = self.decode(randn(n, self.latent)).numpy().astype(np.float64)
        p = np.exp(logits - logits.max(axis=2, keepdims=True))
        p /= p.sum(axis=2, keepdims=True)
        if mean:
            return p @ np.arange(LEVELS) / (LEVELS - 1)
        u = _random.uniform_(np.empty((n, DIMS, 1), np.float32))
        levels = np.minimum((p.cumsum(axis=2) < u).sum(axis=2), LEVELS - 1)
        return levels / (LEVELS - 1)


# The default recipe of `train_vae`: IWAE 1.91 bits/dim in 19 s (2 threads, shared machine).
LATENT = 16
HIDDEN = (256,)
FEATURES = 16
EPOCHS = 70
BATCH_SIZE = 64
LR = 2e-3


def train_vae(
    epochs: int = EPOCHS, seed: int = 0, progress: bool = False, samples: int = 1000
) -> dict[str, Any]:
    """Train the VAE on the training digits with Adam and measure it on the test split:
    the negative ELBO in nats and bits/dim, the IWAE (k = 100) bits/dim, and the sample
    quality of `samples` draws."""
    _random.manual_seed(seed)
    model = VAE(LATENT, HIDDEN, FEATURES)
    opt = optim.Adam(model.parameters(), lr=LR)
    metrics = fit(model, opt, epochs, BATCH_SIZE, progress)
    test, _ = digit_levels("test")
    with no_grad():
        # the ELBO's expectation over eps, by 100 draws per digit
        elbo = np.mean([model.elbo(test).numpy().astype(np.float64) for _ in range(100)], 0)
    metrics["test_neg_elbo_nats"] = float(-elbo.mean())
    metrics["test_elbo_bits_per_dim"] = discrete_bits_per_dim(elbo)
    metrics["test_iwae100_bits_per_dim"] = model.bits_per_dim(test, k=100)
    if samples:
        metrics.update(sample_quality(model.sample(samples)))
    return metrics


__all__ = ["VAE", "train_vae"]
