"""The scans (cumsum, cumprod, cummax, cummin, logcumsumexp) and sorting and selection
(sort, argsort, msort, topk, kthvalue, median, nanmedian, mode, unique, unique_consecutive,
bincount, histc, searchsorted, bucketize) against PyTorch (issue 17), on both backends."""

import numpy as np
import pytest
from torch_compare import as_pydl, compare

import pydl

BACKENDS = ["core", "reference"]
FLOATS = [np.float32, np.float64]
# (shape, dim): negative dims, a 0-d tensor, zero sizes
DIMS = [((4, 7), 1), ((4, 7), 0), ((3, 4, 5), -1), ((3, 4, 5), 1), ((6,), -1), ((), 0),
        ((0, 3), 1), ((2, 0), 1), ((2, 0, 3), 0)]  # fmt: skip


@pytest.fixture(params=BACKENDS)
def backend(request):
    pydl.set_backend(request.param)
    return request.param


def _random(rng, shape, dtype, ties=False):
    """An array (also 0-d) of `dtype`: normal floats (distinct: no ties), small integers,
    bools; with ties, floats drawn from a few values."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.asarray(rng.uniform(size=shape) > 0.5)
    if dtype.kind in "iu" or ties:
        return np.asarray(rng.integers(0 if dtype.kind == "u" else -3, 4, size=shape), dtype)
    return np.asarray(rng.standard_normal(shape), dtype)


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}


# ----- scans ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS + [np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("shape,dim", DIMS, ids=str)
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumsum_cumprod_match_torch(torch, rng, backend, name, shape, dim, dtype):
    arr = _random(rng, shape, dtype)
    compare(torch, lambda m, x: getattr(m, name)(x, dim), arr, **_tol(dtype))
    compare(torch, lambda m, x: getattr(x, name)(dim=dim), arr, **_tol(dtype))
    compare(torch, lambda m, x: getattr(m, name)(x, dim, dtype=m.float64), arr)


@pytest.mark.parametrize("zeros", [[2], [0, 4], [5]])
def test_cumprod_gradient_with_zeros_matches_torch(torch, rng, backend, zeros):
    arr = rng.uniform(0.5, 1.5, size=(3, 6))
    arr[:, zeros] = 0
    compare(torch, lambda m, x: m.cumprod(x, 1), arr, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("shape,dim", DIMS, ids=str)
@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_match_torch(torch, rng, backend, name, shape, dim, ties, dtype):
    """Values and indices (the last of tied extremes, as torch) and the gradient, which goes
    to the indices."""
    arr = _random(rng, shape, dtype, ties)
    r = compare(torch, lambda m, x: getattr(m, name)(x, dim), arr, **_tol(dtype))
    assert type(r[0]) is pydl.Tensor
    got = getattr(as_pydl(arr), name)(dim)
    assert type(got).__name__ == name and got._fields == ("values", "indices")


def test_cummax_cummin_nan_as_torch(torch, backend):
    nan = np.nan
    for row in ([nan, 1.0, nan, 2.0], [2.0, nan, 1.0, nan, 2.0], [1.0, 3.0, 3.0, nan, 5.0]):
        for name in ("cummax", "cummin"):
            compare(torch, lambda m, x, name=name: getattr(m, name)(x, 0), np.array(row))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,dim", DIMS, ids=str)
def test_logcumsumexp_matches_torch(torch, rng, backend, shape, dim, dtype):
    arr = np.asarray(_random(rng, shape, dtype) * 30, dtype)  # exp would overflow unshifted
    compare(torch, lambda m, x: m.logcumsumexp(x, dim), arr, **_tol(dtype), grad_rtol=1e-3)
    compare(torch, lambda m, x: x.logcumsumexp(dim), arr, **_tol(dtype), grad_rtol=1e-3)


def test_logcumsumexp_infinities_and_ints(torch, backend):
    inf = np.inf
    compare(torch, lambda m, x: m.logcumsumexp(x, 1), np.array([[-inf, -inf, 1.0], [2, inf, 1]]))
    with pytest.raises(NotImplementedError):
        pydl.logcumsumexp(pydl.tensor([1, 2, 3]), 0)


def test_scan_errors():
    with pytest.raises(IndexError):
        pydl.cumsum(pydl.ones(2, 3), 2)
    with pytest.raises(TypeError, match="dim"):
        pydl.cumsum(pydl.ones(2, 3), None)
    with pytest.raises(IndexError):
        pydl.cummax(pydl.tensor(1.0), 1)


# ----- sort, argsort, msort, topk ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS + [np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("shape,dim", DIMS, ids=str)
def test_sort_argsort_match_torch(torch, rng, backend, shape, dim, descending, dtype):
    """Stable sorting: the indices match torch's stable sort also with ties."""
    arr = _random(rng, shape, dtype)
    tol = _tol(dtype)
    compare(torch, lambda m, x: m.sort(x, dim=dim, descending=descending, stable=True), arr, **tol)
    compare(torch, lambda m, x: x.sort(dim=dim, descending=descending), arr, outputs=(0,), **tol)
    call = lambda m, x: m.argsort(x, dim=dim, descending=descending, stable=True)  # noqa: E731
    compare(torch, call, arr, grad=False)
    if arr.ndim:
        compare(torch, lambda m, x: m.msort(x), arr, **tol)


def test_sort_nan_is_largest_as_torch(torch, backend):
    arr = np.array([[3.0, np.nan, 1.0, -np.inf, np.nan, np.inf]])
    for descending in (False, True):
        compare(
            torch,
            lambda m, x, descending=descending: m.sort(
                x, dim=1, descending=descending, stable=True
            ),
            arr,
        )
        compare(
            torch, lambda m, x, descending=descending: m.topk(x, 3, largest=not descending), arr
        )


@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("shape,dim", [(s, d) for s, d in DIMS if 0 not in s], ids=str)
def test_topk_matches_torch(torch, rng, backend, shape, dim, largest, dtype):
    arr = _random(rng, shape, dtype)
    n = arr.shape[dim] if arr.ndim else 1
    outputs = None if dtype != np.int64 else (0,)  # ties: torch's order is not specified
    for k in (1, n):
        compare(
            torch, lambda m, x, k=k: m.topk(x, k, dim, largest), arr, outputs=outputs, **_tol(dtype)
        )
        compare(torch, lambda m, x, k=k: x.topk(k, dim=dim, largest=largest, sorted=True), arr,
                outputs=outputs, **_tol(dtype))  # fmt: skip


@pytest.mark.parametrize("largest", [True, False])
def test_topk_is_the_stable_sorts_first_k(rng, backend, largest):
    """The partial sort orders ties by index, as the full stable sort does."""
    x = as_pydl(rng.integers(0, 4, size=(30, 50)).astype(np.float32))
    for k in (1, 7, 50):
        got = pydl.topk(x, k, largest=largest)
        want = pydl.sort(x, descending=largest, stable=True)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy()[:, :k])
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy()[:, :k])


def test_topk_errors(torch):
    with pytest.raises(RuntimeError, match="out of range"):
        pydl.topk(pydl.ones(3), 4)
    with pytest.raises(RuntimeError, match="out of range"):
        pydl.topk(pydl.ones(3), -1)
    with pytest.raises(TypeError):
        pydl.topk(pydl.ones(3), 1.5)
    with pytest.raises(torch.__class__ and RuntimeError):  # torch: RuntimeError too
        torch.topk(torch.ones(3), 4)
    assert pydl.topk(pydl.ones(2, 0), 0).values.shape == (2, 0)


# ----- kthvalue, median, nanmedian, mode ---------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", [(s, d) for s, d in DIMS if 0 not in s], ids=str)
def test_kthvalue_median_mode_match_torch(torch, rng, backend, shape, dim, keepdim, dtype):
    arr = _random(rng, shape, dtype)
    n = arr.shape[dim] if arr.ndim else 1
    # indices only without ties (torch's choice among ties is its own)
    outputs = None if dtype != np.int64 else (0,)
    tol = _tol(dtype)
    for k in (1, (n + 1) // 2, n):
        compare(
            torch, lambda m, x, k=k: m.kthvalue(x, k, dim, keepdim), arr, outputs=outputs, **tol
        )
    compare(torch, lambda m, x: m.median(x, dim, keepdim), arr, outputs=outputs, **tol)
    compare(torch, lambda m, x: x.nanmedian(dim, keepdim=keepdim), arr, outputs=outputs, **tol)
    compare(torch, lambda m, x: m.median(x), arr, **tol)
    if dtype == np.int64:  # floats never repeat: the mode would be any element
        compare(torch, lambda m, x: m.mode(x, dim, keepdim), arr, grad=False, outputs=(0,))


def test_mode_matches_torch_with_repeats(torch, rng, backend):
    arr = rng.integers(0, 4, size=(6, 9)).astype(np.float64)
    r = compare(torch, lambda m, x: m.mode(x, 1), arr, outputs=(0,))
    # torch names the last occurrence of the mode
    want = torch.mode(torch.from_numpy(arr), 1)
    np.testing.assert_array_equal(r[1].numpy(), want.indices.numpy())


def test_median_nan_and_nanmedian(torch, backend):
    nan = np.nan
    arr = np.array([[1.0, nan, 2.0, 0.5], [0.0, 5.0, nan, 3.0], [4.0, 3.0, 2.0, 1.0]])
    compare(torch, lambda m, x: m.median(x, 1), arr)
    compare(torch, lambda m, x: m.nanmedian(x, 1), arr)
    compare(torch, lambda m, x: m.median(x), arr)
    compare(torch, lambda m, x: m.nanmedian(x), arr)
    # a row of NaN only: NaN (torch's index there is its own); without a dim the gradient is
    # split among the NaNs (or ties), as torch's
    arr = np.array([[nan, nan, nan], [1.0, nan, 2.0]])
    compare(torch, lambda m, x: m.nanmedian(x, 1), arr, outputs=(0,), grad=False)
    compare(torch, lambda m, x: m.median(x), arr)
    compare(torch, lambda m, x: m.nanmedian(x), arr)
    compare(torch, lambda m, x: m.median(x), np.array([[2.0, 1.0, 2.0], [3.0, 2.0, 5.0]]))
    compare(torch, lambda m, x: m.median(x), np.zeros(0))


def test_selection_errors():
    with pytest.raises(RuntimeError, match="out of range"):
        pydl.kthvalue(pydl.ones(3), 4)
    with pytest.raises(RuntimeError, match="out of range"):
        pydl.kthvalue(pydl.ones(3), 0)
    with pytest.raises(IndexError):
        pydl.median(pydl.ones(2, 0), 1)
    with pytest.raises(IndexError):
        pydl.mode(pydl.ones(2, 3), 2)


def test_sort_backward_checks_indices():
    from pydl import _core, reference

    g = np.ones((2, 3), np.float32)
    for module in (_core, reference):
        with pytest.raises(IndexError):
            module.sort_backward(g, np.array([[0, 1, 3], [0, 1, 2]]), 3)
        with pytest.raises(IndexError):
            module.sort_backward(g, np.array([[0, -1, 2], [0, 1, 2]]), 3)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_matches_torch(torch, rng, backend, name, dim, keepdim, interpolation):
    arr = _random(rng, (5, 6), np.float64)
    for q in (0.3, 0.0, 1.0, np.array([0.1, 0.5, 0.875])):
        call = lambda m, x, q=q: getattr(m, name)(  # noqa: E731
            x, m.tensor(q) if np.ndim(q) else q, dim, keepdim, interpolation=interpolation
        )
        compare(torch, call, arr)
    arr[1, 2] = arr[3, 0] = np.nan  # quantile: NaN; nanquantile skips them
    compare(torch, lambda m, x: getattr(m, name)(x, 0.4, dim, keepdim), arr, grad=False)


def test_quantile_errors(torch):
    with pytest.raises(RuntimeError, match="float or double"):
        pydl.quantile(pydl.tensor([1, 2]), 0.5)
    with pytest.raises(RuntimeError, match="range"):
        pydl.quantile(pydl.ones(3), 1.5)
    with pytest.raises(RuntimeError, match="non-empty"):
        pydl.quantile(pydl.ones(0), 0.5)
    with pytest.raises(ValueError, match="interpolation"):
        pydl.quantile(pydl.ones(3), 0.5, interpolation="cubic")


# ----- unique, unique_consecutive, bincount, histc, searchsorted, bucketize ---------------------


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique_matches_torch(torch, rng, dtype, dim):
    arr = _random(rng, (6, 3), dtype, ties=True)
    for inv in (False, True):
        for counts in (False, True):
            compare(
                torch,
                lambda m, x, inv=inv, counts=counts: m.unique(x, True, inv, counts, dim),
                arr,
                grad=False,
            )
            method = lambda m, x, inv=inv, counts=counts: x.unique(  # noqa: E731
                return_inverse=inv, return_counts=counts, dim=dim
            )
            compare(torch, method, arr, grad=False)
            call = lambda m, x, inv=inv, counts=counts: m.unique_consecutive(  # noqa: E731
                x, return_inverse=inv, return_counts=counts, dim=dim
            )
            compare(torch, call, arr, grad=False)


def test_bincount_histc_match_torch(torch, rng):
    arr = rng.integers(0, 6, size=20)
    weights = rng.uniform(size=20)
    compare(torch, lambda m, x: m.bincount(x), arr)
    compare(torch, lambda m, x: x.bincount(minlength=9), arr)
    for w in (weights, weights.astype(np.float32)):
        compare(torch, lambda m, x, w=w: m.bincount(x, m.tensor(w)), arr)
    compare(torch, lambda m, x: m.bincount(x), np.zeros(0, np.int64))
    values = rng.standard_normal(50).astype(np.float32)
    compare(torch, lambda m, x: m.histc(x), values, grad=False)
    compare(torch, lambda m, x: x.histc(bins=7, min=-1, max=1), values, grad=False)
    compare(torch, lambda m, x: m.histc(x, 3), np.ones(4, np.float32), grad=False)
    with pytest.raises(RuntimeError):
        pydl.bincount(pydl.tensor([-1, 2]))
    with pytest.raises(RuntimeError):
        pydl.histc(pydl.ones(3), bins=2, min=2, max=1)


def test_searchsorted_bucketize_match_torch(torch, rng):
    seq = np.sort(rng.integers(0, 10, size=12)).astype(np.float32)
    values = rng.integers(-1, 11, size=(3, 5)).astype(np.float32)
    for right in (False, True):
        got = pydl.searchsorted(as_pydl(seq), as_pydl(values), right=right)
        want = torch.searchsorted(torch.from_numpy(seq), torch.from_numpy(values), right=right)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        got = pydl.bucketize(as_pydl(values), as_pydl(seq), right=right, out_int32=True)
        want = torch.bucketize(torch.from_numpy(values), torch.from_numpy(seq), right=right,
                               out_int32=True)  # fmt: skip
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    seq2 = np.sort(rng.uniform(size=(3, 6)), axis=1)
    vals2 = rng.uniform(size=(3, 4))
    got = pydl.searchsorted(as_pydl(seq2), as_pydl(vals2), side="right")
    want = torch.searchsorted(torch.from_numpy(seq2), torch.from_numpy(vals2), side="right")
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert (
        pydl.searchsorted(as_pydl(seq), 3.0).item()
        == torch.searchsorted(torch.from_numpy(seq), 3.0).item()
    )


# ----- the core's kernels run (not only the reference fallback) ---------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_scan_and_sort_kernels_run_in_the_core(rng, monkeypatch, dtype):
    from pydl import reference

    def fail(*args, **kwargs):
        raise AssertionError("the reference ran")

    for name in ("cumsum", "cumprod", "cummax", "logcumsumexp", "sort"):
        for side in ("forward", "backward"):
            monkeypatch.setattr(reference, f"{name}_{side}", fail)
    pydl.set_backend("core")
    x = as_pydl(_random(rng, (4, 5), dtype), requires_grad=True)
    y = pydl.cumsum(x, 1) + pydl.cumprod(x, 0) + pydl.cummax(x, 1).values
    y = y + pydl.logcumsumexp(x, 1) + pydl.sort(x, 0).values
    y.sum().backward()
    assert x.grad.dtype == dtype
