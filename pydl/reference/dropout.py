"""Inverted dropout from the shared counter-based stream (see cpp/kernels/dropout.h)."""

import numpy as np

from .random import _unit, _words


def _apply(x, p, block, seed, offset):
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    words = offset + np.arange(x.size, dtype=np.uint64) // np.uint64(block)
    keep = _unit(_words(seed, words)) >= p
    scale = 1 / (1 - p) if p < 1 else 0.0
    return np.asarray(np.where(keep.reshape(x.shape), x * scale, 0), x.dtype, order="C")


def dropout_forward(x, p, block, seed, offset):
    """y = x * keep / (1 - p), keep = u >= p for the element's (or channel's) draw"""
    return _apply(x, p, block, seed, offset)


def dropout_backward(grad, p, block, seed, offset):
    """the same mask and scale"""
    return _apply(grad, p, block, seed, offset)
