"""A DCGAN generator's ConvTranspose2d (k4 s2 p1: 8x8 -> 16x16) and a U-Net decoder's
upsampling, pydl vs PyTorch, forward and forward+backward on 2 threads.

pytest benchmarks/test_conv_transpose.py --benchmark-enable --benchmark-json=convt.json
python benchmarks/report.py convt.json
"""

import pytest

import pydl
from pydl._workloads import dcgan_convt, unet_upsample

BATCH = 64


@pytest.fixture
def two_threads():
    pydl.set_num_threads(2)
    try:
        import torch

        torch.set_num_threads(2)
    except ImportError:
        pass


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("direction", ["forward", "forward+backward"])
def test_dcgan_conv_transpose(benchmark, impl, direction, two_threads):
    benchmark.group = f"dcgan convt 128->64 k4s2p1 8x8 {direction} batch {BATCH} 2t"
    torch = pytest.importorskip("torch") if impl == "torch" else None
    benchmark(dcgan_convt(torch, backward=direction != "forward"))


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("direction", ["forward", "forward+backward"])
def test_unet_upsample(benchmark, impl, mode, direction, two_threads):
    benchmark.group = f"upsample x2 {mode} 64ch 32x32 {direction} batch 16 2t"
    torch = pytest.importorskip("torch") if impl == "torch" else None
    benchmark(unet_upsample(torch, mode, backward=direction != "forward"))
