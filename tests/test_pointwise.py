"""The pointwise ops (unary math, binary forms, predicates, nan_to_num, bitwise) and the
activations added beside them, against PyTorch: values and gradients on random inputs of
several shapes and dtypes, broadcasting, NaN and inf, zero-size and 0-d inputs, the in-place
forms, the operators, and the errors."""

import warnings

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import nn


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)
    return request.param


SHAPES = [(), (0,), (7,), (3, 17), (2, 0, 3), (2, 3, 33)]

# name: (low, high) of the sampled domain (inside the op's domain, away from poles)
UNARY = {
    "tan": (-1.3, 1.3), "asin": (-0.95, 0.95), "acos": (-0.95, 0.95), "atan": (-4, 4),
    "sinh": (-4, 4), "cosh": (-4, 4), "asinh": (-4, 4), "acosh": (1.1, 5),
    "atanh": (-0.95, 0.95), "floor": (-4, 4), "ceil": (-4, 4), "round": (-4, 4),
    "trunc": (-4, 4), "fix": (-4, 4), "frac": (-4, 4), "sign": (-4, 4), "sgn": (-4, 4),
    "erf": (-3, 3), "erfc": (-3, 3), "erfinv": (-0.99, 0.99), "exp2": (-4, 4),
    "expm1": (-4, 4), "log2": (0.1, 5), "log10": (0.1, 5), "log1p": (-0.9, 4),
    "rsqrt": (0.1, 5), "reciprocal": (0.2, 4), "square": (-4, 4), "sinc": (-3, 3),
    "deg2rad": (-360, 360), "rad2deg": (-4, 4), "logit": (0.02, 0.98),
    "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctan": (-3, 3), "arcsinh": (-3, 3),
    "arccosh": (1.1, 4), "arctanh": (-0.9, 0.9), "negative": (-3, 3), "absolute": (-3, 3),
}  # fmt: skip


def _pair(torch, x, requires_grad=True):
    return (
        pydl.tensor(x, requires_grad=requires_grad),
        torch.tensor(x, requires_grad=requires_grad),
    )


def _check_grad(x, y, xt, yt, rtol, atol):
    g = np.random.default_rng(5).uniform(0.5, 1.5, y.shape).astype(y.numpy().dtype)
    y.backward(pydl.tensor(g))
    yt.backward(xt.new_tensor(g))
    # force: the zero gradient of sign and friends is a ZeroTensor in PyTorch
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(force=True), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_math_matches_pytorch(torch, backend, name, dtype):
    lo, hi = UNARY[name]
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for shape in SHAPES:
        x = np.random.default_rng(len(shape)).uniform(lo, hi, shape).astype(dtype)
        xm, xt = _pair(torch, x)
        y, yt = getattr(pydl, name)(xm), getattr(torch, name)(xt)
        assert y.dtype == dtype and y.shape == tuple(yt.shape)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **tol)
        _check_grad(xm, y, xt, yt, **tol)
        # the method and the in-place form
        np.testing.assert_allclose(getattr(pydl.tensor(x), name)().numpy(), y.numpy())
        z = pydl.tensor(x.copy())
        assert getattr(z, name + "_")() is z
        np.testing.assert_allclose(z.numpy(), y.numpy())


@pytest.mark.parametrize("name", ["sin", "exp", "tan", "erf", "log1p", "reciprocal", "sinc",
                                  "floor", "ceil", "round", "trunc", "sign", "square",
                                  "abs", "neg"])  # fmt: skip
def test_unary_math_on_integers_matches_pytorch(torch, backend, name):
    x = np.array([[-3, 0, 2, 7], [1, -1, 4, 5]], np.int64)
    y, yt = getattr(pydl, name)(pydl.tensor(x)), getattr(torch, name)(torch.tensor(x))
    assert y.dtype == np.dtype(str(yt.dtype).replace("torch.", "")), (y.dtype, yt.dtype)
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-6)


def test_unary_math_special_values_match_pytorch(torch, backend):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 0.5, 1e-30],
                 np.float32)  # fmt: skip
    for name in sorted(UNARY):
        y = getattr(pydl, name)(pydl.tensor(x)).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yt = getattr(torch, name)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(y, yt, rtol=1e-5, atol=1e-30, err_msg=name)


def test_round_decimals_and_logit_eps_match_pytorch(torch, backend):
    x = np.random.default_rng(0).uniform(-50, 50, (4, 9)).astype(np.float32)
    x[0, :4] = [0.5, 1.5, 2.5, -0.5]  # halves round to even
    for d in (0, 1, 2, -1):
        np.testing.assert_allclose(
            pydl.round(pydl.tensor(x), decimals=d).numpy(),
            torch.round(torch.tensor(x), decimals=d).numpy(),
            rtol=1e-6,
        )
    p = np.random.default_rng(1).uniform(-0.1, 1.1, (5, 7))
    for eps in (None, 0.0, 0.1):
        xm, xt = _pair(torch, p)
        y, yt = pydl.logit(xm, eps), torch.logit(xt, eps)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, equal_nan=True)
        y.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, equal_nan=True)
    with pytest.raises(TypeError, match="decimals"):
        pydl.round(pydl.ones(2), decimals=1.5)


BINARY = {  # name: (a's domain, b's domain)
    "fmax": ((-2, 2), (-2, 2)), "fmin": ((-2, 2), (-2, 2)), "atan2": ((-2, 2), (-2, 2)),
    "arctan2": ((-2, 2), (-2, 2)), "copysign": ((-2, 2), (-2, 2)),
    "logaddexp": ((-5, 5), (-5, 5)), "logaddexp2": ((-5, 5), (-5, 5)),
    "hypot": ((-2, 2), (-2, 2)), "xlogy": ((-2, 2), (0.1, 3)), "fmod": ((-6, 6), (0.5, 2)),
    "remainder": ((-6, 6), (-2, -0.5)), "floor_divide": ((-6, 6), (-2, 2)),
}  # fmt: skip
BCAST = [((3, 4), (3, 4)), ((2, 1, 5), (3, 1)), ((7,), ()), ((), (4,)), ((0, 3), (3,))]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_matches_pytorch(torch, backend, name, dtype):
    (la, ha), (lb, hb) = BINARY[name]
    rng = np.random.default_rng(2)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for sa, sb in BCAST:
        a, b = rng.uniform(la, ha, sa).astype(dtype), rng.uniform(lb, hb, sb).astype(dtype)
        differentiable = name != "floor_divide"
        am, at = _pair(torch, a, differentiable)
        bm, bt = _pair(torch, b, differentiable)
        y, yt = getattr(pydl, name)(am, bm), getattr(torch, name)(at, bt)
        assert y.dtype == dtype and y.shape == tuple(yt.shape)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **tol)
        np.testing.assert_allclose(getattr(am, name)(bm).numpy(), y.numpy())
        if differentiable:
            g = rng.uniform(0.5, 1.5, y.shape).astype(dtype)
            y.backward(pydl.tensor(g))
            yt.backward(torch.tensor(g))
            np.testing.assert_allclose(am.grad.numpy(), at.grad.numpy(), **tol)
            np.testing.assert_allclose(bm.grad.numpy(), bt.grad.numpy(), **tol)


def test_binary_nan_inf_and_scalars_match_pytorch(torch, backend):
    v = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.0], np.float32)
    a, b = np.meshgrid(v, v)
    for name in sorted(BINARY):
        y = getattr(pydl, name)(pydl.tensor(a), pydl.tensor(b)).numpy()
        yt = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_allclose(y, yt, rtol=1e-6, err_msg=name)
        # a Python number (where PyTorch takes one)
        try:
            yt = getattr(torch, name)(torch.tensor(a), 1.5).numpy()
        except TypeError:
            continue
        y = getattr(pydl, name)(pydl.tensor(a), 1.5).numpy()
        np.testing.assert_allclose(y, yt, rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("name", ["fmax", "fmin", "fmod", "remainder", "floor_divide"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_integer_binary_matches_pytorch(torch, backend, name, dtype):
    rng = np.random.default_rng(3)
    lo = 0 if dtype == np.uint8 else -20
    a = rng.integers(lo, 20, (4, 6)).astype(dtype)
    b = rng.integers(1, 7, (6,)).astype(dtype)
    if dtype != np.uint8:
        b *= np.array([1, -1, 1, -1, -1, 1], dtype)  # both signs of divisor
    y, yt = (
        getattr(pydl, name)(pydl.tensor(a), pydl.tensor(b)),
        getattr(torch, name)(torch.tensor(a), torch.tensor(b)),
    )
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.numpy(), yt.numpy())


def test_division_operators_and_rounding_modes_match_pytorch(torch, backend):
    rng = np.random.default_rng(4)
    ai, bi = rng.integers(-30, 30, (5, 7)), rng.integers(1, 6, (7,)) * rng.choice([-1, 1], 7)
    af, bf = rng.uniform(-9, 9, (5, 7)).astype(np.float32), rng.uniform(0.5, 3, 7)
    bf = (bf * rng.choice([-1, 1], 7)).astype(np.float32)
    for a, b in ((ai, bi), (af, bf), (ai, 3), (af, -2.5)):
        am, at = pydl.tensor(a), torch.tensor(a)
        bm, bt = (pydl.tensor(b), torch.tensor(b)) if isinstance(b, np.ndarray) else (b, b)
        for mode in (None, "trunc", "floor"):
            y, yt = pydl.div(am, bm, rounding_mode=mode), torch.div(at, bt, rounding_mode=mode)
            assert str(y.dtype) == str(yt.dtype).replace("torch.", "")
            np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-6)
        pairs = [(am // bm, at // bt), (am % bm, at % bt), (am / bm, at / bt)]
        if isinstance(b, np.ndarray):  # a Python number on the left
            pairs += [(7 // bm, 7 // bt), (7 % bm, 7 % bt), (-7.5 // bm, -7.5 // bt)]
        for y, yt in pairs:
            np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-6)
    np.testing.assert_allclose(pydl.true_divide(am, 2).numpy(), torch.true_divide(at, 2))
    np.testing.assert_allclose(pydl.divide(am, 2).numpy(), torch.divide(at, 2))
    with pytest.raises(ValueError, match="rounding_mode"):
        pydl.div(am, 2, rounding_mode="round")


def test_rounded_division_has_zero_gradient(torch, backend):
    x = pydl.tensor([3.5, -2.0], requires_grad=True)
    xt = torch.tensor([3.5, -2.0], requires_grad=True)
    (
        pydl.div(x, 2.0, rounding_mode="floor") + pydl.div(x, 3.0, rounding_mode="trunc")
    ).sum().backward()
    (
        torch.div(xt, 2.0, rounding_mode="floor") + torch.div(xt, 3.0, rounding_mode="trunc")
    ).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_integer_division_by_zero_raises_as_pytorch(torch, backend):
    a, z = pydl.tensor([5, -3]), pydl.tensor([1, 0])
    for fn in (
        lambda: a // z,
        lambda: a % z,
        lambda: pydl.fmod(a, z),
        lambda: pydl.floor_divide(a, 0),
        lambda: pydl.div(a, z, rounding_mode="trunc"),
        lambda: pydl.div(a, z, rounding_mode="floor"),
    ):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            fn()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.tensor([5, -3]) // torch.tensor([1, 0])
    # floats divide by zero into inf and NaN, as PyTorch's
    f = pydl.tensor([5.0, -3.0, 0.0])
    np.testing.assert_array_equal(
        (f // 0.0).numpy(), (torch.tensor([5.0, -3.0, 0.0]) // 0.0).numpy()
    )


def test_lerp_matches_pytorch(torch, backend):
    rng = np.random.default_rng(6)
    s, e, w = rng.normal(size=(3, 4)), rng.normal(size=(4,)), rng.uniform(0, 1, (3, 1))
    for weight, weight_t in ((0.3, 0.3), (w, None)):
        sm, st = _pair(torch, s)
        em, et = _pair(torch, e)
        if weight_t is None:
            weight, weight_t = _pair(torch, w)
        y, yt = pydl.lerp(sm, em, weight), torch.lerp(st, et, weight_t)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
        y.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(sm.grad.numpy(), st.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(em.grad.numpy(), et.grad.numpy(), rtol=1e-12)
        if isinstance(weight, pydl.Tensor):
            np.testing.assert_allclose(weight.grad.numpy(), weight_t.grad.numpy(), rtol=1e-12)


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -2.5, 3e38], np.float32)


@pytest.mark.parametrize("name", ["isnan", "isinf", "isposinf", "isneginf", "isfinite",
                                  "signbit"])  # fmt: skip
def test_predicates_match_pytorch(torch, backend, name):
    for x in (SPECIAL, SPECIAL.astype(np.float64).reshape(2, 4), np.array([3, -1, 0]),
              np.zeros((0, 2), np.float32), np.float32(np.nan)):  # fmt: skip
        y, yt = getattr(pydl, name)(pydl.tensor(x)), getattr(torch, name)(torch.tensor(x))
        assert y.dtype == np.bool_ and not y.requires_grad
        np.testing.assert_array_equal(y.numpy(), yt.numpy())
        np.testing.assert_array_equal(getattr(pydl.tensor(x), name)().numpy(), yt.numpy())


def test_isclose_allclose_equal_match_pytorch(torch, backend):
    a = np.array([1.0, 1.0, np.nan, np.inf, -np.inf, 0.0, 1e-9, 100.0], np.float32)
    b = np.array([1.0 + 1e-6, 1.1, np.nan, np.inf, np.inf, 1e-9, 0.0, 100.001], np.float32)
    for kwargs in ({}, dict(equal_nan=True), dict(rtol=0.2, atol=0.0), dict(atol=1e-3)):
        at, bt = torch.tensor(a), torch.tensor(b)
        np.testing.assert_array_equal(
            pydl.isclose(pydl.tensor(a), pydl.tensor(b), **kwargs).numpy(),
            torch.isclose(at, bt, **kwargs).numpy(),
        )
        assert pydl.allclose(pydl.tensor(a), pydl.tensor(b), **kwargs) == torch.allclose(
            at, bt, **kwargs
        )
    ints = np.array([1, 5, 100])
    np.testing.assert_array_equal(
        pydl.isclose(pydl.tensor(ints), pydl.tensor(ints + 1), rtol=0.1).numpy(),
        torch.isclose(torch.tensor(ints), torch.tensor(ints + 1), rtol=0.1).numpy(),
    )
    x = pydl.tensor([1.0, 2.0])
    assert pydl.allclose(x, x) is True and pydl.equal(x, x) is True
    assert pydl.equal(x, pydl.tensor([1.0, 2.5])) is False
    assert pydl.equal(x, pydl.tensor([[1.0, 2.0]])) is False  # shapes differ
    assert pydl.equal(pydl.tensor([np.nan]), pydl.tensor([np.nan])) is False
    assert x.allclose(x) and x.equal(x)


def test_nan_to_num_matches_pytorch(torch, backend):
    for dtype in (np.float32, np.float64):
        x = SPECIAL.astype(dtype)
        for kwargs in ({}, dict(nan=1.0, posinf=2.0), dict(neginf=-7.0)):
            xm, xt = _pair(torch, x)
            y, yt = pydl.nan_to_num(xm, **kwargs), torch.nan_to_num(xt, **kwargs)
            np.testing.assert_array_equal(y.numpy(), yt.detach().numpy())
            y.sum().backward()
            yt.sum().backward()
            np.testing.assert_array_equal(xm.grad.numpy(), xt.grad.numpy())
    z = pydl.tensor(SPECIAL.copy())
    assert z.nan_to_num_() is z and np.isfinite(z.numpy()).all()
    ints = np.array([1, -2])
    np.testing.assert_array_equal(pydl.nan_to_num(pydl.tensor(ints)).numpy(), ints)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_bitwise_ops_match_pytorch(torch, backend, dtype):
    rng = np.random.default_rng(7)
    hi = 2 if dtype == np.bool_ else 100
    lo = 0 if dtype in (np.uint8, np.bool_) else -100
    a, b = rng.integers(lo, hi, (4, 5)).astype(dtype), rng.integers(lo, hi, (5,)).astype(dtype)
    am, bm, at, bt = pydl.tensor(a), pydl.tensor(b), torch.tensor(a), torch.tensor(b)
    pairs = [
        (am & bm, at & bt),
        (am | bm, at | bt),
        (am ^ bm, at ^ bt),
        (~am, ~at),
        (pydl.bitwise_and(am, bm), torch.bitwise_and(at, bt)),
        (pydl.bitwise_or(am, bm), torch.bitwise_or(at, bt)),
        (pydl.bitwise_xor(am, bm), torch.bitwise_xor(at, bt)),
        (pydl.bitwise_not(am), torch.bitwise_not(at)),
        (am.bitwise_and(bm), at.bitwise_and(bt)),
    ]
    if dtype != np.bool_:
        pairs += [(am & 6, at & 6), (5 | am, 5 | at)]
        s = np.array([0, 1, 3, 7, 200 if dtype == np.uint8 else 70], dtype)
        sm, st = pydl.tensor(s), torch.tensor(s)
        col = am[:, :1]
        pairs += [
            (col << sm, at[:, :1] << st),
            (col >> sm, at[:, :1] >> st),
            (pydl.bitwise_left_shift(col, sm), torch.bitwise_left_shift(at[:, :1], st)),
            (pydl.bitwise_right_shift(col, sm), torch.bitwise_right_shift(at[:, :1], st)),
            (am << 2, at << 2),
            (am >> 1, at >> 1),
        ]
    for y, yt in pairs:
        assert y.dtype == a.dtype or dtype == np.uint8
        np.testing.assert_array_equal(y.numpy(), yt.numpy())


def test_bitwise_ops_refuse_floats(torch, backend):
    x = pydl.tensor([1.0, 2.0])
    for fn in (lambda: x & x, lambda: x | 1, lambda: ~x, lambda: x << 1, lambda: x ^ x):
        with pytest.raises(TypeError, match="not implemented for 'Float'"):
            fn()
    with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
        torch.tensor([1.0]) & torch.tensor([2.0])


def test_logical_ops_take_any_dtype_as_pytorch(torch, backend):
    a, b = np.array([0.0, 2.5, -1.0, np.nan]), np.array([3, 0, 0, 1])
    for name in ("logical_and", "logical_or", "logical_xor"):
        np.testing.assert_array_equal(
            getattr(pydl, name)(pydl.tensor(a), pydl.tensor(b)).numpy(),
            getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy(),
        )
    np.testing.assert_array_equal(
        pydl.logical_not(pydl.tensor(b)).numpy(), torch.logical_not(torch.tensor(b)).numpy()
    )


ACTIVATIONS = [  # (pydl F name or callable, torch F callable, domain)
    ("relu6", lambda F, x: F.relu6(x), (-3, 9)),
    ("hardswish", lambda F, x: F.hardswish(x), (-5, 5)),
    ("celu", lambda F, x: F.celu(x), (-3, 3)),
    ("celu_alpha", lambda F, x: F.celu(x, 0.5), (-3, 3)),
    ("softshrink", lambda F, x: F.softshrink(x), (-3, 3)),
    ("softshrink_lambd", lambda F, x: F.softshrink(x, 1.2), (-3, 3)),
    ("hardshrink", lambda F, x: F.hardshrink(x), (-3, 3)),
    ("hardshrink_lambd", lambda F, x: F.hardshrink(x, 0.1), (-3, 3)),
    ("hardshrink_neg_lambd", lambda F, x: F.hardshrink(x, -0.5), (-3, 3)),  # x itself
    ("hardtanh_equal_bounds", lambda F, x: F.hardtanh(x, 0.3, 0.3), (-3, 3)),
    ("hardtanh_zero_bounds", lambda F, x: F.hardtanh(x, 0.0, 0.0), (-3, 3)),
    ("threshold", lambda F, x: F.threshold(x, 0.3, -2.0), (-3, 3)),
    ("rrelu_eval", lambda F, x: F.rrelu(x, 0.1, 0.4), (-3, 3)),
    ("glu", lambda F, x: F.glu(x), (-3, 3)),
    ("glu_dim0", lambda F, x: F.glu(x, 0), (-3, 3)),
    ("softmin", lambda F, x: F.softmin(x, dim=-1), (-3, 3)),
    ("softmin_dim0", lambda F, x: F.softmin(x, 0), (-3, 3)),
    ("logsigmoid", lambda F, x: F.logsigmoid(x), (-3, 3)),
]


@pytest.mark.parametrize("case", ACTIVATIONS, ids=[c[0] for c in ACTIVATIONS])
def test_new_activations_match_pytorch(torch, backend, case):
    _, fn, (lo, hi) = case
    for shape in [(4, 6), (2, 4, 10), (8,), (0, 4)]:
        x = np.random.default_rng(8).uniform(lo, hi, shape).astype(np.float32)
        xm, xt = _pair(torch, x)
        y, yt = fn(F, xm), fn(torch.nn.functional, xt)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
        _check_grad(xm, y, xt, yt, rtol=1e-5, atol=1e-6)


def test_torch_level_and_method_forms(torch):
    x = pydl.tensor([-1.5, 0.2, 2.0])
    xt = torch.tensor([-1.5, 0.2, 2.0])
    for name in ("selu", "celu", "rrelu", "hardshrink", "threshold", "logit", "relu"):
        assert hasattr(pydl, name) == hasattr(torch, name), name
    np.testing.assert_allclose(pydl.celu(x).numpy(), torch.celu(xt).numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.hardshrink(1.0).numpy(), xt.hardshrink(1.0).numpy())
    np.testing.assert_allclose(
        pydl.threshold(x, 0.5, 9.0).numpy(), torch.threshold(xt, 0.5, 9.0).numpy()
    )
    w = pydl.tensor([0.25])
    np.testing.assert_allclose(
        pydl.prelu(x, w).numpy(), torch.prelu(xt, torch.tensor([0.25])).numpy()
    )
    np.testing.assert_allclose(x.prelu(w).numpy(), pydl.prelu(x, w).numpy())


def test_rrelu_training_draws_seeded_slopes_in_range(backend):
    x = pydl.tensor(-np.ones(1000, np.float32), requires_grad=True)
    pydl.manual_seed(3)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.numpy()
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and slopes.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)  # d/dx = the drawn slope
    pydl.manual_seed(3)
    np.testing.assert_array_equal(F.rrelu(x, 0.1, 0.3, training=True).numpy(), y.numpy())
    pos = pydl.tensor([0.5, 2.0])
    np.testing.assert_array_equal(F.rrelu(pos, training=True).numpy(), pos.numpy())
    m = nn.RReLU(0.1, 0.3)
    assert not np.allclose(m(x).numpy(), -0.2)  # training: random slopes
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2, rtol=1e-6)  # eval: the mean slope


MODULES = [  # (name, args, kwargs)
    ("ReLU6", (), {}),
    ("Hardswish", (), {}),
    ("CELU", (0.5,), {}),
    ("Softshrink", (0.3,), {}),
    ("Hardshrink", (), {"lambd": 0.3}),
    ("Threshold", (0.1, 20.0), {}),
    ("GLU", (), {"dim": 0}),
    ("Softmin", (1,), {}),
]


@pytest.mark.parametrize("name, args, kwargs", MODULES, ids=[m[0] for m in MODULES])
def test_activation_modules_match_pytorch(torch, name, args, kwargs):
    x = np.random.default_rng(9).uniform(-4, 4, (4, 6)).astype(np.float32)
    y = getattr(nn, name)(*args, **kwargs)(pydl.tensor(x))
    yt = getattr(torch.nn, name)(*args, **kwargs)(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-5, atol=1e-6)


INPLACE_MODULES = [("ReLU6", ()), ("Hardswish", ()), ("CELU", (0.5,)), ("Threshold", (0.1, 20.0)),
                   ("RReLU", (0.1, 0.3))]  # fmt: skip


@pytest.mark.parametrize("name, args", INPLACE_MODULES)
def test_activation_modules_take_inplace(torch, name, args):
    x = np.random.default_rng(10).uniform(-4, 4, (3, 5)).astype(np.float32)
    xm = pydl.tensor(x.copy())
    m = getattr(nn, name)(*args, inplace=True).eval()
    assert m(xm) is xm and "inplace=True" in repr(m)
    mt = getattr(torch.nn, name)(*args, inplace=True).eval()
    np.testing.assert_allclose(xm.numpy(), mt(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="missing"):
        nn.Threshold()


@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
def test_softmax_without_dim_uses_pytorchs_implicit_dim(torch, ndim):
    x = np.random.default_rng(11).normal(size=(2, 3, 4, 5)[:ndim]).astype(np.float32)
    for name in ("softmax", "log_softmax", "softmin"):
        with pytest.warns(UserWarning, match="Implicit dimension choice for " + name):
            y = getattr(F, name)(pydl.tensor(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yt = getattr(torch.nn.functional, name)(torch.tensor(x))
        np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-5, atol=1e-6)
    y = F.softmax(pydl.tensor(x), -1, dtype=np.float64)
    assert y.dtype == np.float64


def test_activation_argument_errors():
    x = pydl.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="lambda must be greater or equal to 0"):
        F.softshrink(x, -1.0)
    with pytest.raises(ValueError, match="cannot be greater"):
        F.hardtanh(x, 1.0, 0.0)
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(x)
    with pytest.raises(ValueError, match="lower"):
        F.rrelu(x, 0.5, 0.1)
    with pytest.raises(ValueError, match="eps"):
        pydl.logit(x, eps=0.7)
    with pytest.raises(ValueError, match="alpha"):
        F.celu(x, 0.0)


def test_in_place_forms_follow_pytorch_rules(torch):
    x = pydl.tensor([1.5, -0.3], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.floor_()
    y = x * 1.0
    y.tan_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / np.cos([1.5, -0.3]) ** 2, rtol=1e-5)
    i = pydl.tensor([1, 2])
    with pytest.raises(RuntimeError):
        i.sin_()  # a float result cannot go into an int tensor, as PyTorch's
    i.square_()
    assert i.tolist() == [1, 4]


CLAMP_BOUNDS = [  # (input shape, min shape or None, max shape or None): broadcasting
    ((4, 5), (4, 5), (4, 5)),
    ((5, 1), (1, 4), (4,)),
    ((3,), None, (3,)),
    ((2, 3), (3,), None),
    ((2, 3), (), (2, 1)),
    ((1,), (3, 1), (3, 1)),  # the bounds widen the result
    ((0, 3), (3,), (1, 3)),
]


@pytest.mark.parametrize("shapes", CLAMP_BOUNDS, ids=str)
def test_clamp_tensor_bounds_match_pytorch(torch, backend, shapes):
    """Tensor bounds broadcast with the input; the gradient goes to x inside [min, max],
    else to the bound taken (to max wherever min > max, half the random pairs here)."""
    rng = np.random.default_rng(3)
    arrays = [None if s is None else rng.standard_normal(s) for s in shapes]
    for name in ("clamp", "clip"):
        ours = [None if a is None else pydl.tensor(a, requires_grad=True) for a in arrays]
        theirs = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
        y = getattr(pydl, name)(ours[0], min=ours[1], max=ours[2])
        yt = getattr(torch, name)(theirs[0], min=theirs[1], max=theirs[2])
        np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
        w = rng.uniform(0.5, 1.5, tuple(yt.shape))
        (y * pydl.tensor(w)).sum().backward()
        (yt * torch.tensor(w)).sum().backward()
        for a, b in zip(ours, theirs):
            if a is not None:
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)


def test_clamp_min_max_forms_and_tensor_bound_edge_cases(torch, backend):
    """clamp_min / clamp_max as functions, methods and in place; NaN bounds give NaN; an
    integer input with float bounds promotes; a bound alone may need the gradient."""
    a = np.array([1.0, -2.0, 3.0, 0.5])
    lo, hi = np.array([0.0, 0.0, 5.0, np.nan]), np.array([2.0, -3.0, 4.0, 1.0])
    P, T = pydl.tensor, torch.tensor
    for f in (
        lambda L, x, lo, hi: L.clamp_min(x, lo),
        lambda L, x, lo, hi: L.clamp_max(x, hi),
        lambda L, x, lo, hi: x.clamp_min(0.5),
        lambda L, x, lo, hi: x.clamp_max(hi),
        lambda L, x, lo, hi: x.clone().clamp_min_(lo),
        lambda L, x, lo, hi: x.clone().clamp_max_(1.5),
        lambda L, x, lo, hi: x.clone().clamp_(lo, hi),
        lambda L, x, lo, hi: L.clamp(L.tensor([1, 5, 9, 2]), min=lo),
    ):
        got, want = f(pydl, P(a), P(lo), P(hi)), f(torch, T(a), T(lo), T(hi))
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    m, mt = P(lo[:3], requires_grad=True), T(lo[:3], requires_grad=True)
    x, xt = P(a[:3]), T(a[:3])
    x.clamp_(min=m).sum().backward()
    xt.clamp_(min=mt).sum().backward()
    np.testing.assert_array_equal(m.grad.numpy(), mt.grad.numpy())
    with pytest.raises(ValueError, match="at least one"):
        pydl.clamp(P(a))
