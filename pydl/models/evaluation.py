"""How the generative models are measured on the bundled digits: one set of conventions, so
that the numbers of different models can stand in one table.

Note [Digits likelihoods]: a digit is 64 pixels, each one of 17 levels (0, 1/16, ..., 1).
Likelihoods are of that discrete data, in bits per dimension (pixel):
- a discrete model (autoregressive, a VAE with a categorical decoder) gives log P(x)
  directly: bits/dim = -log P(x) / (64 ln 2);
- a density on [0, 1]^64 (flow, GMM, score model) is fitted to dequantized digits,
  y = (level + u) / 17 with u ~ U(0, 1)^64. Then log P(x) >= E_u[log p(y)] - 64 log 17
  (Jensen), so bits/dim = -(log p(y) - 64 log 17) / (64 ln 2) is an upper bound on the
  discrete model's bits/dim, comparable with the discrete ones.
A uniform guess over the 17 levels is log2(17) = 4.09 bits/dim: the scale of the table.

Note [Sample quality]: samples (n, 64) in [0, 1] go through a digits classifier trained in
pydl (an MLP, trained once per process with its own seed, in half a second; 98.6% test
accuracy). Reported:
- confidence: the mean of its top class probability (digit-like samples score high);
- class entropy: the entropy, in bits, of its mean predicted distribution (log2(10) = 3.32
  when the samples cover all ten digits evenly, 0 when they collapse to one);
- Frechet distance between Gaussians fitted to its penultimate features (64 wide) on the
  samples and on the test split (FID's recipe on a digits network). `reference_scales`
  gives that scale: 1,000 training digits against the test split (real digits, the same
  sample size as a model's: 1.6), the test split's halves against each other (real
  digits, but 180 per side, whose noisier covariances add bias: 8.8), and Gaussian noise
  against the test split (208).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from .. import _random, nn, optim
from ..data import load_digits
from ..tensor import Tensor, enable_grad, no_grad, tensor

LEVELS = 17
DIMS = 64


def digit_levels(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The digits as (n, 64) int64 levels in 0..16, and their labels; split is "train" or
    "test"."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    (x, y), (xt, yt) = load_digits()
    x, y = (x, y) if split == "train" else (xt, yt)
    return np.rint(x.reshape(len(x), DIMS) * (LEVELS - 1)).astype(np.int64), y


def dequantize(levels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(level + u) / 17, u ~ U(0, 1): a point of the level's cell of [0, 1]."""
    return ((levels + rng.random(levels.shape)) / LEVELS).astype(np.float32)


def discrete_bits_per_dim(log_prob: Any) -> float:
    """Mean bits/dim of discrete log-probabilities (nats, one per digit)."""
    return float(-np.mean(log_prob) / (DIMS * math.log(2)))


def dequantized_bits_per_dim(log_density: Any) -> float:
    """Mean bits/dim bound from log densities (nats) of dequantized digits on [0, 1]^64."""
    return float(-(np.mean(log_density) - DIMS * math.log(LEVELS)) / (DIMS * math.log(2)))


class _Judge(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(DIMS, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


_judge: _Judge | None = None
_judge_lock = threading.Lock()


def judge() -> _Judge:
    """The digits classifier of Note [Sample quality], trained on first use. Its training
    does not move pydl's global random stream (its state is restored afterwards)."""
    global _judge
    with _judge_lock:
        if _judge is None:
            state = _random.get_rng_state()
            try:
                _random.manual_seed(20261201)
                _judge = _train_judge()
            finally:
                _random.set_rng_state(state)
        return _judge


@enable_grad()  # first used from inside no_grad code, such as a sampler
def _train_judge() -> _Judge:
    levels, labels = digit_levels("train")
    x = levels.astype(np.float32) / (LEVELS - 1)
    model = _Judge()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    order = np.random.default_rng(0)
    for _ in range(30):
        perm = order.permutation(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            loss = nn.functional.cross_entropy(model(tensor(x[idx])), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


@no_grad()
def _features_and_probs(samples: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(samples.numpy() if isinstance(samples, Tensor) else samples, np.float32)
    if x.ndim != 2 or x.shape[1] != DIMS:
        x = x.reshape(len(x), -1)
        if x.shape[1] != DIMS:
            raise ValueError(f"samples must be digits of 64 pixels, got shape {np.shape(samples)}")
    model = judge()
    feats = model.body(tensor(x))
    logits = model.head(feats).numpy().astype(np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return feats.numpy().astype(np.float64), p / p.sum(axis=1, keepdims=True)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of Gaussians fitted to the rows."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s_a)
    root_a = (v * np.sqrt(np.maximum(w, 0.0))) @ v.T
    # tr (S_a S_b)^(1/2) = tr (S_a^(1/2) S_b S_a^(1/2))^(1/2), a symmetric PSD matrix
    middle = np.linalg.eigvalsh(root_a @ s_b @ root_a)
    cross = np.sqrt(np.maximum(middle, 0.0)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * cross)


def sample_quality(samples: Any) -> dict[str, float]:
    """confidence, class_entropy (bits) and frechet of (n, 64) samples in [0, 1] against the
    test split (Note [Sample quality]); use n >= 1,000 for the Frechet distance."""
    feats, probs = _features_and_probs(samples)
    mean = probs.mean(axis=0)
    return {
        "confidence": float(probs.max(axis=1).mean()),
        "class_entropy": float(-(mean * np.log2(np.maximum(mean, 1e-300))).sum()),
        "frechet": frechet_distance(feats, _test_features()),
    }


_test_feats: np.ndarray | None = None
_test_feats_lock = threading.Lock()  # not the judge's: computing these takes that one


def _test_features() -> np.ndarray:
    """The judge's features of the test split: computed once (every epoch of a generative
    task compares its samples with them)."""
    global _test_feats
    with _test_feats_lock:
        if _test_feats is None:
            _test_feats = _features_and_probs(digit_levels("test")[0] / (LEVELS - 1))[0]
        return _test_feats


def reference_scales(seed: int = 0) -> dict[str, float]:
    """Frechet distances that set the scale (Note [Sample quality]): 1,000 training digits
    against the test split, the test split's two halves, and 1,000 Gaussian-noise images
    (the test set's pixel mean and std) against the test split."""
    test = digit_levels("test")[0] / (LEVELS - 1)
    feats = _test_features()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(test))
    train = digit_levels("train")[0]
    train = train[rng.choice(len(train), 1000, replace=False)] / (LEVELS - 1)
    noise = np.clip(rng.normal(test.mean(), test.std(), (1000, DIMS)), 0.0, 1.0)
    return {
        "train_1000": frechet_distance(_features_and_probs(train)[0], feats),
        "test_halves": frechet_distance(
            feats[order[: len(test) // 2]], feats[order[len(test) // 2 :]]
        ),
        "noise": frechet_distance(_features_and_probs(noise)[0], feats),
    }


def save_grid(samples: Any, path: Any, columns: int = 16, scale: int = 4) -> None:
    """Write (n, 64) digits in [0, 1] as one PNG: a grid of `columns` across, each pixel a
    scale x scale block, a 1-pixel gray line between digits (needs Pillow:
    pip install "pydl[images]")."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('writing sample grids needs Pillow: pip install "pydl[images]"') from None
    x = np.asarray(samples.numpy() if isinstance(samples, Tensor) else samples, np.float64)
    if x.ndim != 2 or x.shape[1] != DIMS or len(x) == 0:
        raise ValueError(f"samples must be a non-empty (n, 64) array, got shape {x.shape}")
    n, side = len(x), int(math.isqrt(DIMS))
    cols = min(columns, n)
    rows = -(-n // cols)
    cell = side * scale + 1
    canvas = np.full((rows * cell + 1, cols * cell + 1), 128, np.uint8)
    digits = np.clip(x, 0.0, 1.0).reshape(n, side, side)
    big = np.kron(digits, np.ones((scale, scale)))  # nearest-neighbour upscaling
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = r * cell + 1, c * cell + 1
        canvas[top : top + side * scale, left : left + side * scale] = np.rint(big[i] * 255)
    Image.fromarray(canvas, mode="L").save(path)
