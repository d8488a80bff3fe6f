"""The Module API given bad input (Note [Bad-input corpus]): registering parameters,
buffers and submodules under bad names or of wrong types, reassigning registered names
with the wrong kind of value, Module.to with bad dtypes and devices, train('yes'), apply and
hooks with non-callables, lookups of missing members; and unusual but valid uses."""

import numpy as np
from corpus import bad, works

import pydl
from pydl import nn

CASES: list = []


def _m():
    return nn.Linear(3, 2)


def _call(method, *args, **kwargs):
    return lambda: getattr(_m(), method)(*args, **kwargs)


def _p():
    return nn.Parameter(np.ones(2, np.float32))


# ----- registration -------------------------------------------------------------------------

bad(
    CASES,
    "module.register_buffer.name_int",
    _call("register_buffer", 3, pydl.ones(2)),
    TypeError,
    r"buffer name should be a string.*int",
)
bad(
    CASES,
    "module.register_buffer.name_empty",
    _call("register_buffer", "", pydl.ones(2)),
    KeyError,
    r"buffer name can\W+t be empty",
)
bad(
    CASES,
    "module.register_buffer.name_dot",
    _call("register_buffer", "a.b", pydl.ones(2)),
    KeyError,
    r"buffer name can\W+t contain \W+\.\W+, got: a\.b",
)
bad(
    CASES,
    "module.register_buffer.name_taken",
    _call("register_buffer", "weight", pydl.ones(2)),
    KeyError,
    r"attribute 'weight' already exists",
)
bad(
    CASES,
    "module.register_buffer.ndarray",
    _call("register_buffer", "b", np.ones(2)),
    TypeError,
    r"ndarray.*buffer 'b'",
)
bad(
    CASES,
    "module.register_buffer.list",
    _call("register_buffer", "b", [1.0, 2.0]),
    TypeError,
    r"list.*buffer 'b'",
)
bad(
    CASES,
    "module.register_buffer.persistent_str",
    _call("register_buffer", "b", pydl.ones(2), persistent="no"),
    TypeError,
    r"persistent.*bool.*'no'",
)
bad(
    CASES,
    "module.register_parameter.tensor",
    _call("register_parameter", "p", pydl.ones(2)),
    TypeError,
    r"Tensor.*parameter 'p'.*Parameter or None",
)
bad(
    CASES,
    "module.register_parameter.ndarray",
    _call("register_parameter", "p", np.ones(2)),
    TypeError,
    r"ndarray.*parameter 'p'",
)
bad(
    CASES,
    "module.register_parameter.name_none",
    _call("register_parameter", None, _p()),
    TypeError,
    r"parameter name should be a string.*NoneType",
)
bad(
    CASES,
    "module.register_parameter.name_dot",
    _call("register_parameter", "x.y", _p()),
    KeyError,
    r"parameter name can\W+t contain.*x\.y",
)
bad(
    CASES,
    "module.register_parameter.name_taken_by_method",
    _call("register_parameter", "forward", _p()),
    KeyError,
    r"attribute 'forward' already exists",
)
bad(
    CASES,
    "module.add_module.not_module",
    _call("add_module", "sub", "relu"),
    TypeError,
    r"str is not a Module subclass",
)
bad(
    CASES,
    "module.add_module.function",
    _call("add_module", "sub", np.tanh),
    TypeError,
    r"ufunc is not a Module subclass",
)
bad(
    CASES,
    "module.add_module.name_int",
    _call("add_module", 0, nn.ReLU()),
    TypeError,
    r"module name should be a string.*int",
)
bad(
    CASES,
    "module.add_module.name_empty",
    _call("add_module", "", nn.ReLU()),
    KeyError,
    r"module name can\W+t be empty",
)
bad(
    CASES,
    "module.add_module.name_dot",
    _call("add_module", "a.b", nn.ReLU()),
    KeyError,
    r"module name can\W+t contain.*a\.b",
)
bad(
    CASES,
    "module.register_module.not_module",
    _call("register_module", "sub", 3),
    TypeError,
    r"int is not a Module subclass",
)
bad(
    CASES,
    "module.Parameter.int_array",
    lambda: nn.Parameter(np.arange(3)),
    TypeError,
    r"Parameter must be floating point.*int64",
)
bad(CASES, "module.Parameter.str", lambda: nn.Parameter("abc"), TypeError, r"str|<U3")


class _NoInit(nn.Module):
    def __init__(self):
        self.w = nn.Parameter(np.ones(2, np.float32))


bad(CASES, "module.init.without_super", _NoInit, AttributeError, r"super\(\)\.__init__\(\)")


def _assign(name, value):
    def call():
        m = _m()
        setattr(m, name, value)
        return m

    return call


bad(
    CASES,
    "module.setattr.tensor_as_parameter",
    _assign("weight", pydl.ones(2, 3)),
    TypeError,
    r"cannot assign 'Tensor' as parameter 'weight'.*Parameter or None",
)
bad(
    CASES,
    "module.setattr.ndarray_as_parameter",
    _assign("weight", np.ones((2, 3))),
    TypeError,
    r"cannot assign 'ndarray' as parameter 'weight'",
)
bad(
    CASES,
    "module.setattr.str_as_buffer",
    lambda: setattr(nn.BatchNorm1d(2), "running_mean", "zeros"),
    TypeError,
    r"str.*buffer 'running_mean'",
)


def _str_as_child():
    s = nn.Sequential(nn.Linear(2, 2))
    s.extra = nn.ReLU()
    s.extra = "relu"


bad(
    CASES,
    "module.setattr.str_as_child",
    _str_as_child,
    TypeError,
    r"cannot assign 'str' as child module 'extra'",
)


def _none_as_child():
    s = nn.Sequential(nn.Linear(2, 2))
    s.extra = nn.ReLU()
    s.extra = None
    assert "extra" not in dict(s.named_children()) and s.extra is None


works(CASES, "module.setattr.none_as_child", _none_as_child)


def _none_as_parameter():
    m = _m()
    m.bias = None
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    assert m(pydl.ones(1, 3)).shape == (1, 2)


works(CASES, "module.setattr.none_as_parameter", _none_as_parameter)


def _tensor_to_buffer():
    bn = nn.BatchNorm1d(2)
    bn.running_mean = pydl.tensor(np.array([1.0, 2.0], np.float32))
    assert "running_mean" in dict(bn.named_buffers())


works(CASES, "module.setattr.tensor_to_buffer", _tensor_to_buffer)

# ----- to / dtypes / devices ----------------------------------------------------------------

bad(CASES, "module.to.int_dtype", _call("to", pydl.int64), TypeError, r"floating point.*int64")
bad(CASES, "module.to.bool_dtype", _call("to", dtype=pydl.bool), TypeError, r"floating point.*bool")
bad(CASES, "module.to.numpy_complex", _call("to", np.complex64), TypeError, r"complex64")
bad(CASES, "module.to.bogus_string", _call("to", "gpu"), RuntimeError, r"device.*gpu")
bad(CASES, "module.to.cuda", _call("to", "cuda"), RuntimeError, r"cuda")
bad(CASES, "module.to.int", _call("to", 3.5), TypeError, r"Module\.to.*float")
bad(
    CASES,
    "module.to.unknown_kwarg",
    _call("to", dtyp=pydl.float64),
    TypeError,
    r"unexpected keyword arguments \['dtyp'\]",
)
bad(
    CASES,
    "module.to.three_args",
    _call("to", "cpu", pydl.float64, True, 4),
    TypeError,
    r"at most 2 positional",
)
bad(CASES, "module.half", _call("half"), TypeError, r"float16 is not supported")
bad(CASES, "module.cuda", _call("cuda"), RuntimeError, r"cuda")


def _to_double_keeps_parameters():
    m = _m()
    w = m.weight
    opt = pydl.optim.SGD(m.parameters(), lr=0.1)
    m.to(pydl.float64)
    assert m.weight is w and w.dtype == pydl.float64 and opt.param_groups[0]["params"][0] is w


works(CASES, "module.to.double_in_place", _to_double_keeps_parameters)
works(CASES, "module.to.tensor", lambda: _m().to(pydl.zeros(1, dtype=pydl.float64)))
works(CASES, "module.to.cpu_and_dtype", lambda: _m().to("cpu", pydl.float64))

# ----- modes, apply, hooks ------------------------------------------------------------------

bad(
    CASES,
    "module.train.str",
    _call("train", "yes"),
    ValueError,
    r"training mode is expected to be boolean",
)
bad(
    CASES,
    "module.train.int",
    _call("train", 1),
    ValueError,
    r"training mode is expected to be boolean",
)
bad(
    CASES,
    "module.requires_grad_.str",
    _call("requires_grad_", "no"),
    TypeError,
    r"requires_grad.*bool.*'no'",
)
bad(CASES, "module.apply.not_callable", _call("apply", 3), TypeError, r"apply.*fn.*callable.*int")
bad(CASES, "module.apply.none", _call("apply", None), TypeError, r"apply.*fn.*callable.*NoneType")
bad(
    CASES,
    "module.register_forward_hook.not_callable",
    _call("register_forward_hook", "print"),
    TypeError,
    r"hook.*callable.*str",
)
bad(
    CASES,
    "module.register_forward_pre_hook.not_callable",
    _call("register_forward_pre_hook", 1),
    TypeError,
    r"hook.*callable.*int",
)
bad(
    CASES,
    "module.register_full_backward_hook.not_callable",
    _call("register_full_backward_hook", None),
    TypeError,
    r"hook.*callable.*NoneType",
)
bad(
    CASES,
    "module.register_full_backward_pre_hook.not_callable",
    _call("register_full_backward_pre_hook", [print]),
    TypeError,
    r"hook.*callable.*list",
)


def _pre_hook_bad_return():
    m = _m()
    m.register_forward_pre_hook(lambda mod, args, kwargs: "x", with_kwargs=True)
    m(pydl.ones(1, 3))


bad(
    CASES,
    "module.forward_pre_hook.bad_return",
    _pre_hook_bad_return,
    RuntimeError,
    r"forward pre-hook must return None or a tuple",
)


def _backward_hook_wrong_count():
    m = _m()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    m(pydl.ones(1, 3, requires_grad=True)).sum().backward()


bad(
    CASES,
    "module.full_backward_hook.wrong_count",
    _backward_hook_wrong_count,
    RuntimeError,
    r"backward hook returned an invalid number of grad_input: got 2, expected 1",
)


def _backward_hook_wrong_shape():
    m = _m()
    m.register_full_backward_hook(lambda mod, gi, go: (pydl.ones(5, 5),))
    m(pydl.ones(1, 3, requires_grad=True)).sum().backward()


bad(
    CASES,
    "module.full_backward_hook.wrong_shape",
    _backward_hook_wrong_shape,
    RuntimeError,
    r"hook.*shape.*\(5, 5\).*\(1, 3\)",
)


def _hook_raises():
    m = _m()

    def hook(mod, args, out):
        raise ValueError("hook says no")

    m.register_forward_hook(hook)
    m(pydl.ones(1, 3))


bad(CASES, "module.forward_hook.raises", _hook_raises, ValueError, r"hook says no")


def _forward_hook_replaces_output():
    m = _m()
    with m.register_forward_hook(lambda mod, args, out: out * 0):
        assert float(m(pydl.ones(1, 3)).abs().sum()) == 0
    assert float(m(pydl.ones(1, 3)).abs().sum()) > 0


works(CASES, "module.forward_hook.context_manager", _forward_hook_replaces_output)

# ----- lookups, traversal, state_dict -------------------------------------------------------

bad(
    CASES,
    "module.Module.no_forward",
    lambda: nn.Module()(pydl.ones(1)),
    NotImplementedError,
    r"Module does not define forward\(\)",
)
bad(
    CASES,
    "module.get_submodule.missing",
    lambda: nn.Sequential(nn.ReLU()).get_submodule("1"),
    AttributeError,
    r"has no attribute `1`",
)
bad(
    CASES,
    "module.get_submodule.through_parameter",
    lambda: nn.Sequential(_m()).get_submodule("0.weight.x"),
    AttributeError,
    r"`weight`",
)
bad(
    CASES,
    "module.get_parameter.missing",
    lambda: nn.Sequential(_m()).get_parameter("0.scale"),
    AttributeError,
    r"no parameter `scale`",
)
bad(
    CASES,
    "module.get_buffer.missing",
    lambda: nn.Sequential(_m()).get_buffer("0.running_mean"),
    AttributeError,
    r"no buffer `running_mean`",
)
bad(
    CASES,
    "module.getattr.missing",
    lambda: _m().wieght,
    AttributeError,
    r"'Linear' object has no attribute 'wieght'",
)
bad(
    CASES,
    "module.state_dict.prefix_int",
    lambda: _m().state_dict(prefix=3),
    TypeError,
    r"prefix.*str.*int",
)
bad(
    CASES,
    "module.named_modules.prefix_int",
    lambda: list(nn.Sequential(_m()).named_modules(prefix=1)),
    TypeError,
    r"prefix.*str.*int",
)
bad(CASES, "module.state_dict.positional", lambda: _m().state_dict({}), TypeError, r"positional")


def _prefixed_state_dict():
    sd = nn.Sequential(_m()).state_dict(prefix="model.")
    assert list(sd) == ["model.0.weight", "model.0.bias"]
    sd2 = nn.Sequential(_m()).state_dict(destination={"x": 1}, prefix="m.")
    assert list(sd2) == ["x", "m.0.weight", "m.0.bias"]


works(CASES, "module.state_dict.prefix", _prefixed_state_dict)


def _shared_module_listed_once():
    shared = _m()
    s = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in s.named_modules()] == ["", "0", "1"]
    assert len(list(s.parameters())) == 2
    assert [n for n, _ in s.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]


works(CASES, "module.named_modules.shared", _shared_module_listed_once)


def _empty_module():
    m = nn.Module()
    assert list(m.parameters()) == [] and m.state_dict() == {} and m.train() is m


works(CASES, "module.Module.empty", _empty_module)
