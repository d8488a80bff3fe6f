"""GEMM: pydl vs NumPy's BLAS (GFLOP/s), the FMA peak, and MLP training steps vs PyTorch.

pytest benchmarks/test_gemm.py --benchmark-enable --benchmark-json=gemm.json
python benchmarks/report.py gemm.json        # GFLOP/s tables and ratios
"""

import numpy as np
import pytest
from conftest import training_step

import pydl
from pydl import _core, nn, optim

SQUARE = [64, 128, 256, 512, 1024, 2048]
TRAINING = [
    (128, 784, 256),
    (128, 256, 784),
    (784, 128, 256),
    (2048, 27, 16),
    (16, 27, 2048),
    (32, 64, 1024),
]
SHAPES = [(n, n, n) for n in SQUARE] + TRAINING  # (m, k, n)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def blas_threads(request):
    """The same thread count for pydl, NumPy's BLAS and PyTorch."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pydl.set_num_threads(request.param)
    try:
        import torch

        torch.set_num_threads(request.param)
    except ImportError:
        pass
    with threadpoolctl.threadpool_limits(limits=request.param, user_api="blas"):
        yield request.param


@pytest.mark.parametrize("impl", ["pydl", "numpy"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{k}x{n}" for m, k, n in SHAPES])
def test_sgemm(benchmark, impl, shape, blas_threads):
    m, k, n = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = np.empty((m, n), np.float32)
    benchmark.group = f"sgemm {m}x{k}x{n} {blas_threads}t"
    benchmark.extra_info["gflop"] = 2 * m * n * k / 1e9
    if impl == "numpy":
        benchmark(np.matmul, a, b, out=c)
    else:
        benchmark(_core.sgemm, False, False, m, n, k, 1.0, a, k, b, n, 0.0, c, n)


def test_fma_peak(benchmark):
    """12 independent AVX2 FMA chains on one core: the machine's single-core peak."""
    iterations = 2_000_000
    benchmark.group = "fma peak 1t"
    benchmark.extra_info["gflop"] = 192 * iterations / 1e9
    benchmark(_core.fma_peak_loop, iterations)


def _mlp_step(impl, batch, opt_name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    if impl == "torch":
        torch = pytest.importorskip("torch")
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 256),
            torch.nn.Tanh(),
            torch.nn.Linear(256, 256),
            torch.nn.Tanh(),
            torch.nn.Linear(256, 10),
        )
        opt = (
            torch.optim.Adam(model.parameters(), lr=1e-3)
            if opt_name == "adam"
            else torch.optim.SGD(model.parameters(), lr=0.01)
        )
        xt, yt = torch.tensor(x), torch.tensor(y)

        step = training_step(model, opt, torch.nn.functional.cross_entropy, xt, yt)
        return step
    model = nn.Sequential(
        nn.Linear(784, 256), nn.Tanh(), nn.Linear(256, 256), nn.Tanh(), nn.Linear(256, 10)
    )
    opt = (
        optim.Adam(model.parameters(), lr=1e-3)
        if opt_name == "adam"
        else optim.SGD(model.parameters(), lr=0.01)
    )
    xt = pydl.tensor(x)

    step = training_step(model, opt, nn.functional.cross_entropy, xt, y)
    return step


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("batch,opt_name", [(128, "adam"), (8, "sgd")])
def test_mlp_784_256_256_10_step(benchmark, impl, batch, opt_name):
    """One training step (tanh MLP, cross-entropy) at 2 threads."""
    pydl.set_num_threads(2)
    step = _mlp_step(impl, batch, opt_name)
    if impl == "torch":
        import torch

        torch.set_num_threads(2)
    benchmark.group = f"mlp 784-256-256-10 batch {batch} {opt_name} 2t"
    benchmark(step)
