"""Issue 14's "every dtype in the core": strided inputs, the native kernels in every dtype
they take (core vs reference), and the reference fallback for the rest."""

import numpy as np
import pytest
from helpers import run_row
from op_table import ROWS

import pydl
from pydl import _core, reference

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_]


def _random(rng, shape, dtype, lo=-5, hi=5):
    """Random values of `dtype`: uniform floats, integers in [lo, hi] (uint8 from 0), bools."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.uniform(size=shape) > 0.5
    if dtype.kind in "iu":
        return rng.integers(0 if dtype.kind == "u" else lo, hi + 1, size=shape).astype(dtype)
    return rng.uniform(lo, hi, size=shape).astype(dtype)


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
    ("permute", lambda x: _core.permute_forward(x, [2, 0, 1])),
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
