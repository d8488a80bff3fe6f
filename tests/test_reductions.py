"""var, std, var_mean, std_mean, prod, any, all, logsumexp, norm, linalg's vector_norm,
count_nonzero, nansum, nanmean, aminmax, and max/min/argmax's call forms, against PyTorch
(issue 17), on both backends."""

import numpy as np
import pytest
from torch_compare import as_pydl, compare

import pydl
import pydl.functional as F

BACKENDS = ["core", "reference"]
FLOATS = [np.float32, np.float64]
# (shape, dim) cases: negative dims, tuples, all (None), a 0-d tensor, zero sizes
DIMS = [
    ((4, 7), 1),
    ((4, 7), -2),
    ((3, 4, 5), (0, 2)),
    ((3, 4, 5), (-1, 1)),
    ((3, 4, 5), None),
    ((6,), 0),
    ((), None),
    ((), 0),
    ((0, 3), 1),
    ((2, 0, 3), (0, 2)),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    pydl.set_backend(request.param)
    return request.param


def _random(rng, shape, dtype):
    """An array (also 0-d) of `dtype`: normal floats, small integers, bools."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.asarray(rng.uniform(size=shape) > 0.5)
    if dtype.kind in "iu":
        return np.asarray(rng.integers(0 if dtype.kind == "u" else -3, 4, size=shape), dtype)
    return np.asarray(rng.standard_normal(shape), dtype)


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}


# ----- var, std, var_mean, std_mean -----------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", DIMS, ids=str)
@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
def test_var_std_match_torch(torch, rng, backend, name, shape, dim, keepdim, dtype):
    arr = _random(rng, shape, dtype)
    for kwargs in ({}, {"correction": 0}, {"correction": 2}):
        compare(
            torch, lambda m, x, kw=kwargs: getattr(m, name)(x, dim, keepdim=keepdim, **kw), arr,
            grad=arr.size > 0 and dim is not None and name in ("var", "var_mean"),
            **_tol(dtype), grad_rtol=1e-3,
        )  # fmt: skip


@pytest.mark.parametrize("dtype", FLOATS)
def test_std_gradient_and_method(torch, rng, backend, dtype):
    arr = _random(rng, (5, 6), dtype)
    compare(torch, lambda m, x: m.std(x, 1), arr, **_tol(dtype), grad_rtol=1e-3)
    compare(torch, lambda m, x: x.std(0, keepdim=True), arr, **_tol(dtype), grad_rtol=1e-3)
    compare(torch, lambda m, x: m.std_mean(x, (0, 1)), arr, **_tol(dtype), grad_rtol=1e-3)


def test_var_legacy_unbiased_forms(torch, rng, backend):
    arr = _random(rng, (4, 6), np.float64)
    for call in (
        lambda m, x: m.var(x, False),
        lambda m, x: m.var(x, 1, False),
        lambda m, x: m.var(x, 1, True, True),
        lambda m, x: m.std(x, 0, unbiased=False, keepdim=True),
        lambda m, x: x.var(unbiased=True),
        lambda m, x: m.var_mean(x, 1, False),
    ):
        compare(torch, call, arr, rtol=1e-12, atol=1e-12)


def test_var_errors(torch, rng):
    with pytest.raises(RuntimeError, match="floating point"):
        pydl.var(pydl.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="unbiased or correction"):
        pydl.var(pydl.ones(3), 0, True, correction=1)
    with pytest.raises(IndexError):
        pydl.var(pydl.ones(2, 3), 2)
    # one element: nan, as torch (dof 0)
    assert np.isnan(pydl.var(pydl.ones(1)).item())


# ----- prod -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS + [np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize(
    "shape,dim", [(s, d) for s, d in DIMS if not isinstance(d, tuple)], ids=str
)
def test_prod_matches_torch(torch, rng, backend, shape, dim, keepdim, dtype):
    arr = _random(rng, shape, dtype)
    if dim is None:
        compare(torch, lambda m, x: m.prod(x), arr, **_tol(dtype))
    else:
        compare(torch, lambda m, x: m.prod(x, dim, keepdim=keepdim), arr, **_tol(dtype))
        compare(torch, lambda m, x: x.prod(dim, keepdim), arr, **_tol(dtype))


@pytest.mark.parametrize("zeros", [[2], [1, 4], []])
def test_prod_gradient_with_zeros_matches_torch(torch, rng, backend, zeros):
    arr = rng.uniform(0.5, 1.5, size=(3, 6))
    arr[:, zeros] = 0
    compare(torch, lambda m, x: m.prod(x, 1), arr, rtol=1e-12, atol=1e-12)
    compare(torch, lambda m, x: m.prod(x), arr, rtol=1e-12, atol=1e-12)


def test_prod_dtype_argument(torch, rng, backend):
    arr = _random(rng, (3, 4), np.int64)
    compare(torch, lambda m, x: m.prod(x, 1, dtype=m.float64), arr)
    compare(torch, lambda m, x: m.prod(x, dtype=m.float32), arr)


# ----- any, all, count_nonzero ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", DIMS, ids=str)
@pytest.mark.parametrize("name", ["any", "all"])
def test_any_all_match_torch(torch, rng, backend, name, shape, dim, keepdim, dtype):
    arr = _random(rng, shape, dtype)
    if dim is None:
        compare(torch, lambda m, x: getattr(m, name)(x), arr, grad=False)
        compare(torch, lambda m, x: getattr(x, name)(), arr, grad=False)
    else:
        call = lambda m, x: getattr(m, name)(x, dim, keepdim=keepdim)  # noqa: E731
        compare(torch, call, arr, grad=False)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
@pytest.mark.parametrize("shape,dim", DIMS, ids=str)
def test_count_nonzero_matches_torch(torch, rng, backend, shape, dim, dtype):
    arr = _random(rng, shape, dtype)
    compare(torch, lambda m, x: m.count_nonzero(x, dim), arr, grad=False)
    compare(torch, lambda m, x: x.count_nonzero(dim=dim), arr, grad=False)


# ----- logsumexp ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", [(s, d) for s, d in DIMS if d is not None], ids=str)
def test_logsumexp_matches_torch(torch, rng, backend, shape, dim, keepdim, dtype):
    arr = np.asarray(_random(rng, shape, dtype) * 30, dtype)  # exp would overflow unshifted
    compare(torch, lambda m, x: m.logsumexp(x, dim, keepdim), arr, **_tol(dtype))
    compare(torch, lambda m, x: x.logsumexp(dim, keepdim=keepdim), arr, **_tol(dtype))


def test_logsumexp_infinities_and_ints(torch, backend):
    inf = np.inf
    arr = np.array([[-inf, -inf], [1.0, 2.0], [inf, 1.0], [-inf, 3.0], [np.nan, 1.0]])
    compare(torch, lambda m, x: m.logsumexp(x, 1), arr)
    compare(torch, lambda m, x: m.logsumexp(x, 1), np.array([[1, 2], [3, 4]]))


# ----- norm, vector_norm ----------------------------------------------------------------------

ORDS = [2, 1, 3.5, 0.5, float("inf"), float("-inf"), 0]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("p", ORDS, ids=str)
@pytest.mark.parametrize("shape,dim", [(s, d) for s, d in DIMS if 0 not in s], ids=str)
def test_norm_and_vector_norm_match_torch(torch, rng, backend, shape, dim, p, keepdim, dtype):
    arr = _random(rng, shape, dtype)
    grad = p != 0  # torch's 0-norm has no gradient
    compare(
        torch, lambda m, x: m.norm(x, p, dim, keepdim), arr, grad=grad, **_tol(dtype),
        grad_rtol=1e-3,
    )  # fmt: skip
    got = F.vector_norm(as_pydl(arr), p, dim, keepdim)
    want = torch.linalg.vector_norm(torch.from_numpy(arr), p, dim, keepdim)
    np.testing.assert_allclose(got.numpy(), want.numpy(), **_tol(dtype))


@pytest.mark.parametrize("p", [2, 1, 3.0, float("inf")], ids=str)
def test_norm_gradient_at_zero_is_zero_as_torch(torch, backend, p):
    arr = np.zeros((2, 3))
    arr[1, 1] = -2.0
    compare(torch, lambda m, x: m.norm(x, p, 1), arr)
    compare(torch, lambda m, x: m.norm(x, p), np.zeros(4))


def test_norm_fro_dtype_and_errors(torch, rng, backend):
    arr = _random(rng, (3, 4), np.float32)
    compare(torch, lambda m, x: m.norm(x), arr)
    compare(torch, lambda m, x: m.norm(x, "fro", (0, 1)), arr)
    compare(torch, lambda m, x: x.norm(dim=1, dtype=m.float64), arr, grad_rtol=1e-3)
    with pytest.raises(RuntimeError, match="floating point"):
        pydl.norm(pydl.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="identity"):
        F.vector_norm(pydl.zeros(0, 3), float("inf"), 0)
    with pytest.raises(ValueError, match="nuc"):
        pydl.norm(pydl.ones(2, 2), "max")
    with pytest.raises(RuntimeError, match="2-D"):
        pydl.norm(pydl.ones(2, 2, 2), "nuc")


def test_norm_nuc_matches_torch(torch, rng, backend):
    """p='nuc': the sum of singular values, of a matrix or over two dims."""
    compare(torch, lambda m, x: m.norm(x, "nuc"), _random(rng, (3, 4), np.float64))
    arr = _random(rng, (2, 3, 4), np.float64)
    compare(torch, lambda m, x: x.norm("nuc", (2, 0), True), arr)
    compare(torch, lambda m, x: m.norm(x, p="nuc", dim=(0, 1)), arr)


@pytest.mark.parametrize("p", [-2.0, -1.0, 0.5, 2.0, 3.0])
def test_vector_norm_subgradient_at_zero(torch, backend, p):
    """PyTorch's gradient is 0 at a zero element for p < 1 and where the norm is 0 (for a
    negative order, wherever an element is 0): never NaN."""
    for arr in ([0.0, 0.0, 0.0], [0.0, 1.0, -2.0], [0.5, 1.0, -2.0]):
        compare(torch, lambda m, x: m.linalg.vector_norm(x, p), np.array(arr))
    assert not hasattr(pydl, "vector_norm")  # exported from pydl.linalg


# ----- nansum, nanmean, aminmax ----------------------------------------------------------------


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", [(s, d) for s, d in DIMS if 0 not in s], ids=str)
@pytest.mark.parametrize("name", ["nansum", "nanmean"])
def test_nansum_nanmean_match_torch(torch, rng, backend, name, shape, dim, keepdim):
    arr = _random(rng, shape, np.float64)
    arr[arr > 0.8] = np.nan
    compare(torch, lambda m, x: getattr(m, name)(x, dim, keepdim), arr)
    compare(torch, lambda m, x: getattr(m, name)(x), arr)


def test_nansum_of_ints(torch, rng, backend):
    compare(torch, lambda m, x: m.nansum(x, 0), _random(rng, (3, 4), np.int64))


@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_aminmax_matches_torch(torch, rng, backend, dim, keepdim, dtype):
    arr = _random(rng, (4, 5), dtype)
    r = compare(torch, lambda m, x: m.aminmax(x, dim=dim, keepdim=keepdim), arr, grad=False)
    assert isinstance(r, list) and len(r) == 2
    got = pydl.aminmax(as_pydl(arr), dim=dim)
    assert type(got).__name__ == "aminmax" and got._fields == ("min", "max")
    with pytest.raises(RuntimeError):
        pydl.aminmax(pydl.zeros(0))


# ----- max / min / argmax call forms -----------------------------------------------------------


def test_max_min_argmax_call_forms(torch, rng, backend):
    arr, other = _random(rng, (3, 4), np.float32), _random(rng, (3, 4), np.float32)
    compare(torch, lambda m, x: m.max(x), arr)
    compare(torch, lambda m, x: m.max(x, 1), arr, outputs=(0, 1))
    compare(torch, lambda m, x: m.min(x, 0, True), arr)
    compare(torch, lambda m, x: m.max(x, dim=-1, keepdim=True), arr)
    compare(torch, lambda m, x: m.max(x, m.tensor(other)), arr)
    compare(torch, lambda m, x: x.min(m.tensor(other)), arr)
    compare(torch, lambda m, x: m.argmax(x, dim=None), arr, grad=False)
    compare(torch, lambda m, x: m.argmin(x, 1, keepdim=True), arr, grad=False)
    compare(torch, lambda m, x: x.argmax(), arr, grad=False)


# ----- the core's kernels run (not only the reference fallback) ---------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_row_kernels_run_in_the_core(rng, monkeypatch, dtype):
    """The core computes var, prod, logsumexp and norm in float32 and float64 itself: the
    reference twins are never called."""
    from pydl import reference

    def fail(*args, **kwargs):
        raise AssertionError("the reference ran")

    for name in ("var", "prod", "logsumexp", "norm"):
        for side in ("forward", "backward"):
            monkeypatch.setattr(reference, f"{name}_{side}", fail)
    pydl.set_backend("core")
    x = as_pydl(_random(rng, (4, 5), dtype), requires_grad=True)
    y = pydl.var(x, 1) + pydl.prod(x, 1) + pydl.logsumexp(x, 1) + pydl.norm(x, 3, 1)
    y.sum().backward()
    assert x.grad.dtype == dtype


def test_reductions_are_deterministic_across_threads(rng):
    pydl.set_backend("core")
    arr = _random(rng, (300, 1000), np.float32)
    results = []
    for n in (1, 2):
        pydl.set_num_threads(n)
        x = as_pydl(arr)
        results.append([f(x).numpy() for f in (
            lambda x: pydl.var(x, 0), lambda x: pydl.logsumexp(x, 1), lambda x: pydl.norm(x),
        )])  # fmt: skip
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
