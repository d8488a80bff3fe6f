"""The autograd engine's contract: accumulation, reuse, graph freeing, grad modes."""

import numpy as np
import pytest

import pydl
from helpers import fresh_interpreter_prints


@pytest.fixture(params=["core", "reference"])
def backend(request):
    pydl.set_backend(request.param)
    return request.param


def test_tensor_used_twice_gets_both_contributions(backend):
    x = pydl.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = (x * x + x * 3.0).sum()  # dy/dx = 2x + 3
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, -1.0, 9.0])


def test_graph_order_with_shortcuts(backend):
    # x feeds the root directly and through a chain: every path must reach x before it is
    # used (a residual connection), and a diamond a -> (a, exp(a)) -> y.
    x = pydl.tensor([0.3, -1.2, 2.0], requires_grad=True)
    (x + pydl.nn.functional.tanh(x)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 + (1 - np.tanh([0.3, -1.2, 2.0]) ** 2), rtol=1e-6)
    x.grad = None
    a = pydl.nn.functional.tanh(x)
    (a + pydl.exp(a) + x * 2.0).sum().backward()
    t = np.tanh([0.3, -1.2, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), (1 + np.exp(t)) * (1 - t**2) + 2, rtol=1e-5)


def test_gradients_accumulate_across_backward_calls(backend):
    x = pydl.tensor([2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * 4.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [7.0])


def test_shared_upstream_gradient_is_not_aliased(backend):
    a = pydl.tensor([1.0, 2.0], requires_grad=True)
    b = pydl.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.numpy()[...] += 10  # must not change b.grad
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_broadcast_gradient_reduced_to_input_shape(backend):
    w = pydl.tensor(np.ones((1, 3)), dtype=np.float32, requires_grad=True)
    x = pydl.tensor(np.arange(12.0).reshape(4, 3), dtype=np.float32)
    (x * w).sum().backward()
    assert w.grad.shape == (1, 3)
    np.testing.assert_allclose(w.grad.numpy(), [[18.0, 22.0, 26.0]])


def test_backward_twice_through_freed_graph_raises(backend):
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward(backend):
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_backward_of_non_scalar_needs_grad(backend):
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(np.array([1.0, 0.5], dtype=np.float32))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0])


def test_backward_without_requires_grad_raises(backend):
    with pytest.raises(RuntimeError, match="does not require grad"):
        pydl.tensor([1.0]).sum().backward()


def test_no_grad_records_nothing(backend):
    x = pydl.tensor([1.0], requires_grad=True)
    with pydl.no_grad():
        y = x * 2.0
        with pydl.enable_grad():
            z = x * 2.0
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad


def test_detach_shares_data_and_cuts_graph(backend):
    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2.0).detach()
    assert not d.requires_grad
    x2 = pydl.tensor([1.0], requires_grad=True)
    assert x2.detach().numpy() is x2.numpy()


def test_numpy_is_zero_copy_and_item():
    t = pydl.tensor([[1.0, 2.0]])
    t.numpy()[0, 0] = 5.0
    assert t[0, 0].item() == 5.0
    assert t.dtype == np.float32 and t.shape == (1, 2)
    assert pydl.tensor([1, 2]).dtype == np.int64


def test_float64_tensors_on_reference_backend():
    pydl.set_backend("reference")
    x = pydl.tensor(np.array([0.5, 1.5]), requires_grad=True)
    assert x.dtype == np.float64
    pydl.nn.functional.tanh(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh([0.5, 1.5]) ** 2, rtol=1e-15)


def test_float64_tensors_on_core_backend():
    x = pydl.tensor(np.array([0.5, 1.5]), requires_grad=True)
    y = pydl.nn.functional.tanh(x)
    assert y.dtype == np.float64
    y.sum().backward()
    # libm's tanh and NumPy's may differ by an ulp, which 1 - y^2 magnifies about tenfold
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh([0.5, 1.5]) ** 2, rtol=1e-14)


def test_zero_grad_and_grad_none_skipped_by_optimizer(backend):
    a = pydl.nn.Parameter(np.ones(3, np.float32))
    b = pydl.nn.Parameter(np.ones(3, np.float32))
    opt = pydl.optim.SGD([a, b], lr=0.5)
    (a * 2.0).sum().backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), 0.0)
    np.testing.assert_allclose(b.numpy(), 1.0)  # no gradient: untouched
    opt.zero_grad()
    assert a.grad is None


def test_backend_switch_and_env():
    pydl.set_backend("reference")
    assert pydl.get_backend() == "reference"
    with pytest.raises(ValueError, match="unknown backend"):
        pydl.set_backend("cuda")


def test_backend_env_variable():
    assert fresh_interpreter_prints("pydl.get_backend()", PYDL_BACKEND="reference") == "reference"


def test_nan_propagates_without_crash(backend):
    x = pydl.tensor([np.nan, 1.0, -1.0], requires_grad=True)
    y = (pydl.nn.functional.relu(x) + pydl.exp(x)).sum()
    y.backward()
    assert np.isnan(y.item())
    assert np.isnan(x.grad.numpy()[0])
    m = pydl.max(pydl.tensor([1.0, np.nan, 3.0]))
    assert np.isnan(m.item())


def test_gradient_views_are_not_shared(backend):
    # reshape's backward returns views; add's may return one array for both inputs
    a = pydl.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    b = pydl.tensor(np.ones(6, np.float32), requires_grad=True)
    (pydl.reshape(a, (6,)) + b).sum().backward()
    a.grad.numpy()[...] = 5
    np.testing.assert_array_equal(b.grad.numpy(), 1)
    g = np.full(6, 2.0, np.float32)
    b.grad = None
    b.backward(g)  # the caller's array is never adopted as .grad
    b.grad.numpy()[...] = 0
    np.testing.assert_array_equal(g, 2.0)


def test_one_node_with_several_outputs_gets_each_gradient_in_its_slot():
    """record() over a tuple makes one node; its backward runs once with one gradient per
    output, None where none arrived, and the sum where an output is used twice."""
    from pydl.tensor import record

    calls = []

    def backward(node, grads):
        calls.append(grads)
        g_double, g_triple, g_unused = grads
        (x,) = node.inputs
        gx = np.zeros_like(x._array)
        if g_double is not None:
            gx += 2 * g_double
        if g_triple is not None:
            gx += 3 * g_triple
        assert g_unused is None
        return (gx,)

    x = pydl.tensor([1.0, 2.0], requires_grad=True)
    double, triple, unused = record((x._array * 2, x._array * 3, x._array * 0), (x,), backward)
    assert double.grad_fn is triple.grad_fn is unused.grad_fn
    loss = (double * triple).sum() + triple.sum()  # triple reached twice
    loss.backward()
    assert len(calls) == 1
    # d/dx (6 x^2 + 3 x) = 12 x + 3
    np.testing.assert_allclose(x.grad.numpy(), [15.0, 27.0])


def test_multi_output_node_not_recorded_without_grad():
    from pydl.tensor import record

    x = pydl.tensor([1.0], requires_grad=True)
    with pydl.no_grad():
        a, b = record((x._array, x._array), (x,), lambda node, g: (None,))
    assert a.grad_fn is None and not a.requires_grad and not b.requires_grad
