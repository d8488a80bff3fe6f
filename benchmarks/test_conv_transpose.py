"""A DCGAN generator's ConvTranspose2d (k4 s2 p1: 8x8 -> 16x16) and a U-Net decoder's
upsampling, pydl vs PyTorch, forward and forward+backward on 2 threads.

pytest benchmarks/test_conv_transpose.py --benchmark-enable --benchmark-json=convt.json
python benchmarks/report.py convt.json
"""

import numpy as np
import pytest

import pydl
from pydl import nn

BATCH = 64


@pytest.fixture
def two_threads():
    pydl.set_num_threads(2)
    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:
        pass


def _layer_and_input(impl, make, shape, grad):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if impl == "torch":
        torch = pytest.importorskip("torch")
        return make(torch.nn), torch.tensor(x, requires_grad=grad)
    return make(nn), pydl.tensor(x, requires_grad=grad)


def _run(layer, x, direction):
    def run():
        y = layer(x)
        if direction != "forward":
            y.sum().backward()

    return run


def dcgan_step(impl, direction="forward+backward"):
    """The DCGAN layer's forward (and backward of y.sum()) as a closure (interleaved.py)."""
    layer, x = _layer_and_input(
        impl,
        lambda m: m.ConvTranspose2d(128, 64, 4, stride=2, padding=1),
        (BATCH, 128, 8, 8),
        direction != "forward",
    )
    return _run(layer, x, direction)


def upsample_step(impl, mode="bilinear", direction="forward+backward"):
    layer, x = _layer_and_input(
        impl,
        lambda m: m.Upsample(scale_factor=2, mode=mode),
        (16, 64, 32, 32),
        direction != "forward",
    )
    return _run(layer, x, direction)


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("direction", ["forward", "forward+backward"])
def test_dcgan_conv_transpose(benchmark, impl, direction, two_threads):
    benchmark.group = f"dcgan convt 128->64 k4s2p1 8x8 {direction} batch {BATCH} 2t"
    benchmark(dcgan_step(impl, direction))


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("direction", ["forward", "forward+backward"])
def test_unet_upsample(benchmark, impl, mode, direction, two_threads):
    benchmark.group = f"upsample x2 {mode} 64ch 32x32 {direction} batch 16 2t"
    benchmark(upsample_step(impl, mode, direction))
