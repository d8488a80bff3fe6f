"""Scaled dot-product attention and multi-head attention against PyTorch, masks, bad input."""

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import nn


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal"])
@pytest.mark.parametrize("L, S", [(70, 70), (5, 130), (129, 40), (200, 200)])
def test_sdpa_matches_pytorch(torch, mask_kind, L, S):
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
        *theirs, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal
    )
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
        _core.attention_forward(
            q.numpy(), q.numpy(), q.numpy(), np.zeros((1, 4, 5), np.float32), 0.5, False
        )
    # the per-head layout: (N, T, H, D) with equal N and H
    q4 = _rand(2, 5, 3, 4)
    with pytest.raises(ValueError, match=r"\(2, 5, 3, 4\).*\(2, 5, 2, 4\)"):
        _core.attention_forward(q4, _rand(2, 5, 2, 4), _rand(2, 5, 2, 4), None, 0.5, False)
    with pytest.raises(ValueError, match=r"mask \(2, 5, 5\) must be \(1 or 6, 5, 5\)"):
        _core.attention_forward(q4, q4, q4, np.zeros((2, 5, 5), np.float32), 0.5, False)
    # a packed (N, T, 3 E) self-attention projection
    for heads in (2, 0):
        with pytest.raises(ValueError, match=r"packed qkv \(2, 5, 10\)"):
            _core.attention_qkv_forward(_rand(2, 5, 10), heads, None, 0.5, False)
    with pytest.raises(ValueError, match=r"grad \(2, 5, 3\) does not match.*\(2, 5, 4\)"):
        qkv = _rand(2, 5, 12)
        out, lse = _core.attention_qkv_forward(qkv, 2, None, 0.5, False)
        _core.attention_qkv_backward(_rand(2, 5, 3), qkv, 2, None, out, lse, 0.5, False)


def _copy(mine, theirs, torch):
    with torch.no_grad():
        params = dict(theirs.named_parameters())
        for name, p in mine.named_parameters():
            params[name].copy_(torch.tensor(p.numpy()))


@pytest.mark.parametrize(
    "kwargs, masks",
    [
        (dict(), dict()),
        (dict(batch_first=True), dict(key_padding_mask=True)),
        (dict(kdim=6, vdim=5, bias=False), dict(attn_mask="bool")),
        (dict(), dict(attn_mask="float", key_padding_mask=True)),
        (dict(), dict(is_causal=True)),
    ],
)
def test_multihead_attention_matches_pytorch(torch, kwargs, masks):
    E, H, L, S, N = 16, 4, 7, 9, 2
    mine, theirs = (
        nn.MultiheadAttention(E, H, **kwargs),
        torch.nn.MultiheadAttention(E, H, **kwargs),
    )
    _copy(mine, theirs, torch)
    bf = kwargs.get("batch_first", False)
    S_ = L if masks.get("is_causal") else S
    q = _rand(*((N, L, E) if bf else (L, N, E)), seed=1)
    k = _rand(*((N, S_, kwargs.get("kdim", E)) if bf else (S_, N, kwargs.get("kdim", E))), seed=2)
    v = _rand(*((N, S_, kwargs.get("vdim", E)) if bf else (S_, N, kwargs.get("vdim", E))), seed=3)
    args = {}
    if masks.get("key_padding_mask"):
        kp = np.zeros((N, S_), bool)
        kp[1, -3:] = True
        args["key_padding_mask"] = kp
    if masks.get("attn_mask") == "bool":
        am = np.random.default_rng(4).uniform(size=(L, S_)) > 0.7
        am[:, 0] = False
        args["attn_mask"] = am
    elif masks.get("attn_mask") == "float":
        args["attn_mask"] = _rand(L, S_, seed=5)
        if "key_padding_mask" in args:  # PyTorch wants both masks of one kind
            args["key_padding_mask"] = np.where(args["key_padding_mask"], -np.inf, 0.0).astype(
                np.float32
            )
    if masks.get("is_causal"):
        args["attn_mask"] = ~np.tril(np.ones((L, L), bool))
        args["is_causal"] = True
    tm = [pydl.tensor(a, requires_grad=True) for a in (q, k, v)]
    tt = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out_m, w_m = mine(*tm, **args)
    out_t, w_t = theirs(
        *tt, **{n: torch.tensor(a) if isinstance(a, np.ndarray) else a for n, a in args.items()}
    )
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w_m.numpy(), w_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = _rand(*out_m.shape, seed=6)
    out_m.backward(g)
    out_t.backward(torch.tensor(g))
    for a, b in zip(tm, tt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-4)
    tparams = dict(theirs.named_parameters())
    for name, p in mine.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=name
        )


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_self_attention_matches_pytorch(torch, batch_first):
    """One tensor as query, key and value, no weights: the kernel reads the projections'
    (N, T, H, Dh) head slices in place (causal, then with a padding mask)."""
    E, H, L, N = 24, 3, 70, 2
    mine = nn.MultiheadAttention(E, H, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=batch_first)
    _copy(mine, theirs, torch)
    x = _rand(*((N, L, E) if batch_first else (L, N, E)), seed=11)
    causal = ~np.tril(np.ones((L, L), bool))
    padding = np.zeros((N, L), bool)
    padding[0, -5:] = True
    for args in (dict(attn_mask=causal, is_causal=True), dict(key_padding_mask=padding)):
        xm, xt = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_m, w_m = mine(xm, xm, xm, need_weights=False, **args)
        out_t, _ = theirs(
            xt,
            xt,
            xt,
            need_weights=False,
            **{n: torch.tensor(a) if isinstance(a, np.ndarray) else a for n, a in args.items()},
        )
        assert w_m is None
        np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
        g = _rand(*out_m.shape, seed=12)
        out_m.backward(g)
        out_t.backward(torch.tensor(g))
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_multihead_attention_dropout_path():
    """With dropout in training the scores are composed from ops over (N * H, L, Dh) slices;
    in eval mode the same module gives the kernel's result."""
    E, H, L, N = 8, 2, 5, 3
    mha = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = pydl.tensor(_rand(N, L, E, seed=13), requires_grad=True)
    out, _ = mha(x, x, x, need_weights=False)
    assert out.shape == (N, L, E)
    out.sum().backward()
    assert x.grad.shape == (N, L, E) and np.isfinite(x.grad.numpy()).all()
    mha.eval()
    want, _ = mha(x, x, x, need_weights=False)
    mha.dropout = 0.0
    mha.train()
    got, _ = mha(x, x, x, need_weights=False)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    mha.dropout = 1e-9  # the composed path, dropping (almost surely) nothing
    composed, _ = mha(x, x, x, need_weights=False)
    np.testing.assert_allclose(composed.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer_matches_pytorch(torch, norm_first, activation):
    kw = dict(
        d_model=16,
        nhead=4,
        dim_feedforward=64,
        dropout=0.0,
        activation=activation,
        norm_first=norm_first,
        batch_first=True,
    )
    mine, theirs = nn.TransformerEncoderLayer(**kw), torch.nn.TransformerEncoderLayer(**kw)
    _copy(mine, theirs, torch)
    x = _rand(2, 9, 16, seed=7)
    xm, xt = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mask = ~np.tril(np.ones((9, 9), bool))
    ym = mine(xm, src_mask=mask, is_causal=True)
    yt = theirs(xt, src_mask=torch.tensor(mask), is_causal=True)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    ym.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4)
    assert nn.TransformerEncoderLayer(16, 4).linear1.out_features == 2048  # as PyTorch


def test_embedding_and_positional_encoding(backend="core"):
    emb = nn.Embedding(10, 4, padding_idx=0)
    assert np.all(emb.weight.numpy()[0] == 0)
    idx = np.array([[1, 0, 3], [3, 3, 9]])
    out = emb(idx)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.numpy()[1, 0], emb.weight.numpy()[3])
    out.sum().backward()
    g = emb.weight.grad.numpy()
    np.testing.assert_array_equal(g[0], 0)  # padding row
    np.testing.assert_array_equal(g[3], 3)  # used three times
    with pytest.raises(IndexError, match="out of range"):
        emb(np.array([1, 10]))
    from pydl import _core

    with pytest.raises(IndexError):
        _core.embedding_forward(np.zeros((3, 2), np.float32), np.array([0, -1]))
    pe = nn.sinusoidal_positional_encoding(50, 8).numpy()
    pos, i = 7, 2  # PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...)
    assert pe[pos, 2 * i] == pytest.approx(np.sin(pos / 10000 ** (2 * i / 8)), rel=1e-6)
    assert pe[pos, 2 * i + 1] == pytest.approx(np.cos(pos / 10000 ** (2 * i / 8)), rel=1e-6)


def test_multihead_attention_bad_input():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    mha = nn.MultiheadAttention(8, 2)
    with pytest.raises(ValueError, match=r"query \(3, 2, 6\)"):
        mha(pydl.randn(3, 2, 6), pydl.randn(3, 2, 6), pydl.randn(3, 2, 6))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(3, 3\)"):
        x = pydl.randn(3, 2, 8)
        mha(x, x, x, key_padding_mask=np.zeros((3, 3), bool))


def test_float_attn_mask_that_requires_grad_gets_its_gradient(torch):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 3, 5, 4)).astype(np.float32) for _ in range(3))
    bias = rng.standard_normal((3, 5, 5)).astype(np.float32)  # per-head, broadcast over batch
    grads = []
    for lib in (pydl, torch):
        b = lib.tensor(bias, requires_grad=True)
        qt = lib.tensor(q, requires_grad=True)
        out = lib.nn.functional.scaled_dot_product_attention(
            qt, lib.tensor(k), lib.tensor(v), attn_mask=b
        )
        (out * out).sum().backward()
        grads.append((b.grad.numpy(), qt.grad.numpy()))
    for g, w in zip(*grads):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    "slices, tq, tk, causal",
    [
        (1, 70, 70, True),
        (1, 130, 60, True),
        (1, 60, 130, True),
        (6, 200, 129, True),
        (6, 129, 200, False),
        (1, 65, 200, True),
    ],  # fmt: skip
)
def test_attention_backward_kernel_matches_the_reference(slices, tq, tk, causal, threads):
    """Every split of the kernel's backward (a task per slice, per key block, per query
    block) and a causal mask on non-square shapes, where some key blocks meet no query:
    their gradients are zero, the others' first contribution is written over garbage."""
    from pydl import _core, reference

    q, k, v = _rand(slices, tq, 16, seed=1), _rand(slices, tk, 16, seed=2), _rand(slices, tk, 16)
    g = _rand(slices, tq, 16, seed=3)
    want_out, want_lse = reference.attention_forward(q, k, v, None, 0.25, causal)
    with pydl.threads(threads):
        out, lse = _core.attention_forward(q, k, v, None, 0.25, causal)
        for need in [(True, True, True), (False, True, True), (True, False, False)]:
            got = _core.attention_backward(g, q, k, v, None, out, lse, 0.25, causal, *need)
            want = reference.attention_backward(g, q, k, v, None, want_out, want_lse, 0.25,
                                                causal, *need)  # fmt: skip
            for a, b in zip(got, want):
                assert (a is None) == (b is None)
                if a is not None:
                    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
