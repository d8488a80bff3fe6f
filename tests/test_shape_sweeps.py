"""Core vs reference across sizes around SIMD widths, block edges and broadcast patterns."""

import numpy as np
import pytest
from helpers import run_row
from hypothesis import given, settings
from hypothesis import strategies as st
from op_table import Row

import pydl
import pydl.nn.functional as NF
from pydl import _core

UNARY = {
    "tanh": NF.tanh,
    "sigmoid": NF.sigmoid,
    "gelu": NF.gelu,
    "silu": NF.silu,
    "softplus": NF.softplus,
    "exp": pydl.exp,
    "relu": NF.relu,
    "mish": NF.mish,
}
# 1..17 straddle the 4/8/16-wide vectors; 16383..16385 the parallel chunk of 2^14.
SIZES = list(range(1, 18)) + [31, 33, 63, 65, 16383, 16384, 16385]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("n", SIZES)
def test_unary_sizes(name, n):
    row = Row(name, UNARY[name], [((n,), -3, 3)])
    arrays = row.sample(np.random.default_rng(n))
    out_c, (g_c,) = run_row(row, arrays, "core", np.float32)
    out_r, (g_r,) = run_row(row, arrays, "reference", np.float64)
    np.testing.assert_allclose(out_c, out_r, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(g_c, g_r, rtol=2e-5, atol=2e-6)


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast: a random shape, and a copy with axes set to 1 or dropped."""
    shape = draw(st.lists(st.integers(1, 9), min_size=0, max_size=4))
    other = [1 if draw(st.booleans()) else s for s in shape]
    drop = draw(st.integers(0, len(other)))
    other = other[drop:]
    return (tuple(shape), tuple(other)) if draw(st.booleans()) else (tuple(other), tuple(shape))


@settings(max_examples=60, deadline=None)
@given(shapes=broadcast_pair(), op=st.sampled_from(["add", "sub", "mul", "div", "pow"]))
def test_binary_broadcast(shapes, op):
    fn = getattr(pydl, op)
    lo = 0.5 if op in ("div", "pow") else -2.0
    row = Row(op, fn, [(shapes[0], lo, 2.0), (shapes[1], lo, 2.0)])
    arrays = row.sample(np.random.default_rng(0))
    out_c, grads_c = run_row(row, arrays, "core", np.float32)
    out_r, grads_r = run_row(row, arrays, "reference", np.float64)
    np.testing.assert_allclose(out_c, out_r, rtol=1e-5, atol=1e-5)
    for gc, gr, a in zip(grads_c, grads_r, arrays):
        assert gc.shape == a.shape
        np.testing.assert_allclose(gc, gr, rtol=1e-4, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4), data=st.data())
def test_reductions_any_axes(shape, data):
    axes = tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1)))))
    keepdim = data.draw(st.booleans())
    op = data.draw(st.sampled_from(["sum", "mean", "amax", "amin"]))
    fn = getattr(pydl, op)
    row = Row(op, lambda x: fn(x, axes or None, keepdim=keepdim), [(tuple(shape), -2, 2)])
    arrays = row.sample(np.random.default_rng(1))
    out_c, (g_c,) = run_row(row, arrays, "core", np.float32)
    out_r, (g_r,) = run_row(row, arrays, "reference", np.float64)
    np.testing.assert_allclose(out_c, out_r, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g_c, g_r, rtol=1e-5, atol=1e-6)


# GEMM edges around the MR x NR register tile, the MC-row block, the 4-panel (4 NR columns)
# packing task and the KC depth block, as cpp/gemm uses them.
_GEMM = _core._testing.gemm_blocking()
_MR, _NR, _MC, _KC = _GEMM["MR"], _GEMM["NR"], _GEMM["MC"], _GEMM["KC"]


@pytest.mark.parametrize("m", [1, _MR - 1, _MR, _MR + 1, _MC + 1])
@pytest.mark.parametrize("k", [1, _NR, _KC - 1, _KC + 1])
@pytest.mark.parametrize("n", [1, _NR - 1, _NR + 1, 4 * _NR + 1])
def test_matmul_edges(m, k, n):
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    got = pydl.matmul(pydl.tensor(a), pydl.tensor(b)).numpy()
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(k))


def test_linear_transposed_gemms_large():
    # linear's forward (B transposed) and backward (A transposed for dW) on sizes that
    # cross every block edge of the GEMM
    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 270)).astype(np.float32)
    w = rng.standard_normal((130, 270)).astype(np.float32)
    g = rng.standard_normal((300, 130)).astype(np.float32)
    from pydl import _core, reference

    np.testing.assert_allclose(
        _core.linear_forward(x, w, None),
        x.astype(np.float64) @ w.T.astype(np.float64),
        rtol=1e-4,
        atol=2e-3,
    )
    got = _core.linear_backward(g, x, w, True)
    want = reference.linear_backward(
        g.astype(np.float64), x.astype(np.float64), w.astype(np.float64), True
    )
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-3)
