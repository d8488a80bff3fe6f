"""In-place ops, .data, __setitem__, views and the version counter (Notes [In-place ops],
[Views], [Version counter]), on both backends, against PyTorch where it is installed."""

import numpy as np
import pytest

import pydl


@pytest.fixture(params=["core", "reference"])
def backend(request):
    prev = pydl.get_backend()
    pydl.set_backend(request.param)
    yield request.param
    pydl.set_backend(prev)


def _writes(lib, zeros):
    """The same writes through views, in pydl or torch."""
    x = zeros(3, 4)
    x[:, 1].zero_()
    x[:, 1] = 5.0
    x.narrow(0, 1, 2).copy_(lib.ones(4))
    x.t().mul_(2.0)
    x[0][3] = -1.0
    x.view(12)[0] = 9.0
    x.reshape(2, 6)[1].add_(1.0)
    x[x > 4] = 7.0
    x.select(1, 2).fill_(3.0)
    x.permute(1, 0)[0].clamp_(0.0, 6.0)
    return x


def test_writes_through_views_match_pytorch(backend, torch):
    got = _writes(pydl, pydl.zeros)
    want = _writes(torch, torch.zeros)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_views_share_memory_and_version():
    x = pydl.zeros(2, 3)
    for v in (x[0], x.t(), x.reshape(6), x.narrow(1, 1, 2), x.detach(), x[:, ::2]):
        before = x._version_counter
        v.add_(1.0)
        assert x._version_counter == before + 1
    np.testing.assert_array_equal(x.numpy(), [[5, 5, 6], [4, 4, 5]])
    # .data shares memory but not the counter (PyTorch's documented difference)
    d = x.data
    d.zero_()
    assert x.sum().item() == 0 and x._version_counter == 6


def test_advanced_index_copies():
    x = pydl.zeros(4)
    y = x[pydl.tensor([0, 1])]
    y.add_(1.0)
    assert x.sum().item() == 0


def test_expand_is_a_read_only_view():
    x = pydl.tensor([1.0, 2.0])
    e = x.expand(3, 2)
    np.testing.assert_array_equal(e.numpy(), [[1, 2]] * 3)
    with pytest.raises(RuntimeError, match="expanded"):
        e.add_(1.0)


def test_no_grad_parameter_updates(backend):
    p = pydl.tensor([1.0, 2.0], requires_grad=True)
    g = pydl.tensor([0.5, 0.5])
    with pydl.no_grad():
        p -= 0.1 * g  # __isub__ writes in place: p stays the same object, a leaf
        p.mul_(2.0)
        p[0] = 0.0
    p.data.add_(g, alpha=-1.0)
    np.testing.assert_allclose(p.numpy(), [-0.5, 2 * 1.95 - 0.5], rtol=1e-6)
    assert p.is_leaf and p.requires_grad


def test_leaf_that_requires_grad_refuses_in_place():
    p = pydl.tensor([1.0], requires_grad=True)
    for write in (lambda: p.add_(1.0), lambda: p.zero_(), lambda: p.__setitem__(0, 2.0)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            write()


def test_dtype_and_shape_of_in_place_results():
    i = pydl.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(0.5)
    with pytest.raises(RuntimeError, match="broadcast shape"):
        pydl.zeros(2).add_(pydl.zeros(3, 2))


def _graph(lib, t):
    """Differentiable in-place writes on non-leaf tensors: grads of w and u."""
    w = t([1.0, -2.0, 3.0], requires_grad=True)
    u = t([0.5, 0.25, 2.0], requires_grad=True)
    h = w * 2.0
    early = h + 1.0  # used before the in-place writes: keeps h's old history
    h += u
    h.mul_(u)
    h[1] = u[0] * 4.0
    h.masked_fill_(h > 5.0, 5.0)
    h.relu_()
    z = w * 1.0
    z.copy_(u * 3.0)
    (h.sum() + early.sum() + (z * w).sum()).backward()
    return w.grad, u.grad


def test_differentiable_in_place_matches_pytorch(backend, torch):
    got = _graph(pydl, pydl.tensor)
    want = _graph(torch, torch.tensor)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)


def test_optimizer_step_between_forward_and_backward_raises(backend):
    # The GAN pattern the issue measured: dW1 silently used the updated W2.
    w1 = pydl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w2 = pydl.tensor([[0.5], [-1.0]], requires_grad=True)
    loss = ((pydl.tensor([[1.0, -1.0]]) @ w1) @ w2).sum()
    w2.grad = pydl.ones(2, 1)
    pydl.optim.SGD([w2], lr=1.0).step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_write_to_a_saved_output_raises(backend):
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="an output of exp_backward is at version 1"):
        y.sum().backward()


def test_write_to_an_unread_input_is_fine(backend):
    # add's backward reads neither input, as in PyTorch: no error, right gradient
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1.0
    y = a + 1.0
    with pydl.no_grad():
        a.zero_()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def _view_writes(lib):
    """Differentiable in-place writes through views of a non-leaf (PyTorch's CopySlices)."""
    w = lib.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], requires_grad=True)
    u = lib.tensor([2.0, 3.0], requires_grad=True)
    x = w * 1.0
    x[:, 1].mul_(u)
    x.t()[0].add_(u * 2)
    x.view(6)[4:].zero_()
    x[1, 0] = u[0] ** 2
    x.exp().sum().backward()
    return x.detach().numpy(), w.grad.numpy(), u.grad.numpy()


def test_in_place_through_views_under_autograd_matches_pytorch(backend, torch):
    for got, want in zip(_view_writes(pydl), _view_writes(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_in_place_through_a_view_of_a_leaf_that_requires_grad_raises():
    w = pydl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w[0:1].mul_(pydl.tensor([2.0], requires_grad=True))


def test_elementwise_ops_have_in_place_forms(backend, torch):
    for name in ("relu", "sigmoid", "tanh", "exp", "neg", "abs", "sqrt", "clamp"):
        args = (0.1, 0.6) if name == "clamp" else ()
        a = pydl.tensor([0.25, 0.5, 0.75])
        b = torch.tensor([0.25, 0.5, 0.75])
        assert getattr(a, name + "_")(*args) is a
        getattr(b, name + "_")(*args)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, err_msg=name)


def test_random_fills_and_array_protocol():
    pydl.manual_seed(0)
    x = pydl.zeros(1000)
    x.uniform_(-2.0, 2.0)
    assert -2.0 <= x.numpy().min() and x.numpy().max() < 2.0 and x.numpy().std() > 1.0
    x.normal_(3.0, 0.5)
    assert abs(x.numpy().mean() - 3.0) < 0.1
    np.testing.assert_array_equal(np.asarray(x), x.numpy())


def test_modules_with_inplace_write_into_their_input(torch):
    x = np.array([[-1.0, 2.0, -3.0]], np.float32)
    for lib in (pydl, torch):
        t = lib.tensor(x)
        assert lib.nn.ReLU(inplace=True)(t) is t
        assert t.numpy().tolist() == [[0.0, 2.0, 0.0]]
        t = lib.tensor(x)
        lib.nn.LeakyReLU(0.5, True)(t)
        assert t.numpy().tolist() == [[-0.5, 2.0, -1.5]]
    # a Linear's output rewritten by in-place dropout still trains, as in PyTorch
    m = pydl.nn.Sequential(
        pydl.nn.Linear(3, 4), pydl.nn.ReLU(inplace=True), pydl.nn.Linear(4, 2),
        pydl.nn.Dropout(0.5, inplace=True),
    )  # fmt: skip
    m(pydl.tensor(x)).sum().backward()
    assert m[0].weight.grad is not None
