"""Module.to / float / double / cpu / cuda / half, and the Module traversal helpers PyTorch
users rely on (apply, buffers, recurse=, zero_grad, requires_grad_), as torch.nn.Module
(issue 14)."""

import numpy as np
import pytest

import pydl
from pydl import nn


class Net(nn.Module):
    """A Linear, a BatchNorm (float buffers) and a counter buffer of int64."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.register_buffer("steps", pydl.zeros(1, dtype=pydl.int64))

    def forward(self, x):
        return self.bn(self.fc(x))


def _float_tensors(m):
    return [p for p in m.parameters()] + [b for b in m.buffers() if b.dtype.kind == "f"]


@pytest.mark.parametrize(
    "convert",
    [
        lambda m: m.double(),
        lambda m: m.to(pydl.float64),
        lambda m: m.to(np.float64),
        lambda m: m.to(dtype=pydl.double),
        lambda m: m.to("cpu", pydl.float64),
        lambda m: m.to(pydl.device("cpu"), dtype=pydl.float64, non_blocking=True),
        lambda m: m.to(pydl.zeros(1, dtype=pydl.float64)),
    ],
)
def test_dtype_conversion_keeps_the_same_objects(convert):
    net = Net()
    params = list(net.parameters())
    buffers = list(net.buffers())
    before = [p.numpy().copy() for p in params]
    net.fc.weight.grad = pydl.ones(4, 3)
    opt = pydl.optim.SGD(net.parameters(), lr=0.1)
    assert convert(net) is net
    assert list(net.parameters()) == params and all(
        a is b for a, b in zip(net.parameters(), params)
    )
    assert all(a is b for a, b in zip(net.buffers(), buffers))
    assert all(t.dtype == np.float64 for t in _float_tensors(net))
    assert net.steps.dtype == np.int64  # only floating tensors convert, as in PyTorch
    assert net.fc.weight.grad.dtype == np.float64  # so does a gradient
    assert opt.param_groups[0]["params"][0] is net.fc.weight
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.numpy(), b)
        assert p.requires_grad and isinstance(p, nn.Parameter)
    assert net.float() is net and all(t.dtype == np.float32 for t in _float_tensors(net))


def test_converted_model_trains_in_float64_with_an_optimizer_built_before():
    pydl.set_backend("reference")  # float64 kernels (the core's take float32 today)
    net = nn.Linear(3, 2)
    opt = pydl.optim.SGD(net.parameters(), lr=0.5)
    net.double()
    x = pydl.randn(5, 3, dtype=pydl.float64)
    y = net(x)
    assert y.dtype == np.float64
    expected = x.numpy() @ net.weight.numpy().T + net.bias.numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)
    w0 = net.weight.numpy().copy()
    y.sum().backward()
    assert net.weight.grad.dtype == np.float64
    opt.step()
    np.testing.assert_allclose(net.weight.numpy(), w0 - 0.5 * net.weight.grad.numpy())


def test_conversion_matches_torch(torch):
    """PyTorch keeps the Parameter objects and converts floating buffers only."""
    t = torch.nn.BatchNorm1d(4)
    w = t.weight
    t.double()
    assert t.weight is w and t.weight.dtype == torch.float64
    assert t.running_mean.dtype == torch.float64 and t.num_batches_tracked.dtype == torch.int64
    p = nn.BatchNorm1d(4)
    pw = p.weight
    p.double()
    assert p.weight is pw and p.weight.dtype == np.float64
    assert p.running_mean.dtype == np.float64


def test_device_moves_are_cpu_only():
    net = Net()
    assert net.to("cpu") is net and net.cpu() is net and net.to(pydl.device("cpu:0")) is net
    assert all(t.dtype == np.float32 for t in _float_tensors(net))
    with pytest.raises(RuntimeError, match="pydl runs on CPUs only; device 'cuda'"):
        net.cuda()
    with pytest.raises(RuntimeError, match="pydl runs on CPUs only; device 'cuda:1'"):
        net.cuda(1)
    with pytest.raises(RuntimeError, match="pydl runs on CPUs only; device 'mps'"):
        net.to("mps")
    with pytest.raises(RuntimeError, match="pydl runs on CPUs only"):
        net.to(device="cuda:0", dtype=pydl.float64)
    assert net.fc.weight.dtype == np.float32  # nothing changed before the error


def test_unsupported_conversions_raise_type_errors(torch):
    net = Net()
    with pytest.raises(TypeError, match="float16 is not supported"):
        net.half()
    with pytest.raises(TypeError) as want:
        torch.nn.Linear(2, 2).to(torch.int64)
    with pytest.raises(TypeError, match="only accepts floating point dtypes") as got:
        net.to(pydl.int64)
    assert str(want.value).startswith(str(got.value).split(" dtypes")[0])
    with pytest.raises(TypeError, match="dtype float16 is not supported"):
        net.to(np.float16)
    with pytest.raises(TypeError, match="not the string 'float64'"):
        net.to(dtype="float64")
    with pytest.raises(TypeError, match="unexpected keyword"):
        net.to(memory_format=None)
    assert net.fc.weight.dtype == np.float32


def test_apply_visits_children_first_then_self_as_torch(torch):
    seen = []
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    tseen = []
    tnet = torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 1))
    )
    tnet.apply(lambda m: tseen.append(type(m).__name__))
    assert seen == tseen

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net.apply(init)
    assert not net[0].weight.numpy().any() and not net[1][1].weight.numpy().any()


def test_traversal_names_and_recurse_as_torch(torch):
    net = Net()
    tnet = torch.nn.Module()
    tnet.fc, tnet.bn = torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)
    tnet.register_buffer("steps", torch.zeros(1, dtype=torch.int64))
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in tnet.named_buffers()]
    assert [n for n, _ in net.named_buffers(recurse=False)] == ["steps"]
    assert list(net.parameters(recurse=False)) == []
    assert [n for n, _ in net.named_parameters(prefix="model")][0] == "model.fc.weight"
    assert len(list(net.buffers())) == 4 and list(net.children()) == [net.fc, net.bn]
    assert [n for n, _ in net.named_modules()] == ["", "fc", "bn"]


def test_tied_parameter_is_listed_and_converted_once():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    net = nn.Sequential(a, b)
    assert len(list(net.parameters())) == 3  # a.weight, a.bias, b.bias
    net.double()
    assert a.weight is b.weight and a.weight.dtype == np.float64


def test_a_reassigned_buffer_stays_a_buffer_as_torch():
    net = Net()
    net.steps = pydl.ones(1, dtype=pydl.int64)
    assert "steps" in net.state_dict() and net.steps.tolist() == [1]
    net.steps = None
    assert "steps" not in net.state_dict() and net.steps is None
    with pytest.raises(TypeError, match="cannot assign a list to the buffer 'steps'"):
        net.steps = [1]


def test_zero_grad_and_requires_grad_as_torch():
    net = Net()
    net(pydl.randn(5, 3)).sum().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None for g in grads)
    net.zero_grad(set_to_none=False)
    assert all(p.grad is g and not g.numpy().any() for p, g in zip(net.parameters(), grads))
    net.zero_grad()  # set_to_none=True by default, as PyTorch 2
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    assert all(p.requires_grad for p in net.parameters())
