"""Scaled dot-product attention and multi-head attention against PyTorch, masks, bad input."""

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import nn


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal"])
@pytest.mark.parametrize("L, S", [(70, 70), (5, 130), (129, 40)])
def test_sdpa_matches_pytorch(mask_kind, L, S):
    torch = pytest.importorskip("torch")
    if mask_kind == "causal" and L != S:
        pytest.skip("causal compared on square shapes")
    q, k, v = _rand(2, 3, L, 8, seed=1), _rand(2, 3, S, 8, seed=2), _rand(2, 3, S, 5, seed=3)
    mask = None
    if mask_kind == "bool":
        mask = np.random.default_rng(4).uniform(size=(L, S)) > 0.3
        mask[:, 0] = True  # every query keeps a key
    elif mask_kind == "float":
        mask = _rand(3, L, S, seed=5)
    causal = mask_kind == "causal"
    mine = [pydl.tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*mine, attn_mask=mask, is_causal=causal)
    ref = torch.nn.functional.scaled_dot_product_attention(
        *theirs, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = _rand(*out.shape, seed=6)
    out.backward(g)
    ref.backward(torch.tensor(g))
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_sdpa_with_dropout_is_random_and_differentiable():
    q = pydl.tensor(_rand(2, 6, 4), requires_grad=True)
    pydl.manual_seed(0)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    b = F.scaled_dot_product_attention(q, q, q)
    assert not np.allclose(a.numpy(), b.numpy())
    a.sum().backward()
    assert q.grad.shape == q.shape


def test_sdpa_bad_input():
    q = pydl.randn(2, 5, 4)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 3\)"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((5, 5)), is_causal=True)
    with pytest.raises(ValueError, match=r"\(2, 5, 4\).*\(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, pydl.randn(2, 5, 3), q)
    from pydl import _core
    with pytest.raises(ValueError, match="mask"):
        _core.attention_forward(q.numpy(), q.numpy(), q.numpy(), np.zeros((1, 4, 5), np.float32),
                                0.5, False)
