"""pydl's one random generator (Note [Random streams] in cpp/core/rng.h).

A draw is a pure function of (seed, offset, index) computed by the active backend,
so runs are reproducible and independent of the thread count. The generator hands
out disjoint ranges of the stream under a lock.
"""

from __future__ import annotations

import threading

import numpy as np

from . import _capture, backend

_lock = threading.Lock()
_seed = 0
_offset = 0


def manual_seed(seed: int) -> None:
    """Seed the generator used by every random draw in pydl (initializers, dropout, ...)."""
    global _seed, _offset
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    with _lock:
        _seed, _offset = int(seed) & 0xFFFFFFFFFFFFFFFF, 0
    _capture.changed()  # a replay's kernels hold the seed


def initial_seed() -> int:
    return _seed


def get_rng_state() -> np.ndarray:
    """The generator's state, (seed, offset) as a uint64 array: save it with a checkpoint
    and restore it with set_rng_state to resume the same random stream."""
    with _lock:
        return np.array([_seed, _offset], np.uint64)


def set_rng_state(state: object) -> None:
    """Restore a state from get_rng_state (an array or tensor of two non-negative ints)."""
    global _seed, _offset
    arr = np.asarray(state)
    if arr.shape != (2,) or arr.dtype.kind not in "iu" or (arr.dtype.kind == "i" and arr.min() < 0):
        raise ValueError(
            f"set_rng_state expects the (seed, offset) pair get_rng_state returns, got "
            f"{arr.dtype} array of shape {arr.shape}"
        )
    with _lock:
        _seed, _offset = int(arr[0]), int(arr[1])
    _capture.changed()


def _take(words: int) -> tuple[int, int]:
    """Reserve `words` 32-bit words of the stream; returns (seed, offset)."""
    if _capture.here():  # a replay advances the stream too
        return _capture.live(_take, words)
    global _offset
    with _lock:
        start = _offset
        _offset += words
    return _seed, start


def uniform_(out: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Fill a float array in place with U[low, high) draws."""
    seed, offset = _take(out.size)
    backend.active.uniform_fill(out, float(low), float(high), seed, offset)
    return out


def normal_(out: np.ndarray, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """Fill a float array in place with N(mean, std^2) draws."""
    seed, offset = _take(2 * out.size)
    backend.active.normal_fill(out, float(mean), float(std), seed, offset)
    return out
