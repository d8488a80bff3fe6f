from __future__ import annotations

from importlib import resources

import numpy as np


def load_digits(
    test_fraction: float = 0.2,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The bundled 8x8 digits (see DIGITS_SOURCE.md) as ((x_train, y_train), (x_test, y_test)).

    Images are float32 (N, 8, 8) scaled to [0, 1]; labels int64. The split is fixed
    (a permutation from a fixed seed, 80/20 by default), the same on every machine.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    with resources.files(__package__).joinpath("digits.npz").open("rb") as f:
        archive = np.load(f)
        images, labels = archive["images"], archive["labels"]
    x = images.astype(np.float32) / 16.0
    y = labels.astype(np.int64)
    order = np.random.default_rng(20261122).permutation(len(y))
    n_test = int(round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def load_text() -> str:
    """The bundled small English text (pydl/data/tiny_text.txt, written for pydl, public
    domain) for character-level language models."""
    return resources.files(__package__).joinpath("tiny_text.txt").read_text(encoding="utf-8")
