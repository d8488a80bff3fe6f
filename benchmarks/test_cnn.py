"""Seed 001's CIFAR network: one training step, and its convolutions alone, pydl vs PyTorch.

pytest benchmarks/test_cnn.py --benchmark-enable --benchmark-json=cnn.json
python benchmarks/report.py cnn.json
"""

import numpy as np
import pytest
from conftest import training_step

import pydl
from pydl import nn, optim

BATCH = 64


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((BATCH, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, BATCH)


def _pydl_step():
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2048, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = _data()
    xt = pydl.tensor(x)

    step = training_step(model, opt, nn.functional.cross_entropy, xt, y)
    return step


def _torch_step(torch):
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(2048, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = _data()
    xt, yt = torch.tensor(x), torch.tensor(y)

    step = training_step(model, opt, torch.nn.functional.cross_entropy, xt, yt)
    return step


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
    step = _pydl_step() if impl == "pydl" else _torch_step(pytest.importorskip("torch"))
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
