"""max/min (all elements, with a dim -> (values, indices), of two tensors), amax/amin,
argmax/argmin, maximum/minimum, and sum/mean dtypes, against PyTorch (issue 14)."""

import numpy as np
import pytest

import pydl


def _np_dtype(torch_dtype) -> np.dtype:
    return np.dtype(str(torch_dtype).removeprefix("torch."))


def _sample(rng, shape, ties):
    """Random float32 values; with ties, small integers, so that most rows repeat their
    maximum and minimum."""
    if ties:
        return rng.integers(0, 3, size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def _t(arr):
    """A pydl tensor of arr's own dtype (pydl.tensor widens int32 and uint8 to int64)."""
    return pydl.tensor(arr).to(arr.dtype)


def _both(torch, arr, requires_grad=True):
    return pydl.tensor(arr, requires_grad=requires_grad), torch.tensor(
        arr, requires_grad=requires_grad
    )


BACKENDS = ["core", "reference"]
DIM_CASES = [((4, 7), 1), ((4, 7), 0), ((3, 4, 5), -1), ((3, 4, 5), 1), ((6,), 0)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", DIM_CASES)
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_with_dim_values_indices_and_gradient_match_torch(
    torch, rng, backend, name, shape, dim, keepdim, ties
):
    pydl.set_backend(backend)
    arr = _sample(rng, shape, ties)
    x, tx = _both(torch, arr)
    got = getattr(pydl, name)(x, dim, keepdim=keepdim)
    want = getattr(torch, name)(tx, dim, keepdim=keepdim)
    np.testing.assert_array_equal(got.values.numpy(), want.values.detach().numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert got.indices.dtype == np.int64 and not got.indices.requires_grad
    assert got.values.requires_grad
    w = rng.uniform(0.5, 1.5, size=want.values.shape).astype(np.float32)
    got.values.backward(w)
    want.values.backward(torch.from_numpy(w))
    # The whole gradient goes to the element each index names (not split among ties).
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_max_with_dim_is_a_named_tuple_as_torch_return_types():
    x = pydl.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    r = pydl.max(x, 1)
    assert isinstance(r, tuple) and isinstance(r, pydl.return_types.max)
    assert type(r).__name__ == "max" and r._fields == ("values", "indices")
    values, indices = r
    assert values is r.values is r[0] and indices is r.indices is r[1]
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert repr(r).startswith("pydl.return_types.max(\nvalues=tensor([5., 7.])")
    m = x.min(dim=0, keepdim=True)
    assert isinstance(m, pydl.return_types.min) and m.indices.tolist() == [[0, 1, 0]]
    assert x.max(1).values.tolist() == [5.0, 7.0]  # the Tensor method is the op


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_of_all_elements_split_ties_as_torch(torch, rng, backend, name, ties):
    pydl.set_backend(backend)
    x, tx = _both(torch, _sample(rng, (5, 6), ties))
    got, want = getattr(pydl, name)(x), getattr(torch, name)(tx)
    assert got.shape == () and got.item() == want.item()
    got.backward()
    want.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


AMAX_DIMS = [None, (), 0, 1, (0, 2), (-1,), [2, 0, 1]]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", AMAX_DIMS, ids=str)
@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_split_ties_evenly_as_torch(torch, rng, backend, name, dim, keepdim):
    pydl.set_backend(backend)
    x, tx = _both(torch, _sample(rng, (3, 4, 5), ties=True))
    got = getattr(pydl, name)(x, dim, keepdim=keepdim)
    want = getattr(torch, name)(tx, () if dim is None else dim, keepdim=keepdim)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    w = rng.uniform(0.5, 1.5, size=want.shape).astype(np.float32)
    got.backward(w)
    want.backward(torch.from_numpy(w))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_match_torch(torch, rng, name, dim, keepdim, dtype):
    arr = rng.integers(0, 4, size=(5, 6)).astype(dtype)  # ties: the first one wins
    got = getattr(pydl, name)(_t(arr), dim, keepdim=keepdim)
    want = getattr(torch, name)(torch.from_numpy(arr), dim, keepdim=keepdim)
    assert got.dtype == np.int64 and got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    method = getattr(pydl.tensor(arr), name)(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(method.numpy(), want.numpy())


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_, np.float64])
def test_max_min_with_dim_of_other_dtypes_match_torch(torch, rng, dtype):
    arr = rng.integers(0, 3, size=(4, 5)).astype(dtype)
    for name in ("max", "min"):
        got = getattr(pydl, name)(_t(arr), 1)
        want = getattr(torch, name)(torch.from_numpy(arr), 1)
        assert got.values.dtype == _np_dtype(want.values.dtype)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        assert (
            getattr(pydl, name)(_t(arr)).item()
            == getattr(torch, name)(torch.from_numpy(arr)).item()
        )


def test_nan_wins_and_its_index_is_the_first_as_torch(torch):
    arr = np.array([[1.0, np.nan, 2.0, np.nan], [3.0, 0.0, 3.0, -1.0]], np.float32)
    for name in ("max", "min"):
        got = getattr(pydl, name)(pydl.tensor(arr), 1)
        want = getattr(torch, name)(torch.from_numpy(arr), 1)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())  # NaN == NaN here
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        np.testing.assert_array_equal(
            getattr(pydl, "arg" + name)(pydl.tensor(arr), 1).numpy(),
            getattr(torch, "arg" + name)(torch.from_numpy(arr), 1).numpy(),
        )
        assert np.isnan(getattr(pydl, name)(pydl.tensor(arr)).item())
        assert np.isnan(getattr(pydl, "a" + name)(pydl.tensor(arr), 1).numpy()[0])


@pytest.mark.parametrize(
    "shape_a,shape_b", [((4, 5), (4, 5)), ((4, 5), (5,)), ((3, 1), (1, 4)), ((), (3,))]
)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("name", ["maximum", "minimum", "max", "min"])
def test_elementwise_maximum_minimum_and_their_gradients_match_torch(
    torch, rng, name, ties, shape_a, shape_b
):
    a, ta = _both(torch, _sample(rng, shape_a, ties))
    b, tb = _both(torch, _sample(rng, shape_b, ties))
    got, want = getattr(pydl, name)(a, b), getattr(torch, name)(ta, tb)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    w = rng.uniform(0.5, 1.5, size=want.shape).astype(np.float32)
    got.backward(w)
    want.backward(torch.from_numpy(w))
    # ties give each input half (PyTorch's derivative), broadcast dims are summed
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-6)
    assert a.grad.dtype == np.float32


def test_maximum_promotes_dtypes_and_propagates_nan_as_torch(torch):
    i = np.array([1, 2, 3], np.int64)
    f = np.array([1.5, np.nan, 0.0], np.float32)
    for name in ("maximum", "minimum"):
        got = getattr(pydl, name)(pydl.tensor(i), pydl.tensor(f))
        want = getattr(torch, name)(torch.from_numpy(i), torch.from_numpy(f))
        assert got.dtype == _np_dtype(want.dtype)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    x = pydl.tensor(f, requires_grad=True)
    tx = torch.tensor(f, requires_grad=True)
    other = np.array([1.0, 1.0, 0.0], np.float32)
    pydl.maximum(x, pydl.tensor(other)).sum().backward()
    torch.maximum(tx, torch.from_numpy(other)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    with pytest.raises(TypeError, match="'other' must be Tensor, not int"):
        pydl.maximum(pydl.tensor(f), 1)
    with pytest.raises(ValueError, match="do not broadcast"):
        pydl.minimum(pydl.ones(2), pydl.ones(3))


SUM_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float32, np.float64]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("dtype", SUM_DTYPES)
def test_sum_dtype_and_value_match_torch(torch, rng, backend, dtype, dim):
    pydl.set_backend(backend)
    arr = rng.integers(0, 200, size=(4, 6)).astype(dtype)
    got = pydl.sum(_t(arr), dim)
    want = (
        torch.sum(torch.from_numpy(arr)) if dim is None else torch.sum(torch.from_numpy(arr), dim)
    )
    assert got.dtype == _np_dtype(want.dtype)  # integers and bool sum to int64
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "src,dtype", [(np.float32, np.float64), (np.int32, np.float32), (np.float32, np.int64)]
)
def test_sum_with_dtype_casts_first_as_torch(torch, src, dtype):
    arr = np.array([[1.5, 2.5], [-3.25, 4.0]]).astype(src)
    got = pydl.sum(_t(arr), dtype=dtype)
    want = torch.sum(torch.from_numpy(arr), dtype=getattr(torch, np.dtype(dtype).name))
    assert got.dtype == _np_dtype(want.dtype) and got.item() == want.item()
    assert pydl.tensor(arr).sum(1, dtype=dtype).dtype == np.dtype(dtype)


def test_sum_with_a_wider_dtype_is_differentiable():
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    y = pydl.sum(x, dtype=pydl.float64)
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_mean_of_integers_raises_as_torch(torch, dtype):
    arr = np.array([1, 0, 1]).astype(dtype)
    with pytest.raises(RuntimeError) as want:
        torch.mean(torch.from_numpy(arr))
    with pytest.raises(RuntimeError) as got:
        pydl.mean(_t(arr))
    assert str(got.value) == str(want.value)
    ok = pydl.mean(pydl.tensor(arr), dtype=pydl.float64)
    assert ok.dtype == np.float64
    assert ok.item() == pytest.approx(torch.mean(torch.from_numpy(arr), dtype=torch.float64).item())
    with pytest.raises(RuntimeError, match="Optional dtype must be either a floating point"):
        pydl.mean(pydl.tensor(arr), dtype=pydl.int64)


ZERO_D_CALLS = [
    ("sum", (0,)),
    ("sum", (-1,)),
    ("sum", ((0,),)),
    ("mean", (0,)),
    ("mean", (-1, True)),
    ("amax", (0,)),
    ("amin", (-1,)),
    ("argmax", (0,)),
    ("argmin", (-1, True)),
]


@pytest.mark.parametrize("name,args", ZERO_D_CALLS, ids=str)
def test_reductions_of_a_0d_tensor_over_dim_0_or_minus_1_as_torch(torch, name, args):
    got = getattr(pydl, name)(pydl.tensor(3.5), *args)
    want = getattr(torch, name)(torch.tensor(3.5), *args)
    assert got.shape == tuple(want.shape) and got.item() == want.item()
    assert got.dtype == _np_dtype(want.dtype)
    with pytest.raises(IndexError, match=r"range of \[-1, 0\], but got 1"):
        getattr(pydl, name)(pydl.tensor(3.5), 1)


def test_max_min_with_dim_of_a_0d_tensor_as_torch(torch):
    for name in ("max", "min"):
        x = pydl.tensor(2.0, requires_grad=True)
        r = getattr(pydl, name)(x, -1)
        assert r.values.shape == () and r.values.item() == 2.0 and r.indices.item() == 0
        r.values.backward()
        assert x.grad.item() == 1.0
        with pytest.raises(IndexError):
            getattr(pydl, name)(x, 1)


def test_sum_over_an_empty_dim_list_reduces_everything_as_torch(torch):
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    for dims in ((), []):
        assert pydl.sum(pydl.tensor(arr), dims).shape == tuple(
            torch.sum(torch.tensor(arr), dims).shape
        )
        assert pydl.amax(pydl.tensor(arr), dims).item() == 5.0


def test_reduction_argument_errors_as_torch():
    x = pydl.ones(2, 3)
    with pytest.raises(TypeError, match="dim must be an int, not tuple"):
        pydl.max(x, (0, 1))  # amax reduces several dims
    with pytest.raises(TypeError, match="'dim' must be int, not tuple"):
        pydl.argmax(x, (0,))
    with pytest.raises(TypeError, match="keepdim needs a dim"):
        pydl.max(x, keepdim=True)
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        pydl.max(pydl.ones(0))
    with pytest.raises(IndexError, match="reduction dim 1 to have non-zero size"):
        pydl.min(pydl.ones(2, 0), 1)
    with pytest.raises(IndexError, match="argmax\\(\\): Expected reduction dim"):
        pydl.argmax(pydl.ones(0))
    with pytest.raises(RuntimeError, match="does not support bool"):
        pydl.argmin(pydl.ones(2, dtype=pydl.bool))
    with pytest.raises(IndexError):
        pydl.max(x, 2)
    empty = pydl.max(pydl.ones(0, 2), 1)  # nothing to reduce in no rows: fine, as torch
    assert empty.values.shape == (0,) and empty.indices.shape == (0,)
    assert pydl.amax(pydl.ones(0, 2), 1).shape == (0,)
