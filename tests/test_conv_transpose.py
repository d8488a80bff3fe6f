"""Transposed convolution and upsampling against PyTorch (forward and backward, both
backends), the layers' state_dict layout, and the argument errors."""

import numpy as np
import pytest
from op_table import CONV_T

import pydl
import pydl.nn.functional as F
from pydl import _core, nn


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)
    return request.param


def _against_torch(torch, ours, theirs, arrays, rtol=1e-4, atol=1e-5):
    """ours(*tensors) and theirs(*torch tensors): outputs and every input gradient, for a
    random upstream gradient."""
    mine = [pydl.tensor(a, requires_grad=True) for a in arrays]
    their = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, yt = ours(*mine), theirs(*their)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(5).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    yt.backward(torch.tensor(g))
    for i, (m, t) in enumerate(zip(mine, their)):
        scale = max(1.0, float(np.abs(t.grad.numpy()).max()))
        np.testing.assert_allclose(
            m.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol * scale, err_msg=f"input {i}"
        )


@pytest.mark.parametrize("case", CONV_T, ids=[c[0] for c in CONV_T])
def test_conv_transpose2d_matches_pytorch(torch, backend, case):
    _, xs, ws, stride, padding, output_padding, dilation, groups, has_bias = case
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws)]
    if has_bias:
        arrays.append(rng.standard_normal(ws[1] * groups))
    arrays = [a.astype(np.float32) for a in arrays]
    args = (stride, padding, output_padding, groups, dilation)
    _against_torch(
        torch,
        lambda x, w, b=None: F.conv_transpose2d(x, w, b, *args),
        lambda x, w, b=None: torch.nn.functional.conv_transpose2d(x, w, b, *args),
        arrays,
    )


def test_conv_transpose1d_matches_pytorch(torch, backend):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 9), (4, 3, 5), (6,))]
    args = (3, 2, 1, 2, 2)  # stride, padding, output_padding, groups, dilation
    _against_torch(
        torch,
        lambda x, w, b: F.conv_transpose1d(x, w, b, *args),
        lambda x, w, b: torch.nn.functional.conv_transpose1d(x, w, b, *args),
        arrays,
    )


def test_dcgan_generator_block_matches_pytorch(torch, backend):
    """A DCGAN generator's k4 s2 p1 layer at batch 16 (samples in parallel, bigger GEMMs)."""
    rng = np.random.default_rng(2)
    shapes = ((16, 32, 8, 8), (32, 16, 4, 4), (16,))
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    _against_torch(
        torch,
        lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1),
        lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, 2, 1),
        arrays,
        atol=2e-5,
    )


@pytest.mark.parametrize("cls", ["ConvTranspose2d", "ConvTranspose1d"])
def test_conv_transpose_layer_matches_pytorch_layout_and_init(torch, cls):
    kwargs = dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, groups=2)
    ours, theirs = getattr(nn, cls)(**kwargs), getattr(torch.nn, cls)(**kwargs)
    mine = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert mine == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert mine["weight"][:2] == (4, 3)  # (in, out / groups, ...)
    # PyTorch's init bounds: fan_in = out / groups * kernel = 9 (1-D) or 27 (2-D)
    fan_in = 3 * (9 if cls == "ConvTranspose2d" else 3)
    bound = 1 / np.sqrt(fan_in)
    for p in (ours.weight, ours.bias):
        assert np.abs(p.numpy()).max() <= bound
    assert np.abs(ours.bias.numpy()).max() > 0.5 * bound


def test_conv_transpose2d_output_size(torch):
    layer = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((1, 3, 4, 5)).astype(np.float32)
    for size in [(7, 9), (8, 10), (1, 2, 8, 9)]:
        y = layer(pydl.tensor(x), output_size=size)
        yt = theirs(torch.tensor(x), output_size=size)
        assert y.shape == tuple(yt.shape)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"output size of \(9, 9\).*\(7, 9\) to \(8, 10\)"):
        layer(pydl.tensor(x), output_size=(9, 9))
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        layer(pydl.tensor(x), output_size=(9,))


_X, _W = (2, 4, 3, 3), (4, 2, 3, 3)


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs, message",
    [
        (_X, _W, dict(output_padding=1), r"output_padding \(1, 1\) must be .*stride \(1, 1\)"),
        (_X, _W, dict(stride=2, output_padding=(0, 2)), r"output_padding \(0, 2\)"),
        (_X, _W, dict(padding=-1), r"padding must be >= 0"),
        (_X, _W, dict(stride=0), r"stride must be >= 1"),
        (_X, _W, dict(dilation=0), r"dilation must be >= 1"),
        (_X, _W, dict(groups=0), r"groups must be >= 1"),
        (_X, _W, dict(groups=3), r"input channels, not divisible by groups 3"),
        ((2, 3, 3, 3), _W, {}, r"expects 4 input channels but the input \(2, 3, 3, 3\) has 3"),
        ((1, 4, 1, 1), (4, 2, 1, 1), dict(padding=1), r"output \(-1, -1\).*too small"),
        ((2, 4, 0, 3), _W, {}, r"no rows or columns"),
        ((4, 3), _W, {}, r"expects input \(N, C_in, H, W\) or \(C_in, H, W\)"),
        (_X, (4, 2, 3), {}, r"expects weight \(C_in, C_out / groups, kH, kW\)"),
        (_X, _W, dict(padding="same"), r"padding must be an int or a tuple of ints"),
    ],
)
def test_conv_transpose2d_bad_arguments_name_the_setting(
    backend, x_shape, w_shape, kwargs, message
):
    x, w = pydl.zeros(*x_shape), pydl.zeros(*w_shape)
    with pytest.raises(ValueError, match=message):
        F.conv_transpose2d(x, w, **kwargs)


def test_conv_transpose_core_checks_what_python_does_not():
    """The binding's own checks (below the Python layer): bad settings, a grad of the wrong
    shape, sizes that overflow int64, never a crash or an out-of-bounds write."""
    x, w = np.ones(_X, np.float32), np.ones(_W, np.float32)
    one, zero = (1, 1), (0, 0)
    with pytest.raises(ValueError, match="output_padding"):
        _core.conv_transpose2d_forward(x, w, None, one, zero, one, one, 1)
    with pytest.raises(ValueError, match="bias"):
        _core.conv_transpose2d_forward(x, w, np.ones(3, np.float32), one, zero, zero, one, 1)
    with pytest.raises(ValueError, match="does not match the output"):
        _core.conv_transpose2d_backward(
            np.ones((2, 2, 4, 4), np.float32), x, w, one, zero, zero, one, 1, True, True, True
        )
    with pytest.raises(ValueError, match="overflows int64"):
        _core.conv_transpose2d_forward(x, w, None, (2**62, 1), zero, zero, one, 1)
    with pytest.raises(ValueError, match="overflows int64"):
        _core.conv_transpose2d_forward(x, w, None, one, zero, zero, (2**62, 1), 1)
    with pytest.raises(ValueError, match="too small"):
        _core.conv_transpose2d_forward(x, w, None, one, (2**40, 0), zero, one, 1)


def test_conv_transpose_is_the_adjoint_of_conv2d(backend):
    """<conv2d(y, W), x> == <y, conv_transpose2d(x, W)> (Note [Transposed convolution])."""
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    args = dict(stride=2, padding=1, dilation=1)
    y_t = F.conv_transpose2d(pydl.tensor(x), pydl.tensor(w), output_padding=1, **args).numpy()
    y = rng.standard_normal(y_t.shape).astype(np.float32)
    conv = F.conv2d(pydl.tensor(y), pydl.tensor(w), **args).numpy()
    assert conv.shape == x.shape
    lhs, rhs = np.float64(conv) * x, np.float64(y) * y_t
    np.testing.assert_allclose(lhs.sum(), rhs.sum(), atol=1e-5 * np.abs(lhs).sum())


def test_zero_batch(backend):
    x = pydl.zeros(0, 4, 3, 3, requires_grad=True)
    w = pydl.ones(4, 2, 3, 3, requires_grad=True)
    y = F.conv_transpose2d(x, w, stride=2)
    assert y.shape == (0, 2, 7, 7)
    y.sum().backward()
    assert x.grad.shape == x.shape and not w.grad.numpy().any()
