"""PyTorch's Python-level tensor semantics (issue 14's edge cases, the first of them)."""

import numpy as np
import pytest

import pydl


def test_bool_float_int_and_format_of_one_element_tensors():
    loss = pydl.tensor([0.25])
    assert bool(pydl.tensor([0.0])) is False and bool(loss) is True
    assert (loss < 0.5) and not (loss > 0.5)
    assert float(loss) == 0.25 and int(pydl.tensor(3.0)) == 3
    assert f"{loss:.3f}" == "0.250" and format(pydl.tensor(2.0), ".1f") == "2.0"
    assert [0, 1, 2][pydl.tensor(1)] == 1
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(pydl.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="integer tensors"):
        [0, 1][pydl.tensor(1.0)]


def test_iterating_walks_the_first_axis():
    t = pydl.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    rows = list(t)
    assert len(rows) == 3 and rows[1].tolist() == [3.0, 4.0]
    with pytest.raises(TypeError):
        iter(pydl.tensor(1.0))


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_matmul_of_two_vectors_is_a_0d_dot_product(backend):
    pydl.set_backend(backend)
    a = pydl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = pydl.tensor([4.0, 5.0, 6.0], requires_grad=True)
    out = pydl.matmul(a, b)
    assert out.shape == () and out.item() == 32.0
    out.backward()
    assert a.grad.tolist() == [4.0, 5.0, 6.0] and b.grad.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_clamp_follows_pytorch_for_crossed_and_nan_bounds(backend):
    """min(max(x, min), max): max wins when min > max; a NaN input or bound gives NaN."""
    pydl.set_backend(backend)
    x = pydl.tensor([-2.0, 0.0, 2.0])
    assert pydl.clamp(x, 1.0, -1.0).tolist() == [-1.0, -1.0, -1.0]
    assert np.isnan(pydl.clamp(pydl.tensor([np.nan, 0.5]), 0.0, 1.0).numpy()[0])
    assert np.isnan(pydl.clamp(pydl.tensor([0.5]), float("nan"), 1.0).item())
    assert np.isnan(pydl.clamp(pydl.tensor([0.5]), None, float("nan")).item())


def test_dtype_names_and_differentiable_float_casts():
    assert (pydl.float, pydl.double, pydl.long, pydl.int, pydl.bool) == (
        np.float32, np.float64, np.int64, np.int32, np.bool_,
    )  # fmt: skip
    pydl.set_backend("reference")  # float64 kernels (the core's come with issue 14)
    x = pydl.tensor([1.5, -2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and y.requires_grad  # .float() used to detach
    (y * 3.0).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]
    assert x.float() is x and x.to(pydl.float32) is x
    assert x.to(pydl.float32, copy=True) is not x
    assert x.long().tolist() == [1, -2] and not x.long().requires_grad
    assert x.bool().dtype == np.bool_ and x.int().dtype == np.int32
    assert x.to(pydl.tensor([1], dtype=np.int64)).dtype == np.int64
    assert x.to("cpu") is x and x.cpu() is x and x.device == pydl.device("cpu") and not x.is_cuda
    with pytest.raises(RuntimeError, match="runs on CPUs"):
        x.to("cuda")


def _index_keys(torch_like):
    """Keys mixing ints, slices and index arrays, where PyTorch's placement of the indexed
    dims differs from NumPy's for some."""
    arr = torch_like
    return [
        (0, slice(None), arr([0, 1])),
        (slice(None), 1, arr([0, 2])),
        (1, arr([0, 2]), slice(1, 3)),
        (arr([0, 1]), 2),
        (Ellipsis, 0, arr([1, 2])),
        (0, arr([[True, False, True, False]] * 3)),
    ]


@pytest.mark.parametrize("case", range(6))
def test_mixed_integer_and_array_indices_place_dims_as_pytorch(case, torch):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    key = _index_keys(np.array)[case]
    tkey = _index_keys(torch.tensor)[case]
    np.testing.assert_array_equal(pydl.tensor(a)[key].numpy(), torch.tensor(a)[tkey].numpy())
    x, t = pydl.tensor(a), torch.tensor(a)
    x[key] = -1.0
    t[tkey] = -1.0
    np.testing.assert_array_equal(x.numpy(), t.numpy())


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_zero_d_tensors_take_dim_0_and_minus_1(backend, torch):
    prev = pydl.get_backend()
    pydl.set_backend(backend)
    try:
        x, t = pydl.tensor(2.0), torch.tensor(2.0)
        for name, args in [("softmax", (-1,)), ("log_softmax", (0,)), ("squeeze", (-1,)),
                           ("sum", (0,)), ("exp", ()), ("unsqueeze", (0,))]:  # fmt: skip
            got, want = getattr(x, name)(*args), getattr(t, name)(*args)
            assert got.shape == tuple(want.shape), name
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, err_msg=name)
    finally:
        pydl.set_backend(prev)


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_cross_entropy_probability_targets_get_gradients(backend, torch):
    prev = pydl.get_backend()
    pydl.set_backend(backend)
    try:
        rng = np.random.default_rng(0)
        z = rng.standard_normal((3, 4)).astype(np.float32)
        p = rng.dirichlet(np.ones(4), 3).astype(np.float32)
        for reduction in ("mean", "sum", "none"):
            grads = []
            for lib in (pydl, torch):
                zt = lib.tensor(z, requires_grad=True)
                pt = lib.tensor(p, requires_grad=True)
                loss = lib.nn.functional.cross_entropy(zt, pt, reduction=reduction)
                loss.sum().backward()
                grads.append((zt.grad.numpy(), pt.grad.numpy()))
            for g, w in zip(*grads):
                np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    finally:
        pydl.set_backend(prev)


@pytest.mark.parametrize("backend", ["core", "reference"])
def test_pow_gradients_at_base_zero_match_pytorch(backend, torch):
    prev = pydl.get_backend()
    pydl.set_backend(backend)
    try:
        base = np.array([0.0, 0.0, 2.0, 0.0], np.float32)
        exponent = np.array([2.0, 0.5, 3.0, 0.0], np.float32)
        grads = []
        for lib in (pydl, torch):
            b = lib.tensor(base, requires_grad=True)
            e = lib.tensor(exponent, requires_grad=True)
            (b**e).sum().backward()
            grads.append((b.grad.numpy(), e.grad.numpy()))
        for g, w in zip(*grads):
            np.testing.assert_allclose(g, w, rtol=1e-6)
    finally:
        pydl.set_backend(prev)


def test_strides_contiguity_and_new_tensors_as_pytorch(torch):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x, t = pydl.tensor(a), torch.tensor(a)
    for f in (lambda v: v, lambda v: v.transpose(0, 2), lambda v: v[:, 1], lambda v: v[..., ::2]):
        assert f(x).stride() == f(t).stride() and f(x).is_contiguous() == f(t).is_contiguous()
    assert x.element_size() == t.element_size() and x.nelement() == t.nelement()
    assert x.is_floating_point() and not x.long().is_floating_point()
    for got, want in [
        (x.new_zeros(2, 2), t.new_zeros(2, 2)),
        (x.new_ones((3,)), t.new_ones((3,))),
        (x.new_full((2,), 7.0), t.new_full((2,), 7.0)),
        (x.long().new_zeros(2), t.long().new_zeros(2)),
        (x.view_as(x.reshape(4, 6)), t.view_as(t.reshape(4, 6))),
        (x.long().type_as(x), t.long().type_as(t)),
    ]:
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    w = pydl.tensor([1.0, 2.0], requires_grad=True)
    c = w.clone()
    assert c.data_ptr() != w.data_ptr()
    (c * 3.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_dlpack_and_from_numpy_share_memory_both_ways(torch):
    t = torch.arange(6.0).reshape(2, 3)
    p = pydl.from_dlpack(t)
    p.add_(1.0)  # writes through to torch's memory
    np.testing.assert_array_equal(t.numpy(), np.arange(1.0, 7.0).reshape(2, 3))
    q = pydl.ones(2, 3)
    torch.from_dlpack(q).mul_(5)
    np.testing.assert_array_equal(q.numpy(), np.full((2, 3), 5.0))
    a = np.zeros(4, np.float32)
    assert np.shares_memory(pydl.from_numpy(a).numpy(), a)
    assert np.shares_memory(np.from_dlpack(pydl.from_numpy(a)), a)
    with pytest.raises(RuntimeError, match="require gradient"):
        torch.from_dlpack(pydl.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="from_dlpack"):
        pydl.from_dlpack([1, 2])


def test_zero_d_results_stay_zero_d(torch):
    a, b = pydl.tensor(1.0), pydl.tensor(2.0)
    assert pydl.maximum(a, b).shape == tuple(
        torch.maximum(torch.tensor(1.0), torch.tensor(2.0)).shape
    )
    assert pydl.ones(3).argmax().shape == tuple(torch.ones(3).argmax().shape) == ()


def test_memory_format_and_new_factories_take_pytorchs_arguments(torch):
    """Tensor.to/float/...(memory_format=) accept pydl's or torch's formats (pydl tensors
    are row-major whatever the format); new_* take dtype, device and requires_grad."""
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x, t = pydl.tensor(a), torch.tensor(a)
    for fmt in (pydl.preserve_format, pydl.contiguous_format, torch.preserve_format):
        assert x.to(pydl.float64, memory_format=fmt).dtype == np.float64
        for name in ("float", "double", "int", "long", "short", "bool"):
            got, want = getattr(x, name)(memory_format=fmt), getattr(t, name)()
            np.testing.assert_array_equal(got.numpy(), want.numpy())
            assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    with pytest.raises(TypeError, match="memory_format"):
        x.float(memory_format="rows")
    # positional non_blocking and copy, as Tensor.to(dtype, non_blocking, copy)
    assert x.to(pydl.float32, False, False) is x
    y = x.to("cpu", pydl.float32, False, True)
    assert y is not x and y.dtype == np.float32
    np.testing.assert_array_equal(x.to(x, True, True).numpy(), a)
    kw = {"dtype": pydl.int64, "device": "cpu", "requires_grad": False}
    tkw = {"dtype": torch.int64, "device": "cpu", "requires_grad": False}
    for got, want in [
        (x.new_zeros(2, 2, **kw), t.new_zeros(2, 2, **tkw)),
        (x.new_ones((3,), **kw), t.new_ones((3,), **tkw)),
        (x.new_full((2,), 7, **kw), t.new_full((2,), 7, **tkw)),
        (x.new_tensor([1, 2], **kw), t.new_tensor([1, 2], **tkw)),
        (x.new_tensor([1, 2]), t.new_tensor([1, 2])),
        (x.new_empty((2, 0), **kw), t.new_empty((2, 0), **tkw)),
    ]:
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    w = x.new_full((2,), 3.0, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    with pytest.raises(RuntimeError, match="cuda"):
        x.new_zeros(2, device="cuda")


def test_conjugate_transposes_and_random_methods(torch):
    """mH / H are the transposes for real tensors; multinomial / bernoulli as methods."""
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x, t = pydl.tensor(a), torch.tensor(a)
    np.testing.assert_array_equal(x.mH.numpy(), t.mH.numpy())
    np.testing.assert_array_equal(x[0].H.numpy(), t[0].H.numpy())
    pydl.manual_seed(0)
    draws = pydl.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]).multinomial(2, replacement=True)
    np.testing.assert_array_equal(draws.numpy(), [[1, 1], [2, 2]])
    coins = pydl.tensor([0.0, 1.0, 1.0, 0.0]).bernoulli()
    np.testing.assert_array_equal(coins.numpy(), [0.0, 1.0, 1.0, 0.0])
