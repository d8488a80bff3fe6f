"""The generative adversarial network of seed 002 (DCGAN-style, for the 8x8 digits)."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from .._factories import randn
from ..tensor import Tensor, no_grad


class Generator(nn.Module):
    """z (latent) -> Linear -> 128 x 2 x 2 -> ConvTranspose2d (k4 s2 p1) -> 64 x 4 x 4 ->
    ConvTranspose2d -> 1 x 8 x 8 -> sigmoid: pixels in (0, 1). BatchNorm and ReLU between,
    as in DCGAN (Radford et al. 2016)."""

    def __init__(self, latent: int = 32, width: int = 64) -> None:
        super().__init__()
        self.width = width
        features = 2 * width * 4  # 2 * width channels of 2 x 2
        self.project = nn.Sequential(
            nn.Linear(latent, features), nn.BatchNorm1d(features), nn.ReLU()
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).reshape(-1, 2 * self.width, 2, 2)
        return self.up(h).reshape(-1, 64)


class Discriminator(nn.Module):
    """x (64 pixels) -> 1 x 8 x 8 -> Conv2d (k4 s2 p1) -> 64 x 4 x 4 -> Conv2d -> 128 x 2 x 2
    -> Linear -> the logit of D(x); LeakyReLU(0.2) between (DCGAN)."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(2 * width * 4, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.reshape(-1, 1, 8, 8)).reshape(-1)


class GAN(nn.Module):
    """Seed 002's GAN: min_G max_D E_x[log D(x)] + E_z[log(1 - D(G(z)))], z ~ N(0, I).

    The discriminator minimizes L_D = -E_x[log D(x)] - E_z[log(1 - D(G(z)))] (seed 003
    section 8); the generator the non-saturating L_G = -E_z[log D(G(z))] of both seeds.
    D(x) = sigmoid(discriminator(x)), so each loss is a binary cross-entropy on logits (the
    stable form of log sigmoid). The spec's gradients, grad L_D = -grad D(x) / D(x) +
    grad D(G(z)) / (1 - D(G(z))) and grad L_G = -grad D(G(z)) / D(G(z)) with
    grad_theta_G D(G(z)) = grad_x D(x)|_{x=G(z)} . grad_theta_G G(z), are what autograd
    computes from these losses; tests/test_gan.py checks them term by term.
    """

    def __init__(self, latent: int = 32, width: int = 64) -> None:
        super().__init__()
        if latent < 1 or width < 1:
            raise ValueError(f"latent and width must be >= 1, got {latent} and {width}")
        self.latent = latent
        self.generator = Generator(latent, width)
        self.discriminator = Discriminator(width)

    def noise(self, n: int) -> Tensor:
        return randn(n, self.latent)

    def discriminator_loss(self, x: Tensor, z: Tensor | None = None) -> Tensor:
        """L_D on real digits x (B, 64) in [0, 1] and as many fakes G(z) (G held fixed)."""
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float32))
        z = self.noise(len(x)) if z is None else z
        with no_grad():
            fake = self.generator(z)
        real_logit, fake_logit = self.discriminator(x), self.discriminator(fake)
        ones, zeros = np.ones(len(x), np.float32), np.zeros(len(z), np.float32)
        real = F.binary_cross_entropy_with_logits(real_logit, ones)
        return real + F.binary_cross_entropy_with_logits(fake_logit, zeros)

    def generator_loss(self, z: Tensor) -> Tensor:
        """The non-saturating L_G = -E_z[log D(G(z))]."""
        logit = self.discriminator(self.generator(z))
        return F.binary_cross_entropy_with_logits(logit, np.ones(len(z), np.float32))

    @no_grad()
    def sample(self, n: int) -> np.ndarray:
        """n digits (n, 64) in [0, 1], from z ~ N(0, I) drawn with pydl's generator."""
        was_training = self.training
        self.eval()
        out = self.generator(self.noise(n)).numpy()
        self.train(was_training)
        return out
