"""pydl.autograd.grad: gradients returned, not accumulated, as torch.autograd.grad."""

import numpy as np
import pytest

import pydl
import pydl.nn.functional as F
from pydl import nn


def test_grad_of_leaves_and_intermediates_leaves_dot_grad_alone():
    x = pydl.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = pydl.tensor([0.5, 0.25, 2.0], requires_grad=True)
    h = x * w
    y = (h.relu() * h).sum()
    gx, gh = pydl.autograd.grad(y, [x, h])
    hv = np.array([0.5, -0.5, 6.0])
    np.testing.assert_allclose(gh.numpy(), 2 * np.maximum(hv, 0))
    np.testing.assert_allclose(gx.numpy(), 2 * np.maximum(hv, 0) * w.numpy())
    assert x.grad is None and w.grad is None


def test_matches_backward_and_torch_on_a_network(torch):
    pydl.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    xt = pydl.tensor(x, requires_grad=True)
    (gx,) = pydl.autograd.grad(net(xt).sum(), xt)
    assert all(p.grad is None for p in net.parameters())
    ref = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in net.state_dict().items()})
    xr = torch.tensor(x, requires_grad=True)
    (want,) = torch.autograd.grad(ref(xr).sum(), xr)
    np.testing.assert_allclose(gx.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_several_outputs_with_grad_outputs_sum():
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 3.0, x * x
    (g,) = pydl.autograd.grad([a, b], x, grad_outputs=[pydl.ones(2), pydl.tensor([1.0, 10.0])])
    np.testing.assert_allclose(g.numpy(), [3 + 2, 3 + 40])


def test_retain_graph_unused_inputs_and_errors():
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    z = pydl.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    (g,) = pydl.autograd.grad(y, x, retain_graph=True)
    (g2,) = pydl.autograd.grad(y, x)
    np.testing.assert_array_equal(g.numpy(), g2.numpy())
    with pytest.raises(RuntimeError, match="second time"):
        pydl.autograd.grad(y, x)
    y = (x * x).sum()
    with pytest.raises(RuntimeError, match=r"inputs\[1\] was not used"):
        pydl.autograd.grad(y, [x, z], retain_graph=True)
    assert pydl.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)[1] is None
    zero = pydl.autograd.grad(y, [x, z], materialize_grads=True, retain_graph=True)[1]
    assert zero.tolist() == [0.0]
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        pydl.autograd.grad(x * 2.0, x)
    with pytest.raises(RuntimeError, match=r"inputs\[0\] does not require grad"):
        pydl.autograd.grad(y, pydl.ones(2))
    # an op whose backward is not differentiable yet says so (Note [Double backward])
    with pytest.raises(NotImplementedError, match="create_graph=True: the backward of"):
        pydl.autograd.grad(F.layer_norm(x, (2,)).sum(), x, create_graph=True)
    with pytest.raises(ValueError, match="grad_outputs"):
        pydl.autograd.grad([y, y], x, grad_outputs=[None])
