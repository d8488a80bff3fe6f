"""Ops composed of other ops (no kernels of their own): addcmul, addcdiv, rsub, float_power,
diff, ravel, trace, cross, dist, isin; values, dtypes and gradients against PyTorch."""

import numpy as np
import pytest

import pydl

RNG = np.random.default_rng(0)
A, B = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
C = RNG.uniform(0.5, 2, (4,))

CASES = [
    ("addcmul", lambda L, x, y, z: L.addcmul(x, y, z, value=0.5), (A, B, C)),
    ("addcdiv_method", lambda L, x, y, z: x.addcdiv(y, z, value=2), (A, B, C)),
    ("rsub", lambda L, x, y: L.rsub(x, y, alpha=2), (A, B)),
    ("diff", lambda L, x: L.diff(x, n=2, dim=1), (A,)),
    ("diff_prepend", lambda L, x, y: L.diff(x, dim=0, prepend=y), (A, B)),
    ("trace", lambda L, x: L.trace(x), (A,)),
    ("cross_dim0", lambda L, x, y: L.cross(x, y, dim=0), (A, B)),
    ("linalg_cross", lambda L, x, y: L.linalg.cross(x[:, :3], y[:, :3]), (A, B)),
    ("dist", lambda L, x, y: L.dist(x, y, 3), (A, B)),
    ("ravel", lambda L, x: x.t().ravel() * 2, (A,)),
    ("float_power", lambda L, x: L.float_power(x.abs(), 1.5), (A,)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,args", CASES, ids=[c[0] for c in CASES])
def test_matches_pytorch(name, fn, args, dtype, torch):
    ours = [pydl.tensor(a.astype(dtype), requires_grad=True) for a in args]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in args]
    y, ty = fn(pydl, *ours), fn(torch, *theirs)
    assert str(y.dtype) == str(ty.dtype).removeprefix("torch.")
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = RNG.uniform(0.5, 1.5, tuple(ty.shape))
    (y * pydl.tensor(w, dtype=y.dtype)).sum().backward()
    (ty * torch.tensor(w, dtype=ty.dtype)).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_isin_and_errors(torch):
    e, t = [1, 2, 3, 4, 2], [2, 4]
    for invert in (False, True):
        ours = pydl.isin(pydl.tensor(e), pydl.tensor(t), invert=invert)
        assert ours.tolist() == torch.isin(torch.tensor(e), torch.tensor(t), invert=invert).tolist()
    with pytest.raises(RuntimeError, match="size 3"):
        pydl.cross(pydl.ones(2, 4), pydl.ones(2, 4))
    with pytest.raises(RuntimeError, match="expected a matrix"):
        pydl.trace(pydl.ones(2, 2, 2))
    with pytest.raises(RuntimeError, match="at least one-dimensional"):
        pydl.diff(pydl.tensor(1.0))
