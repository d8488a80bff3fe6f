"""Module API against torch.nn.Module's: registration, traversal, hooks, state_dict,
containers and reprs."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import pydl
import pydl.nn as nn


def _x(rng, *shape, grad=True):
    return pydl.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=grad)


def test_forward_hooks_order_replace_and_remove(rng):
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    calls = []
    h1 = m[0].register_forward_pre_hook(lambda mod, args: calls.append("pre0"))
    h2 = m[0].register_forward_hook(lambda mod, args, out: calls.append("fwd0"))
    h3 = m[0].register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
    m(_x(rng, 5, 3))
    assert calls == ["pre0", "first", "fwd0"]
    # a pre hook's result replaces the args, a forward hook's the output
    h4 = m[2].register_forward_pre_hook(lambda mod, args: args[0] * 0)
    h5 = m[2].register_forward_hook(lambda mod, args, out: out + 1)
    y = m(_x(rng, 5, 3))
    np.testing.assert_allclose(y.numpy(), 1 + m[2].bias.numpy()[None].repeat(5, 0), rtol=1e-6)
    for h in (h1, h2, h3, h4, h5):
        h.remove()
    calls.clear()
    m(_x(rng, 5, 3))
    assert calls == []


def test_forward_hooks_with_kwargs(rng):
    lin = nn.Linear(3, 3)
    seen = []

    def pre(mod, args, kwargs):
        seen.append(dict(kwargs))
        return args, kwargs

    with lin.register_forward_pre_hook(pre, with_kwargs=True):
        lin(_x(rng, 2, 3))
    lin(_x(rng, 2, 3))  # removed by the with block
    assert seen == [{}]


def test_hooked_module_is_not_fused_in_sequential(rng):
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    outs = []
    m[0].register_forward_hook(lambda mod, args, out: outs.append(out.numpy().copy()))
    x = _x(rng, 2, 3)
    y = m(x)
    assert len(outs) == 1  # Linear ran on its own, then Tanh
    np.testing.assert_allclose(np.tanh(outs[0]), y.numpy(), rtol=1e-6)


def test_full_backward_hooks_match_torch(rng, torch):
    w = rng.standard_normal((4, 3)).astype(np.float32)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    grads = {}
    for lib, mod in (("torch", torch.nn), ("pydl", nn)):
        lin = mod.Linear(3, 4)
        lin.load_state_dict(
            {"weight": w, "bias": np.zeros(4, np.float32)}
            if lib == "pydl"
            else {"weight": torch.tensor(w), "bias": torch.zeros(4)}
        )
        order = []

        def pre(m, grad_output, order=order):
            order.append("pre")
            return (grad_output[0] * 2,)

        def hook(m, grad_input, grad_output, order=order, lib=lib):
            order.append("hook")
            grads[lib] = [
                np.array(g.detach().numpy() if lib == "torch" else g.numpy())
                for g in grad_input + grad_output
            ]
            return (grad_input[0] * 3,)

        lin.register_full_backward_pre_hook(pre)
        lin.register_full_backward_hook(hook)
        xt = (
            torch.tensor(x, requires_grad=True)
            if lib == "torch"
            else pydl.tensor(x, requires_grad=True)
        )
        lin(xt).sum().backward()
        assert order == ["pre", "hook"]
        grads[lib].append(xt.grad.numpy().copy())
    for a, b in zip(grads["pydl"], grads["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_backward_hook_without_input_grad(rng):
    lin = nn.Linear(3, 2)
    got = []
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi, go[0].shape)))
    lin(_x(rng, 4, 3, grad=False)).sum().backward()
    assert got == [((None,), (4, 2))]
    assert lin.weight.grad is not None


def test_registration_and_traversal():
    m = nn.Module()
    m.register_buffer("stat", pydl.zeros(3))
    m.register_buffer("scratch", pydl.zeros(2), persistent=False)
    m.register_parameter("p", nn.Parameter(pydl.ones(2)))
    m.register_parameter("absent", None)
    m.add_module("a", nn.Linear(2, 2))
    m.register_module("b", nn.Sequential(nn.Linear(2, 2)))
    assert m.absent is None
    assert list(m.state_dict()) == ["p", "stat", "a.weight", "a.bias", "b.0.weight", "b.0.bias"]
    assert [n for n, _ in m.named_buffers()] == ["stat", "scratch"]
    assert [n for n, _ in m.named_modules()] == ["", "a", "b", "b.0"]
    assert [n for n, _ in m.named_children()] == ["a", "b"]
    assert m.get_submodule("b.0") is m.b[0]
    assert m.get_parameter("b.0.bias") is m.b[0].bias
    assert m.get_buffer("stat") is m.stat
    with pytest.raises(AttributeError, match="has no attribute `c`"):
        m.get_submodule("b.c")
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("x.y", pydl.zeros(1))
    with pytest.raises(TypeError, match="should be a string"):
        m.add_module(3, nn.Linear(2, 2))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("a", pydl.zeros(1))
    with pytest.raises(TypeError):
        m.register_parameter("q", pydl.zeros(1))
    visited = []
    m.apply(lambda mod: visited.append(type(mod).__name__))
    assert visited == ["Linear", "Linear", "Sequential", "Module"]
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_tied_weights_state_dict_like_torch(torch):
    def build(mod):
        m = mod.Sequential(mod.Linear(3, 3), mod.Linear(3, 3))
        m[1].weight = m[0].weight
        return m

    mine, theirs = build(nn), build(torch.nn)
    assert len(list(mine.parameters())) == len(list(theirs.parameters())) == 3
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in mine.named_modules(remove_duplicate=False)] == [
        n for n, _ in theirs.named_modules(remove_duplicate=False)
    ]
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    mine.load_state_dict(state)  # both keys of the tied weight
    np.testing.assert_array_equal(mine[1].weight.numpy(), state["0.weight"])
    del state["1.weight"]
    assert mine.load_state_dict(state) == ([], [])  # one of them is enough


def test_load_state_dict_strict_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="missing keys"):
        m.load_state_dict({"weight": np.zeros((2, 2), np.float32)})
    with pytest.raises(KeyError):  # as before: a KeyError too
        m.load_state_dict({})
    keys = m.load_state_dict({"weight": np.zeros((2, 2), np.float32), "x": 1}, strict=False)
    assert keys.missing_keys == ["bias"] and keys.unexpected_keys == ["x"]


def test_zero_grad_and_train_eval(rng):
    m = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    m(_x(rng, 4, 3)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert np.all(m[0].weight.grad.numpy() == 0)
    m.zero_grad()
    assert m[0].weight.grad is None
    assert not m.eval()[1].training and m.train()[1].training


def test_containers_like_torch(torch):
    seq = nn.Sequential(OrderedDict([("a", nn.Linear(2, 3)), ("b", nn.ReLU())]))
    assert list(seq._modules) == ["a", "b"]
    assert isinstance(seq[0:1], nn.Sequential) and list(seq[0:1]._modules) == ["a"]
    seq.append(nn.Linear(3, 1)).insert(1, nn.Tanh())
    seq.extend([nn.Sigmoid()])
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "ReLU", "Linear", "Sigmoid"]
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    assert len(seq + nn.Sequential(nn.ReLU())) == 5
    ml = nn.ModuleList([nn.Linear(2, 2)])
    ml.extend([nn.ReLU(), nn.Tanh()])
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml[1:3]] == ["Linear", "ReLU"]
    assert type(ml[-1]).__name__ == "Tanh"
    md = nn.ModuleDict({"x": nn.Linear(2, 2)})
    md["y"] = nn.ReLU()
    assert list(md.keys()) == ["x", "y"] and "x" in md and len(md) == 2
    assert list(nn.Module.state_dict(md)) == ["x.weight", "x.bias"]
    pl = nn.ParameterList([nn.Parameter(pydl.zeros(2)), pydl.ones(3)])
    assert isinstance(pl[1], nn.Parameter) and len(list(pl.parameters())) == 2
    pd = nn.ParameterDict({"w": nn.Parameter(pydl.zeros(2))})
    pd["v"] = pydl.ones(1)
    assert list(pd.state_dict()) == ["w", "v"]
    # reprs, nested, as PyTorch prints them
    for build in (
        lambda mod: mod.Sequential(mod.Linear(2, 3), mod.Sequential(mod.ReLU(), mod.Flatten())),
        lambda mod: mod.ModuleList([mod.Linear(2, 2) for _ in range(3)] + [mod.ReLU()]),
        lambda mod: mod.ModuleDict({"a": mod.Conv2d(1, 2, 3), "b": mod.Unflatten(1, (2, 3))}),
        lambda mod: mod.Sequential(),
    ):
        assert repr(build(nn)) == repr(build(torch.nn))


def test_parameter_list_repr(torch):
    def build(mod, lib):
        return mod.ParameterList([mod.Parameter(lib.zeros((3, 4))), mod.Parameter(lib.zeros(2))])

    mine, theirs = build(nn, pydl), build(torch.nn, torch)
    assert repr(mine) == repr(theirs).replace("torch", "pydl")
    one = nn.ParameterList([nn.Parameter(pydl.zeros((3, 4)))])  # PyTorch prints one inline
    assert repr(one) == "ParameterList(  (0): Parameter containing: [pydl.float32 of size 3x4])"


def test_unflatten_flatten(rng, torch):
    x = rng.standard_normal((2, 6, 5)).astype(np.float32)
    y = nn.Unflatten(1, (2, -1))(pydl.tensor(x))
    assert y.shape == (2, 2, 3, 5)
    assert nn.Flatten(0, 1)(y).shape == (4, 3, 5)
    assert repr(nn.Flatten(0, 1)) == repr(torch.nn.Flatten(0, 1))
    with pytest.raises(TypeError, match="unflattened_size"):
        nn.Unflatten(1, 3)


@pytest.mark.parametrize("fused", [False, True])
def test_linear_reads_weight_as_getattr_does(rng, fused):
    """Linear's hot path reads its weight and bias without Module.__getattr__
    (nn.module.module_attr); what it reads must stay what `lin.weight` gives: the
    registered parameter, or a plain tensor set over it (as a parametrization does)."""
    lin = nn.Linear(3, 4)
    model = nn.Sequential(lin, nn.Tanh()) if fused else lin
    x = pydl.tensor(rng.standard_normal((2, 3)).astype(np.float32))

    def expected() -> np.ndarray:
        y = x.numpy() @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
        return np.tanh(y) if fused else y

    np.testing.assert_allclose(model(x).detach().numpy(), expected(), rtol=1e-5, atol=1e-6)
    del lin.weight
    lin.weight = pydl.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    assert "weight" not in dict(lin.named_parameters())
    np.testing.assert_allclose(model(x).detach().numpy(), expected(), rtol=1e-5, atol=1e-6)
    del lin.weight
    with pytest.raises(AttributeError, match="weight"):
        model(x)
