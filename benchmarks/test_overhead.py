"""Per-op engine overhead and one training step of the digits MLP (issue 2).

pytest benchmarks/test_overhead.py --benchmark-enable --benchmark-columns=median,ops
"""

import numpy as np
import pytest
from conftest import training_step

import pydl
import pydl.nn.functional as F
from pydl import nn, optim

IMPLS = ["core", "reference", "torch"]


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.benchmark(group="recorded-op-16")
@pytest.mark.parametrize("impl", IMPLS)
def test_recorded_elementwise_op(benchmark, impl):
    """One recorded mul on 16 elements (the graph node is built, not walked)."""
    x = np.random.default_rng(0).standard_normal(16).astype(np.float32)
    if impl == "torch":
        torch = _torch()
        a = torch.tensor(x, requires_grad=True)
        b = torch.tensor(x)
        benchmark(lambda: a * b)
        return
    pydl.set_backend(impl)
    a = pydl.tensor(x, requires_grad=True)
    b = pydl.tensor(x)
    benchmark(lambda: a * b)


@pytest.mark.benchmark(group="mul-relu-sum-fwd-bwd-16")
@pytest.mark.parametrize("impl", IMPLS)
def test_small_graph_forward_backward(benchmark, impl):
    """Forward and backward of sum(relu(a * b)) on 16 elements."""
    x = np.random.default_rng(0).standard_normal(16).astype(np.float32)
    if impl == "torch":
        torch = _torch()
        a = torch.tensor(x, requires_grad=True)
        b = torch.tensor(x)

        def step():
            torch.relu(a * b).sum().backward()

        benchmark(step)
        return
    pydl.set_backend(impl)
    a = pydl.tensor(x, requires_grad=True)
    b = pydl.tensor(x)

    def step():
        F.relu(a * b).sum().backward()

    benchmark(step)


@pytest.mark.benchmark(group="digits-mlp-train-step")
@pytest.mark.parametrize("impl", IMPLS)
def test_digits_mlp_training_step(benchmark, impl, threads):
    """One SGD-momentum step of seed 001's MLP 64-128-64-10 (tanh) at batch 32."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (32, 64)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    if impl == "torch":
        torch = _torch()
        model = torch.nn.Sequential(
            torch.nn.Linear(64, 128),
            torch.nn.Tanh(),
            torch.nn.Linear(128, 64),
            torch.nn.Tanh(),
            torch.nn.Linear(64, 10),
        )
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        xt, yt = torch.tensor(x), torch.tensor(y)

        step = training_step(model, opt, torch.nn.functional.cross_entropy, xt, yt)
        benchmark(step)
        return
    pydl.set_backend(impl)
    model = pydl.models.MLP(64, (128, 64), 10)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    xt = pydl.tensor(x)

    step = training_step(model, opt, nn.functional.cross_entropy, xt, y)
    benchmark(step)


# Issue 19's small-model targets, built by pydl/_workloads.py (the same steps as `pydl bench`
# and benchmarks/interleaved.py). "core" runs whichever engine is active: the compiled one
# unless PYDL_PURE_PYTHON=1 (compare the two by running this file both ways); "replayed"
# is the step under pydl.compile, replayed from C++ after its two recorded calls.
@pytest.mark.benchmark(group="small-models")
@pytest.mark.parametrize("impl", ["core", "replayed", "torch"])
@pytest.mark.parametrize("workload", ["mlp8", "rl", "rl_act"])
def test_small_model_step(benchmark, impl, workload, threads):
    from pydl._workloads import WORKLOADS

    build = WORKLOADS[workload].build
    if impl == "torch":
        step = build(_torch())
    elif impl == "replayed":
        step = pydl.compile(build(), fullgraph=True)
        for _ in range(3):
            step()
        assert step.replays == 1
    else:
        step = build()
    benchmark(step)
