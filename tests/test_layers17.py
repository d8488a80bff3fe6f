"""Issue 17's layers against PyTorch: weights copied with load_state_dict, outputs and
input/parameter gradients compared on random inputs; reprs; errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import pydl
import pydl.nn as nn
import pydl.nn.functional as F


def _compare(torch, mine, theirs, *inputs, rtol=1e-4, atol=1e-5, **kwargs):
    """Copy theirs' weights into mine, run both on the same inputs (arrays), compare the
    output and the gradients of the float inputs and of every parameter."""
    mine.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    xs_t = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    xs_m = [pydl.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    yt, ym = theirs(*xs_t, **kwargs), mine(*xs_m, **kwargs)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(ym[1].numpy(), yt[1].numpy())
        yt, ym = yt[0], ym[0]
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(1).standard_normal(yt.shape).astype(np.float32)
    yt.backward(torch.tensor(g))
    ym.backward(pydl.tensor(g))
    for a, b in zip(xs_m, xs_t):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(
            p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=atol, err_msg=name
        )


def _rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "args, kwargs, shape",
    [
        ((2, 4, 3), {}, (2, 2, 5, 6, 7)),
        (
            (4, 6, (3, 2, 3)),
            dict(stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2),
            (1, 4, 6, 7, 8),
        ),
        ((3, 2, (2, 3, 3)), dict(padding="same", bias=False), (2, 3, 4, 5, 5)),
        ((3, 2, 2), dict(padding="valid", stride=2), (1, 3, 5, 4, 6)),
    ],
)
def test_conv3d(rng, torch, args, kwargs, shape):
    _compare(
        torch, nn.Conv3d(*args, **kwargs), torch.nn.Conv3d(*args, **kwargs), _rand(rng, *shape)
    )
    assert repr(nn.Conv3d(*args, **kwargs)) == repr(torch.nn.Conv3d(*args, **kwargs))


def test_conv3d_unbatched_and_errors(rng, torch):
    x, w = _rand(rng, 2, 4, 4, 4), _rand(rng, 3, 2, 2, 2, 2)
    np.testing.assert_allclose(
        F.conv3d(pydl.tensor(x), pydl.tensor(w)).numpy(),
        torch.nn.functional.conv3d(torch.tensor(x), torch.tensor(w)).numpy(),
        rtol=1e-4,
        atol=1e-5,
    )
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv3d(1, 4, 0)
    with pytest.raises(ValueError, match="stride"):
        nn.Conv3d(1, 4, 3, stride=(1, 0, 1))
    with pytest.raises(ValueError, match="strided"):
        nn.Conv3d(1, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv3d(1, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="larger than the padded input"):
        nn.Conv3d(1, 1, 5)(pydl.randn(1, 1, 3, 8, 8))


@pytest.mark.parametrize(
    "cls, kwargs, shape",
    [
        ("MaxPool3d", dict(kernel_size=2), (2, 3, 4, 6, 5)),
        (
            "MaxPool3d",
            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, return_indices=True),
            (2, 2, 7, 6, 7),
        ),
        (
            "MaxPool3d",
            dict(kernel_size=(3, 2, 2), stride=(2, 1, 2), dilation=(2, 1, 1)),
            (1, 2, 7, 5, 6),
        ),
        ("AvgPool3d", dict(kernel_size=2), (2, 3, 4, 6, 5)),
        (
            "AvgPool3d",
            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
            (2, 2, 7, 6, 7),
        ),
        (
            "AvgPool3d",
            dict(kernel_size=3, stride=2, padding=1, divisor_override=5),
            (1, 2, 6, 6, 6),
        ),
        (
            "AvgPool2d",
            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=4),
            (2, 3, 7, 6),
        ),
        ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1, return_indices=True), (2, 3, 7, 6)),
        ("MaxPool1d", dict(kernel_size=3, stride=2, return_indices=True), (2, 3, 9)),
        ("AdaptiveMaxPool2d", dict(output_size=(3, 4), return_indices=True), (2, 3, 7, 6)),
        ("AdaptiveMaxPool2d", dict(output_size=(None, 2)), (2, 3, 5, 7)),
        ("AdaptiveMaxPool2d", dict(output_size=(10, 1)), (3, 7, 6)),
        ("AdaptiveMaxPool1d", dict(output_size=3, return_indices=True), (2, 3, 7)),
        ("AdaptiveAvgPool1d", dict(output_size=4), (2, 3, 9)),
    ],
)
def test_pooling(rng, torch, cls, kwargs, shape):
    mine, theirs = getattr(nn, cls)(**kwargs), getattr(torch.nn, cls)(**kwargs)
    _compare(torch, mine, theirs, _rand(rng, *shape))
    assert repr(mine) == repr(theirs)


def test_max_unpool2d(rng, torch):
    x = _rand(rng, 2, 3, 8, 7)
    _, idx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    v = _rand(rng, *idx.shape)
    mine, theirs = nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    assert repr(mine) == repr(theirs)
    vt, vm = torch.tensor(v, requires_grad=True), pydl.tensor(v, requires_grad=True)
    yt, ym = theirs(vt, idx, output_size=(8, 7)), mine(vm, pydl.tensor(idx.numpy()), (8, 7))
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
    (yt * yt).sum().backward()
    (ym * ym).sum().backward()
    np.testing.assert_allclose(vm.grad.numpy(), vt.grad.numpy(), rtol=1e-6)
    y, i = F.max_pool2d(pydl.tensor(x[..., :6]), 2, return_indices=True)
    assert mine(y, i).shape == (2, 3, 8, 6)  # the default output size
    with pytest.raises(IndexError, match="outside the output plane"):
        F.max_unpool2d(vm, pydl.tensor(idx.numpy() + 100), 2)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda m: m.RMSNorm(6), (3, 6)),
        (lambda m: m.RMSNorm((3, 4), eps=1e-3), (2, 5, 3, 4)),
        (lambda m: m.RMSNorm(5, elementwise_affine=False), (4, 5)),
        (lambda m: m.LocalResponseNorm(3, alpha=0.1), (2, 5, 3, 4)),
        (lambda m: m.LocalResponseNorm(2, beta=0.5, k=2.0), (2, 4, 6)),
        (lambda m: m.BatchNorm3d(3), (2, 3, 2, 3, 4)),
        (lambda m: m.LayerNorm((1, 2, 3)), (4, 1, 2, 3)),  # weight's gradient keeps its shape
        (lambda m: m.LayerNorm((3, 4), bias=False), (2, 5, 3, 4)),
    ],
)
def test_norms(rng, torch, make, shape):
    mine, theirs = make(nn), make(torch.nn)
    for p in theirs.parameters():  # away from ones, so that a missing load shows
        p.data.normal_()
    _compare(torch, mine, theirs, _rand(rng, *shape))
    assert repr(mine) == repr(theirs)


@pytest.mark.parametrize("batch_first, norm_first", [(False, False), (True, True)])
def test_transformer_matches_torch(rng, torch, batch_first, norm_first):
    kw = dict(
        d_model=16,
        nhead=4,
        num_encoder_layers=2,
        num_decoder_layers=1,
        dim_feedforward=24,
        dropout=0.0,
        batch_first=batch_first,
        norm_first=norm_first,
    )
    mine, theirs = nn.Transformer(**kw), torch.nn.Transformer(**kw)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    S, T, N = 5, 4, 3
    src = _rand(rng, *((N, S, 16) if batch_first else (S, N, 16)))
    tgt = _rand(rng, *((N, T, 16) if batch_first else (T, N, 16)))
    pad = np.zeros((N, S), bool)
    pad[0, -2:] = True
    mask = nn.Transformer.generate_square_subsequent_mask(T).numpy()
    np.testing.assert_array_equal(mask, torch.nn.Transformer.generate_square_subsequent_mask(T))
    mine.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    st, sm = torch.tensor(src, requires_grad=True), pydl.tensor(src, requires_grad=True)
    yt = theirs(
        st,
        torch.tensor(tgt),
        tgt_mask=torch.tensor(mask),
        src_key_padding_mask=torch.tensor(pad),
        memory_key_padding_mask=torch.tensor(pad),
    )
    ym = mine(
        sm, pydl.tensor(tgt), tgt_mask=mask, src_key_padding_mask=pad, memory_key_padding_mask=pad
    )
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    yt.sum().backward()
    ym.sum().backward()
    np.testing.assert_allclose(sm.grad.numpy(), st.grad.numpy(), rtol=1e-3, atol=1e-5)
    for (name, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(
            p.grad.numpy(), q.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=name
        )


def test_transformer_layers_defaults_and_reprs(torch):
    assert nn.TransformerEncoderLayer(8, 2).linear1.out_features == 2048
    assert (
        nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1).d_model == 8
    )
    for make in (
        lambda m: m.TransformerDecoderLayer(8, 2, 16),
        lambda m: m.TransformerEncoderLayer(8, 2, 16, activation="gelu", norm_first=True),
        lambda m: m.MultiheadAttention(8, 2),
    ):
        assert repr(make(nn)) == repr(make(torch.nn))
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, nn.LayerNorm(8))
    ref = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, 16),
        2,
        torch.nn.LayerNorm(8),
        enable_nested_tensor=False,
    )
    assert repr(enc) == repr(ref) and list(enc.state_dict()) == list(ref.state_dict())
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight  # copies


def test_decoder_with_callable_activation(rng, torch):
    kw = dict(d_model=8, nhead=2, dim_feedforward=12, dropout=0.0)
    mine = nn.TransformerDecoder(nn.TransformerDecoderLayer(**kw, activation=F.gelu), 2)
    theirs = torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(**kw, activation=torch.nn.functional.gelu), 2
    )
    _compare(torch, mine, theirs, _rand(rng, 4, 2, 8), _rand(rng, 5, 2, 8), rtol=1e-3)


def test_dropout_variants(rng):
    x = pydl.ones((8, 6, 5))
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        y = nn.Dropout2d(0.5)(x).numpy()
    assert all(len(set(row)) == 1 for row in y.reshape(48, 5))  # channels of length L
    with pytest.warns(UserWarning, match="2-D input"):
        y = nn.Dropout2d(0.5)(pydl.ones((40, 40))).numpy()
    assert len({tuple(r) for r in y}) > 2  # elementwise
    y = nn.Dropout1d(0.5)(x).numpy()
    assert all(len(set(row)) == 1 for row in y.reshape(48, 5))
    y = nn.Dropout3d(0.5)(pydl.ones((4, 6, 2, 3, 3))).numpy().reshape(24, -1)
    assert all(len(set(row)) == 1 for row in y) and {0.0, 2.0} == set(y.ravel())
    with pytest.raises(RuntimeError, match="Expected 2D or 3D"):
        nn.Dropout1d()(pydl.ones((2, 3, 4, 5)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.Dropout2d().eval()(pydl.ones((2, 3, 4, 4))).numpy().min() == 1
    # AlphaDropout keeps a standard normal input standard normal
    ad = nn.AlphaDropout(0.2)
    z = ad(pydl.tensor(rng.standard_normal(200_000).astype(np.float32))).numpy()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    assert ad.eval()(pydl.ones(3)).numpy().tolist() == [1, 1, 1]


def test_layer_reprs(torch):
    for make in (
        lambda m: m.Conv2d(3, 4, 3),
        lambda m: m.Conv2d(4, 4, (3, 2), stride=2, padding=1, dilation=2, groups=2, bias=False),
        lambda m: m.Conv1d(3, 4, 3, padding="same"),
        lambda m: m.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1),
        lambda m: m.MaxPool2d(2),
        lambda m: m.AvgPool1d(3, stride=1),
        lambda m: m.AdaptiveAvgPool2d((2, 3)),
        lambda m: m.BatchNorm2d(4, affine=False, momentum=None),
        lambda m: m.LayerNorm((3, 4), elementwise_affine=False),
        lambda m: m.GroupNorm(2, 4),
        lambda m: m.InstanceNorm2d(4, affine=True),
        lambda m: m.Embedding(10, 3, padding_idx=0),
        lambda m: m.PReLU(3),
        lambda m: m.Dropout1d(0.2),
        lambda m: m.AlphaDropout(),
        lambda m: m.Identity(),
        lambda m: m.Unflatten(1, (2, 3)),
    ):
        assert repr(make(nn)) == repr(make(torch.nn))


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda m: m.Unfold((3, 2), dilation=(1, 2), padding=1, stride=(2, 1)), (2, 3, 7, 6)),
        (lambda m: m.Unfold(2), (3, 5, 5)),
        (lambda m: m.Fold((7, 6), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1)), (2, 18, 24)),
        (lambda m: m.Fold((5, 5), 2, stride=3), (12, 4)),
        (lambda m: m.PixelShuffle(2), (2, 8, 3, 4)),
        (lambda m: m.PixelUnshuffle(2), (5, 2, 2, 6, 4)),
    ],
)
def test_fold_unfold_pixel_shuffle(rng, torch, make, shape):
    mine, theirs = make(nn), make(torch.nn)
    _compare(torch, mine, theirs, _rand(rng, *shape))
    assert repr(mine) == repr(theirs)


def test_fold_errors():
    with pytest.raises(RuntimeError, match="expected input.size"):
        F.fold(pydl.randn(1, 4, 5), (4, 4), 2)
    with pytest.raises(ValueError, match="kernel_size"):
        F.unfold(pydl.randn(1, 1, 4, 4), 0)


@pytest.mark.parametrize(
    "kwargs, input, offsets, psw",
    [
        (dict(mode="mean"), [[1, 2, 4], [4, 3, 9]], None, False),
        (dict(mode="sum"), [1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 3, 5], True),
        (dict(mode="max"), [1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 3, 5], False),
        (dict(mode="mean", padding_idx=2), [1, 2, 4, 5, 2, 2, 2, 9], [0, 3, 4, 7], False),
        (dict(mode="sum", include_last_offset=True), [1, 2, 4, 5, 4, 3], [0, 2, 2, 6], False),
        (dict(mode="max", padding_idx=4), [[1, 4, 4], [4, 4, 4]], None, False),
    ],
)
def test_embedding_bag(rng, torch, kwargs, input, offsets, psw):
    mine, theirs = nn.EmbeddingBag(10, 3, **kwargs), torch.nn.EmbeddingBag(10, 3, **kwargs)
    assert repr(mine) == repr(theirs)
    mine.load_state_dict({"weight": theirs.weight.detach().numpy()})
    idx = np.array(input)
    w = rng.standard_normal(idx.shape).astype(np.float32) if psw else None
    wt = None if w is None else torch.tensor(w, requires_grad=True)
    wm = None if w is None else pydl.tensor(w, requires_grad=True)
    off_t = None if offsets is None else torch.tensor(offsets)
    yt = theirs(torch.tensor(idx), off_t, per_sample_weights=wt)
    ym = mine(idx, None if offsets is None else np.array(offsets), per_sample_weights=wm)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(yt.shape).astype(np.float32)
    yt.backward(torch.tensor(g))
    ym.backward(pydl.tensor(g))
    np.testing.assert_allclose(
        mine.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-6
    )
    if w is not None:
        np.testing.assert_allclose(wm.grad.numpy(), wt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_embedding_bag_errors():
    with pytest.raises(ValueError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(np.array([1, 2]), pydl.randn(4, 2), np.array([1]))
    with pytest.raises(ValueError, match="only supported for mode='sum'"):
        F.embedding_bag(np.array([[1, 2]]), pydl.randn(4, 2), per_sample_weights=pydl.ones((1, 2)))
    with pytest.raises(IndexError):
        F.embedding_bag(np.array([[1, 7]]), pydl.randn(4, 2))


@pytest.mark.parametrize("bias, lead", [(True, (5,)), (False, (2, 3)), (True, ())])
def test_bilinear(rng, torch, bias, lead):
    mine, theirs = nn.Bilinear(3, 4, 2, bias=bias), torch.nn.Bilinear(3, 4, 2, bias=bias)
    assert repr(mine) == repr(theirs)
    _compare(torch, mine, theirs, _rand(rng, *lead, 3), _rand(rng, *lead, 4))
    with pytest.raises(ValueError, match="in1=3"):
        mine(pydl.randn(2, 4), pydl.randn(2, 4))


@pytest.mark.parametrize(
    "name, args",
    [
        ("conv3d", lambda lib: (lib.ones((2, 2, 2, 2, 2), dtype=lib.float64),)),
        ("max_pool3d", lambda lib: (2,)),
        ("avg_pool3d", lambda lib: (2,)),
        ("adaptive_max_pool2d", lambda lib: (2,)),
        ("unfold", lambda lib: (2,)),
        ("local_response_norm", lambda lib: (2,)),
    ],
)
def test_zero_batch_and_float64(torch, name, args):
    """A batch of 0 gives PyTorch's shape; float64 stays float64."""
    shape = (2, 4, 4) if name in ("adaptive_max_pool2d", "unfold") else (2, 4, 4, 4)
    for n in (0, 2):
        x = np.random.default_rng(0).standard_normal((n, *shape))
        mine = getattr(F, name)(pydl.tensor(x), *args(pydl))
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x), *args(torch))
        assert mine.shape == tuple(theirs.shape) and mine.dtype == np.float64
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda m: m.Conv1d(3, 4, 3, padding=1), (3, 9)),
        (lambda m: m.Conv2d(3, 4, 3, stride=2), (3, 7, 8)),
        (lambda m: m.Conv3d(2, 4, 2), (2, 3, 4, 5)),
        (lambda m: m.ConvTranspose2d(3, 2, 3, stride=2), (3, 4, 5)),
    ],
)
def test_conv_unbatched_input(rng, torch, make, shape):
    _compare(torch, make(nn), make(torch.nn), _rand(rng, *shape))


def _compare_functional(torch, name, inputs, *args, rtol=1e-4, atol=1e-5, **kwargs):
    """F.<name> on arrays against torch's: the output(s) and every float input's gradient."""
    xs_t = [torch.tensor(x, requires_grad=True) for x in inputs]
    xs_m = [pydl.tensor(x, requires_grad=True) for x in inputs]
    yt = getattr(torch.nn.functional, name)(*xs_t, *args, **kwargs)
    ym = getattr(F, name)(*xs_m, *args, **kwargs)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(ym[1].numpy(), yt[1].numpy())
        yt, ym = yt[0], ym[0]
    assert ym.shape == tuple(yt.shape)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(1).standard_normal(yt.shape).astype(np.float32)
    yt.backward(torch.tensor(g))
    ym.backward(pydl.tensor(g))
    for a, b in zip(xs_m, xs_t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "name, shapes, kwargs",
    [
        ("conv1d", [(3, 9), (4, 3, 3), (4,)], dict(padding=1)),
        ("conv2d", [(2, 6, 7), (4, 1, 3, 2)], dict(stride=2, groups=2)),
        ("conv_transpose1d", [(3, 5), (3, 2, 3)], dict(stride=2)),
        ("conv_transpose2d", [(2, 4, 5), (2, 3, 2, 3), (3,)], dict(padding=1)),
        ("adaptive_avg_pool1d", [(3, 7)], dict(output_size=3)),
        ("adaptive_avg_pool2d", [(3, 7, 5)], dict(output_size=(2, 3))),
        ("adaptive_avg_pool2d", [(2, 3, 7, 5)], dict(output_size=(None, 3))),
        ("adaptive_max_pool1d", [(3, 7)], dict(output_size=3)),
        ("adaptive_max_pool1d", [(3, 7)], dict(output_size=3, return_indices=True)),
        ("max_pool1d", [(3, 8)], dict(kernel_size=3, stride=2)),
        ("avg_pool1d", [(3, 8)], dict(kernel_size=2)),
    ],
)
def test_functional_unbatched_input(rng, torch, name, shapes, kwargs):
    _compare_functional(torch, name, [_rand(rng, *s) for s in shapes], **kwargs)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("max_pool2d", dict(kernel_size=(2,), stride=(1,), padding=(1,))),
        ("max_pool2d", dict(kernel_size=(3,), stride=(), dilation=(1,), return_indices=True)),
        ("avg_pool2d", dict(kernel_size=(2,), stride=(1,), padding=(1,))),
        ("avg_pool2d", dict(kernel_size=(3, 2), stride=())),
        ("max_pool1d", dict(kernel_size=3, stride=2, padding=1, return_indices=True)),
        ("max_pool1d", dict(kernel_size=(2,), stride=(), return_indices=True)),
    ],
)
def test_pooling_settings_as_pytorch_takes_them(rng, torch, name, kwargs):
    """1-tuples mean both dims, stride () is the kernel size; max_pool1d's indices."""
    shape = (2, 3, 7) if name == "max_pool1d" else (2, 3, 7, 6)
    _compare_functional(torch, name, [_rand(rng, *shape)], **kwargs)
