"""F.interpolate / nn.Upsample against PyTorch (forward and backward, both backends), the
index rules at their edges (Note [Upsampling indices]), and the argument errors."""

import math

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import _core, nn, reference


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)
    return request.param


CASES = [  # (input shape, interpolate's keyword arguments)
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((2, 3, 5, 4), dict(scale_factor=1.5)),
    ((1, 2, 7, 9), dict(scale_factor=(0.6, 2.3))),  # shrinking along one axis
    ((2, 2, 5, 4), dict(size=(7, 3))),
    ((1, 2, 6, 6), dict(size=(6, 13))),  # out == in along H
    ((1, 1, 5, 3), dict(scale_factor=1.1)),  # out == in, but the scale is 1 / 1.1
    ((2, 3, 5), dict(scale_factor=3)),
    ((2, 3, 5), dict(size=8, mode="linear")),
    ((2, 3, 5), dict(scale_factor=1.5, mode="linear", align_corners=True)),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((2, 3, 5, 4), dict(scale_factor=1.5, mode="bilinear")),
    ((2, 3, 5, 4), dict(scale_factor=1.5, mode="bilinear", align_corners=True)),
    ((1, 2, 7, 9), dict(scale_factor=(0.6, 2.3), mode="bilinear")),
    ((2, 2, 5, 4), dict(size=(7, 3), mode="bilinear")),
    ((2, 2, 5, 4), dict(size=(7, 1), mode="bilinear", align_corners=True)),
    ((1, 1, 5, 3), dict(scale_factor=1.1, mode="bilinear")),
    ((1, 2, 5, 6), dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)),
    ((1, 2, 5, 6), dict(scale_factor=1.7, recompute_scale_factor=True)),
    ((2, 3, 6, 8), dict(size=(3, 2), mode="area")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="nearest-exact")),
    ((1, 2, 7, 9), dict(scale_factor=(0.6, 2.3), mode="nearest-exact")),
    ((2, 2, 5, 4), dict(size=(7, 3), mode="nearest-exact")),
    ((2, 3, 5), dict(scale_factor=1.5, mode="nearest-exact")),
    ((2, 3, 9), dict(size=4, mode="nearest-exact")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bicubic")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bicubic", align_corners=True)),
    ((1, 2, 7, 9), dict(scale_factor=(0.6, 2.3), mode="bicubic")),
    ((1, 2, 7, 9), dict(scale_factor=(0.6, 2.3), mode="bicubic", align_corners=True)),
    ((2, 2, 5, 4), dict(size=(7, 1), mode="bicubic")),
    ((2, 2, 5, 4), dict(size=(7, 1), mode="bicubic", align_corners=True)),
    ((2, 2, 5, 4), dict(size=(5, 4), mode="bicubic")),
    ((2, 3, 4, 5, 3), dict(scale_factor=2, mode="trilinear")),
    ((1, 2, 7, 9, 4), dict(scale_factor=(0.6, 2.3, 1.5), mode="trilinear", align_corners=True)),
    ((2, 2, 5, 4, 3), dict(size=(7, 3, 1), mode="trilinear")),
]


@pytest.mark.parametrize("shape, kwargs", CASES, ids=[f"{s}-{k}" for s, k in CASES])
def test_interpolate_matches_pytorch(torch, backend, shape, kwargs):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    xm, xt = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = F.interpolate(xm, **kwargs), torch.nn.functional.interpolate(xt, **kwargs)
    # bicubic sums 16 weighted taps in another order than PyTorch's
    atol = 1e-5 if kwargs.get("mode") == "bicubic" else 1e-6
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=atol)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_nearest_indices_match_pytorch_for_many_sizes(torch, backend):
    """The source index is a float32 product unless out is in or 2 in (Note [Upsampling
    indices]): a double product, or no shortcuts, disagree with PyTorch for some of these
    (e.g. scale 0.7 on 20 values, 1.1 on 5, size 86 from 30), in float32 and float64."""
    for n_in in range(1, 33):
        for dtype in (np.float32, np.float64):
            x = np.arange(n_in, dtype=dtype).reshape(1, 1, 1, n_in)
            xt = torch.tensor(x)
            for size in [(1, n) for n in range(1, 90, 3)] + [(n_in + 1, 2 * n_in)]:
                ours = F.interpolate(pydl.tensor(x), size=size).numpy()
                theirs = torch.nn.functional.interpolate(xt, size=size).numpy()
                np.testing.assert_array_equal(ours, theirs, err_msg=f"{n_in} {size}")
            for s in (0.3, 0.7, 1.1, 1.5, 1.7, 2.1, 2.5, 3.3):
                if math.floor(n_in * s) < 1:
                    continue
                ours = F.interpolate(pydl.tensor(x), scale_factor=(1, s)).numpy()
                theirs = torch.nn.functional.interpolate(xt, scale_factor=(1, s)).numpy()
                np.testing.assert_array_equal(ours, theirs, err_msg=f"{n_in} {s}")


def test_nearest_exact_indices_match_pytorch_for_many_sizes(torch, backend):
    """nearest-exact: floor((i + 0.5) * r) clamped, with no shortcuts for out == in or 2 in
    (Note [Upsampling indices])."""
    for n_in in range(1, 25):
        x = np.arange(n_in, dtype=np.float32).reshape(1, 1, 1, n_in)
        xt = torch.tensor(x)
        kwargs = [dict(size=(1, n)) for n in range(1, 60, 2)]
        kwargs += [dict(scale_factor=(1, s)) for s in (0.3, 0.7, 1.1, 1.7, 2.1, 3.3)]
        for kw in kwargs:
            if "scale_factor" in kw and math.floor(n_in * kw["scale_factor"][1]) < 1:
                continue
            ours = F.interpolate(pydl.tensor(x), mode="nearest-exact", **kw).numpy()
            theirs = torch.nn.functional.interpolate(xt, mode="nearest-exact", **kw).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{n_in} {kw}")


def test_upsample_layers_match_pytorch(torch):
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5)).astype(np.float32)
    for make in [
        lambda m: m.Upsample(scale_factor=2),
        lambda m: m.Upsample(size=(5, 7), mode="bilinear"),
        lambda m: m.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
        lambda m: m.UpsamplingNearest2d(scale_factor=2),
        lambda m: m.Upsample(scale_factor=1.5, mode="nearest-exact"),
        lambda m: m.UpsamplingBilinear2d(size=(6, 9)),
    ]:
        ours, theirs = make(nn), make(torch.nn)
        assert repr(ours) == repr(theirs)
        assert ours.state_dict() == {}
        np.testing.assert_allclose(
            ours(pydl.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6
        )
    assert F.upsample is F.interpolate
    y = F.upsample_bilinear(pydl.tensor(x), scale_factor=2)
    yt = torch.nn.functional.interpolate(
        torch.tensor(x), scale_factor=2, mode="bilinear", align_corners=True
    )
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "shape, kwargs, error, message",
    [
        ((1, 2, 3, 3), dict(), ValueError, "either size or scale_factor"),
        ((1, 2, 3, 3), dict(size=4, scale_factor=2), ValueError, "only one of size"),
        ((1, 2, 3, 3), dict(scale_factor=2, align_corners=True), ValueError, "align_corners"),
        ((1, 2, 3, 3), dict(scale_factor=0.1), ValueError, r"sizes must be >= 1.*\(0, 0\)"),
        ((1, 2, 3, 3), dict(scale_factor=-2.0), ValueError, "scale_factor must be positive"),
        ((1, 2, 3, 3), dict(scale_factor=float("inf")), ValueError, "must be positive"),
        ((1, 2, 3, 3), dict(size=(2, 3, 4)), ValueError, "size must be an int or a tuple of 2"),
        ((1, 2, 3, 3), dict(size=0), ValueError, "sizes must be >= 1"),
        ((1, 2, 3, 3), dict(scale_factor=(2, 2, 2)), ValueError, "scale_factor"),
        ((1, 2, 3, 3), dict(size=4, mode="linear"), ValueError, "'linear' expects a 3-D"),
        ((1, 2, 3), dict(size=4, mode="bilinear"), ValueError, "'bilinear' expects a 4-D"),
        ((1, 2, 3), dict(size=4, mode="bicubic"), ValueError, "'bicubic' expects a 4-D"),
        ((1, 2, 3, 3), dict(size=4, mode="trilinear"), ValueError, "'trilinear' expects a 5-D"),
        ((1, 2, 3, 3), dict(size=4, mode="cubic"), NotImplementedError, "'cubic'"),
        ((1, 2, 3, 3), dict(size=4, recompute_scale_factor=True), ValueError, "recompute"),
        ((1, 2, 0, 3), dict(size=4), ValueError, "sizes must be >= 1"),
    ],
)
def test_interpolate_bad_arguments(backend, shape, kwargs, error, message):
    with pytest.raises(error, match=message):
        F.interpolate(pydl.zeros(*shape), **kwargs)


def test_upsample_core_checks_what_python_does_not():
    x = np.ones((1, 2, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"sizes must be >= 1"):
        _core.upsample_nearest2d_forward(x, (0, 3), (0.0, 0.0))
    with pytest.raises(ValueError, match=r"expects input \(N, C, H, W\)"):
        _core.upsample_bilinear2d_forward(x[0], (3, 3), (0.0, 0.0), False)
    with pytest.raises(ValueError, match="does not match the input"):
        _core.upsample_nearest2d_backward(np.ones((1, 3, 6, 6), np.float32), [1, 2, 3, 3], (0, 0))
    with pytest.raises(ValueError, match=r"grad must be \(N, C, H, W\)"):
        _core.upsample_bilinear2d_backward(np.ones((2, 2, 6), np.float32), [1, 2, 3, 3], (0, 0), 1)
    # a scale near 0 (its inverse not finite) clamps to the last row and column
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    for module in (_core, reference):
        for exact in (False, True):
            y = module.upsample_nearest2d_forward(x, (4, 4), (1e-300, 1e-300), exact)
            assert y.dtype == np.float32 and np.array_equal(y[0, 0], np.full((4, 4), 8.0))
        y = module.upsample_bilinear2d_forward(x, (4, 4), (1e-300, 1e-300), False)
        assert y.dtype == np.float32 and np.array_equal(y[0, 0], np.full((4, 4), 8.0))
