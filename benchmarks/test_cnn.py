"""Seed 001's CIFAR network: one training step, and its convolutions alone, pydl vs PyTorch.

pytest benchmarks/test_cnn.py --benchmark-enable --benchmark-json=cnn.json
python benchmarks/report.py cnn.json
"""

import numpy as np
import pytest
import pydl
from pydl import _workloads, nn

BATCH = _workloads.CNN_BATCH


@pytest.fixture
def two_threads():
    pydl.set_num_threads(2)
    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:
        pass


@pytest.mark.parametrize("impl", ["pydl", "torch"])
def test_cifar_training_step(benchmark, impl, two_threads):
    benchmark.group = f"cifar cnn step batch {BATCH} 2t"
    step = _workloads.cnn() if impl == "pydl" else _workloads.cnn(pytest.importorskip("torch"))
    benchmark(step)


LAYERS = {"conv1": (3, 16, 32), "conv2": (16, 32, 16)}  # in, out, spatial size


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("direction", ["forward", "forward+backward"])
def test_conv_layer(benchmark, impl, layer, direction, two_threads):
    c_in, c_out, size = LAYERS[layer]
    benchmark.group = f"cifar {layer} {direction} batch {BATCH} 2t"
    x = np.random.default_rng(0).standard_normal((BATCH, c_in, size, size)).astype(np.float32)
    if impl == "torch":
        torch = pytest.importorskip("torch")
        conv = torch.nn.Conv2d(c_in, c_out, 3, padding=1)
        xt = torch.tensor(x, requires_grad=direction != "forward")
    else:
        conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        xt = pydl.tensor(x, requires_grad=direction != "forward")

    def run():
        y = conv(xt)
        if direction != "forward":
            y.sum().backward()

    benchmark(run)
