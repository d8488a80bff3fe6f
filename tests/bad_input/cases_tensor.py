"""Hand-written cases for tensors: conversion (pydl.tensor, as_tensor, from_numpy), creation
functions, Tensor methods and views, indexing, autograd misuse, broadcasting, matmul and
linalg shapes, reductions, sort/topk, cat/stack, masks, gather/scatter/index ops; and
`works` cases: strided and negative-stride NumPy arrays, 0-d and zero-size inputs, Python
numbers and lists, each checked against NumPy.

Where PyTorch raises RuntimeError for a shape mismatch and pydl a ValueError (both are
what the corpus accepts for a wrong shape), a case accepts either: SHAPE.
"""

import numpy as np
from corpus import bad, works

import pydl
import pydl.linalg as LA

CASES: list = []
SHAPE = (RuntimeError, ValueError)
HUGE = 2**62
SIZE_ERRORS = (MemoryError, ValueError, RuntimeError)  # never a crash or a hang


def _t(*shape, dtype=np.float32):
    """A float tensor of the shape with distinct values."""
    n = int(np.prod(shape)) if shape else 1
    return pydl.tensor(np.arange(n, dtype=dtype).reshape(shape))


def _leaf(*shape):
    return pydl.tensor(np.ones(shape, np.float32), requires_grad=True)


def _idx(*values):
    return pydl.tensor(np.array(values, np.int64))


def _same(t, expected, rtol=1e-6):
    got = t.numpy() if isinstance(t, pydl.Tensor) else np.asarray(t)
    assert got.shape == np.shape(expected), (got.shape, np.shape(expected))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-6)


# ----- conversion: pydl.tensor / as_tensor / from_numpy ------------------------------------
C = "tensor"
bad(CASES, f"{C}.tensor.str", lambda: pydl.tensor("abc"), TypeError, r"tensor\(\).*'data'.*str")
bad(CASES, f"{C}.tensor.bytes", lambda: pydl.tensor(b"ab"), TypeError, r"'data'.*bytes")
bad(CASES, f"{C}.tensor.none", lambda: pydl.tensor(None), TypeError, r"'data'.*NoneType")
bad(CASES, f"{C}.tensor.dict", lambda: pydl.tensor({1: 2}), TypeError, r"'data'.*dict")
bad(CASES, f"{C}.tensor.set", lambda: pydl.tensor({1, 2}), TypeError, r"'data'.*set")
bad(CASES, f"{C}.tensor.object", lambda: pydl.tensor(object()), TypeError, r"'data'.*object")
bad(CASES, f"{C}.tensor.list_of_none", lambda: pydl.tensor([1.0, None]), TypeError, r"NoneType")
bad(CASES, f"{C}.tensor.list_of_str", lambda: pydl.tensor(["a", "b"]), TypeError, r"holding str")
bad(CASES, f"{C}.tensor.nested_str", lambda: pydl.tensor([[1], ["x"]]), TypeError, r"holding str")
bad(CASES, f"{C}.tensor.ragged", lambda: pydl.tensor([[1, 2], [3]]), ValueError, r"'data'.*rect")
bad(
    CASES,
    f"{C}.tensor.ragged_deep",
    lambda: pydl.tensor([[[1, 2], [3, 4]], [[5, 6], [7]]]),
    ValueError,
    r"'data'.*rectangular",
)
bad(
    CASES,
    f"{C}.tensor.object_array",
    lambda: pydl.tensor(np.array([object(), 1], dtype=object)),
    TypeError,
    r"'data'.*dtype object",
)
bad(
    CASES,
    f"{C}.tensor.str_array",
    lambda: pydl.tensor(np.array(["1", "2"])),
    TypeError,
    r"'data'.*dtype <U1",
)
bad(
    CASES,
    f"{C}.tensor.datetime_array",
    lambda: pydl.tensor(np.array(["2020-01-01"], "datetime64[D]")),
    TypeError,
    r"'data'.*datetime64",
)
bad(CASES, f"{C}.tensor.complex_scalar", lambda: pydl.tensor(1 + 2j), TypeError, r"complex")
bad(CASES, f"{C}.tensor.complex_list", lambda: pydl.tensor([1.0, 2j]), TypeError, r"complex128")
bad(
    CASES,
    f"{C}.tensor.complex_array",
    lambda: pydl.tensor(np.ones(3, np.complex64)),
    TypeError,
    r"'data'.*complex64.*no complex",
)
bad(
    CASES,
    f"{C}.tensor.complex_array_with_float_dtype",  # a cast would drop the imaginary parts
    lambda: pydl.tensor(np.array([1 + 1j]), dtype=pydl.float32),
    TypeError,
    r"complex128",
)
bad(
    CASES,
    f"{C}.tensor.int_overflow",
    lambda: pydl.tensor(2**70),
    ValueError,
    r"2361183241434822606848|64 bits",
)
bad(
    CASES,
    f"{C}.tensor.int_overflow_in_list",
    lambda: pydl.tensor([1, -(2**70)]),
    ValueError,
    r"64 bits",
)
bad(
    CASES,
    f"{C}.tensor.dtype_str",
    lambda: pydl.tensor([1.0], dtype="float32"),
    TypeError,
    r"'dtype'.*string 'float32'",
)
bad(
    CASES,
    f"{C}.tensor.dtype_complex",
    lambda: pydl.tensor([1.0], dtype=np.complex64),
    TypeError,
    r"'dtype'.*complex64 is not supported",
)
bad(
    CASES,
    f"{C}.tensor.dtype_object",
    lambda: pydl.tensor([1.0], dtype=object),
    TypeError,
    r"'dtype'.*object",
)
bad(
    CASES,
    f"{C}.tensor.dtype_int",
    lambda: pydl.tensor([1.0], dtype=3),
    TypeError,
    r"'dtype'.*int \(3\)",
)
bad(
    CASES,
    f"{C}.tensor.str_with_float_dtype",
    lambda: pydl.tensor(["x"], dtype=pydl.float32),
    TypeError,
    r"'data'.*str",
)
bad(CASES, f"{C}.tensor.device", lambda: pydl.tensor([1.0], device="tpu"), RuntimeError, r"tpu")
bad(
    CASES,
    f"{C}.tensor.requires_grad_int",
    lambda: pydl.tensor([1, 2], requires_grad=True),
    RuntimeError,
    r"floating.*int64",
)
bad(
    CASES,
    f"{C}.as_tensor.str",
    lambda: pydl.as_tensor("abc"),
    TypeError,
    r"as_tensor\(\).*'data'.*str",
)
bad(CASES, f"{C}.as_tensor.none", lambda: pydl.as_tensor(None), TypeError, r"'data'.*NoneType")
bad(
    CASES,
    f"{C}.as_tensor.complex",
    lambda: pydl.as_tensor(np.ones(2, np.complex128)),
    TypeError,
    r"complex128",
)
bad(
    CASES,
    f"{C}.as_tensor.ragged",
    lambda: pydl.as_tensor([[1.0], [2.0, 3.0]]),
    ValueError,
    r"'data'.*rectangular",
)
bad(
    CASES,
    f"{C}.as_tensor.dtype_str",
    lambda: pydl.as_tensor([1], dtype="int64"),
    TypeError,
    r"'dtype'.*string",
)
bad(
    CASES,
    f"{C}.from_numpy.list",
    lambda: pydl.from_numpy([1.0, 2.0]),
    TypeError,
    r"numpy.ndarray.*list",
)
bad(
    CASES,
    f"{C}.from_numpy.object",
    lambda: pydl.from_numpy(np.zeros(2, object)),
    TypeError,
    r"dtype object",
)
bad(
    CASES,
    f"{C}.from_numpy.complex",
    lambda: pydl.from_numpy(np.zeros(2, np.complex64)),
    TypeError,
    r"complex64",
)
bad(CASES, f"{C}.from_numpy.str", lambda: pydl.from_numpy(np.array(["a"])), TypeError, r"<U1")
bad(CASES, f"{C}.Tensor.str", lambda: pydl.Tensor("abc"), TypeError, r"'data'.*str")
bad(
    CASES,
    f"{C}.Tensor.complex",
    lambda: pydl.Tensor(np.ones(2, np.complex64)),
    TypeError,
    r"complex64",
)


def _from_strided():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    for view in (a[:, ::-1], a.T, a[::2], a[::-2, 1::3], a[:, 2]):
        t = pydl.tensor(view)
        _same(t, view)
        view_copy = view.copy()
        a[...] += 1  # pydl.tensor copies: later writes to the array do not show
        _same(t, view_copy)


def _as_tensor_strided_shares():
    a = np.arange(12.0).reshape(3, 4)
    t = pydl.as_tensor(a[:, ::-1])
    _same(t, a[:, ::-1])
    _same(t * 2, a[:, ::-1] * 2)
    _same(pydl.from_numpy(a.T).sum(0), a.T.sum(0))


def _mixed_list():
    t = pydl.tensor([1, 2.5, True])
    assert t.dtype == np.float32
    _same(t, [1.0, 2.5, 1.0])
    assert pydl.tensor([True, False]).dtype == np.bool_
    assert pydl.tensor([1, 2]).dtype == np.int64
    assert pydl.tensor(np.float64(1.5)).dtype == np.float64  # NumPy scalars keep theirs


def _tensor_of_tensors():
    t = pydl.tensor([pydl.tensor(1.0), pydl.tensor(2.0)])
    _same(t, [1.0, 2.0])
    u = pydl.tensor(t)  # a copy
    u.numpy()[0] = 9
    assert t.numpy()[0] == 1.0


def _zero_d_and_empty():
    z = pydl.tensor(3.5)
    assert z.shape == () and z.item() == 3.5
    e = pydl.tensor([])
    assert e.shape == (0,) and e.dtype == np.float32
    e2 = pydl.tensor(np.zeros((0, 3), np.float64))
    assert e2.shape == (0, 3) and e2.dtype == np.float64
    assert pydl.tensor([[], []]).shape == (2, 0)


works(CASES, f"{C}.tensor.strided_views", _from_strided)
works(CASES, f"{C}.as_tensor.strided_views", _as_tensor_strided_shares)
works(CASES, f"{C}.tensor.mixed_python_numbers", _mixed_list)
works(CASES, f"{C}.tensor.list_of_tensors", _tensor_of_tensors)
works(CASES, f"{C}.tensor.zero_d_and_empty", _zero_d_and_empty)
works(CASES, f"{C}.tensor.uint64_max_fits", lambda: pydl.tensor(2**63 - 1).item() == 2**63 - 1)

# ----- creation ------------------------------------------------------------------------------
C = "create"
for _name in ("zeros", "ones", "empty", "rand", "randn"):
    _fn = getattr(pydl, _name)
    bad(CASES, f"{C}.{_name}.negative", lambda f=_fn: f(2, -3), RuntimeError, r"non-negative.*-3")
    bad(
        CASES,
        f"{C}.{_name}.huge",
        lambda f=_fn: f(HUGE),
        SIZE_ERRORS,
        r"4611686018427387904.*too big",
    )
    bad(
        CASES,
        f"{C}.{_name}.huge_2d",
        lambda f=_fn: f(2**31, 2**31),
        SIZE_ERRORS,
        r"2147483648.*too big",
    )
    bad(CASES, f"{C}.{_name}.float_size", lambda f=_fn: f(2.5), TypeError, r"'size'.*float.*2\.5")
    bad(CASES, f"{C}.{_name}.str_size", lambda f=_fn: f("3"), TypeError, r"'size'.*str")
    bad(
        CASES,
        f"{C}.{_name}.dtype_str",
        lambda f=_fn: f(2, dtype="float32"),
        TypeError,
        r"'dtype'.*string",
    )
    bad(
        CASES,
        f"{C}.{_name}.dtype_complex",
        lambda f=_fn: f(2, dtype=np.complex64),
        TypeError,
        r"complex64 is not supported",
    )
    bad(CASES, f"{C}.{_name}.device", lambda f=_fn: f(2, device="cuda:7"), RuntimeError, r"cuda")
bad(
    CASES,
    f"{C}.rand.int_dtype",
    lambda: pydl.rand(2, dtype=pydl.int64),
    RuntimeError,
    r"floating.*int64",
)
bad(
    CASES,
    f"{C}.randn.bool_dtype",
    lambda: pydl.randn(2, dtype=pydl.bool),
    RuntimeError,
    r"floating.*bool",
)
bad(CASES, f"{C}.full.negative", lambda: pydl.full((2, -1), 1.0), RuntimeError, r"non-negative.*-1")
bad(
    CASES,
    f"{C}.full.huge",
    lambda: pydl.full((HUGE,), 1.0),
    SIZE_ERRORS,
    r"4611686018427387904.*too big",
)
bad(CASES, f"{C}.full.size_int", lambda: pydl.full(3, 1.0), TypeError, r"'size'.*int")
bad(CASES, f"{C}.full.fill_str", lambda: pydl.full((2,), "a"), TypeError, r"fill_value.*str")
bad(CASES, f"{C}.full.fill_none", lambda: pydl.full((2,), None), TypeError, r"fill_value.*NoneType")
bad(CASES, f"{C}.full.fill_complex", lambda: pydl.full((2,), 1j), TypeError, r"fill_value.*complex")
bad(
    CASES,
    f"{C}.arange.step_zero",
    lambda: pydl.arange(0, 1, 0),
    RuntimeError,
    r"step must be nonzero",
)
bad(
    CASES,
    f"{C}.arange.nan_end",
    lambda: pydl.arange(0, float("nan")),
    RuntimeError,
    r"unsupported range.*nan",
)
bad(
    CASES,
    f"{C}.arange.inf_end",
    lambda: pydl.arange(0.0, float("inf")),
    RuntimeError,
    r"unsupported range.*inf",
)
bad(
    CASES,
    f"{C}.arange.wrong_sign",
    lambda: pydl.arange(0, 5, -1),
    RuntimeError,
    r"inconsistent with step sign",
)
bad(
    CASES,
    f"{C}.arange.huge",
    lambda: pydl.arange(HUGE),
    SIZE_ERRORS,
    r"4611686018427387904.*too big",
)
bad(CASES, f"{C}.arange.str", lambda: pydl.arange("5"), TypeError, r"'end'.*str")
bad(CASES, f"{C}.arange.bool_dtype", lambda: pydl.arange(3, dtype=pydl.bool), RuntimeError, r"bool")
bad(
    CASES,
    f"{C}.linspace.negative_steps",
    lambda: pydl.linspace(0, 1, -1),
    RuntimeError,
    r"steps.*non-negative",
)
bad(
    CASES,
    f"{C}.linspace.float_steps",
    lambda: pydl.linspace(0, 1, 2.5),
    TypeError,
    r"'steps'.*float",
)
bad(
    CASES,
    f"{C}.linspace.huge_steps",
    lambda: pydl.linspace(0, 1, HUGE),
    SIZE_ERRORS,
    r"4611686018427387904.*too big",
)
bad(
    CASES,
    f"{C}.logspace.str_base",
    lambda: pydl.logspace(0, 1, 3, base="e"),
    TypeError,
    r"'base'.*str",
)
bad(CASES, f"{C}.eye.negative", lambda: pydl.eye(-1), RuntimeError, r"non-negative.*-1")
bad(CASES, f"{C}.eye.negative_m", lambda: pydl.eye(2, -2), RuntimeError, r"non-negative.*-2")
bad(CASES, f"{C}.eye.float", lambda: pydl.eye(2.0), TypeError, r"float")
bad(CASES, f"{C}.eye.huge", lambda: pydl.eye(2**31), SIZE_ERRORS, r"2147483648.*too big")
bad(
    CASES,
    f"{C}.randint.low_ge_high",
    lambda: pydl.randint(5, 2, (3,)),
    RuntimeError,
    r"low=5.*high=2",
)
bad(CASES, f"{C}.randint.no_size", lambda: pydl.randint(5), TypeError, r"size")
bad(
    CASES,
    f"{C}.randint.negative_size",
    lambda: pydl.randint(5, (2, -1)),
    RuntimeError,
    r"non-negative.*-1",
)
bad(
    CASES,
    f"{C}.randint.huge",
    lambda: pydl.randint(5, (HUGE,)),
    SIZE_ERRORS,
    r"4611686018427387904.*too big",
)
bad(
    CASES,
    f"{C}.randint.float_high",
    lambda: pydl.randint(0, 2.5, (2,)),
    TypeError,
    r"'high'.*int.*2\.5",
)
bad(CASES, f"{C}.randperm.negative", lambda: pydl.randperm(-1), RuntimeError, r"non-negative.*-1")
bad(
    CASES,
    f"{C}.randperm.huge",
    lambda: pydl.randperm(HUGE),
    SIZE_ERRORS,
    r"4611686018427387904.*too big",
)
bad(
    CASES,
    f"{C}.normal.negative_std",
    lambda: pydl.normal(0.0, -1.0, (2,)),
    RuntimeError,
    r"std.*non-negative",
)
bad(
    CASES,
    f"{C}.normal.nan_std",
    lambda: pydl.normal(0.0, float("nan"), (2,)),
    RuntimeError,
    r"std.*nan|std.*non-negative",
)
bad(CASES, f"{C}.normal.no_size", lambda: pydl.normal(0.0, 1.0), TypeError, r"size")
bad(
    CASES,
    f"{C}.normal.huge",
    lambda: pydl.normal(0.0, 1.0, (HUGE,)),
    SIZE_ERRORS,
    r"4611686018427387904.*too big",
)
bad(
    CASES,
    f"{C}.normal.tensor_std_negative",
    lambda: pydl.normal(_t(2), pydl.tensor([1.0, -1.0])),
    RuntimeError,
    r"std.*non-negative",
)
bad(
    CASES,
    f"{C}.multinomial.negative",
    lambda: pydl.multinomial(pydl.tensor([1.0, -1.0]), 1),
    RuntimeError,
    r"non-negative",
)
bad(
    CASES,
    f"{C}.multinomial.too_many",
    lambda: pydl.multinomial(pydl.tensor([1.0, 1.0]), 3),
    RuntimeError,
    r"n_sample \(3\).*\(2\)",
)
bad(
    CASES,
    f"{C}.multinomial.zero_samples",
    lambda: pydl.multinomial(pydl.tensor([1.0]), 0),
    RuntimeError,
    r"num_samples.*0",
)
bad(
    CASES,
    f"{C}.multinomial.3d",
    lambda: pydl.multinomial(pydl.ones(1, 1, 2), 1),
    RuntimeError,
    r"1 or 2 dim",
)
bad(
    CASES,
    f"{C}.bernoulli.p_above_one",
    lambda: pydl.bernoulli(pydl.tensor([0.5, 1.5])),
    RuntimeError,
    r"\[0, 1\]",
)
bad(
    CASES,
    f"{C}.bernoulli.p_nan",
    lambda: pydl.bernoulli(pydl.tensor([float("nan")])),
    RuntimeError,
    r"\[0, 1\]",
)
bad(CASES, f"{C}.zeros_like.list", lambda: pydl.zeros_like([1.0, 2.0]), TypeError, r"'input'.*list")
bad(
    CASES,
    f"{C}.rand_like.int",
    lambda: pydl.rand_like(_idx(1, 2)),
    RuntimeError,
    r"floating.*int64",
)
bad(
    CASES,
    f"{C}.full_like.fill_str",
    lambda: pydl.full_like(_t(2), "x"),
    TypeError,
    r"fill_value.*str",
)
bad(
    CASES,
    f"{C}.tril_indices.negative",
    lambda: pydl.tril_indices(-1, 2),
    RuntimeError,
    r"non-negative.*-1",
)
bad(
    CASES,
    f"{C}.manual_seed.negative",
    lambda: pydl.manual_seed(-1),
    ValueError,
    r"non-negative.*-1",
)
bad(CASES, f"{C}.manual_seed.str", lambda: pydl.manual_seed("1"), ValueError, r"'1'")


def _creation_edges():
    assert pydl.zeros(0, 3).shape == (0, 3)
    assert pydl.zeros(()).shape == ()
    assert pydl.ones([2, 3]).shape == (2, 3)
    _same(pydl.arange(5, 0, -2), [5, 3, 1])
    _same(pydl.arange(0.0, 1.0, 0.25), [0, 0.25, 0.5, 0.75])
    assert np.isnan(pydl.linspace(0, float("nan"), 3).numpy()).all()  # as PyTorch
    _same(pydl.linspace(0, 1, 0), np.zeros(0))
    _same(pydl.eye(2, 3), np.eye(2, 3))
    assert pydl.randint(3, (0,)).shape == (0,)
    assert pydl.randperm(0).shape == (0,)
    assert pydl.full((2,), True).dtype == np.bool_


works(CASES, f"{C}.edges", _creation_edges)

# ----- Tensor methods and views -----------------------------------------------------------------
C = "view"
bad(CASES, f"{C}.reshape.minus_two", lambda: _t(6).reshape(-2, 3), SHAPE, r"-2")
bad(CASES, f"{C}.reshape.two_inferred", lambda: _t(6).reshape(-1, -1), SHAPE, r"\(-1, -1\)")
bad(
    CASES,
    f"{C}.reshape.wrong_numel",
    lambda: _t(6).reshape(4, 2),
    SHAPE,
    r"\(4, 2\).*6|6.*\(4, 2\)",
)
bad(CASES, f"{C}.reshape.inferred_not_divisible", lambda: _t(6).reshape(4, -1), SHAPE, r"\(4, -1\)")
bad(CASES, f"{C}.reshape.float_size", lambda: _t(6).reshape(2.0, 3), TypeError, r"float|2\.0")
bad(CASES, f"{C}.reshape.str_size", lambda: _t(6).reshape("6"), TypeError, r"str|'6'")
bad(CASES, f"{C}.reshape.huge", lambda: _t(6).reshape(HUGE, 0), SHAPE, r"4611686018427387904")
bad(CASES, f"{C}.view.wrong_numel", lambda: _t(2, 3).view(-1, 4), SHAPE, r"\(-1, 4\)")
bad(CASES, f"{C}.permute.duplicate", lambda: _t(2, 3).permute(0, 0), SHAPE, r"\(0, 0\)")
bad(CASES, f"{C}.permute.too_few", lambda: _t(2, 3).permute(0), SHAPE, r"1 dims.*\(2, 3\)")
bad(
    CASES,
    f"{C}.permute.out_of_range",
    lambda: _t(2, 3).permute(0, 2),
    (IndexError, ValueError),
    r"2",
)
bad(
    CASES,
    f"{C}.transpose.out_of_range",
    lambda: _t(2, 3).transpose(0, 2),
    IndexError,
    r"dim 2.*rank 2",
)
bad(
    CASES,
    f"{C}.transpose.negative_out_of_range",
    lambda: _t(2, 3).transpose(-3, 0),
    IndexError,
    r"-3.*rank 2",
)
bad(CASES, f"{C}.t.3d", lambda: _t(2, 3, 4).t(), SHAPE, r"<= 2 dims.*\(2, 3, 4\)")
bad(CASES, f"{C}.squeeze.out_of_range", lambda: _t(2, 3).squeeze(2), IndexError, r"dim 2.*rank 2")
bad(CASES, f"{C}.unsqueeze.out_of_range", lambda: _t(2, 3).unsqueeze(3), IndexError, r"dim 3")
bad(
    CASES,
    f"{C}.unsqueeze.float_dim",
    lambda: _t(2, 3).unsqueeze(1.0),
    TypeError,
    r"dim.*float \(1\.0\)",
)
bad(CASES, f"{C}.flatten.out_of_range", lambda: _t(2, 3).flatten(0, 3), IndexError, r"dim 3")
bad(
    CASES,
    f"{C}.flatten.start_after_end",
    lambda: _t(2, 3, 4).flatten(2, 0),
    SHAPE,
    r"start_dim 2.*end_dim 0",
)
bad(
    CASES,
    f"{C}.narrow.past_end",
    lambda: _t(2, 3).narrow(1, 2, 2),
    (IndexError, RuntimeError),
    r"2.*3",
)
bad(
    CASES,
    f"{C}.narrow.negative_length",
    lambda: _t(2, 3).narrow(1, 0, -1),
    (IndexError, RuntimeError),
    r"-1",
)
bad(CASES, f"{C}.narrow.dim_out_of_range", lambda: _t(2, 3).narrow(2, 0, 1), IndexError, r"dim 2")
bad(
    CASES,
    f"{C}.select.index_out_of_range",
    lambda: _t(2, 3).select(1, 3),
    IndexError,
    r"index 3.*dim 1.*3",
)
bad(CASES, f"{C}.select.dim_out_of_range", lambda: _t(2, 3).select(2, 0), IndexError, r"dim 2")
bad(CASES, f"{C}.expand.mismatch", lambda: _t(2, 3).expand(3, 3), SHAPE, r"\(2, 3\).*\(3, 3\)")
bad(CASES, f"{C}.expand.too_few", lambda: _t(2, 3).expand(3), SHAPE, r"1 sizes.*\(2, 3\)")
bad(CASES, f"{C}.expand.negative", lambda: _t(1, 3).expand(-2, 3), SHAPE, r"-2")
bad(CASES, f"{C}.movedim.out_of_range", lambda: _t(2, 3).movedim(0, 2), IndexError, r"dim 2")
bad(
    CASES,
    f"{C}.unflatten.wrong_product",
    lambda: _t(2, 3).unflatten(1, (2, 2)),
    RuntimeError,
    r"\(2, 2\).*3",
)
bad(CASES, f"{C}.chunk.zero", lambda: _t(2, 3).chunk(0), RuntimeError, r"chunks.*0")
bad(CASES, f"{C}.split.zero", lambda: _t(2, 3).split(0), RuntimeError, r"split_size.*0")
bad(
    CASES,
    f"{C}.split.sizes_wrong_sum",
    lambda: _t(5).split([2, 2]),
    RuntimeError,
    r"\[2, 2\]|sum|5",
)
bad(CASES, f"{C}.repeat.too_few", lambda: _t(2, 3).repeat(2), RuntimeError, r"1 repeats.*2 dims")
bad(CASES, f"{C}.repeat.negative", lambda: _t(2, 3).repeat(1, -1), RuntimeError, r"-1")
bad(CASES, f"{C}.roll.dim_out_of_range", lambda: _t(2, 3).roll(1, 2), IndexError, r"dim 2")
bad(CASES, f"{C}.flip.out_of_range", lambda: _t(2, 3).flip(2), IndexError, r"dim 2")
bad(
    CASES,
    f"{C}.diagonal.same_dims",
    lambda: _t(2, 3).diagonal(0, 0, 0),
    RuntimeError,
    r"dim1 and dim2.*\(0, 0\)",
)
bad(CASES, f"{C}.unbind.out_of_range", lambda: _t(2, 3).unbind(2), IndexError, r"dim 2")
bad(CASES, f"{C}.to.unknown_device", lambda: _t(2).to("foo"), RuntimeError, r"'foo'")
bad(CASES, f"{C}.to.complex_dtype", lambda: _t(2).to(np.complex64), TypeError, r"complex64")
bad(CASES, f"{C}.to.float16", lambda: _t(2).to(np.float16), TypeError, r"float16")
bad(
    CASES,
    f"{C}.to.dtype_kwarg_str",
    lambda: _t(2).to(dtype="float64"),
    TypeError,
    r"'dtype'.*string",
)
bad(CASES, f"{C}.to.dtype_object", lambda: _t(2).to(dtype=object), TypeError, r"object")
bad(
    CASES, f"{C}.new_zeros.negative", lambda: _t(2).new_zeros(-1), RuntimeError, r"non-negative.*-1"
)
bad(CASES, f"{C}.new_tensor.str", lambda: _t(2).new_tensor("abc"), TypeError, r"'data'.*str")
bad(
    CASES,
    f"{C}.requires_grad_.int",
    lambda: _idx(1).requires_grad_(),
    RuntimeError,
    r"floating.*int64",
)


def _views_of_strided():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    t = pydl.from_numpy(a[:, ::-1])
    _same(t.reshape(6, 4), a[:, ::-1].reshape(6, 4))
    _same(t.T, a[:, ::-1].T)
    _same(t.permute(1, 0).flatten(), a[:, ::-1].T.ravel())
    _same(t.narrow(1, 1, 2), a[:, ::-1][:, 1:3])
    _same(t[::2, 1], a[:, ::-1][::2, 1])
    _same(t.unsqueeze(0).squeeze(0), a[:, ::-1])
    _same(t.contiguous(), a[:, ::-1])
    assert t.contiguous().is_contiguous()


def _views_of_zero_size():
    z = pydl.zeros(0, 3)
    assert z.reshape(-1, 3).shape == (0, 3)
    assert z.T.shape == (3, 0)
    assert z.flatten().shape == (0,)
    assert z.unsqueeze(1).shape == (0, 1, 3)
    assert z.expand(0, 3).shape == (0, 3)
    assert pydl.zeros(1, 3).expand(0, 3).shape == (0, 3)
    s = pydl.tensor(2.0)
    assert s.reshape(1, 1).shape == (1, 1) and s.flatten().shape == (1,)
    assert s.unsqueeze(0).shape == (1,) and s.squeeze().shape == ()


works(CASES, f"{C}.strided_numpy", _views_of_strided)
works(CASES, f"{C}.zero_size_and_0d", _views_of_zero_size)

# ----- indexing ---------------------------------------------------------------------------------
C = "index"
bad(CASES, f"{C}.getitem.out_of_range", lambda: _t(2, 3)[2], IndexError, r"index 2.*size 2")
bad(CASES, f"{C}.getitem.negative_out_of_range", lambda: _t(2, 3)[-3], IndexError, r"-3.*size 2")
bad(CASES, f"{C}.getitem.second_axis", lambda: _t(2, 3)[:, 5], IndexError, r"index 5.*size 3")
bad(CASES, f"{C}.getitem.too_many", lambda: _t(2, 3)[0, 0, 0], IndexError, r"too many indices")
bad(CASES, f"{C}.getitem.float", lambda: _t(2, 3)[1.5], IndexError, r"integers|valid indices")
bad(CASES, f"{C}.getitem.str", lambda: _t(2, 3)["a"], (IndexError, TypeError), r"valid indices|str")
bad(
    CASES,
    f"{C}.getitem.none_list",
    lambda: _t(2, 3)[[None, 1]],
    (IndexError, TypeError),
    r"valid indices|NoneType",
)
bad(
    CASES,
    f"{C}.getitem.float_tensor",
    lambda: _t(2, 3)[pydl.tensor([0.5])],
    IndexError,
    r"integer|boolean",
)
bad(
    CASES,
    f"{C}.getitem.list_out_of_range",
    lambda: _t(2, 3)[[0, 5]],
    IndexError,
    r"index 5.*size 2",
)
bad(
    CASES,
    f"{C}.getitem.tensor_out_of_range",
    lambda: _t(2, 3)[_idx(0, -3)],
    IndexError,
    r"-3.*size 2",
)
bad(
    CASES,
    f"{C}.getitem.mask_shape",
    lambda: _t(3)[pydl.tensor([True, False])],
    IndexError,
    r"boolean.*3.*2|2.*3",
)
bad(CASES, f"{C}.getitem.huge", lambda: _t(3)[2**62], IndexError, r"4611686018427387904")
bad(
    CASES,
    f"{C}.setitem.wrong_shape",
    lambda: _t(2, 3).__setitem__(0, _t(4)),
    SHAPE,
    r"\(4,\).*\(2, 3\)|\(4,\).*\(3,\)",
)
bad(
    CASES,
    f"{C}.setitem.out_of_range",
    lambda: _t(2, 3).__setitem__(2, 1.0),
    IndexError,
    r"index 2.*size 2",
)
bad(CASES, f"{C}.setitem.str_value", lambda: _t(2, 3).__setitem__(0, "x"), TypeError, r"str")
bad(
    CASES,
    f"{C}.setitem.complex_value",
    lambda: _t(2, 3).__setitem__(0, np.ones(3, np.complex64)),
    TypeError,
    r"complex64",
)
bad(
    CASES,
    f"{C}.setitem.list_index_out_of_range",
    lambda: _t(4).__setitem__([1, 9], 0.0),
    IndexError,
    r"index 9.*size 4",
)


def _index_strided():
    a = np.arange(20, dtype=np.float32).reshape(4, 5)
    t = pydl.tensor(a)
    idx = np.array([3, 0, 3])[::-1]  # a negative-stride index array
    _same(t[idx], a[idx])
    _same(t[:, ::-1][1:, ::2], a[:, ::-1][1:, ::2])
    _same(t[pydl.tensor(a > 7)], a[a > 7])
    _same(t[..., None, 1], a[..., None, 1])
    _same(t[[]], a[[]])
    t[1:3, ::-2] = np.ones((2, 3), np.float32)[:, ::-1]
    b = a.copy()
    b[1:3, ::-2] = 1
    _same(t, b)


works(CASES, f"{C}.strided_and_empty", _index_strided)

# ----- conversions of values; autograd misuse ---------------------------------------------------
C = "autograd"
bad(
    CASES,
    f"{C}.item.many",
    lambda: _t(2, 3).item(),
    (ValueError, RuntimeError),
    r"6 elements|\(2, 3\)",
)
bad(
    CASES, f"{C}.item.empty", lambda: _t(0).item(), (ValueError, RuntimeError), r"0 elements|\(0,\)"
)
bad(
    CASES,
    f"{C}.float.many",
    lambda: float(_t(2)),
    (ValueError, RuntimeError, TypeError),
    r"2 elements|\(2,\)|one element",
)
bad(
    CASES,
    f"{C}.int.many",
    lambda: int(_t(2)),
    (ValueError, RuntimeError, TypeError),
    r"2 elements|\(2,\)|one element",
)
bad(CASES, f"{C}.bool.many", lambda: bool(_t(2)), RuntimeError, r"ambiguous")
bad(CASES, f"{C}.len.zero_d", lambda: len(pydl.tensor(1.0)), TypeError, r"0-d")
bad(CASES, f"{C}.iter.zero_d", lambda: list(pydl.tensor(1.0)), TypeError, r"0-d")
bad(
    CASES,
    f"{C}.backward.non_scalar",
    lambda: (_leaf(2, 3) * 2).backward(),
    RuntimeError,
    r"scalar outputs.*\(2, 3\)",
)
bad(
    CASES,
    f"{C}.backward.no_grad",
    lambda: _t(2).sum().backward(),
    RuntimeError,
    r"does not require grad",
)
bad(
    CASES,
    f"{C}.backward.gradient_wrong_shape",
    lambda: (_leaf(2, 3) * 2).backward(pydl.ones(3)),
    SHAPE,
    r"\(3,\).*\(2, 3\)",
)
bad(
    CASES,
    f"{C}.backward.gradient_str",
    lambda: (_leaf(2) * 2).backward("x"),
    TypeError,
    r"'gradient'.*str",
)


def _backward_twice():
    x = _leaf(3)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _inplace_leaf():
    _leaf(2).add_(1)


def _inplace_saved():
    x = _leaf(3)
    y = x * 2
    z = (y * y).sum()
    y.mul_(3)
    z.backward()


def _numpy_of_requires_grad():
    """pydl's numpy() is zero-copy for every tensor (DESIGN.md, Storage), also one that
    requires grad, where PyTorch raises: the values are right, so pydl keeps its choice."""
    x = _leaf(2)
    arr = x.numpy()
    _same(arr, [1.0, 1.0])
    assert np.shares_memory(arr, x.detach().numpy())


bad(CASES, f"{C}.backward.twice", _backward_twice, RuntimeError, r"second time.*retain_graph")
bad(
    CASES,
    f"{C}.inplace.leaf_requires_grad",
    _inplace_leaf,
    RuntimeError,
    r"add_.*leaf.*requires grad",
)
bad(
    CASES,
    f"{C}.inplace.saved_value_modified",
    _inplace_saved,
    RuntimeError,
    r"version|in-place|inplace",
)
bad(
    CASES,
    f"{C}.grad.of_non_leaf",
    lambda: pydl.autograd.grad(_t(2).sum(), [_t(2)]),
    RuntimeError,
    r"require",
)


works(CASES, f"{C}.numpy.requires_grad_zero_copy", _numpy_of_requires_grad)

# ----- broadcasting, matmul and linalg shapes ----------------------------------------------------
C = "shape"
bad(CASES, f"{C}.add.broadcast", lambda: _t(2, 3) + _t(3, 2), SHAPE, r"\(2, 3\).*\(3, 2\)")
bad(CASES, f"{C}.mul.broadcast", lambda: pydl.mul(_t(4), _t(3)), SHAPE, r"\(4,\).*\(3,\)")
bad(
    CASES,
    f"{C}.where.broadcast",
    lambda: pydl.where(pydl.ones(2, dtype=pydl.bool), _t(3), _t(2)),
    SHAPE,
    r"\(2,\).*\(3,\)|\(3,\).*\(2,\)",
)
bad(
    CASES,
    f"{C}.add_.broadcast_into_smaller",
    lambda: _t(3).add_(_t(2, 3)),
    SHAPE,
    r"\(2, 3\).*\(3,\)|\(3,\).*\(2, 3\)",
)
bad(CASES, f"{C}.add.list", lambda: pydl.add(_t(2), [1.0, 2.0]), TypeError, r"'b'.*list")
bad(CASES, f"{C}.add.str", lambda: _t(2) + "x", TypeError, r"'b'.*str")
bad(CASES, f"{C}.add.none", lambda: _t(2) + None, TypeError, r"NoneType")
bad(CASES, f"{C}.matmul.mismatch", lambda: _t(2, 3) @ _t(2, 3), SHAPE, r"\(2, 3\).*\(2, 3\)")
bad(
    CASES,
    f"{C}.matmul.zero_d",
    lambda: pydl.matmul(pydl.tensor(2.0), _t(3)),
    SHAPE,
    r"1-?D|0-d|\(\)",
)
bad(
    CASES,
    f"{C}.matmul.batch_mismatch",
    lambda: _t(2, 2, 3) @ _t(3, 3, 2),
    SHAPE,
    r"shapes \(2,\) and \(3,\)|\(2, 2, 3\).*\(3, 3, 2\)",
)
bad(CASES, f"{C}.mm.3d", lambda: pydl.mm(_t(2, 2, 2), _t(2, 2)), SHAPE, r"2-?D|matri|\(2, 2, 2\)")
bad(
    CASES,
    f"{C}.bmm.mismatch",
    lambda: pydl.bmm(_t(2, 2, 3), _t(3, 2, 2)),
    SHAPE,
    r"\(2, 2, 3\).*\(3, 2, 2\)",
)
bad(CASES, f"{C}.bmm.2d", lambda: pydl.bmm(_t(2, 3), _t(3, 2)), SHAPE, r"3-?D|\(2, 3\)")
bad(CASES, f"{C}.dot.mismatch", lambda: pydl.dot(_t(3), _t(4)), SHAPE, r"\(3,\).*\(4,\)")
bad(CASES, f"{C}.dot.2d", lambda: pydl.dot(_t(2, 2), _t(2, 2)), SHAPE, r"1-?D|\(2, 2\)")
bad(CASES, f"{C}.outer.2d", lambda: pydl.outer(_t(3), _t(2, 2)), SHAPE, r"vec2.*\(2, 2\)")
bad(CASES, f"{C}.mv.mismatch", lambda: pydl.mv(_t(2, 3), _t(2)), SHAPE, r"\(2, 3\).*\(2,\)")
bad(CASES, f"{C}.linalg.inv.nonsquare", lambda: LA.inv(_t(2, 3)), SHAPE, r"square.*2 by 3")
bad(CASES, f"{C}.linalg.inv.singular", lambda: LA.inv(pydl.zeros(2, 2)), RuntimeError, r"singular")
bad(CASES, f"{C}.linalg.inv.1d", lambda: LA.inv(_t(3)), SHAPE, r"\(3,\)|2 dim|at least 2")
bad(
    CASES,
    f"{C}.linalg.inv.int",
    lambda: LA.inv(_idx(1, 0, 0, 1).reshape(2, 2)),
    (TypeError, RuntimeError),
    r"int64|floating",
)
bad(CASES, f"{C}.linalg.inv.str", lambda: LA.inv("abc"), TypeError, r"'A'.*str")
bad(
    CASES,
    f"{C}.linalg.solve.mismatch",
    lambda: LA.solve(pydl.eye(2), _t(3)),
    SHAPE,
    r"\(2, 2\).*\(3",
)
bad(
    CASES,
    f"{C}.linalg.solve.singular",
    lambda: LA.solve(pydl.zeros(2, 2), _t(2)),
    RuntimeError,
    r"singular",
)
bad(CASES, f"{C}.linalg.det.1d", lambda: LA.det(_t(3)), SHAPE, r"\(3,\)|square|2 dim")
bad(
    CASES,
    f"{C}.linalg.cholesky.not_pd",
    lambda: LA.cholesky(-pydl.eye(2)),
    RuntimeError,
    r"positive.definite",
)
bad(
    CASES, f"{C}.linalg.eigh.nonsquare", lambda: LA.eigh(_t(2, 3)), SHAPE, r"square|2 by 3|\(2, 3\)"
)
bad(
    CASES,
    f"{C}.linalg.matrix_power.nonsquare",
    lambda: LA.matrix_power(_t(2, 3), 2),
    SHAPE,
    r"square|2 by 3|\(2, 3\)",
)
bad(
    CASES,
    f"{C}.linalg.matrix_power.float_n",
    lambda: LA.matrix_power(pydl.eye(2), 1.5),
    TypeError,
    r"1\.5|int",
)
bad(
    CASES,
    f"{C}.linalg.norm.bad_ord",
    lambda: LA.norm(_t(2, 2), ord="bad"),
    (ValueError, RuntimeError),
    r"'bad'|ord",
)
bad(CASES, f"{C}.linalg.cross.wrong_size", lambda: LA.cross(_t(2), _t(2)), SHAPE, r"3")


def _matmul_strided():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 4)).astype(np.float32)
    b = rng.standard_normal((5, 3)).astype(np.float32)
    _same(pydl.matmul(a.T, b), a.T @ b, rtol=1e-5)
    _same(
        pydl.from_numpy(a[:, ::-1]) @ pydl.from_numpy(b[::-1, :][:4]),
        a[:, ::-1] @ b[::-1][:4],
        rtol=1e-5,
    )
    _same(pydl.matmul(pydl.zeros(2, 0), pydl.zeros(0, 3)), np.zeros((2, 3)))
    _same(pydl.matmul(_t(3), _t(3)), np.arange(3.0) @ np.arange(3.0))
    _same(pydl.mv(a.T, b[:, 0]), a.T @ b[:, 0], rtol=1e-5)
    _same(
        LA.inv(pydl.from_numpy((np.eye(3) * 2)[::-1, ::-1].copy()[::-1])),
        np.linalg.inv((np.eye(3) * 2)[::-1]),
    )


def _broadcast_mixed():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = pydl.tensor(a)
    _same(t + 1, a + 1)
    _same(2.5 * t, 2.5 * a)
    _same(t + a[:, ::-1], a + a[:, ::-1])
    _same(a.T[::-1] - t.T, a.T[::-1] - a.T)
    _same(t * pydl.tensor(3.0), a * 3)
    assert (pydl.tensor([1, 2]) + 0.5).dtype == np.float32  # a Python float is weak
    assert (pydl.tensor([1, 2]) * True).dtype == np.int64
    _same(pydl.zeros(0, 3) + pydl.ones(3), np.zeros((0, 3)))
    _same(pydl.maximum(t, pydl.tensor(2.0)), np.maximum(a, 2))


works(CASES, f"{C}.matmul.strided_and_empty", _matmul_strided)
works(CASES, f"{C}.broadcast.mixed_operands", _broadcast_mixed)

# ----- reductions, sort, scan ---------------------------------------------------------------
C = "reduce"
_REDUCTIONS = ("sum", "mean", "prod", "amax", "amin", "argmax", "argmin", "std", "var",
               "logsumexp", "cumsum", "cumprod", "softmax", "log_softmax", "argsort", "sort",
               "all", "any")  # fmt: skip
for _name in _REDUCTIONS:
    bad(
        CASES,
        f"{C}.{_name}.dim_out_of_range",
        lambda n=_name: getattr(_t(2, 3), n)(2),
        IndexError,
        r"dim 2.*rank 2|range",
    )
bad(
    CASES, f"{C}.sum.duplicate_dims", lambda: _t(2, 3).sum((0, 0)), RuntimeError, r"dim 0.*multiple"
)
bad(
    CASES,
    f"{C}.mean.duplicate_dims",
    lambda: _t(2, 3).mean(dim=(1, -1)),
    RuntimeError,
    r"dim 1.*multiple",
)
bad(CASES, f"{C}.sum.dtype_str", lambda: _t(2).sum(dtype="float64"), TypeError, r"'dtype'.*string")
bad(
    CASES,
    f"{C}.mean.int",
    lambda: _idx(1, 2).mean(),
    RuntimeError,
    r"mean.*Long|mean.*int64|floating",
)
bad(
    CASES,
    f"{C}.max.empty",
    lambda: pydl.zeros(0).max(),
    (RuntimeError, IndexError),
    r"numel\(\) == 0|empty",
)
bad(
    CASES,
    f"{C}.argmax.empty",
    lambda: pydl.zeros(0).argmax(),
    (RuntimeError, IndexError),
    r"numel\(\) == 0|empty",
)
bad(
    CASES,
    f"{C}.max.empty_dim",
    lambda: pydl.zeros(2, 0).max(1),
    (RuntimeError, IndexError),
    r"zero|empty|0",
)
bad(CASES, f"{C}.sum.float_dim", lambda: _t(2, 3).sum(1.0), TypeError, r"dim.*float \(1\.0\)")
bad(CASES, f"{C}.topk.k_too_big", lambda: _t(2, 3).topk(4), RuntimeError, r"k=4.*3")
bad(CASES, f"{C}.topk.k_negative", lambda: _t(2, 3).topk(-1), RuntimeError, r"k=-1")
bad(CASES, f"{C}.topk.str", lambda: pydl.topk("abc", 2), TypeError, r"topk\(\).*str")
bad(CASES, f"{C}.kthvalue.k_zero", lambda: _t(2, 3).kthvalue(0), RuntimeError, r"k=0")
bad(CASES, f"{C}.kthvalue.k_too_big", lambda: _t(2, 3).kthvalue(4), RuntimeError, r"k=4")
bad(
    CASES,
    f"{C}.quantile.q_out_of_range",
    lambda: _t(4).quantile(1.5),
    (ValueError, RuntimeError),
    r"q.*\[0, 1\]|1\.5",
)
bad(CASES, f"{C}.cumsum.str", lambda: pydl.cumsum("abc", 0), TypeError, r"cumsum\(\).*str")
bad(CASES, f"{C}.sort.none", lambda: pydl.sort(None), TypeError, r"sort\(\).*NoneType")


def _reduce_strided_and_empty():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)[::-1, ::2]
    _same(pydl.sum(a, 0), a.sum(0))
    _same(pydl.from_numpy(a).T.mean(1), a.T.mean(1))
    _same(pydl.amax(a.T, 0), a.T.max(0))
    _same(pydl.sort(pydl.from_numpy(a[:, ::-1]), 1).values, np.sort(a[:, ::-1], 1))
    _same(pydl.cumsum(a.T, 1), a.T.cumsum(1))
    _same(pydl.zeros(0, 3).sum(0), np.zeros(3))
    _same(pydl.zeros(0).sum(), np.float32(0))
    _same(pydl.ones(2, 0).sum(1), np.zeros(2))
    _same(pydl.tensor(4.0).sum(), np.float32(4))
    _same(pydl.tensor(4.0).softmax(0), np.float32(1))
    _same(pydl.zeros(0, 3).topk(0, 1).values, np.zeros((0, 0)))


works(CASES, f"{C}.strided_and_empty", _reduce_strided_and_empty)

# ----- cat / stack / masks ------------------------------------------------------------------------
C = "join"
bad(
    CASES,
    f"{C}.cat.empty",
    lambda: pydl.cat([]),
    (ValueError, RuntimeError),
    r"cat.*(non-empty|at least one)",
)
bad(
    CASES,
    f"{C}.stack.empty",
    lambda: pydl.stack([]),
    (ValueError, RuntimeError),
    r"stack.*(non-empty|at least one)",
)
bad(
    CASES, f"{C}.cat.mismatch", lambda: pydl.cat([_t(2, 3), _t(2, 4)]), SHAPE, r"\(2, 3\).*\(2, 4\)"
)
bad(
    CASES,
    f"{C}.cat.rank_mismatch",
    lambda: pydl.cat([_t(2, 3), _t(3)]),
    SHAPE,
    r"\(2, 3\).*\(3,\)|dim",
)
bad(CASES, f"{C}.cat.dim_out_of_range", lambda: pydl.cat([_t(2), _t(2)], 1), IndexError, r"dim 1")
bad(
    CASES,
    f"{C}.cat.tensor_not_list",
    lambda: pydl.cat(_t(2, 3)),
    TypeError,
    r"Tensor|sequence|list",
)
bad(CASES, f"{C}.cat.str_element", lambda: pydl.cat([_t(2), "ab"]), TypeError, r"'tensors'.*str")
bad(
    CASES,
    f"{C}.stack.mismatch",
    lambda: pydl.stack([_t(2, 3), _t(2, 4)]),
    SHAPE,
    r"\(2, 3\).*\(2, 4\)",
)
bad(
    CASES,
    f"{C}.stack.dim_out_of_range",
    lambda: pydl.stack([_t(2), _t(2)], 3),
    IndexError,
    r"dim 3",
)
bad(
    CASES,
    f"{C}.where.float_condition",
    lambda: pydl.where(_t(2), _t(2), _t(2)),
    (TypeError, RuntimeError),
    r"condition.*bool.*float32",
)
bad(
    CASES,
    f"{C}.masked_fill.float_mask",
    lambda: _t(2).masked_fill(_t(2), 1.0),
    (TypeError, RuntimeError),
    r"mask.*bool.*float32",
)
bad(
    CASES,
    f"{C}.masked_fill.int_mask",
    lambda: _t(2).masked_fill(_idx(0, 1), 1.0),
    (TypeError, RuntimeError),
    r"mask.*bool.*int64",
)
bad(
    CASES,
    f"{C}.masked_fill.mask_shape",
    lambda: _t(2, 3).masked_fill(pydl.ones(2, dtype=pydl.bool), 0.0),
    SHAPE,
    r"\(2,\).*\(2, 3\)|\(2, 3\).*\(2,\)",
)
bad(
    CASES,
    f"{C}.masked_fill.str_value",
    lambda: _t(2).masked_fill(pydl.ones(2, dtype=pydl.bool), "x"),
    TypeError,
    r"str",
)
bad(
    CASES,
    f"{C}.masked_select.float_mask",
    lambda: _t(2).masked_select(_t(2)),
    (TypeError, RuntimeError),
    r"mask.*bool",
)
bad(
    CASES,
    f"{C}.masked_scatter.too_few_source",
    lambda: _t(3).masked_scatter(pydl.ones(3, dtype=pydl.bool), _t(2)),
    SHAPE,
    r"source|2|3",
)


def _join_strided():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    _same(pydl.cat([a[:, ::-1], a[::-2]], 0), np.concatenate([a[:, ::-1], a[::-2]], 0))
    _same(pydl.stack([a[::-1], a], 2), np.stack([a[::-1], a], 2))
    _same(pydl.cat([pydl.zeros(0, 4), pydl.tensor(a)]), a)
    _same(pydl.where(pydl.tensor(a > 5), a[::-1], 0.0), np.where(a > 5, a[::-1], 0))
    _same(
        pydl.masked_fill(pydl.tensor(a), pydl.tensor(a[:, ::-1] > 4), -1.0),
        np.where(a[:, ::-1] > 4, -1, a),
    )


works(CASES, f"{C}.strided_and_empty", _join_strided)

# ----- gather / scatter / index ops: out-of-range indices raise, never write out of bounds -
C = "gather"
bad(
    CASES,
    f"{C}.gather.out_of_range",
    lambda: _t(2, 3).gather(1, _idx(3).reshape(1, 1)),
    IndexError,
    r"index 3.*size 3",
)
bad(
    CASES,
    f"{C}.gather.negative",
    lambda: _t(2, 3).gather(1, _idx(-4).reshape(1, 1)),
    IndexError,
    r"-4",
)
bad(
    CASES,
    f"{C}.gather.float_index",
    lambda: _t(2, 3).gather(1, pydl.zeros(1, 1)),
    (TypeError, RuntimeError),
    r"int64|integer|float32",
)
bad(
    CASES,
    f"{C}.gather.rank_mismatch",
    lambda: _t(2, 3).gather(1, _idx(0)),
    SHAPE,
    r"dim|rank|same number",
)
bad(
    CASES,
    f"{C}.gather.dim_out_of_range",
    lambda: _t(2, 3).gather(2, _idx(0).reshape(1, 1)),
    IndexError,
    r"dim 2",
)
bad(
    CASES,
    f"{C}.scatter.out_of_range",
    lambda: _t(2, 3).scatter(1, _idx(5).reshape(1, 1), 1.0),
    IndexError,
    r"index 5.*size 3",
)
bad(
    CASES,
    f"{C}.scatter.huge_index",
    lambda: _t(2, 3).scatter(0, _idx(2**62).reshape(1, 1), 1.0),
    IndexError,
    r"4611686018427387904",
)
bad(
    CASES,
    f"{C}.scatter_add.out_of_range",
    lambda: _t(2, 3).scatter_add(0, _idx(2).reshape(1, 1), _t(1, 1)),
    IndexError,
    r"index 2.*size 2",
)
bad(
    CASES,
    f"{C}.scatter_add.negative",
    lambda: _t(2, 3).scatter_add(0, _idx(-3).reshape(1, 1), _t(1, 1)),
    IndexError,
    r"-3",
)
bad(
    CASES,
    f"{C}.scatter.src_too_small",
    lambda: _t(2, 3).scatter(1, _idx(0, 1, 2).reshape(1, 3), _t(1, 2)),
    SHAPE,
    r"src|\(1, 2\)|\(1, 3\)",
)
bad(
    CASES,
    f"{C}.index_select.out_of_range",
    lambda: _t(2, 3).index_select(0, _idx(2)),
    IndexError,
    r"index 2.*size 2",
)
bad(
    CASES,
    f"{C}.index_select.negative",
    lambda: _t(2, 3).index_select(0, _idx(-1)),
    IndexError,
    r"-1",
)
bad(
    CASES,
    f"{C}.index_select.float_index",
    lambda: _t(2, 3).index_select(0, pydl.tensor([0.0])),
    (TypeError, RuntimeError),
    r"index.*integer.*float32",
)
bad(
    CASES,
    f"{C}.index_select.2d_index",
    lambda: _t(2, 3).index_select(0, _idx(0, 1).reshape(1, 2)),
    (IndexError, RuntimeError, ValueError),
    r"1-?D|1 dim|\(1, 2\)|vector",
)
bad(
    CASES,
    f"{C}.index_add.out_of_range",
    lambda: _t(2, 3).index_add(0, _idx(4), _t(1, 3)),
    IndexError,
    r"index 4.*size 2",
)
bad(
    CASES,
    f"{C}.index_copy.out_of_range",
    lambda: _t(2, 3).index_copy(1, _idx(3), _t(2, 1)),
    IndexError,
    r"index 3.*size 3",
)
bad(
    CASES,
    f"{C}.index_fill.out_of_range",
    lambda: _t(2, 3).index_fill(1, _idx(7), 0.0),
    IndexError,
    r"index 7.*size 3",
)
bad(
    CASES,
    f"{C}.index_put.out_of_range",
    lambda: _t(3).index_put((_idx(3),), _t(1)),
    IndexError,
    r"index 3.*size 3",
)
bad(
    CASES,
    f"{C}.take.out_of_range",
    lambda: _t(2, 3).take(_idx(6)),
    IndexError,
    r"index 6.*6 elements",
)
bad(
    CASES,
    f"{C}.take_along_dim.out_of_range",
    lambda: pydl.take_along_dim(_t(2, 3), _idx(9).reshape(1, 1), 1),
    IndexError,
    r"9",
)
bad(
    CASES,
    f"{C}.gather.str",
    lambda: pydl.gather("abc", 0, _idx(0)),
    TypeError,
    r"gather\(\).*'input'.*str",
)
bad(
    CASES,
    f"{C}.index_select.str",
    lambda: pydl.index_select("abc", 0, _idx(0)),
    TypeError,
    r"index_select\(\).*str",
)
bad(
    CASES,
    f"{C}.scatter.none",
    lambda: pydl.scatter(None, 0, _idx(0), 1.0),
    TypeError,
    r"scatter\(\).*NoneType",
)


def _no_partial_write():
    """An in-place write with one index out of range raises before it writes anything: the
    target keeps its values (the valid indices come first, so a write-as-you-go kernel
    would have changed it)."""
    writes = {
        "scatter_": lambda t: t.scatter_(1, _idx(0, 9).reshape(1, 2), 5.0),
        "scatter_add_": lambda t: t.scatter_add_(1, _idx(0, 9).reshape(1, 2), pydl.ones(1, 2)),
        "scatter_reduce_": lambda t: t.scatter_reduce_(
            1, _idx(0, 9).reshape(1, 2), pydl.ones(1, 2), "sum"
        ),
        "index_add_": lambda t: t.index_add_(0, _idx(0, 5), pydl.ones(2, 3)),
        "index_copy_": lambda t: t.index_copy_(0, _idx(0, 5), pydl.ones(2, 3)),
        "index_fill_": lambda t: t.index_fill_(1, _idx(0, 3), 5.0),
        "index_put_": lambda t: t.index_put_((_idx(0, 2),), pydl.ones(3)),
        "setitem": lambda t: t.__setitem__(_idx(1, -3), 5.0),
    }
    for name, write in writes.items():
        t = _t(2, 3)
        before = t.numpy().copy()
        try:
            write(t)
        except IndexError:
            pass
        else:
            raise AssertionError(f"{name} with an index out of range did not raise")
        assert np.array_equal(t.numpy(), before), f"{name} wrote before it raised"


def _gather_strided():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    idx = np.array([[3, 0], [1, 1], [0, 2]])[:, ::-1]
    _same(
        pydl.gather(pydl.tensor(a[::-1]), 1, pydl.tensor(idx)), np.take_along_axis(a[::-1], idx, 1)
    )
    _same(pydl.index_select(a.T, 0, pydl.tensor(np.array([2, 0]))), a.T[[2, 0]])
    _same(pydl.gather(pydl.zeros(2, 3), 1, pydl.zeros(2, 0, dtype=pydl.int64)), np.zeros((2, 0)))
    out = pydl.zeros(3, 4).scatter_add(1, pydl.tensor(idx), pydl.ones(3, 2))
    expected = np.zeros((3, 4), np.float32)
    np.add.at(expected, (np.arange(3)[:, None], idx), 1)
    _same(out, expected)


works(CASES, f"{C}.inplace.no_partial_write", _no_partial_write)
works(CASES, f"{C}.strided_and_empty", _gather_strided)


# ----- state after a failed call --------------------------------------------------------------
C = "create"


def _failed_draw_keeps_stream():
    """A draw too big to make raises before it reserves its part of the random stream:
    the next draws are the ones an unfailed run gets."""
    pydl.manual_seed(3)
    expected = pydl.randint(10, (4,)).numpy().copy()
    pydl.manual_seed(3)
    for draw in (
        lambda: pydl.randint(10, (HUGE,)),
        lambda: pydl.randperm(HUGE),
        lambda: pydl.randn(HUGE),
        lambda: pydl.rand(2**31, 2**31),
        lambda: pydl.normal(0.0, 1.0, (HUGE,)),
    ):
        try:
            draw()
        except SIZE_ERRORS:
            pass
        else:
            raise AssertionError("a draw of 2**62 values did not raise")
    _same(pydl.randint(10, (4,)), expected)


def _python_numbers_and_lists():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = pydl.tensor(a)
    _same(pydl.cat([[[9.0, 9.0, 9.0]], t]), np.concatenate([[[9, 9, 9]], a]))
    _same(pydl.stack([[1.0, 2.0], np.array([3.0, 4.0])[::-1]]), [[1, 2], [4, 3]])
    _same(pydl.where(t > 2, t, 0.0), np.where(a > 2, a, 0))
    _same(pydl.add(t, 2), a + 2)
    _same(pydl.exp([0.0, 1.0]), np.exp([0.0, 1.0]))
    _same(pydl.sum([[1, 2], [3, 4]], 0), [4, 6])


works(CASES, f"{C}.random.failed_draw_keeps_stream", _failed_draw_keeps_stream)
works(CASES, "shape.python_numbers_and_lists", _python_numbers_and_lists)


# ----- non-tensor values where a tensor goes (past the first argument) -----------------------
C = "gather"
_I = np.zeros((1, 1), np.int64)
for _fn in ("scatter", "scatter_add", "scatter_", "scatter_add_"):
    for _kind, _value, _match in (
        ("str", "abc", r"argument 'src'.*\bstr\b"),
        ("none", None, r"argument 'src'.*NoneType"),
        ("complex", np.ones((1, 1), np.complex64), r"argument 'src'.*complex64"),
    ):
        if _fn.startswith("scatter_add") or _kind != "none":  # scatter(src=None) means value=
            bad(
                CASES,
                f"{C}.{_fn}.src_{_kind}",
                lambda f=_fn, v=_value: getattr(_t(2, 3), f)(0, pydl.tensor(_I), v),
                TypeError,
                _match,
            )
bad(
    CASES,
    f"{C}.scatter_reduce.src_none",
    lambda: _t(2, 3).scatter_reduce(0, pydl.tensor(_I), None, "sum"),
    TypeError,
    r"scatter_reduce\(\): argument 'src'.*NoneType",
)
bad(
    CASES,
    f"{C}.scatter.value_complex",
    lambda: _t(2, 3).scatter(0, pydl.tensor(_I), value=np.complex64(1j)),
    TypeError,
    r"argument 'value'.*complex64",
)
bad(
    CASES,
    f"{C}.index_add.source_none",
    lambda: _t(2, 3).index_add(0, _idx(0), None),
    TypeError,
    r"index_add\(\): argument 'source'.*NoneType",
)
bad(
    CASES,
    f"{C}.gather.index_str",
    lambda: _t(2, 3).gather(0, "abc"),
    TypeError,
    r"gather\(\): index must be an integer tensor.*<U3",
)
bad(
    CASES,
    "shape.div.none",
    lambda: pydl.div(_t(2), None),
    TypeError,
    r"div\(\): argument 'other'.*NoneType",
)
bad(
    CASES,
    "shape.sub.complex",
    lambda: pydl.sub(_t(2), np.ones(2, np.complex64)),
    TypeError,
    r"sub\(\): argument 'b'.*complex64",
)
bad(
    CASES,
    "shape.mul.object",
    lambda: _t(2) * np.array([None, 1]),
    TypeError,
    r"mul\(\): argument 'b'.*object",
)
