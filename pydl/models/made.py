"""MADE, the masked autoencoder for distribution estimation (Germain et al. 2015): the
autoregressive model of seed 002's table, p(x) = prod_t p(x_t | x_<t), over the 64 pixels
of a digit, each a 17-way softmax.

Note [MADE masks]: the ordering gives pixel d the degree m(d) in 1..64 (its position in
the order). Each hidden unit k of layer l gets a degree m_l(k) drawn uniformly from
[min m_{l-1}, D - 1] and sees unit j of the layer below iff m_l(k) >= m_{l-1}(j); the
output units of pixel d see hidden unit k iff m(d) > m_L(k) (strictly). Every path from
input pixel j to the outputs of pixel d so passes degrees m(j) <= ... < m(d): the logits
of pixel t depend on the pixels before t in the order only (the spec's mask M of causal
attention, put on the weights), and one pass of the masked MLP gives all 64 conditionals
at once (a digit's log-likelihood is one forward pass; sampling is 64). The first pixel
in the order sees nothing: its logits are constants, its marginal. Degrees stop at D - 1
because a unit of degree D could feed no output.

Why MADE rather than pydl.models.GPT over the 64 levels as tokens (with a start token):
a digit is a short sequence of fixed length and order, where a masked MLP is the whole
model: one GEMM per layer for a batch, no positions, no attention. Measured on the same
loaded machine, one thread, batch 64: a GPT of width 64 and 2 layers took 0.9 s a step
and reached 1.98 bits/dim in 15 epochs (5 minutes); this MADE takes 0.04 s a step and
reaches 1.90 in 40 epochs (under a minute).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _random, nn, optim
from ..nn import functional as NF
from ..tensor import Tensor, no_grad, tensor
from ._digits import LevelHead, check_levels, check_positive_int, eval_mode, fit
from .evaluation import DIMS, LEVELS, digit_levels, discrete_bits_per_dim, sample_quality


class MaskedLinear(nn.Linear):
    """y = x (W * M)^T + b: a Linear whose weight is multiplied by a fixed 0/1 mask (a
    buffer, saved with the model); masked weights get zero gradient."""

    def __init__(self, in_features: int, out_features: int, mask: np.ndarray) -> None:
        super().__init__(in_features, out_features)
        if mask.shape != (out_features, in_features):
            raise ValueError(
                f"mask must have shape {(out_features, in_features)}, got {mask.shape}"
            )
        self.register_buffer("mask", tensor(mask.astype(np.float32)))

    def forward(self, x: Tensor) -> Tensor:
        return NF.linear(x, self.weight * self.mask, self.bias)

    def _forward_then(self, x: Tensor, activation: str) -> Tensor | None:
        return NF.linear(x, self.weight * self.mask, self.bias, activation=activation)


class MADE(nn.Module):
    """An autoregressive model of digits as 64 pixels of 17 levels (Note [MADE masks],
    Note [Shared level head]).

    Implements seed 002's "Autoregressive Models" rows:
        p(x) = prod_{t=1}^T p(x_t | x_<t),
        L = -sum_t log p(x_t | x_<t),   dL/dz_t = y_hat_t - y_t
    (the last by the fused softmax cross-entropy over each pixel's 17 logits z_t).

    made = MADE(hidden=(512, 512))
    loss = made.loss(x)        # x: (B, 64) int64 levels; mean -log p(x), nats
    made.log_prob(x)           # (B,) log p(x), nats
    made.sample(16)            # (16, 64) in [0, 1], pixel by pixel

    The input is each level scaled to [0, 1]; `features` is the width of each pixel's
    masked output that the shared head turns into its 17 logits; dropout follows each
    hidden layer. order: the generation order of the pixels (a permutation of 0..63),
    natural (raster) by default. Hidden degrees are drawn from pydl's generator, so
    pydl.manual_seed fixes the masks.
    """

    def __init__(
        self,
        hidden: Sequence[int] = (512, 512),
        features: int = 32,
        dropout: float = 0.0,
        order: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
        if not hidden:
            raise ValueError("hidden must name at least one hidden layer width")
        features = check_positive_int(features, "features")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        order_arr = np.arange(DIMS) if order is None else np.asarray(order)
        if order_arr.shape != (DIMS,) or sorted(order_arr.tolist()) != list(range(DIMS)):
            raise ValueError(f"order must be a permutation of 0..{DIMS - 1}, got {order!r}")
        self.hidden, self.features = hidden, features
        # a buffer, so that a loaded state_dict brings the order its masks were built for
        self.register_buffer("order", tensor(order_arr.astype(np.int64)))
        degree = np.empty(DIMS, np.int64)
        degree[order_arr] = np.arange(1, DIMS + 1)
        below = degree  # Note [MADE masks]: input pixel d has degree m(d)
        layers: list[nn.Module] = []
        for width in hidden:
            low = int(below.min())
            u = _random.uniform_(np.empty(width, np.float32)).astype(np.float64)
            units = low + np.minimum((u * (DIMS - low)).astype(np.int64), DIMS - 1 - low)
            layers += [MaskedLinear(len(below), width, units[:, None] >= below[None]), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            below = units
        out = np.repeat(degree, features)  # pixel d's features carry its degree
        layers += [MaskedLinear(len(below), DIMS * features, out[:, None] > below[None]), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.head = LevelHead(features)

    def forward(self, x: Any) -> Tensor:
        """Logits (B, 64, 17): those of pixel d see only the pixels before d in the order."""
        levels = check_levels(x)
        h = self.net(tensor(levels.astype(np.float32) / (LEVELS - 1)))
        return self.head(h)

    def log_prob_per_pixel(self, x: Any) -> Tensor:
        """log p(x_d | pixels before d), (B, 64), nats."""
        levels = check_levels(x)
        logits = self(levels).reshape(-1, LEVELS)
        nll = NF.cross_entropy(logits, levels.reshape(-1), reduction="none")
        return -nll.reshape(len(levels), DIMS)

    def log_prob(self, x: Any) -> Tensor:
        """log p(x) = sum_t log p(x_t | x_<t), (B,), nats."""
        return self.log_prob_per_pixel(x).sum(-1)

    @no_grad()
    def bits_per_dim(self, x: Any) -> float:
        """Mean -log2 p(x) / 64 of the digits x (Note [Digits likelihoods]), in eval mode."""
        with eval_mode(self):
            return discrete_bits_per_dim(self.log_prob(x).numpy().astype(np.float64))

    def loss(self, x: Any) -> Tensor:
        """Mean -log p(x) over the batch, nats per digit (Note [Generative losses])."""
        levels = check_levels(x)
        logits = self(levels).reshape(-1, LEVELS)
        return NF.cross_entropy(logits, levels.reshape(-1)) * DIMS  # mean over pixels x 64

    @no_grad()
    def sample(self, n: int, temperature: float = 1.0) -> np.ndarray:
        """n digits (n, 64) in [0, 1], drawn pixel by pixel in the model's order from
        softmax(logits / temperature) with pydl's generator."""
        n = check_positive_int(n, "n")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        x = np.zeros((n, DIMS), np.int64)
        with eval_mode(self):
            for d in self.order.numpy():
                logits = self(x).numpy()[:, d].astype(np.float64) / temperature
                p = np.exp(logits - logits.max(axis=1, keepdims=True))
                cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
                u = _random.uniform_(np.empty(n, np.float32)).astype(np.float64)
                x[:, d] = np.minimum((cdf < u[:, None]).sum(axis=1), LEVELS - 1)
        return x / (LEVELS - 1)


# The default recipe of `train_made`: 1.90 bits/dim in 40 s (2 threads of a shared machine).
HIDDEN = (512, 512)
FEATURES = 32
DROPOUT = 0.1
EPOCHS = 40
BATCH_SIZE = 64
LR = 4e-3


def train_made(
    epochs: int = EPOCHS, seed: int = 0, progress: bool = False, samples: int = 1000
) -> dict[str, Any]:
    """Train MADE on the training digits with Adam and measure it on the test split: NLL
    in nats per digit and bits/dim, and the sample quality of `samples` draws."""
    _random.manual_seed(seed)
    model = MADE(HIDDEN, FEATURES, DROPOUT)
    opt = optim.Adam(model.parameters(), lr=LR)
    metrics = fit(model, opt, epochs, BATCH_SIZE, progress)
    metrics["test_bits_per_dim"] = model.bits_per_dim(digit_levels("test")[0])
    metrics["test_nll_nats"] = metrics["test_bits_per_dim"] * DIMS * math.log(2)
    if samples:
        metrics.update(sample_quality(model.sample(samples)))
    return metrics


__all__ = ["MADE", "MaskedLinear", "train_made"]
