"""The core's vectorized math (cpp/core/vec.h) against float64 NumPy over wide ranges."""

import math

import numpy as np
import pytest

import pydl
from pydl import _core

X = np.concatenate(
    [
        np.linspace(-100, 100, 200_001),
        np.geomspace(1e-30, 80, 5_000),
        -np.geomspace(1e-30, 80, 5_000),
    ]
).astype(np.float32)
ERF = np.vectorize(math.erf)


def _rel_err(got, want):
    want = want.astype(np.float64)
    return np.abs(got - want) / np.maximum(np.abs(want), np.finfo(np.float32).tiny)


@pytest.mark.parametrize(
    "name, fn, ref, domain, tol",
    [
        ("exp", _core.exp_forward, np.exp, (-87, 88), 3e-7),
        ("log", _core.log_forward, np.log, (1e-30, 100), 3e-7),
        ("tanh", _core.tanh_forward, np.tanh, (-100, 100), 6e-7),
        ("sigmoid", _core.sigmoid_forward, lambda x: 1 / (1 + np.exp(-x)), (-80, 80), 6e-7),
    ],
)
def test_relative_accuracy(name, fn, ref, domain, tol):
    x = X[(X >= domain[0]) & (X <= domain[1])]
    got = fn(x)
    assert _rel_err(got, ref(x.astype(np.float64))).max() < tol


def test_softplus_and_erf_absolute_accuracy():
    x = X[np.abs(X) < 80]
    sp = _core.softplus_forward(x, 1.0, 1e9)
    want = np.logaddexp(0, x.astype(np.float64))
    assert (np.abs(sp - want) / np.maximum(1, want)).max() < 5e-7
    g = _core.gelu_forward(x)
    xd = x.astype(np.float64)
    want = 0.5 * xd * (1 + ERF(xd / math.sqrt(2)))
    assert (np.abs(g - want) / np.maximum(1, np.abs(want))).max() < 5e-7


def test_special_values():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45, 100.0, -100.0], np.float32)
    with np.errstate(all="ignore"):
        # exp flushes results below float32's normal range (x < -87.3) to 0
        np.testing.assert_array_equal(_core.exp_forward(x), np.where(x < -87.3, 0, np.exp(x)))
        np.testing.assert_array_equal(_core.tanh_forward(x), np.tanh(x))
        np.testing.assert_array_equal(
            _core.sigmoid_forward(x), np.array([1, 0, np.nan, 0.5, 0.5, 0.5, 1, 0], np.float32)
        )
        lx = np.array([0.0, -1.0, np.inf, np.nan, 1.0], np.float32)
        np.testing.assert_array_equal(_core.log_forward(lx), np.log(lx))


def test_gelu_special_values():
    """GELU and its derivative at the ends of the range: erf's exp underflows to exactly 0,
    NaN propagates, and -inf gives NaN (as 0.5 * x * (1 + erf(x / sqrt 2)) = -inf * 0)."""
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 100.0, -100.0, 10.0, -20.0], np.float32)
    y = _core.gelu_forward(x)
    np.testing.assert_array_equal(
        y, np.array([np.inf, np.nan, np.nan, 0, 0, 100, 0, 10, 0], np.float32)
    )
    g = _core.gelu_backward(np.ones_like(x), x, y)
    np.testing.assert_array_equal(
        g, np.array([np.nan, np.nan, np.nan, 0.5, 0.5, 1, 0, 1, 0], np.float32)
    )


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_log_of_subnormals(backend):
    prev = pydl.get_backend()
    pydl.set_backend(backend)
    try:
        x = np.array([1e-45, 1e-40, 1.1e-38, 1.17549435e-38, 3e-38], np.float32)
        got = pydl.tensor(x).log().numpy()
        np.testing.assert_allclose(got, np.log(x.astype(np.float64)), rtol=2e-7)
    finally:
        pydl.set_backend(prev)
