"""Philox4x32-10 in NumPy: the same streams as cpp/core/rng.cpp (Note [Random streams])."""

import numpy as np

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)


def _words(seed, index):
    """32-bit word number `index` (array) of the stream `seed`."""
    index = np.asarray(index, dtype=np.uint64)
    block = index >> np.uint64(2)
    c0, c1 = block & _MASK, block >> np.uint64(32)
    c2 = np.zeros_like(c0)
    c3 = np.zeros_like(c0)
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0),
            p1 & _MASK,
            (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1),
            p0 & _MASK,
        )
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    lanes = np.stack([c0, c1, c2, c3])
    return lanes[(index & np.uint64(3)).astype(np.intp), np.arange(index.size).reshape(index.shape)]


def philox_word(seed, index):
    return int(_words(seed, np.array([index]))[0])


def _unit(words):
    return (words >> np.uint64(8)).astype(np.float64) / 16777216.0


def uniform_fill(out, low, high, seed, offset):
    """out[j] = low + (high - low) * u(offset + j)"""
    u = _unit(_words(seed, offset + np.arange(out.size, dtype=np.uint64)))
    out.reshape(-1)[...] = low + (high - low) * u


def normal_fill(out, mean, std, seed, offset):
    """Box-Muller on words offset + 2j, offset + 2j + 1"""
    j = np.arange(out.size, dtype=np.uint64)
    u1 = 1.0 - _unit(_words(seed, offset + 2 * j))
    u2 = _unit(_words(seed, offset + 2 * j + 1))
    out.reshape(-1)[...] = mean + std * np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
