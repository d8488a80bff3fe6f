"""create_graph (Note [Double backward] in pydl/_ops/derivatives.py): every differentiable
backward against finite differences of the first gradient, on both backends, and the
gradient penalty of a critic against PyTorch."""

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import nn
from pydl._ops.derivatives import DERIVATIVES

W = np.random.default_rng(3).uniform(-1, 1, (5, 4))
B = np.random.default_rng(4).uniform(-1, 1, (5,))


def _w(dtype):
    return pydl.tensor(W, dtype=dtype)


# (id, fn of one float64 tensor, input shape, low, high[, step]): each output is reduced to a scalar
# with fixed weights by the test, so the first gradient is a vector field whose Jacobian
# (the Hessian) the second backward computes.
CASES = [
    ("add", lambda x: (x + x[:1] * 2.0) * x, (3, 4), -2, 2),
    ("sub", lambda x: (x - x.sum(0)) * x, (3, 4), -2, 2),
    ("mul", lambda x: x * x[0], (3, 4), -2, 2),
    ("div", lambda x: x / (x * x + 1.0), (3, 4), -2, 2),
    ("pow", lambda x: x**3 + pydl.pow(x, x), (3, 4), 0.5, 2),
    ("where", lambda x: pydl.where(x > 0, x * x, x * 3.0), (3, 4), -2, 2),
    ("neg", lambda x: -(x * x), (7,), -2, 2),
    ("exp", lambda x: pydl.exp(x * x), (7,), -1, 1),
    ("log", lambda x: pydl.log(x * x), (7,), 0.5, 2),
    ("sqrt", lambda x: pydl.sqrt(x * x + 1.0), (7,), -2, 2),
    ("abs", lambda x: pydl.abs(x) * x, (7,), -2, 2),
    ("sin", lambda x: pydl.sin(x * 2.0), (7,), -2, 2),
    ("cos", lambda x: pydl.cos(x * 2.0), (7,), -2, 2),
    ("sigmoid", lambda x: pydl.sigmoid(x * 2.0), (7,), -2, 2),
    ("tanh", lambda x: pydl.tanh(x * 2.0), (7,), -2, 2),
    ("relu", lambda x: F.relu(x) * x, (7,), -2, 2),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2) * x, (7,), -2, 2),
    ("elu", lambda x: F.elu(x), (7,), -2, 2),
    ("selu", lambda x: F.selu(x), (7,), -2, 2),
    ("silu", lambda x: F.silu(x), (7,), -2, 2),
    ("softplus", lambda x: F.softplus(x, 2.0, 3.0), (7,), -2, 2),
    ("logsigmoid", lambda x: F.logsigmoid(x), (7,), -2, 2),
    ("softsign", lambda x: F.softsign(x), (7,), -2, 2),
    ("clamp", lambda x: pydl.clamp(x, -1.0, 1.0) * x, (7,), -2, 2),
    ("hardtanh", lambda x: F.hardtanh(x) * x, (7,), -2, 2),
    ("matmul", lambda x: x @ x.transpose(0, 1), (3, 4), -1, 1),
    (
        "linear",
        lambda x: F.linear(x * x, _w(x.dtype), pydl.tensor(B, dtype=x.dtype)),
        (3, 4),
        -1,
        1,
    ),
    ("linear_tanh", lambda x: F.linear(x, _w(x.dtype), None, activation="tanh"), (3, 4), -1, 1),
    (
        "linear_sigmoid",
        lambda x: F.linear(x, _w(x.dtype), None, activation="sigmoid"),
        (2, 4),
        -1,
        1,
    ),
    (
        "linear_relu",
        lambda x: F.linear(x, _w(x.dtype), None, activation="relu") * x[:, :1],
        (3, 4),
        -1,
        1,
    ),
    ("sum", lambda x: x.sum(1, keepdim=True) * x, (3, 4), -2, 2),
    ("mean", lambda x: x.mean(0) * x, (3, 4), -2, 2),
    ("softmax", lambda x: F.softmax(x, 1), (3, 4), -2, 2),
    ("log_softmax", lambda x: F.log_softmax(x, 0), (3, 4), -2, 2),
    ("reshape", lambda x: x.reshape(4, 3) @ x, (3, 4), -2, 2),
    ("permute", lambda x: x.permute(1, 0) * x.permute(1, 0), (3, 4), -2, 2),
    ("expand", lambda x: x[:1].expand(3, 4) * x, (3, 4), -2, 2),
    # float32 rounding of the cast: a wider finite-difference step, a looser tolerance
    ("cast", lambda x: x.to(pydl.float32).to(pydl.float64) * x, (3, 4), -2, 2, 1e-3),
    ("clone", lambda x: x.clone() * x, (3, 4), -2, 2),
    ("cat", lambda x: pydl.cat([x, x * x], 0) * 2.0, (3, 4), -2, 2),
    ("basic_index", lambda x: x[1:, ::2] * x[:2, 1::2], (3, 4), -2, 2),
    ("advanced_index", lambda x: x[[0, 2, 2]] * x[[1, 1, 0]], (3, 4), -2, 2),
]


def _second_order(fn, x0, v, eps):
    """(H v by double backward, H v by central differences of the first gradient) for the
    scalar <fn(x), weights>."""
    out_w = None

    def loss(x):
        nonlocal out_w
        y = fn(x)
        if out_w is None:
            out_w = np.random.default_rng(5).uniform(0.5, 1.5, y.shape)
        return (y * pydl.tensor(out_w, dtype=y.dtype)).sum()

    x = pydl.tensor(x0, requires_grad=True)
    (g,) = pydl.autograd.grad(loss(x), x, create_graph=True)
    assert g.requires_grad, "the first gradient must be recorded"
    (hv,) = pydl.autograd.grad((g * pydl.tensor(v)).sum(), x, allow_unused=True)
    hv = np.zeros_like(x0) if hv is None else hv.numpy()

    def grad_at(x_np):
        t = pydl.tensor(x_np, requires_grad=True)
        loss(t).backward()
        return t.grad.numpy()

    numeric = (grad_at(x0 + eps * v) - grad_at(x0 - eps * v)) / (2 * eps)
    return hv, numeric


@pytest.mark.parametrize("backend_name", ["reference", "core"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hessian_vector_product_matches_finite_differences(case, backend_name):
    name, fn, shape, lo, hi, *step = case
    eps = step[0] if step else 1e-6
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    x0 = rng.uniform(lo, hi, shape)
    x0[np.abs(x0) < 0.05] += 0.1  # keep off the kinks at 0
    v = rng.standard_normal(shape)
    pydl.set_backend(backend_name)  # the autouse fixture restores it
    hv, numeric = _second_order(fn, x0, v, eps)
    np.testing.assert_allclose(hv, numeric, rtol=1e-5, atol=1e-6 if eps == 1e-6 else 1e-3)


def test_every_derivative_is_exercised():
    """Each DERIVATIVES entry ran in a case above: record the backwards the cases' graphs use."""
    seen = set()
    for _, fn, shape, lo, hi, *_ in CASES:
        x = pydl.tensor(np.random.default_rng(0).uniform(lo, hi, shape), requires_grad=True)
        stack = [fn(x).grad_fn]
        while stack:
            node = stack.pop()
            if node is None:
                continue
            seen.add(node.backward.__qualname__)
            stack.extend(e[0] for e in node.edges if e is not None)
    missing = set(DERIVATIVES) - seen
    assert not missing, f"derivatives without a test case: {sorted(missing)}"


def test_third_derivative_of_a_polynomial():
    x = pydl.tensor([0.5, -1.5], dtype=pydl.float64, requires_grad=True)
    (g,) = pydl.autograd.grad((x**4).sum(), x, create_graph=True)
    (h,) = pydl.autograd.grad(g.sum(), x, create_graph=True)
    (t,) = pydl.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(t.numpy(), 24 * x.numpy())


def test_backward_create_graph_accumulates_a_differentiable_grad():
    x = pydl.tensor([1.0, 2.0], dtype=pydl.float64, requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2)
    (gg,) = pydl.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.numpy())


def test_gradient_penalty_matches_pytorch(torch):
    """WGAN-GP's penalty (E[(|grad_x D(x)| - 1)^2]) on an MLP critic: the critic's
    parameter gradients as PyTorch's."""
    pydl.manual_seed(0)
    critic = nn.Sequential(nn.Linear(6, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.Tanh(),
                           nn.Linear(16, 1))  # fmt: skip
    tcritic = torch.nn.Sequential(
        torch.nn.Linear(6, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 16),
        torch.nn.Tanh(), torch.nn.Linear(16, 1),
    )  # fmt: skip
    tcritic.load_state_dict(
        {k: torch.tensor(np.asarray(v)) for k, v in critic.state_dict().items()}
    )
    x_np = np.random.default_rng(1).standard_normal((8, 6)).astype(np.float32)

    x = pydl.tensor(x_np, requires_grad=True)
    (g,) = pydl.autograd.grad(critic(x).sum(), x, create_graph=True)
    penalty = ((g.pow(2).sum(1).sqrt() - 1.0) ** 2).mean()
    penalty.backward()

    tx = torch.tensor(x_np, requires_grad=True)
    (tg,) = torch.autograd.grad(tcritic(tx).sum(), tx, create_graph=True)
    tpenalty = ((tg.pow(2).sum(1).sqrt() - 1.0) ** 2).mean()
    tpenalty.backward()

    np.testing.assert_allclose(penalty.item(), tpenalty.item(), rtol=1e-5)
    for (name, p), tp in zip(critic.named_parameters(), tcritic.parameters()):
        if tp.grad is None:  # the last bias: the penalty does not depend on it
            assert p.grad is None or not p.grad.numpy().any(), name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)  # fmt: skip


def test_ops_without_a_derivative_say_so():
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="the backward of 'norm'"):
        pydl.autograd.grad(F.layer_norm(x, (2,)).sum(), x, create_graph=True)
