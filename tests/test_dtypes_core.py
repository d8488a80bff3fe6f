"""Issue 14's "every dtype in the core": strided inputs, the native kernels in every dtype
they take (core vs reference), and the reference fallback for the rest."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import run_row
from op_table import ROWS

import pydl
from pydl import _core, reference

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_]
# The reference functions, as imported: the fixture reference_calls replaces pydl.reference's
# own with spies, which these are not.
REF = SimpleNamespace(**{n: getattr(reference, n) for n in dir(reference) if n.endswith(
    ("_forward", "_backward", "_step", "_fill"))})  # fmt: skip


def _random(rng, shape, dtype, lo=-5, hi=5):
    """Random values of `dtype`: uniform floats, integers in [lo, hi] (uint8 from 0), bools."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.asarray(rng.uniform(size=shape) > 0.5)
    if dtype.kind in "iu":
        return np.asarray(rng.integers(0 if dtype.kind == "u" else lo, hi + 1, size=shape), dtype)
    return np.asarray(rng.uniform(lo, hi, size=shape), dtype)


def _views(a):
    """Strided NumPy views of the 3-d array a: transposes, slices, flips, a broadcast."""
    return {
        "transpose": a.T,
        "slice_step": a[::2, :, 1:],
        "flip": a[::-1, :, ::-2],
        "permute_flip": a[:, ::-1].transpose(2, 0, 1),
        "broadcast": np.broadcast_to(a[:, :1], (a.shape[0], 4, a.shape[2])),
        "one_column": a[:, 1, :],
        "empty": a[:0, ::-1],
    }


# ----- step 1: strided inputs (Note [Strided inputs], Note [Strided copy]) ----------------


@pytest.mark.parametrize("dtype", DTYPES + [np.int16, np.int8, np.complex64, np.float16])
@pytest.mark.parametrize("view", list(_views(np.zeros((2, 3, 4)))))
def test_contiguous_forward_copies_every_view(dtype, view, rng):
    x = _views(_random(rng, (6, 5, 7), np.float32).astype(dtype))[view]
    y = _core.contiguous_forward(x)
    assert y.flags.c_contiguous and y.dtype == x.dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(y, reference.contiguous_forward(x))
    if x.size:
        assert not np.shares_memory(y, x)


def test_contiguous_forward_of_a_contiguous_array_is_a_copy():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    y = _core.contiguous_forward(x)
    np.testing.assert_array_equal(y, x)
    assert not np.shares_memory(y, x)
    assert _core.contiguous_forward(np.asarray(3.5)).shape == ()


def test_strided_copy_runs_on_several_threads():
    big = np.random.default_rng(0).standard_normal((1024, 1536)).astype(np.float32)
    pydl.set_num_threads(2)
    for view in (big.T, big[::-1, ::2], big[:, ::-1]):  # tiled transpose, gather, reversed rows
        before = _core._testing.parallel_regions()
        y = _core.contiguous_forward(view)
        assert _core._testing.parallel_regions() > before
        np.testing.assert_array_equal(y, view)
    pydl.set_num_threads(1)
    before = _core._testing.parallel_regions()
    assert np.array_equal(_core.relu_forward(big.T), np.maximum(big.T, 0))
    assert _core._testing.parallel_regions() == before


def test_strides_that_are_not_whole_elements_are_copied_by_numpy():
    rec = np.zeros(7, dtype=[("a", "f4"), ("b", "u1")])  # 5-byte records
    rec["a"] = np.arange(7) - 3
    x = rec["a"]
    assert x.strides == (5,) and not x.flags.c_contiguous
    np.testing.assert_array_equal(_core.relu_forward(x), np.maximum(x, 0))
    np.testing.assert_array_equal(_core.contiguous_forward(x), x)


STRIDED_KERNELS = [  # (name, function of the strided input(s))
    ("relu", lambda x: _core.relu_forward(x)),
    ("add", lambda x: _core.add_forward(x, x[:1])),
    ("sum", lambda x: _core.sum_forward(x, [1], False)),
    ("max", lambda x: _core.max_forward(x, [0, 2], True)),
    ("contiguous", lambda x: _core.contiguous_forward(x)),
    ("softmax", lambda x: _core.softmax_forward(x, 2)),
    ("matmul", lambda x: _core.matmul_forward(x, np.swapaxes(x, 1, 2))),
    ("index", lambda x: _core.index_forward(x, np.arange(x.size)[::-3])),
    ("where", lambda x: _core.where_forward(x > 0, x, x[::-1])),
]


@pytest.mark.parametrize("view", ["transpose", "slice_step", "flip", "permute_flip", "broadcast"])
@pytest.mark.parametrize(("name", "fn"), STRIDED_KERNELS, ids=[k[0] for k in STRIDED_KERNELS])
def test_strided_inputs_give_the_result_of_their_contiguous_copy(name, fn, view, rng):
    x = _views(_random(rng, (6, 5, 7), np.float32))[view]
    assert not x.flags.c_contiguous
    expected = fn(np.ascontiguousarray(x))
    np.testing.assert_array_equal(fn(x), expected)


def test_strided_index_arrays_are_accepted(rng):
    x = _random(rng, (10,), np.float32)
    idx = np.arange(10)[::-2]
    np.testing.assert_array_equal(_core.index_forward(x, idx), x[idx])
    cond = (rng.uniform(size=(5, 4)) > 0.5).T
    np.testing.assert_array_equal(
        _core.where_forward(cond, np.ones(5, np.float32), np.zeros(5, np.float32)),
        np.where(cond, 1, 0),
    )


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_contiguous_op(backend):
    pydl.set_backend(backend)
    x = pydl.tensor(np.arange(12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    assert x.contiguous() is x
    from pydl.tensor import record

    view = record(x._array[:, ::-1].T, (x,), lambda node, g: (g.T[:, ::-1],))
    assert not view._array.flags.c_contiguous
    y = view.contiguous()
    assert y._array.flags.c_contiguous and y is not view
    np.testing.assert_array_equal(y.numpy(), x.numpy()[:, ::-1].T)
    (y * pydl.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(12.0).reshape(4, 3).T[:, ::-1])


# ----- step 3: the reference fallback (Note [Reference fallback]) --------------------------


@pytest.fixture
def reference_calls(monkeypatch):
    """The names of the pydl.reference functions called from now on (the core's fallback
    looks its twin up by name on each call, so a spy in pydl.reference sees it)."""
    calls = []
    for name in dir(reference):
        fn = getattr(reference, name)
        if callable(fn) and name.endswith(("_forward", "_backward", "_step", "_fill")):

            def spy(*args, _name=name, _fn=fn, **kwargs):
                calls.append(_name)
                return _fn(*args, **kwargs)

            monkeypatch.setattr(reference, name, spy)
    return calls


def _conv_args(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    return (x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)


def test_float32_stays_native_and_float64_conv_falls_back(reference_calls):
    y32 = _core.conv2d_forward(*_conv_args(np.float32))
    assert reference_calls == [] and y32.dtype == np.float32
    y64 = _core.conv2d_forward(*_conv_args(np.float64))
    assert reference_calls == ["conv2d_forward"] and y64.dtype == np.float64
    np.testing.assert_array_equal(y64, reference.conv2d_forward(*_conv_args(np.float64)))
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-4)


def test_native_dtypes_do_not_call_the_reference(reference_calls, rng):
    a, b = _random(rng, (3, 4), np.float64), _random(rng, (4,), np.float64)
    _core.add_forward(a, b)
    _core.add_forward(a.astype(np.int32), b.astype(np.int32))
    _core.tanh_forward(a)
    _core.sum_forward(a.astype(np.int64), [0], False)
    _core.matmul_forward(a, a.T)
    _core.compare_forward(a, b, "lt")
    assert reference_calls == []
    _core.add_forward(a, b.astype(np.float32))  # mixed dtypes: the reference promotes
    _core.div_forward(a.astype(np.int64), b.astype(np.int64))  # integer division
    _core.tanh_forward(a.astype(np.int32))  # unary ops on integers
    _core.add_forward(a.astype(np.int16), b.astype(np.int16))  # a dtype without kernels
    assert reference_calls == ["add_forward", "div_forward", "tanh_forward", "add_forward"]


FALLBACK_CALLS = {  # kernel families without float64 kernels: (name, args)
    "conv2d": ("conv2d_forward", lambda r: _conv_args(np.float64)),
    "layer_norm": (
        "layer_norm_forward",
        lambda r: (r.standard_normal((3, 4, 5)), 20, r.standard_normal(20), None, 1e-5),
    ),
    "batch_norm": (
        "batch_norm_forward",
        lambda r: (
            r.standard_normal((4, 3, 5)),
            None,
            None,
            np.zeros(3),
            np.ones(3),
            True,
            0.1,
            1e-5,
        ),  # fmt: skip
    ),
    "lstm": (
        "recurrent_forward",
        lambda r: (
            r.standard_normal((5, 2, 3)),
            r.standard_normal((2, 4)),
            r.standard_normal((2, 4)),
            r.standard_normal((16, 3)),
            r.standard_normal((16, 4)),
            r.standard_normal(16),
            None,
            "lstm",
            False,
        ),
    ),  # fmt: skip
    "max_pool2d": (
        "maxpool2d_forward",
        lambda r: (r.standard_normal((2, 3, 6, 5)), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ),
    "cross_entropy": (
        "cross_entropy_forward",
        lambda r: (r.standard_normal((6, 4)), np.arange(6) % 4, "mean", -100),
    ),
    "softmax": ("softmax_forward", lambda r: (r.standard_normal((3, 7)), 1)),
    "attention": (
        "attention_forward",
        lambda r: (
            r.standard_normal((2, 5, 4)),
            r.standard_normal((2, 6, 4)),
            r.standard_normal((2, 6, 3)),
            None,
            0.5,
            False,
        ),
    ),  # fmt: skip
    "dropout": ("dropout_forward", lambda r: (r.standard_normal((4, 6)), 0.3, 1, 7, 0)),
    "relu_of_int64": ("relu_forward", lambda r: (np.arange(-3, 4),)),
    "neg_of_int32": ("neg_forward", lambda r: (np.arange(-3, 4, dtype=np.int32),)),
}


def _same(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, dict) or a is None:
        assert type(a) is type(b)
    else:
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("family", list(FALLBACK_CALLS))
def test_fallback_gives_the_reference_result(family, reference_calls):
    name, make = FALLBACK_CALLS[family]
    core = getattr(_core, name)(*make(np.random.default_rng(0)))
    assert reference_calls == [name]
    _same(core, getattr(reference, name)(*make(np.random.default_rng(0))))


def test_in_place_kernels_fall_back_in_place(reference_calls):
    out = np.zeros(9)
    _core.uniform_fill(out, -1.0, 2.0, 5, 3)
    expected = np.zeros(9)
    reference.uniform_fill(expected, -1.0, 2.0, 5, 3)
    np.testing.assert_array_equal(out, expected)
    p, g = np.ones(4), np.full(4, 0.5)
    _core.sgd_step([p], [g], [], 0.1, 0.0, 0.0, False, 0.0, False, True)
    np.testing.assert_allclose(p, 0.95)
    assert reference_calls == ["uniform_fill", "uniform_fill", "sgd_step"]


def test_float64_parameters_keep_every_digit():
    """The fallback passes float parameters on as Python floats (and the unary kernels take
    them as double): leaky_relu's 0.01 must not become float32's 0.00999999977."""
    x = -np.ones(3)
    np.testing.assert_array_equal(_core.leaky_relu_forward(x, 0.01), -0.01 * np.ones(3))
    y = _core.layer_norm_forward(np.arange(6.0).reshape(2, 3), 3, None, None, 0.1)
    _same(y, reference.layer_norm_forward(np.arange(6.0).reshape(2, 3), 3, None, None, 0.1))


def test_errors_of_the_fallback_are_the_reference_errors():
    x = np.zeros((2, 3, 4, 4))
    with pytest.raises(ValueError) as core_error:
        _core.conv2d_forward(x, np.zeros((5, 2, 3, 3)), None, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    with pytest.raises(ValueError) as ref_error:
        reference.conv2d_forward(x, np.zeros((5, 2, 3, 3)), None, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    assert str(core_error.value) == str(ref_error.value)
    with pytest.raises(TypeError, match="float32"):  # sgemm has no twin: no fallback
        _core.sgemm(False, False, 1, 1, 1, 1.0, x, 1, x, 1, 0.0, np.zeros(1, np.float32), 1)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_every_op_table_row_runs_in_float64_on_the_core(row):
    """Forward and backward of every op in float64 on the core: native kernels (float64
    GEMM, libm's functions, other summation orders) within 1e-9 of the reference, the
    fallback's exactly."""
    arrays = row.sample(np.random.default_rng(0))
    out_c, grads_c = run_row(row, arrays, "core", np.float64)
    out_r, grads_r = run_row(row, arrays, "reference", np.float64)
    assert out_c.dtype == np.float64
    np.testing.assert_allclose(out_c, out_r, rtol=1e-9, atol=1e-12)
    for i, (gc, gr) in enumerate(zip(grads_c, grads_r)):
        if i not in row.nondiff:
            assert gc.dtype == np.float64
            np.testing.assert_allclose(gc, gr, rtol=1e-9, atol=1e-12, err_msg=f"grad {i}")


# ----- step 2/4: every native kernel in every dtype it has, core vs reference --------------

INTS = [np.int64, np.int32, np.uint8]
FLOATS = [np.float32, np.float64]
# Broadcasting pairs, a 0-d operand, zero-size ones, sizes off the SIMD widths.
PAIRS = [((3, 7), (3, 7)), ((4, 1, 5), (3, 1)), ((33,), ()), ((), (2, 3)), ((0, 3), (3,)), ((), ())]


def _check_same(core, ref, dtype):
    """core == reference: exactly for integers and bools, to rounding for floats."""
    assert core.dtype == ref.dtype, (core.dtype, ref.dtype)
    assert core.shape == ref.shape and core.flags.c_contiguous
    if np.dtype(dtype).kind in "biu":
        np.testing.assert_array_equal(core, ref)
    else:
        rtol = 2e-6 if np.dtype(dtype) == np.float32 else 1e-12
        np.testing.assert_allclose(core, ref, rtol=rtol, atol=rtol)


@pytest.fixture
def native(reference_calls):
    """Asserts, after the test, that no call went to the reference (the kernels ran native)."""
    yield
    assert reference_calls == [], f"fell back to the reference: {reference_calls}"


def _binary_operands(rng, op, dtype, sa, sb):
    lo, hi = (0, 255) if dtype == np.uint8 else (-50, 50)  # integers that wrap around
    a, b = _random(rng, sa, dtype, lo, hi), _random(rng, sb, dtype, lo, hi)
    if op == "pow":
        a = _random(rng, sa, dtype, -4, 4) if np.dtype(dtype).kind in "iu" else np.abs(a) + 0.5
        b = _random(rng, sb, dtype, 0, 5) if np.dtype(dtype).kind in "iu" else b / 25
    if op == "div":
        b = np.where(np.abs(b) < 0.5, 1, b)
    return np.asarray(a, dtype), np.asarray(b, dtype)  # 0-d arithmetic gives NumPy scalars


BINARY_NATIVE = [(op, dt) for op in ("add", "sub", "mul", "pow") for dt in FLOATS + INTS] + [
    ("div", dt) for dt in FLOATS
]


@pytest.mark.parametrize(("sa", "sb"), PAIRS)
@pytest.mark.parametrize(("op", "dtype"), BINARY_NATIVE)
def test_binary_forward(op, dtype, sa, sb, rng, native):
    a, b = _binary_operands(rng, op, dtype, sa, sb)
    with np.errstate(over="ignore"):
        expected = getattr(REF, f"{op}_forward")(a, b)
    _check_same(getattr(_core, f"{op}_forward")(a, b), expected, dtype)


@pytest.mark.parametrize(("sa", "sb"), PAIRS)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_binary_backward(op, dtype, sa, sb, rng, native):
    a, b = _binary_operands(rng, op, dtype, sa, sb)
    g = _random(rng, np.broadcast_shapes(sa, sb), dtype)
    core = getattr(_core, f"{op}_backward")(g, a, b)
    ref = getattr(REF, f"{op}_backward")(g, a, b)
    for c, r in zip(core, ref):
        _check_same(c, np.asarray(r), dtype)
    assert getattr(_core, f"{op}_backward")(g, a, b, True, False)[1] is None


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("backend", [_core, reference])
def test_integer_pow_of_a_negative_exponent_raises(backend, dtype):
    with pytest.raises(ValueError, match="Integers to negative integer powers are not allowed"):
        backend.pow_forward(np.array([2, 3], dtype), np.array([1, -1], dtype))


def test_integer_arithmetic_wraps_around(native):
    big = np.array([2**62, -(2**63)], np.int64)
    np.testing.assert_array_equal(_core.mul_forward(big, np.array([4, 1])), [0, -(2**63)])
    np.testing.assert_array_equal(_core.sub_forward(big, np.array([0, 1])), [2**62, 2**63 - 1])
    u = np.array([250, 3], np.uint8)
    np.testing.assert_array_equal(_core.add_forward(u, np.array([10, 4], np.uint8)), [4, 7])
    np.testing.assert_array_equal(_core.pow_forward(u, np.array([2, 5], np.uint8)), [36, 243])


WHERE_SHAPES = [
    ((4, 5), (4, 5), (5,)),
    ((3, 1), (1, 4), ()),
    ((), (2, 2), (2, 2)),
    ((0, 2), (2,), ()),
]


@pytest.mark.parametrize(("cs", "sa", "sb"), WHERE_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_where_forward(dtype, cs, sa, sb, rng, native):
    cond = _random(rng, cs, np.bool_)
    a, b = _random(rng, sa, dtype), _random(rng, sb, dtype)
    _check_same(_core.where_forward(cond, a, b), REF.where_forward(cond, a, b), dtype)


@pytest.mark.parametrize(("cs", "sa", "sb"), WHERE_SHAPES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_where_backward(dtype, cs, sa, sb, rng, native):
    cond = _random(rng, cs, np.bool_)
    a, b = _random(rng, sa, dtype), _random(rng, sb, dtype)
    g = _random(rng, np.broadcast_shapes(cs, sa, sb), dtype)
    for c, r in zip(_core.where_backward(g, cond, a, b), REF.where_backward(g, cond, a, b)):
        _check_same(c, r, dtype)


def _unary_ops():
    """The ops of the unary list (PYDL_UNARY_OPS): forwards of x and float parameters."""
    names = []
    for name in dir(_core):
        if name.endswith("_forward") and name not in (
            "logical_not_forward",
            "contiguous_forward",
            "bitwise_not_forward",
        ):
            params = _core.__dict__[name].__doc__.split("(", 1)[1].split(") ->")[0].split(", ")
            if params[0] == "x: numpy.ndarray" and all("SupportsFloat" in p for p in params[1:]):
                names.append(name[: -len("_forward")])
    return names


UNARY = _unary_ops()
UNARY_PARAMS = {
    "clamp": (-0.5, 0.7),
    "leaky_relu": (0.01,),
    "elu": (1.3,),
    "softplus": (2.0, 3.0),
    "hard_sigmoid": (1 / 6, 0.5),
    "hard_tanh": (-1.0, 1.0),
    "round": (1.0,),
    "logit": (0.1,),
    "celu": (0.7,),
    "softshrink": (0.5,),
    "hardshrink": (0.5,),
    "threshold": (0.2, -1.5),
    "nan_to_num": (0.5, 3.0, -2.0),
}


def test_the_unary_list_is_covered():
    assert len(UNARY) == 60 and {"gelu", "mish", "clamp", "logsigmoid", "sin"} <= set(UNARY)
    for name in UNARY:
        n_params = _core.__dict__[f"{name}_forward"].__doc__.count("SupportsFloat")
        assert len(UNARY_PARAMS.get(name, ())) == n_params, name


@pytest.mark.parametrize("shape", [(5, 9), (), (0, 3), (1000,)])
@pytest.mark.parametrize("name", UNARY)
def test_unary_float64_forward_and_backward(name, shape, rng, native):
    x = rng.uniform(-4, 4, size=shape)
    if name in ("log", "sqrt"):
        x = np.asarray(np.abs(x) + 0.1)
    p = UNARY_PARAMS.get(name, ())
    y = getattr(_core, f"{name}_forward")(x, *p)
    _check_same(y, getattr(REF, f"{name}_forward")(x, *p), np.float64)
    g = rng.uniform(-1, 1, size=shape)
    gx = getattr(_core, f"{name}_backward")(g, x, y, *p)
    _check_same(gx, getattr(REF, f"{name}_backward")(g, x, y, *p), np.float64)


REDUCE_CASES = [((6, 7, 5), [1]), ((6, 7, 5), [0, 2]), ((6, 7, 5), [0, 1, 2]), ((6, 7, 5), []),
                ((4, 300), [1]), ((300, 4), [0]), ((), []), ((0, 3), [1]),
                ((3, 0), [1])]  # fmt: skip


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize(("shape", "axes"), REDUCE_CASES)
@pytest.mark.parametrize(
    ("name", "dtype"),
    [("sum", dt) for dt in DTYPES] + [("max", dt) for dt in DTYPES] + [("mean", np.float64)],
)
def test_reduce_forward(name, dtype, shape, axes, keepdim, rng, native):
    x = _random(rng, shape, dtype, -(2**30) if dtype == np.int32 else -50, 2**30)
    if name == "max" and x.size == 0:
        for backend in (_core, REF):
            with pytest.raises(ValueError, match="max of an empty tensor"):
                backend.max_forward(x, axes, keepdim)
        return
    with warnings.catch_warnings():  # NumPy's mean of nothing warns; it is NaN, as the core's
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = getattr(REF, f"{name}_forward")(x, axes, keepdim)
    _check_same(getattr(_core, f"{name}_forward")(x, axes, keepdim), expected, dtype)


def test_max_propagates_nan_and_sum_of_bool_is_any(native):
    x = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, -np.inf]])
    np.testing.assert_array_equal(_core.max_forward(x, [1], False), [np.nan, 5.0])
    flags = np.array([[0, 2, 0], [0, 0, 0]], np.uint8).view(np.bool_)  # a byte that is not 1
    for fn in (_core.sum_forward, _core.max_forward):
        y = fn(flags, [1], False)
        assert y.dtype == np.bool_ and y.view(np.uint8).tolist() == [1, 0]


@pytest.mark.parametrize(("shape", "axes"), [c for c in REDUCE_CASES if 0 not in c[0]])
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reduce_backward_float64(name, shape, axes, rng, native):
    x = rng.uniform(-2, 2, size=shape)
    x.reshape(-1)[: x.size // 3] = 0.5  # ties for max
    y = getattr(REF, f"{name}_forward")(x, axes, True)
    g = rng.uniform(-1, 1, size=y.shape)
    if name == "max":
        core, ref = _core.max_backward(g, x, y, axes), REF.max_backward(g, x, y, axes)
    else:
        args = (g, list(shape), axes)
        core, ref = (
            getattr(_core, f"{name}_backward")(*args),
            getattr(REF, f"{name}_backward")(*args),
        )
    _check_same(core, ref, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layout_forwards(dtype, rng, native):
    x = _random(rng, (3, 4, 5), dtype)
    for dims in ([2, 0, 1], [0, 2, 1], [1, 0, 2]):  # permutes are views copied on demand
        view = x.transpose(dims)
        _check_same(_core.contiguous_forward(view), REF.contiguous_forward(view), dtype)
    idx = rng.integers(0, x.size, size=(7, 2))
    _check_same(_core.index_forward(x, idx), REF.index_forward(x, idx), dtype)
    w = _random(rng, (9, 6), dtype)
    _check_same(_core.embedding_forward(w, idx % 9), REF.embedding_forward(w, idx % 9), dtype)
    parts = [_random(rng, (3, k, 5), dtype) for k in (2, 0, 3)]
    y = _core.concat_forward(parts, 1)
    _check_same(y, REF.concat_forward(parts, 1), dtype)
    for c, r in zip(_core.concat_backward(y, [2, 0, 3], 1), REF.concat_backward(y, [2, 0, 3], 1)):
        _check_same(c, r, dtype)
    _check_same(_core.contiguous_forward(np.asarray(x[0, 0, 0])), x[0, 0, 0][()], dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_layout_backwards(dtype, rng, native):
    g = _random(rng, (40,), dtype)
    idx = rng.integers(0, 7, size=40)  # repeats accumulate
    _check_same(_core.index_backward(g, idx, [7]), REF.index_backward(g, idx, [7]), dtype)
    g = _random(rng, (5, 8, 3), dtype)
    idx = rng.integers(0, 6, size=(5, 8))
    for pad in (-1, 2):
        _check_same(
            _core.embedding_backward(g, idx, 6, pad),
            REF.embedding_backward(g, idx, 6, pad),
            dtype,
        )


MATMUL_SHAPES = [((3, 4), (4, 5)), ((1, 129), (129, 1)), ((130, 300), (300, 257)),
                 ((2, 3, 37, 45), (45, 29)), ((2, 1, 5, 6), (3, 6, 4)), ((4, 0), (0, 3)),
                 ((0, 5), (5, 2)), ((5, 7), (7,)), ((7,), (7, 2))]  # fmt: skip


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES)
def test_matmul_float64(sa, sb, rng, native):
    a2 = rng.uniform(-1, 1, size=sa if len(sa) > 1 else (1,) + sa)
    b2 = rng.uniform(-1, 1, size=sb if len(sb) > 1 else sb + (1,))
    y = _core.matmul_forward(a2, b2)
    _check_same(y, REF.matmul_forward(a2, b2), np.float64)
    g = rng.uniform(-1, 1, size=y.shape)
    for c, r in zip(_core.matmul_backward(g, a2, b2), REF.matmul_backward(g, a2, b2)):
        _check_same(c, r, np.float64)


@pytest.mark.parametrize("activation", [None, "relu", "gelu", "tanh", "sigmoid"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_float64(activation, bias, rng, native):
    x, w = rng.uniform(-1, 1, size=(2, 7, 33)), rng.uniform(-1, 1, size=(19, 33))
    b = rng.uniform(-1, 1, size=19) if bias else None
    g = rng.uniform(-1, 1, size=(2, 7, 19))
    if activation is None:
        y = _core.linear_forward(x, w, b)
        _check_same(y, REF.linear_forward(x, w, b), np.float64)
        core, ref = _core.linear_backward(g, x, w, bias), REF.linear_backward(g, x, w, bias)
    else:
        y, pre = _core.linear_act_forward(x, w, b, activation)
        y_r, pre_r = REF.linear_act_forward(x, w, b, activation)
        _check_same(y, y_r, np.float64)
        assert (pre is None) == (pre_r is None)
        core = _core.linear_act_backward(g, x, w, y, pre, bias, activation)
        ref = REF.linear_act_backward(g, x, w, y_r, pre_r, bias, activation)
    for c, r in zip(core, ref):
        assert (c is None) == (r is None)
        if c is not None:
            _check_same(c, r, np.float64)


def test_float64_kernels_are_bit_identical_on_one_and_two_threads(rng):
    a, b = rng.uniform(-1, 1, size=(300, 200)), rng.uniform(-1, 1, size=(200, 260))
    x = rng.uniform(-1, 1, size=(64, 3000))
    results = []
    for threads in (1, 2):
        pydl.set_num_threads(threads)
        before = _core._testing.parallel_regions()
        results.append(
            [
                _core.matmul_forward(a, b),
                _core.sum_forward(x, [0], False),
                _core.sum_forward(x, [1], False),
                _core.gelu_forward(x),
            ]  # fmt: skip
        )
        regions = _core._testing.parallel_regions() - before
        assert (regions > 0) == (threads == 2)
    for one, two in zip(*results):
        assert one.tobytes() == two.tobytes()


COMPARE_OPS = ["eq", "ne", "lt", "le", "gt", "ge"]
LOGICAL_OPS = ["and", "or", "xor"]


@pytest.mark.parametrize(("sa", "sb"), PAIRS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_compare_and_logical_forward(dtype, sa, sb, rng, native):
    a, b = _random(rng, sa, dtype, -2, 2), _random(rng, sb, dtype, -2, 2)  # many ties and zeros
    if np.dtype(dtype).kind == "f" and a.size:
        a.reshape(-1)[0] = np.nan
    for op in COMPARE_OPS:
        _check_same(_core.compare_forward(a, b, op), REF.compare_forward(a, b, op), np.bool_)
    for op in LOGICAL_OPS:
        _check_same(_core.logical_forward(a, b, op), REF.logical_forward(a, b, op), np.bool_)
    _check_same(_core.logical_not_forward(a), REF.logical_not_forward(a), np.bool_)


def test_compare_reads_bool_bytes_as_truth(native):
    """NumPy bools may hold bytes other than 0 and 1 (a uint8 array viewed as bool)."""
    a = np.array([2, 1, 0, 7], np.uint8).view(np.bool_)
    b = np.array([1, 1, 0, 0], np.uint8).view(np.bool_)
    assert _core.compare_forward(a, b, "eq").tolist() == [True, True, True, False]
    assert _core.logical_forward(a, b, "xor").tolist() == [False, False, False, True]
    assert _core.logical_not_forward(a).tolist() == [False, False, True, False]


@pytest.mark.parametrize("backend", [_core, reference])
def test_compare_and_logical_errors(backend):
    a = np.zeros(3)
    with pytest.raises(ValueError, match="op must be 'eq', 'ne', 'lt', 'le', 'gt' or 'ge'"):
        backend.compare_forward(a, a, "lte")
    with pytest.raises(ValueError, match="op must be 'and', 'or' or 'xor'"):
        backend.logical_forward(a, a, "nand")
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(2,\) cannot be broadcast"):
        backend.compare_forward(a, np.zeros(2), "eq")


# ----- the comparison ops (pydl/_ops/compare.py) against PyTorch ----------------------------

_TORCH_DTYPE = {"float32": "float32", "float64": "float64", "int64": "int64", "int32": "int32",
                "uint8": "uint8", "bool": "bool"}  # fmt: skip
OP_NAMES = ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"]


@pytest.mark.parametrize("backend", ["core", "reference"])
@pytest.mark.parametrize("db", DTYPES)
@pytest.mark.parametrize("da", DTYPES)
def test_comparison_ops_match_pytorch(da, db, backend, torch, rng):
    pydl.set_backend(backend)
    from pydl.tensor import _constant

    a, b = _random(rng, (3, 4), da, -2, 2), _random(rng, (4,), db, -2, 2)
    zero_d = _random(rng, (), db, -2, 2)
    ta, tb, tz = (torch.from_numpy(np.array(v)) for v in (a, b, zero_d))
    for name in OP_NAMES:
        for other, t_other in ((b, tb), (zero_d, tz), (1, 1), (0.5, 0.5), (True, True)):
            if name.startswith("logical") and not isinstance(other, np.ndarray):
                continue  # torch.logical_* takes tensors only
            o = _constant(other) if isinstance(other, np.ndarray) else other
            got = getattr(pydl, name)(_constant(a), o)
            want = getattr(torch, name)(ta, t_other)
            assert got.dtype == np.bool_ and not got.requires_grad
            np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=f"{name} {other!r}")
    np.testing.assert_array_equal(pydl.logical_not(_constant(a)).numpy(), torch.logical_not(ta))


def test_comparison_ops_are_methods_and_not_differentiable():
    x = pydl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.gt(1.5)
    assert y.dtype == np.bool_ and not y.requires_grad and y.grad_fn is None
    assert x.le(2.0).tolist() == [True, True, False] and pydl.ne(x, 2).tolist() == [
        True,
        False,
        True,
    ]
    assert x.gt(0).logical_and(x.lt(3)).tolist() == [True, True, False]
    assert x.lt(2).logical_not().tolist() == [False, True, True]
    assert pydl.eq(pydl.tensor([255]), 255).tolist() == [True]
    u8 = pydl.tensor(np.array([255, 0], np.uint8), dtype=np.uint8)
    assert u8.eq(-1).tolist() == [True, False]  # PyTorch wraps the scalar into uint8
