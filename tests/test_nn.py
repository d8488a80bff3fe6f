"""Module API and layers (optimizers: test_optim.py)."""

import numpy as np
import pytest

import pydl
from pydl import nn, optim
import pydl.nn.functional as F


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
    pairs = [
        (nn.ReLU(), F.relu),
        (nn.GELU(approximate="tanh"), lambda t: F.gelu(t, "tanh")),
        (nn.LeakyReLU(0.2), lambda t: F.leaky_relu(t, 0.2)),
        (nn.Softmax(dim=0), lambda t: F.softmax(t, 0)),
        (nn.HardSigmoid(), F.hard_sigmoid),
    ]
    for module, fn in pairs:
        np.testing.assert_array_equal(module(x).numpy(), fn(x).numpy())


def test_param_groups_have_their_own_lr():
    a, b = nn.Parameter(np.ones(2, np.float32)), nn.Parameter(np.ones(2, np.float32))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = pydl.tensor([1.0, 1.0])
    b.grad = pydl.tensor([1.0, 1.0])
    opt.step()
    np.testing.assert_allclose(a.numpy(), 0.9)
    np.testing.assert_allclose(b.numpy(), 0.5)


def test_sequential_fuses_linear_and_activation(monkeypatch):
    """Sequential runs Linear + Tanh/ReLU/Sigmoid/GELU as one F.linear call with the
    activation in the GEMM's epilogue; outputs and gradients are those of the modules
    applied one by one. GELU's tanh form and subclasses of either module are not fused."""

    class Shifted(nn.Linear):
        def forward(self, x):
            return super().forward(x) + 1.0

    class Scaled(nn.Tanh):
        def forward(self, x):
            return super().forward(x) * 2.0

    layers = [
        nn.Linear(5, 7),
        nn.Tanh(),
        nn.Linear(7, 6),
        nn.ReLU(),
        nn.Linear(6, 4),
        nn.Sigmoid(),
        nn.Linear(4, 4),
        nn.GELU(),
        nn.Linear(4, 3),
        nn.GELU("tanh"),
        Shifted(3, 3),
        nn.Tanh(),
        nn.Linear(3, 3),
        Scaled(),
    ]
    model = nn.Sequential(*layers)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 5)).astype(np.float32)

    fused = []
    linear = pydl.functional.linear
    monkeypatch.setattr(
        pydl.functional,
        "linear",
        lambda *a, activation=None, **k: (
            fused.append(activation),
            linear(*a, activation=activation, **k),
        )[1],
    )
    out = model(pydl.tensor(x))
    assert fused == ["tanh", "relu", "sigmoid", "gelu", None, None, None]
    out.sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]

    model.zero_grad()
    y = pydl.tensor(x)
    for layer in layers:  # unfused
        y = layer(y)
    y.sum().backward()
    np.testing.assert_allclose(out._array, y._array, rtol=1e-5, atol=1e-6)
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_modules_with_generated_activations_pickle():
    import pickle

    # (no Linear: a pickled parameter's dtype is issue 15's bug)
    model = nn.Sequential(nn.Tanh(), nn.ReLU(), nn.LeakyReLU(0.2), nn.Swish())
    clone = pickle.loads(pickle.dumps(model))
    x = pydl.tensor([[-1.0, 0.5, 2.0]])
    np.testing.assert_array_equal(clone(x).numpy(), model(x).numpy())
    assert repr(clone[2]) == "LeakyReLU(negative_slope=0.2)"


def test_maxout_pool_size_must_be_positive():
    with pytest.raises(ValueError, match="pool_size"):
        F.maxout(pydl.ones(2, 4), 0)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_and_state_dict_exchange_with_pytorch(momentum, torch):
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    ours = nn.BatchNorm1d(3, momentum=momentum)
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum)
    for k in range(3):
        ours(pydl.tensor(x * (1 + k)))
        theirs(torch.tensor(x * (1 + k)))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        want = getattr(theirs, name).detach().numpy()
        np.testing.assert_allclose(getattr(ours, name).numpy(), want, rtol=1e-5, atol=1e-6)
    # PyTorch's state_dict (with num_batches_tracked) loads as is
    fresh = nn.BatchNorm1d(3)
    fresh.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert sorted(fresh.state_dict()) == sorted(theirs.state_dict())
    assert fresh.num_batches_tracked.item() == 3


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((3, 2, 4), dict(stats=True, affine=True, momentum=0.0)),
        ((3, 2, 3, 4), dict(stats=True, affine=True, momentum=-1.0, eps=0.5)),
        ((3, 2, 3, 4), dict(stats=True, affine=True, momentum=0.3)),
        ((3, 2, 3, 4), dict(stats=True, affine=False)),
        ((1, 2, 3), {}),
        ((2, 3, 5), dict(stats=True, affine=True, use_input_stats=False)),
    ],
)
def test_instance_norm_functional_matches_pytorch(shape, kwargs, torch):
    """PyTorch's signature: the running statistics are updated when given (use_input_stats)
    or normalize the input (use_input_stats=False)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    c = shape[1]
    arrays = {}
    if kwargs.pop("stats", False):
        arrays["running_mean"] = rng.standard_normal(c).astype(np.float32)
        arrays["running_var"] = rng.uniform(0.5, 2, c).astype(np.float32)
    if kwargs.pop("affine", False):
        arrays["weight"] = rng.standard_normal(c).astype(np.float32)
        arrays["bias"] = rng.standard_normal(c).astype(np.float32)
    grad = {"weight", "bias"}
    mine = {k: pydl.tensor(v.copy(), requires_grad=k in grad) for k, v in arrays.items()}
    theirs = {k: torch.tensor(v.copy(), requires_grad=k in grad) for k, v in arrays.items()}
    xm, xt = pydl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym = F.instance_norm(xm, **mine, **kwargs)
    yt = torch.nn.functional.instance_norm(xt, **theirs, **kwargs)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = rng.standard_normal(shape).astype(np.float32)
    ym.backward(pydl.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for k in arrays:
        a, b = mine[k], theirs[k]
        want = (b.grad if k in grad else b).detach().numpy()
        np.testing.assert_allclose((a.grad if k in grad else a).numpy(), want, rtol=1e-5, atol=1e-6)


def test_instance_norm_needs_more_than_one_spatial_element(torch):
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(pydl.ones(3, 4))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        torch.nn.functional.instance_norm(torch.ones(3, 4))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_empty_1d_input_as_pytorch(training, torch):
    """PyTorch passes an empty 1-D input (no channel dim) through; the gradient is empty."""
    x = pydl.zeros(0, requires_grad=True)
    y = F.batch_norm(x, pydl.zeros(0), pydl.ones(0), training=training)
    yt = torch.nn.functional.batch_norm(torch.zeros(0), torch.zeros(0), torch.ones(0),
                                        training=training)  # fmt: skip
    assert y.shape == tuple(yt.shape) == (0,)
    y.sum().backward()
    assert x.grad.shape == (0,)
