"""Issue 14's "every dtype in the core": strided inputs, the native kernels in every dtype
they take (core vs reference), and the reference fallback for the rest."""

import numpy as np
import pytest

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
