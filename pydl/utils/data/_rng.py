"""The random draws of samplers, random_split and worker seeds: from pydl's generator
(pydl.manual_seed makes them reproducible) unless a `generator` is given.

pydl has no torch.Generator; `generator=` takes None (pydl's one stream) or a
numpy.random.Generator (its own reproducible stream)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _random


def check_generator(generator: Any) -> Any:
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(
            "generator must be None (pydl's generator, seeded by pydl.manual_seed) or a "
            f"numpy.random.Generator, got {type(generator).__name__}"
        )
    return generator


def uniform(n: int, generator: Any = None, dtype: Any = np.float32) -> np.ndarray:
    """n draws from U[0, 1)."""
    if generator is not None:
        return generator.random(n, dtype=dtype)
    return _random.uniform_(np.empty(n, dtype=dtype))


def randperm(n: int, generator: Any = None) -> np.ndarray:
    """A random permutation of range(n): the stable argsort of n float32 uniform keys
    (the draw pydl's DataLoader has always made, so shuffled runs keep their order)."""
    return np.argsort(uniform(n, generator), kind="stable")


def randint(high: int, n: int, generator: Any = None) -> np.ndarray:
    """n draws from {0, ..., high - 1} (float64 uniforms: no bias worth naming below 2**40)."""
    return np.minimum((uniform(n, generator, np.float64) * high).astype(np.int64), high - 1)


def seed(generator: Any = None) -> int:
    """A 62-bit seed (the base of the DataLoader workers' seeds)."""
    return int(randint(1 << 62, 1, generator)[0])
