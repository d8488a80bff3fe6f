"""torch.autograd's surface in pydl: Function, functional (jacobian, hessian, vjp, jvp,
hvp), gradcheck, tensor hooks, retain_grad, grad modes and backward(inputs=)."""

import numpy as np
import pytest

import pydl
from pydl.autograd import Function, GradcheckError, gradcheck, gradgradcheck
from pydl.autograd import functional as AF


class ScaledCube(Function):
    """k x^3, with its own backward (written with pydl ops, so differentiable again)."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x * x * x * k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3.0 * x * x * ctx.k, None


class WrongCube(ScaledCube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2.0 * x * x * ctx.k, None


class SplitSign(Function):
    """(|x|, sign(x)): two outputs, the second not differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        sign = pydl.tensor(np.sign(x.numpy()))
        ctx.mark_non_differentiable(sign)
        return x.abs(), sign

    @staticmethod
    def backward(ctx, g_abs, g_sign):
        (x,) = ctx.saved_tensors
        assert g_sign is None or not g_sign.numpy().any()
        return g_abs * pydl.tensor(np.sign(x.numpy()), dtype=x.dtype)


def _x(values=(0.5, -1.5, 2.0), dtype=pydl.float64):
    return pydl.tensor(list(values), dtype=dtype, requires_grad=True)


def test_function_forward_backward_and_ctx():
    x = _x()
    y = ScaledCube.apply(x, 2.0)
    assert y.requires_grad and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy() ** 2)
    with pydl.no_grad():
        assert not ScaledCube.apply(x, 2.0).requires_grad


def test_function_needs_input_grad_and_non_differentiable_outputs():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, None

    Probe.apply(_x(), pydl.ones(3, dtype=pydl.float64))
    assert seen["needs"] == (True, False)
    x = _x()
    a, sign = SplitSign.apply(x)
    assert a.requires_grad and not sign.requires_grad
    a.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.sign(x.numpy()))


def test_function_errors_name_the_problem():
    class TooMany(ScaledCube):
        @staticmethod
        def backward(ctx, g):
            return g, None, None

    with pytest.raises(RuntimeError, match="returned 3 gradients, expected 2"):
        TooMany.apply(_x(), 1.0).sum().backward()

    class NotATensor(Function):
        @staticmethod
        def forward(ctx, x):
            return x.numpy()

    with pytest.raises(TypeError, match="must return Tensors"):
        NotATensor.apply(_x())
    with pytest.raises(RuntimeError, match="apply"):
        ScaledCube()


def test_function_matches_pytorch(torch):
    class TorchCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x**3 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2 * ctx.k, None

    x0 = np.random.default_rng(0).standard_normal(5)
    x, tx = _x(x0), torch.tensor(x0, requires_grad=True)
    (g,) = pydl.autograd.grad(ScaledCube.apply(x, 1.5).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(TorchCube.apply(tx, 1.5).sum(), tx, create_graph=True)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy())
    (gg,) = pydl.autograd.grad(g.sum(), x)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy())


def test_gradcheck_passes_right_gradients_and_catches_wrong_ones():
    x = _x()
    assert gradcheck(lambda t: ScaledCube.apply(t, 2.0), (x,))
    assert gradgradcheck(lambda t: ScaledCube.apply(t, 2.0), (x,))
    assert gradcheck(lambda a, b: (a * b.sin()).sum(0), (_x(), _x((1.0, 2.0, 3.0))))
    with pytest.raises(
        GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"
    ):
        gradcheck(lambda t: WrongCube.apply(t, 2.0), (x,))
    assert gradcheck(lambda t: WrongCube.apply(t, 2.0), (x,), raise_exception=False) is False
    with pytest.warns(UserWarning, match="not a double precision"):
        gradcheck(lambda t: t * t, (_x(dtype=pydl.float32),), atol=1e-2, rtol=1e-2, eps=1e-3)


def _f(x, y):
    return (x * x * y).sin(), x.exp() * y


def test_functional_matches_pytorch(torch):
    from torch.autograd import functional as TF

    rng = np.random.default_rng(2)
    x0, y0, v0 = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)
    P = lambda a: pydl.tensor(a, dtype=pydl.float64)  # noqa: E731
    T = lambda a: torch.tensor(a)  # noqa: E731

    def tf(x, y):
        return (x * x * y).sin(), x.exp() * y

    jac, tjac = AF.jacobian(_f, (P(x0), P(y0))), TF.jacobian(tf, (T(x0), T(y0)))
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(jac[i][j].numpy(), tjac[i][j].numpy(), rtol=1e-12)
    single = AF.jacobian(lambda x: x.tanh(), P(x0))
    np.testing.assert_allclose(single.numpy(), TF.jacobian(lambda x: x.tanh(), T(x0)).numpy())

    def scalar(x):
        return (x.sin() * x * x).sum()

    def tscalar(x):
        return (x.sin() * x * x).sum()

    h = AF.hessian(scalar, P(x0))
    np.testing.assert_allclose(h.numpy(), TF.hessian(tscalar, T(x0)).numpy(), rtol=1e-12)
    for ours, theirs in ((AF.hvp, TF.hvp), (AF.vhp, TF.vhp)):
        out, hv = ours(scalar, P(x0), P(v0))
        tout, thv = theirs(tscalar, T(x0), T(v0))
        np.testing.assert_allclose(hv.numpy(), thv.numpy(), rtol=1e-12)
        assert out.item() == pytest.approx(tout.item())
    _, vj = AF.vjp(lambda x: x.tanh() * x, P(x0), P(v0))
    _, tvj = TF.vjp(lambda x: x.tanh() * x, T(x0), T(v0))
    np.testing.assert_allclose(vj.numpy(), tvj.numpy(), rtol=1e-12)
    _, jv = AF.jvp(lambda x: x.tanh() * x, P(x0), P(v0))
    _, tjv = TF.jvp(lambda x: x.tanh() * x, T(x0), T(v0))
    np.testing.assert_allclose(jv.numpy(), tjv.numpy(), rtol=1e-12)


def test_tensor_hooks_change_gradients_and_are_removable():
    x = _x()
    calls = []
    handle = x.register_hook(lambda g: calls.append("leaf") or g * 2.0)
    y = x * x
    y.register_hook(lambda g: calls.append("y") or None)
    y.register_hook(lambda g: g + 1.0)
    y.sum().backward()
    # dy = 1 + 1 (the second hook), dx = 2x * 2 (the leaf hook doubles)
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * x.numpy()) * 2)
    assert calls == ["y", "leaf"]
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        pydl.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="a tensor hook must return"):
        z = _x()
        z.register_hook(lambda g: pydl.ones(7))
        (z * 2.0).sum().backward()


def test_hooks_see_gradients_in_autograd_grad():
    x = _x()
    y = x * 3.0
    y.register_hook(lambda g: g * 10.0)
    (g,) = pydl.autograd.grad(y.sum(), x)
    np.testing.assert_allclose(g.numpy(), 30.0)


def test_retain_grad(torch):
    x0 = np.array([0.5, -1.0, 2.0])
    x = _x(x0)
    h = x * x
    h.retain_grad()
    assert h.retains_grad and not x.retains_grad
    h.register_hook(lambda g: g * 3.0)  # retain_grad stores what the other hooks leave
    (h.sin()).sum().backward()
    tx = torch.tensor(x0, requires_grad=True)
    th = tx * tx
    th.retain_grad()
    th.register_hook(lambda g: g * 3.0)
    th.sin().sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), th.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        pydl.ones(2).retain_grad()


def test_grad_modes():
    x = _x()
    with pydl.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
    assert (x * 2.0).requires_grad
    pydl.set_grad_enabled(False)
    try:
        assert not pydl.is_grad_enabled()
    finally:
        pydl.set_grad_enabled(True)
    with pydl.inference_mode():
        assert not (x * 2.0).requires_grad
    with pydl.inference_mode(False):
        assert (x * 2.0).requires_grad

    @pydl.inference_mode()
    def infer(t):
        return t * 2.0

    @pydl.inference_mode
    def infer_bare(t):
        return t * 2.0

    @pydl.set_grad_enabled(False)
    def no_record(t):
        return t * 2.0

    assert pydl.is_grad_enabled()  # decorating changed nothing
    assert not infer(x).requires_grad and not infer_bare(x).requires_grad
    assert not no_record(x).requires_grad and pydl.is_grad_enabled()


def test_backward_inputs_accumulates_only_there():
    a, b = _x(), _x((1.0, 2.0, 3.0))
    (a * b).sum().backward(inputs=[a])
    np.testing.assert_allclose(a.grad.numpy(), b.numpy())
    assert b.grad is None
