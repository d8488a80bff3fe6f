"""Devices (pydl.device, pydl.cuda, pydl.backends.mps), the tensor factories and the dtype
names, against PyTorch where it has the same thing (issue 14)."""

import pickle

import numpy as np
import pytest

import pydl


def _np_dtype(torch_dtype) -> np.dtype:
    return np.dtype(str(torch_dtype).removeprefix("torch."))


def _torch_dtype(torch, dtype):
    return None if dtype is None else getattr(torch, np.dtype(dtype).name)


# ----- devices --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [("cpu",), ("cpu", 0), ("cpu:0",), ("cpu", 3), ("cpu:12",)], ids=str
)
def test_device_matches_torch_device(torch, args):
    d, t = pydl.device(*args), torch.device(*args)
    assert (d.type, d.index) == (t.type, t.index)
    assert str(d) == str(t) and repr(d) == repr(t)


def test_device_equality_hash_and_copies():
    cpu = pydl.device("cpu")
    assert cpu == pydl.device("cpu") and hash(cpu) == hash(pydl.device("cpu"))
    assert pydl.device("cpu", 0) == pydl.device("cpu:0") != cpu  # as torch: the index counts
    assert cpu != "cpu"  # a device is not its string (torch.device("cpu") != "cpu")
    assert len({cpu, pydl.device("cpu"), pydl.device("cpu:0")}) == 2
    assert pydl.device(cpu) == cpu and pydl.device(type="cpu", index=1).index == 1
    assert pickle.loads(pickle.dumps(pydl.device("cpu:2"))) == pydl.device("cpu:2")
    assert str(cpu) == "cpu" and cpu.index is None and cpu.type == "cpu"


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps", "xpu", "meta"])
def test_accelerator_devices_raise_one_clear_error(name):
    with pytest.raises(RuntimeError, match=f"pydl runs on CPUs only; device '{name}'"):
        pydl.device(name)
    with pytest.raises(RuntimeError, match="pydl runs on CPUs only"):
        pydl.zeros(2, device=name)


def test_accelerator_ordinal_and_index_errors():
    with pytest.raises(RuntimeError, match="runs on CPUs only; device 'cuda:0'"):
        pydl.device(0)  # torch.device(0) is the current accelerator's device 0
    with pytest.raises(RuntimeError, match="runs on CPUs only; device 'cuda'"):
        pydl.device("cuda", 1)
    with pytest.raises(RuntimeError, match="Invalid device string: 'cpu:a'"):
        pydl.device("cpu:a")
    with pytest.raises(RuntimeError, match="Invalid device string"):
        pydl.device("cpu:-1")
    with pytest.raises(RuntimeError, match="must not be negative"):
        pydl.device("cpu", -1)
    with pytest.raises(RuntimeError, match="must not include an index"):
        pydl.device("cpu:1", 1)
    with pytest.raises(RuntimeError, match="Expected the device type 'cpu'"):
        pydl.device("gpu")
    with pytest.raises(TypeError, match="'index' must be int, not str"):
        pydl.device("cpu", "0")
    with pytest.raises(TypeError, match="must be a str or a device, not float"):
        pydl.device(1.5)


def test_accelerator_queries_say_none_and_the_usual_idiom_lands_on_cpu():
    assert pydl.cuda.is_available() is False and pydl.cuda.device_count() == 0
    assert pydl.backends.mps.is_available() is False and pydl.backends.mps.is_built() is False
    device = pydl.device("cuda" if pydl.cuda.is_available() else "cpu")
    assert device == pydl.device("cpu")
    x = pydl.ones(2, device=device)
    assert x.to(device) is x and str(device) == "cpu"


# ----- dtype names ------------------------------------------------------------------------


def test_dtype_names_are_pydl_dtypes_of_torchs_names(torch):
    for name in ("float32", "float", "float64", "double", "int64", "long", "int32", "int"):
        assert getattr(pydl, name) == _np_dtype(getattr(torch, name)), name
    for name in ("int16", "short", "int8", "uint8", "bool"):
        assert getattr(pydl, name) == _np_dtype(getattr(torch, name)), name
    assert isinstance(pydl.float32, np.dtype)
    assert pydl.get_default_dtype() == _np_dtype(torch.get_default_dtype())
    assert pydl.promote_types(pydl.int32, pydl.float32) == pydl.float32
    assert pydl.result_type(pydl.ones(2, dtype=pydl.int64), 0.5) == pydl.float32


# ----- factories: dtypes and values against torch ---------------------------------------------

# (factory, args, kwargs): dtype=None means PyTorch's inference.
FACTORY_CALLS = [
    ("zeros", (2, 3), {}),
    ("zeros", ((2, 3),), {}),
    ("zeros", ([4],), {"dtype": np.int32}),
    ("zeros", ((),), {}),
    ("ones", (0, 3), {}),
    ("ones", (3,), {"dtype": np.bool_}),
    ("ones", (2,), {"dtype": np.uint8}),
    ("ones", (2,), {"dtype": np.int16}),
    ("ones", (2,), {"dtype": np.int8}),
    ("empty", (2, 3), {}),
    ("empty", ((2,),), {"dtype": np.float64}),
    ("full", ((2, 2), True), {}),
    ("full", ((2,), 3), {}),
    ("full", ((2,), 3.5), {}),
    ("full", ((), 2.5), {}),
    ("full", ((2,), 3.5), {"dtype": np.int64}),
    ("full", ((2,), True), {"dtype": np.float32}),
    ("full", ((2,), 1), {"dtype": np.float64}),
    ("arange", (5,), {}),
    ("arange", (5.0,), {}),
    ("arange", (1, 2.5), {}),
    ("arange", (0, 1, 0.1), {}),
    ("arange", (5, 0, -1.5), {}),
    ("arange", (0, 10, 3), {}),
    ("arange", (0, 0), {}),
    ("arange", (0.5, 5, 1.5), {"dtype": np.int64}),
    ("arange", (-0.5, 3), {"dtype": np.int64}),
    ("arange", (7,), {"dtype": np.float64}),
    ("arange", (-3, 4, 2), {"dtype": np.int32}),
    ("linspace", (0, 10, 5), {}),
    ("linspace", (0, 10, 5), {"dtype": np.int64}),
    ("linspace", (-3, 7, 6), {"dtype": np.int32}),
    ("linspace", (0, 1, 5), {"dtype": np.float64}),
    ("linspace", (3, 1, 4), {}),
    ("linspace", (0, 1, 1), {}),
    ("linspace", (0, 1, 0), {}),
    ("linspace", (-1.3, 2.9, 17), {}),
]


@pytest.mark.parametrize("name,args,kwargs", FACTORY_CALLS, ids=lambda v: repr(v))
def test_factory_dtype_shape_and_values_match_torch(torch, name, args, kwargs):
    expected = getattr(torch, name)(
        *args, **{k: _torch_dtype(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
    )
    got = getattr(pydl, name)(*args, **kwargs)
    assert isinstance(got, pydl.Tensor)
    assert got.dtype == _np_dtype(expected.dtype)
    assert got.shape == tuple(expected.shape)
    if name != "empty":
        want = expected.numpy()
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like"])
@pytest.mark.parametrize("dtype", [None, np.float64, np.int32])
@pytest.mark.parametrize("like", [np.float32, np.float64, np.int64, np.bool_])
def test_like_factories_take_input_dtype_as_torch(torch, name, dtype, like):
    src = np.arange(6).reshape(2, 3).astype(like)
    kw = {} if dtype is None else {"dtype": dtype}
    tkw = {} if dtype is None else {"dtype": _torch_dtype(torch, dtype)}
    try:
        expected = getattr(torch, name)(torch.from_numpy(src), **tkw)
    except (RuntimeError, NotImplementedError):  # rand_like of an integer dtype
        with pytest.raises(NotImplementedError, match="floating dtypes"):
            getattr(pydl, name)(pydl.tensor(src), **kw)
        return
    got = getattr(pydl, name)(pydl.tensor(src), **kw)
    assert got.dtype == _np_dtype(expected.dtype) and got.shape == tuple(expected.shape)
    if name in ("zeros_like", "ones_like"):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("fill", [2.7, 3, True])
@pytest.mark.parametrize("like", [np.float32, np.int64, np.bool_])
def test_full_like_casts_the_fill_to_input_dtype(torch, fill, like):
    src = np.zeros(3, like)
    expected = torch.full_like(torch.from_numpy(src), fill)
    got = pydl.full_like(pydl.tensor(src), fill)
    assert got.dtype == _np_dtype(expected.dtype)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_random_factories_dtypes_and_seeded_draws(torch, name):
    fn = getattr(pydl, name)
    assert fn(2, 3).dtype == _np_dtype(getattr(torch, name)(2, 3).dtype)
    pydl.manual_seed(5)
    a = fn(4, 5)
    pydl.manual_seed(5)
    b = fn((4, 5))
    pydl.manual_seed(5)
    c = fn([4, 5], dtype=pydl.float64)  # the same stream, drawn in float64
    assert a.shape == (4, 5) and np.array_equal(a.numpy(), b.numpy())
    assert c.dtype == np.float64
    np.testing.assert_allclose(c.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.array_equal(a.numpy(), fn(4, 5).numpy())  # the generator moved on
    if name == "rand":
        assert a.numpy().min() >= 0 and a.numpy().max() < 1
    like = getattr(pydl, f"{name}_like")(a)
    assert like.shape == a.shape and like.dtype == a.dtype


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: pydl.zeros(2, **kw),
        lambda **kw: pydl.ones((2,), **kw),
        lambda **kw: pydl.empty(2, **kw),
        lambda **kw: pydl.full((2,), 1.5, **kw),
        lambda **kw: pydl.rand(2, **kw),
        lambda **kw: pydl.randn(2, **kw),
        lambda **kw: pydl.arange(0.0, 2.0, **kw),
        lambda **kw: pydl.linspace(0, 1, 3, **kw),
        lambda **kw: pydl.zeros_like(pydl.ones(2), **kw),
        lambda **kw: pydl.full_like(pydl.ones(2), 3.0, **kw),
        lambda **kw: pydl.randn_like(pydl.ones(2), **kw),
    ],
)
def test_factories_requires_grad_and_device(make):
    t = make(requires_grad=True, device="cpu")
    assert t.requires_grad and t.is_leaf and t.dtype == np.float32
    t.sum().backward()
    assert t.grad.tolist() == [1.0] * t.numel()
    assert not make(device=pydl.device("cpu", 0)).requires_grad
    # (the random ones refuse the integer dtype itself first, as PyTorch's do)
    with pytest.raises((RuntimeError, NotImplementedError), match="floating"):
        make(dtype=pydl.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="pydl runs on CPUs only"):
        make(device="cuda:0")


def test_like_factories_do_not_inherit_requires_grad():
    x = pydl.ones(2, requires_grad=True)
    assert not pydl.zeros_like(x).requires_grad and not pydl.rand_like(x).requires_grad


@pytest.mark.parametrize("dtype,expected", [(float, np.float64), (int, np.int64), (bool, np.bool_)])
def test_python_types_as_dtypes_as_torch(torch, dtype, expected):
    assert (
        pydl.zeros(2, dtype=dtype).dtype == expected == _np_dtype(torch.zeros(2, dtype=dtype).dtype)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float64"), pydl.long, np.int8])
def test_numpy_dtypes_and_scalar_types_are_accepted(dtype):
    assert pydl.ones(2, dtype=dtype).dtype == np.dtype(dtype)


def test_factory_argument_errors():
    with pytest.raises(TypeError, match="not the string 'float32'"):
        pydl.zeros(2, dtype="float32")  # PyTorch refuses strings too
    with pytest.raises(TypeError, match="dtype float16 is not supported"):
        pydl.ones(2, dtype=np.float16)
    with pytest.raises(TypeError, match="dtype complex64 is not supported"):
        pydl.zeros(2, dtype=np.complex64)
    with pytest.raises(TypeError, match=r"must be a dtype such as pydl.float32, not list"):
        pydl.empty(2, dtype=[1])
    with pytest.raises(TypeError, match="element 1 is tuple"):
        pydl.zeros(2, (3,))
    with pytest.raises(TypeError, match="element 0 is float"):
        pydl.ones(2.0)
    with pytest.raises(RuntimeError, match="Dimension size must be non-negative"):
        pydl.zeros(2, -1)
    with pytest.raises(TypeError, match="'size' must be a tuple of ints, not int"):
        pydl.full(2, 3.0)
    with pytest.raises(TypeError, match="fill_value must be a number"):
        pydl.full((2,), "a")
    with pytest.raises(NotImplementedError, match="floating dtypes, not int64"):
        pydl.rand(2, dtype=pydl.int64)
    with pytest.raises(NotImplementedError, match="floating dtypes, not bool"):
        pydl.randn_like(pydl.ones(2, dtype=pydl.bool))
    with pytest.raises(TypeError, match="'input' must be a Tensor"):
        pydl.zeros_like(np.zeros(2))


def test_range_factory_errors_as_torch(torch):
    for call in (
        lambda m: m.arange(0, 5, 0),
        lambda m: m.arange(0, 5, -1),
        lambda m: m.arange(0.0, 1.0, 0.3, dtype=m.int64),  # the step truncates to 0
        lambda m: m.linspace(0, 1, -1),
    ):
        with pytest.raises((RuntimeError, ValueError)):
            call(torch)
        with pytest.raises(RuntimeError):
            call(pydl)
    with pytest.raises(NotImplementedError, match="bool"):
        pydl.arange(2, dtype=pydl.bool)
    with pytest.raises(TypeError, match="'steps' must be int"):
        pydl.linspace(0, 1, 2.0)
