"""GEMM: pydl vs NumPy's BLAS (GFLOP/s), the FMA peak, and MLP training steps vs PyTorch.

pytest benchmarks/test_gemm.py --benchmark-enable --benchmark-json=gemm.json
python benchmarks/report.py gemm.json        # GFLOP/s tables and ratios
"""

import numpy as np
import pytest
import pydl
from pydl import _core, _workloads

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


@pytest.mark.parametrize(
    "loop,flops", [("fma_peak_loop", 192), ("fma512_peak_loop", 384), ("bf16_dot_peak_loop", 768)]
)
def test_fma_peak(benchmark, loop, flops):
    """12 independent chains on one core: AVX2 FMAs, AVX-512 FMAs, and AVX512_BF16's
    vdpbf16ps (the ceiling of a bf16 GEMM); gflop / mean time is the GFLOP/s."""
    iterations = 2_000_000
    fn = getattr(_core, loop)
    try:
        fn(10)
    except ValueError as e:
        pytest.skip(str(e))
    benchmark.group = "fma peak 1t"
    benchmark.extra_info["gflop"] = flops * iterations / 1e9
    benchmark(fn, iterations)


@pytest.mark.parametrize("impl", ["pydl", "torch"])
@pytest.mark.parametrize("batch,opt_name", [(128, "adam"), (8, "sgd")])
def test_mlp_784_256_256_10_step(benchmark, impl, batch, opt_name):
    """One training step (tanh MLP, cross-entropy) at 2 threads."""
    pydl.set_num_threads(2)
    torch = pytest.importorskip("torch") if impl == "torch" else None
    if torch is not None:
        torch.set_num_threads(2)
    step = _workloads.mlp(batch, opt_name, torch)
    benchmark.group = f"mlp 784-256-256-10 batch {batch} {opt_name} 2t"
    benchmark(step)
