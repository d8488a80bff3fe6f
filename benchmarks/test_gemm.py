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


# The GPT step's products (m, n, k, transA, transB): forward qkv and fc1, fc2's, an input
# gradient, a weight gradient, and an LSTM step's hidden product.
BF16_SHAPES = [
    (1024, 1024, 1024, False, False),
    (2048, 768, 256, False, True),
    (2048, 1024, 256, False, True),
    (2048, 256, 1024, False, True),
    (2048, 256, 768, False, False),
    (768, 256, 2048, True, False),
    (32, 1024, 256, False, True),
]


# The exact bf16 kernel (the instruction, or its emulation where the CPU lacks it).
EXACT_BF16 = (
    "avx512bf16" if pydl.build_info()["bf16"]
    else "avx2" if pydl.build_info()["simd"] in ("avx2+fma", "avx512f") else "ref"
)  # fmt: skip


@pytest.mark.parametrize("kernel", ["fp32", "bf16", "amx"])
@pytest.mark.parametrize(
    "shape", BF16_SHAPES, ids=["{}x{}x{}{}{}".format(*s[:3], "T" if s[3] else "N",
                                                   "T" if s[4] else "N") for s in BF16_SHAPES]
)  # fmt: skip
def test_bf16_gemm(benchmark, kernel, shape):
    """sbgemm (bf16 operands, fp32 sums: autocast's products) on its exact kernel
    (vdpbf16ps) and on AMX tiles, against sgemm, on one thread; gflop / mean time is the
    GFLOP/s, to set against test_fma_peak's bf16 and AMX loops."""
    if kernel == "amx" and not pydl.build_info()["amx"]:
        pytest.skip("no AMX-BF16 here")
    m, n, k, ta, tb = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    c = np.empty((m, n), np.float32)
    pydl.set_num_threads(1)
    gemm = _core.sgemm if kernel == "fp32" else _core.sbgemm
    _core.bf16_gemm_set_kernel("amx" if kernel == "amx" else EXACT_BF16)
    benchmark.group = f"bf16 gemm {m}x{n}x{k} 1t"
    benchmark.extra_info["gflop"] = 2 * m * n * k / 1e9
    try:
        benchmark(gemm, ta, tb, m, n, k, 1.0, a, a.shape[1], b, b.shape[1], 0.0, c, n)
    finally:
        _core.bf16_gemm_set_kernel("auto")


@pytest.mark.parametrize(
    "loop,flops,iterations",
    [("fma_peak_loop", 192, 2_000_000), ("fma512_peak_loop", 384, 2_000_000),
     ("bf16_dot_peak_loop", 768, 2_000_000), ("amx_peak_loop", 65536, 50_000)],
)  # fmt: skip
def test_fma_peak(benchmark, loop, flops, iterations):
    """Independent chains on one core: AVX2 FMAs, AVX-512 FMAs, AVX512_BF16's vdpbf16ps
    (the ceiling of the exact bf16 kernel) and AMX's tdpbf16ps (of the AMX kernel);
    gflop / mean time is the GFLOP/s."""
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
