"""sgemm against a float64 NumPy product: transposes, alpha/beta, edges, threads, kernels."""

import itertools
import os

import numpy as np
import pytest

import pydl
from pydl import _core

SIMD = pydl.build_info()["simd"]
KERNELS = (
    ["ref"]
    + (["avx2"] if SIMD in ("avx2+fma", "avx512f") else [])
    + (["avx512"] if SIMD == "avx512f" else [])
)
# cpp/gemm's blocking as the driver uses it: tile, depth block, row block, the blocked
# path's depth block when k > KC, the small path's row limit
BLOCKING = _core._testing.gemm_blocking()
MR, NR, KC, MC = BLOCKING["MR"], BLOCKING["NR"], BLOCKING["KC"], BLOCKING["MC"]
KC_DEEP = BLOCKING["KC_DEEP"]
SMALL_M, SMALL_N = BLOCKING["SMALL_M"], BLOCKING["SMALL_N"]


@pytest.fixture(params=KERNELS)
def kernel(request):
    _core.gemm_set_kernel(request.param)
    yield request.param
    _core.gemm_set_kernel("auto")


def gemm(trans_a, trans_b, m, n, k, alpha, beta, rng, pad=0, c_fill=None):
    """Run sgemm on row-major buffers with leading dims padded by `pad`; return (got, want)."""
    ar, ac = (k, m) if trans_a else (m, k)
    br, bc = (n, k) if trans_b else (k, n)
    lda, ldb, ldc = max(1, ac + pad), max(1, bc + pad), n + pad  # BLAS: ld >= max(1, cols)
    a = rng.standard_normal((ar, lda)).astype(np.float32)
    b = rng.standard_normal((br, ldb)).astype(np.float32)
    c = (rng.standard_normal((m, ldc)) if c_fill is None else np.full((m, ldc), c_fill)).astype(
        np.float32
    )
    c_before = c.copy()
    _core.sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    op_a = a[:, :ac].astype(np.float64)
    op_b = b[:, :bc].astype(np.float64)
    op_a = op_a.T if trans_a else op_a
    op_b = op_b.T if trans_b else op_b
    want = alpha * (op_a @ op_b)
    if beta != 0:
        want = want + beta * c_before[:, :n]
    # the padding columns of C are never touched
    np.testing.assert_array_equal(c[:, n:], c_before[:, n:])
    return c[:, :n], want


def check(got, want, k):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * max(1, k) ** 0.5 * 4)


@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (1.0, 1.0), (0.5, -2.0), (-1.5, 0.25)])
def test_transposes_and_scalars(kernel, trans_a, trans_b, alpha, beta):
    rng = np.random.default_rng(1)
    # dot (m <= 16, narrow), small (incl. 9..16 rows, many columns) and blocked paths
    for m, n, k in [(13, 21, 17), (13, 70, 40), (150, 40, 70), (100, 200, 330)]:
        got, want = gemm(trans_a, trans_b, m, n, k, alpha, beta, rng, pad=3)
        check(got, want, k)


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("k", [KC + 1, KC + KC_DEEP + 3, 3 * KC_DEEP])
def test_blocked_path_deep_products(kernel, trans_a, trans_b, k):
    """Depths beyond one KC block on the blocked path (blocks of KC_DEEP and a remainder),
    with beta = 1 carried across blocks; 1 and 2 threads bit-identical."""
    m, n = SMALL_M + 14, SMALL_N + 18  # blocked: m > SMALL_M and n > SMALL_N (or A transposed)
    out = []
    for threads in (1, 2):
        pydl.set_num_threads(threads)
        got, want = gemm(trans_a, trans_b, m, n, k, 1.0, 1.0, np.random.default_rng(k), pad=2)
        check(got, want, k)
        out.append(got)
    assert np.array_equal(out[0], out[1])


EDGE = sorted({1, MR - 1, MR, MR + 1, NR - 1, NR, NR + 1, 2 * MR + 1})


@pytest.mark.parametrize("m", EDGE + [SMALL_M, SMALL_M + 1, MC + 1])
@pytest.mark.parametrize("n", EDGE + [3 * NR + 5])
def test_edge_sizes(kernel, m, n):
    rng = np.random.default_rng(m * 100 + n)
    for k in (1, 7, KC - 1, KC + 1):
        got, want = gemm(False, False, m, n, k, 1.0, 0.0, rng)
        check(got, want, k)


@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("pad", [0, 5])
def test_packed_a_depths(trans_a, trans_b, pad):
    """A packed in full and partial panels at depths around the 8-deep transposes of its
    packing (k 8, 9, 16, 17) on the small (k <= 64) and blocked paths."""
    rng = np.random.default_rng(7 + pad)
    for m in (102, 150):
        for k in (1, 2, 7, 8, 9, 16, 17, 63, 65, 73):
            got, want = gemm(trans_a, trans_b, m, 130, k, 1.0, 0.0, rng, pad=pad)
            check(got, want, k)


@pytest.mark.parametrize("n,pad", [(256, 0), (250, 6), (512, 0), (40, 216)])
def test_small_path_with_packed_b(kernel, n, pad):
    """Row strides that are multiples of 1 KiB make the small path pack B (all panels, or
    only a partial last one otherwise), by all threads."""
    rng = np.random.default_rng(n + pad)
    for threads in (1, 2):
        pydl.set_num_threads(threads)
        for m, k in [(16, 27), (40, 300), (7, 1030)]:
            got, want = gemm(False, False, m, n, k, 1.0, 0.5, rng, pad=pad)
            check(got, want, k)
    pydl.set_num_threads(1)


@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_beta_zero_ignores_nan_in_c(kernel, trans_a, trans_b):
    rng = np.random.default_rng(2)
    for m, n, k in [(5, 3, 4), (1, 40, 9), (40, 1, 9), (130, 70, 340)]:
        got, want = gemm(trans_a, trans_b, m, n, k, 1.0, 0.0, rng, c_fill=np.nan)
        assert not np.isnan(got).any()
        check(got, want, k)


def test_degenerate_shapes(kernel):
    rng = np.random.default_rng(3)
    got, want = gemm(False, False, 4, 5, 0, 1.0, 0.0, rng, c_fill=np.nan)  # k = 0 -> C = 0
    np.testing.assert_array_equal(got, np.zeros((4, 5)))
    got, want = gemm(False, False, 4, 5, 0, 1.0, 2.0, rng)  # k = 0 -> C = beta C
    check(got, want, 1)
    for m, n, k in [(1, 1, 1), (1, 37, 300), (37, 1, 300), (1, 1000, 3), (1000, 1, 3)]:
        for ta, tb in itertools.product([False, True], repeat=2):
            got, want = gemm(ta, tb, m, n, k, 0.7, 0.3, rng)
            check(got, want, k)
    c = np.full((3, 3), 7.0, np.float32)  # alpha = 0: only beta scales C
    _core.sgemm(
        False, False, 3, 3, 3, 0.0, np.ones(9, np.float32), 3, np.ones(9, np.float32), 3, 0.5, c, 3
    )
    np.testing.assert_array_equal(c, 3.5)


# (m, k, n): blocked path split by rows and by columns; small path with two ragged row
# blocks split by B panels (90 x 300 x 700) and by rows (150 x 40 x 100).
@pytest.mark.parametrize(
    "shape",
    [
        (300, 200, 500),
        (1000, 64, 48),
        (64, 700, 900),
        (8, 784, 256),
        (200, 300, 1000),
        (90, 300, 700),
        (150, 40, 100),
    ],
)
def test_one_and_two_threads_bit_identical(kernel, shape):
    m, k, n = shape
    rng = np.random.default_rng(4)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = []
    for threads in (1, 2):
        pydl.set_num_threads(threads)
        c = np.zeros((m, n), np.float32)
        _core.sgemm(False, True, m, n, k, 1.0, a, k, np.ascontiguousarray(b.T), k, 0.0, c, n)
        out.append(c)
    assert np.array_equal(out[0], out[1])
    np.testing.assert_allclose(out[1], a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4 * np.sqrt(k))


def test_all_kernels_agree():
    if len(KERNELS) == 1:
        pytest.skip("only the reference kernel runs on this CPU")
    rng = np.random.default_rng(5)
    a = rng.standard_normal((77, 333)).astype(np.float32)
    b = rng.standard_normal((333, 45)).astype(np.float32)
    results = {}
    for name in KERNELS:
        _core.gemm_set_kernel(name)
        results[name] = _core.matmul_forward(a, b)
    _core.gemm_set_kernel("auto")
    for name in KERNELS[1:]:
        np.testing.assert_allclose(results["ref"], results[name], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "ta,tb,m,n,k",
    [(False, False, 100, 70, 300), (False, True, 130, 250, 1030), (True, False, 64, 33, 77),
     (False, False, 20, 512, 100), (False, False, 7, 40, 3), (True, True, 150, 130, 65),
     (False, False, 40, 256, 300), (True, False, 64, 1024, 300), (True, True, 40, 200, 100),
     (False, False, 130, 600, 50)],
)  # fmt: skip
def test_avx512_wide_tiles_are_the_avx2_kernel_bit_for_bit(ta, tb, m, n, k):
    """Note [Wide tile]: the AVX-512 tiles (blocked path; small path with A in place or
    packed in 8-row panels, the last three shapes; 1 or 2 panels left over, partial panels,
    B read in place) compute each element as the 6 x 16 kernels do, so as the AVX2 kernel:
    bit for bit, with alpha, beta and an epilogue."""
    if "avx512" not in KERNELS:
        pytest.skip("no AVX-512 here")
    rng = np.random.default_rng(m + n + k)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal((m, k)).astype(np.float32)
    out = {}
    for name in ("avx2", "avx512"):
        _core.gemm_set_kernel(name)
        for threads in (1, 2):
            with pydl.threads(threads):
                c = np.full((m, n), 1.5, np.float32)
                _core.sgemm(ta, tb, m, n, k, 0.75, a, a.shape[1], b, b.shape[1], 0.5, c, n)
                y = _core.linear_act_forward(x, w, bias, "gelu")
            out[name, threads] = (c, *(t for t in y if isinstance(t, np.ndarray)))
    _core.gemm_set_kernel("auto")
    for key, arrays in out.items():
        for got, want in zip(arrays, out["avx2", 1]):
            np.testing.assert_array_equal(got, want, err_msg=str(key))


def test_kernel_selection():
    _core.gemm_set_kernel("ref")
    assert _core.gemm_kernel() == "ref"
    _core.gemm_set_kernel("auto")
    assert _core.gemm_kernel() == KERNELS[-1]  # the widest the CPU runs
    with pytest.raises(ValueError, match="unknown GEMM kernel"):
        _core.gemm_set_kernel("sse9")
    if "avx512" not in KERNELS:
        with pytest.raises(ValueError, match="needs a CPU with AVX-512F"):
            _core.gemm_set_kernel("avx512")


def test_invalid_leading_dimensions_raise():
    a = np.zeros(12, np.float32)
    c = np.zeros(12, np.float32)
    with pytest.raises(ValueError, match="leading dimension of a"):
        _core.sgemm(False, False, 3, 4, 4, 1.0, a, 2, a, 4, 0.0, c, 4)
    with pytest.raises(ValueError, match="b has 12 elements"):
        _core.sgemm(False, False, 3, 4, 4, 1.0, np.zeros(12, np.float32), 4, a, 4, 0.0, c, 4)
    with pytest.raises(ValueError, match="leading dimension of c"):
        _core.sgemm(False, False, 3, 4, 3, 1.0, a, 3, a, 4, 0.0, c, 3)
    with pytest.raises(ValueError, match="c has 12 elements"):
        _core.sgemm(False, False, 4, 4, 3, 1.0, a, 3, a, 4, 0.0, c, 4)
    with pytest.raises(ValueError, match="negative"):
        _core.sgemm(False, False, -1, 4, 3, 1.0, a, 3, a, 4, 0.0, c, 4)
    with pytest.raises(TypeError, match="writable"):
        _core.sgemm(False, False, 3, 4, 3, 1.0, a, 3, a, 4, 0.0, np.zeros(12), 4)


@pytest.mark.parametrize("act", ["none", "relu", "gelu", "tanh", "sigmoid"])
@pytest.mark.parametrize(
    "shape", [(7, 9, 17), (12, 600, 20), (200, 33, 130), (1, 50, 40), (30, 20, 1)]
)
def test_fused_epilogue(kernel, act, shape):
    from pydl import reference

    m, k, n = shape
    rng = np.random.default_rng(6)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    y, pre = _core.linear_act_forward(x, w, b, act)
    y_ref, pre_ref = reference.linear_act_forward(
        x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), act
    )
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)
    assert (pre is None) == (act != "gelu")
    if pre is not None:
        np.testing.assert_allclose(pre, pre_ref, rtol=1e-4, atol=1e-4)


def test_batched_matmul_uses_every_matrix():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((5, 3, 20, 30)).astype(np.float32)
    b = rng.standard_normal((5, 3, 30, 40)).astype(np.float32)
    np.testing.assert_allclose(
        _core.matmul_forward(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("threads", [1, 2])
def test_balanced_tasks_run_each_once(threads):
    """GEMM tasks (parallel_for_each_balanced): every item runs exactly once, and a thread
    done with its share takes items from a slow thread's share."""
    with pydl.threads(threads):
        for n in (0, 1, 2, 3, 17):
            counts, _ = _core._testing.balanced_for_each_probe(n, 0, 0.0)
            assert counts == [1] * n
        counts, thread_of = _core._testing.balanced_for_each_probe(
            8, 4, 5.0
        )  # thread 0's share sleeps
    assert counts == [1] * 8
    if threads == 2:
        assert 1 in thread_of[:4], thread_of


def test_a_thread_that_keeps_starting_items_is_not_robbed():
    """Note [Steal from the stuck]: the caller's share is 4 items of 10 us, the worker's 4
    instant ones; the worker, done at once, must leave the caller's items to it while it
    starts one every 10 us (it took them when any thread done with its share stole)."""
    with pydl.threads(2):
        robbed = 0
        for _ in range(20):
            _, thread_of = _core._testing.balanced_for_each_probe(8, 4, 0.01, busy=True)
            robbed += thread_of[:4] != [0, 0, 0, 0]
    assert robbed <= 10, robbed  # a caller the OS sets aside for 20 us is robbed, rightly


def test_the_calling_thread_runs_the_first_share():
    """Note [Item 0 on the caller]: a region's first share runs on the calling thread every
    time (a spinning worker claimed it about as often as the caller did), so kernels that
    split a weight the same way keep each half in one core's cache."""
    with pydl.threads(2):
        for _ in range(40):
            # two items of 1 ms: each thread takes its own share, none is left to steal
            _, thread_of = _core._testing.balanced_for_each_probe(2, 2, 1.0)
            assert thread_of[0] == 0, thread_of


@pytest.mark.parametrize(
    "loop,flag",
    [
        ("fma_peak_loop", None),
        ("fma512_peak_loop", "avx512f"),
        ("bf16_dot_peak_loop", "avx512_bf16"),
        ("amx_peak_loop", "amx_bf16"),
    ],
)
def test_peak_loops_run_or_refuse(loop, flag):
    """The peak loops (benchmarks/test_gemm.py) return a finite result where the CPU has
    their instructions and raise ValueError naming the missing one where it does not."""
    capped = os.environ.get("PYDL_SIMD") in ("generic", "avx2")  # no AVX-512 then
    has = flag is None or (_cpu_flag(flag) and not capped)
    if loop == "amx_peak_loop":  # the OS must allow the tiles too
        has = pydl.build_info()["amx"]
    if has:
        assert np.isfinite(getattr(_core, loop)(1000))
    else:
        with pytest.raises(ValueError, match="this CPU has no"):
            getattr(_core, loop)(1000)


def _cpu_flag(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return flag in f.read().split()
    except OSError:
        pytest.skip("no /proc/cpuinfo to read the CPU's flags from")


def _sgemm_avx512_is_avx2(ta: bool, tb: bool, shapes, seed: int) -> None:
    """Each m x n x k product of `shapes` on the AVX2 kernel and on AVX-512, on 1 and 2
    threads: the same bits, and the float64 product within the tolerance."""
    if "avx512" not in KERNELS:
        pytest.skip("no AVX-512 here")
    rng = np.random.default_rng(seed)
    for m, n, k in shapes:
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        out = []
        for name, threads in itertools.product(("avx2", "avx512"), (1, 2)):
            _core.gemm_set_kernel(name)
            with pydl.threads(threads):
                c = np.full((m, n), 0.5, np.float32)
                _core.sgemm(ta, tb, m, n, k, 0.75, a, a.shape[1], b, b.shape[1], 0.25, c, n)
            out.append(c)
        _core.gemm_set_kernel("auto")
        for got in out[1:]:
            np.testing.assert_array_equal(got, out[0], err_msg=f"{m}x{n}x{k}")
        want = 0.75 * ((a.T if ta else a).astype(np.float64) @ (b.T if tb else b)) + 0.125
        check(out[-1], want, k)


def _linear_avx512_is_avx2(shapes, act: str | None, seed: int) -> dict:
    """Linear's bias, pre-activation and activation (batch m, n outputs, k inputs) on the
    AVX-512 tiles against the AVX2 kernel, bit for bit; returns the last shape's outputs
    by kernel."""
    if "avx512" not in KERNELS:
        pytest.skip("no AVX-512 here")
    rng = np.random.default_rng(seed)
    for m, n, k in shapes:
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = rng.standard_normal((n, k)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        out = {}
        for name in ("avx2", "avx512"):
            _core.gemm_set_kernel(name)
            y = _core.linear_act_forward(x, w, bias, act or "none", True, False)
            out[name] = [t for t in (y if isinstance(y, tuple) else (y,)) if t is not None]
        _core.gemm_set_kernel("auto")
        for got, want in zip(out["avx512"], out["avx2"]):
            np.testing.assert_array_equal(got, want, err_msg=f"{m}x{n}x{k}")
    return out


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_small_batch_tiles_are_the_avx2_kernel_bit_for_bit(ta, tb):
    """Note [Wide tile] and the AVX-512 dot tile: products of up to a few dozen rows, or of
    a short depth (a weight gradient's), at every row count 1..17, widths that leave 1, 2
    or 3 panels and partial ones, depths with and without a tail of 8, on 1 and 2 threads:
    the AVX-512 path computes each element as the AVX2 kernel does."""
    shapes = itertools.product(range(1, 18), (5, 16, 33, 48, 100), (3, 8, 64, 101))
    _sgemm_avx512_is_avx2(ta, tb, shapes, seed=17)


@pytest.mark.parametrize("act", [None, "relu", "gelu"])
def test_small_batch_linear_epilogues_are_the_avx2_kernel_bit_for_bit(act):
    """Linear's bias, pre-activation and activation on the AVX-512 small-batch tiles (8-row
    wide tiles split into store_tile's 6 + 2 rows) against the AVX2 kernel, bit for bit."""
    shapes = itertools.product((1, 7, 8, 9, 14, 17, 40), (10, 48, 100), (20, 300, 600))
    _linear_avx512_is_avx2(shapes, act, seed=18)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_blocked_wide_tiles_are_the_avx2_kernel_bit_for_bit(ta, tb):
    """The blocked path's AVX-512 wide tiles (8 packed rows x 3 B panels, Note [Wide tile])
    against the AVX2 6 x 16 tiles, on 1 and 2 threads: row counts that leave partial 8-row
    panels, widths that leave 1 or 2 panels of a group and a partial one, a width past one
    column block (kNC), depths of one block and of several (kKCDeep) with a short last one."""
    assert BLOCKING["NC"] < 4100 and 2 * BLOCKING["KC_DEEP"] < 1030 < 3 * BLOCKING["KC_DEEP"]
    shapes = [(97, 530, 70), (203, 600, 1030), (130, 4100, 72), (250, 545, 300)]
    _sgemm_avx512_is_avx2(ta, tb, shapes, seed=19)


@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_blocked_linear_epilogues_are_the_avx2_kernel_bit_for_bit(act):
    """Linear's bias, pre-activation and activation finished by the blocked path's wide
    tiles (C 200 x 600: 25 row panels, 38 B panels) against the AVX2 kernel, bit for bit."""
    out = _linear_avx512_is_avx2([(200, 600, 300)], act, seed=20)
    # the activation, and for gelu the pre-activation its backward reads
    assert len(out["avx2"]) == len(out["avx512"]) == (2 if act == "gelu" else 1)
