"""Module API, layers, optimizers (core step vs reference step, and vs PyTorch when present)."""

import numpy as np
import pytest

import pydl
from pydl import nn, optim


def test_module_registration_and_state_dict():
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2, bias=False))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight"]
    assert len(list(model.children())) == 3
    state = model.state_dict()
    other = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2, bias=False))
    other.load_state_dict(state)
    x = pydl.randn(5, 4)
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())
    with pytest.raises(KeyError):
        other.load_state_dict({"0.weight": state["0.weight"]})
    with pytest.raises(ValueError, match="shape"):
        other.load_state_dict({**state, "0.bias": np.zeros(7)})


def test_train_eval_flags():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_prelu_and_maxout_modules_learn():
    m = nn.PReLU(3)
    x = pydl.tensor(-np.ones((2, 3, 4), np.float32))
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [-8.0, -8.0, -8.0])
    mo = nn.Maxout(5, 4, pool_size=3)
    assert mo(pydl.randn(2, 5)).shape == (2, 4)


def test_activation_modules_match_functional():
    x = pydl.randn(3, 5)
    F = nn.functional
    pairs = [(nn.ReLU(), F.relu), (nn.GELU(approximate="tanh"), lambda t: F.gelu(t, "tanh")),
             (nn.LeakyReLU(0.2), lambda t: F.leaky_relu(t, 0.2)), (nn.Softmax(dim=0),
             lambda t: F.softmax(t, 0)), (nn.HardSigmoid(), F.hard_sigmoid)]
    for module, fn in pairs:
        np.testing.assert_array_equal(module(x).numpy(), fn(x).numpy())


def _optimizer_run(backend, make_opt, steps=20):
    pydl.set_backend(backend)
    rng = np.random.default_rng(5)
    shapes = [(1,), (7, 5), (2, 3, 4)]
    params = [nn.Parameter(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    opt = make_opt(params)
    for _ in range(steps):
        for p in params:
            p.grad = pydl.tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
    return [p.numpy() for p in params]


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
    "sgd_dampening": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.9),
    "sgd_nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam_wd": lambda p: optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_core_matches_reference(name):
    core = _optimizer_run("core", OPTIMIZERS[name])
    ref = _optimizer_run("reference", OPTIMIZERS[name])
    for c, r in zip(core, ref):
        np.testing.assert_allclose(c, r, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    mine = _optimizer_run("core", OPTIMIZERS[name])
    rng = np.random.default_rng(5)
    shapes = [(1,), (7, 5), (2, 3, 4)]
    params = [torch.nn.Parameter(torch.tensor(rng.standard_normal(s).astype(np.float32)))
              for s in shapes]
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[name.split("_")[0]]
    kwargs = dict(OPTIMIZERS[name]([nn.Parameter(np.zeros(1, np.float32))]).defaults)
    kwargs.pop("maximize", None)
    opt = cls(params, **kwargs)
    for _ in range(20):
        for p in params:
            p.grad = torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32))
        opt.step()
    for m, p in zip(mine, params):
        np.testing.assert_allclose(m, p.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_sgd_spec_momentum_form():
    # The spec's v = beta v + (1 - beta) g is dampening = beta.
    p = nn.Parameter(np.zeros(1, np.float32))
    opt = optim.SGD([p], lr=1.0, momentum=0.9, dampening=0.9)
    v = 0.0
    for step, g in enumerate([1.0, 2.0, -1.0]):
        p.grad = pydl.tensor([g])
        opt.step()
        v = g if step == 0 else 0.9 * v + 0.1 * g  # PyTorch: the first buffer is g itself
    assert p.numpy()[0] == pytest.approx(-(1.0 + (0.9 + 0.2) + (0.9 * 1.1 - 0.1)), rel=1e-6)


def test_optimizer_state_dict_resume_is_bit_identical():
    def make():
        pydl.manual_seed(3)
        model = nn.Linear(4, 3)
        return model, optim.Adam(model.parameters(), lr=0.01)

    x = pydl.tensor(np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32))

    def step(model, opt):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()

    m1, o1 = make()
    for _ in range(3):
        step(m1, o1)
    snapshot, opt_state = m1.state_dict(), o1.state_dict()
    for _ in range(2):
        step(m1, o1)
    m2, o2 = make()
    m2.load_state_dict(snapshot)
    o2.load_state_dict(opt_state)
    for _ in range(2):
        step(m2, o2)
    np.testing.assert_array_equal(m1.weight.numpy(), m2.weight.numpy())


def test_param_groups_have_their_own_lr():
    a, b = nn.Parameter(np.ones(2, np.float32)), nn.Parameter(np.ones(2, np.float32))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = pydl.tensor([1.0, 1.0])
    b.grad = pydl.tensor([1.0, 1.0])
    opt.step()
    np.testing.assert_allclose(a.numpy(), 0.9)
    np.testing.assert_allclose(b.numpy(), 0.5)
