"""Out of memory at every allocation of every kernel (Note [Checked allocations] in
cpp/core/buffer_pool.h).

_core._testing.fail_allocation_after(k) makes the k-th checked allocation from then on fail
as a real one would (OutOfMemory, naming its bytes). For every op-table row, forward and
backward on float32, at 1 and 2 threads, allocation k = 0, 1, 2, ... fails in turn until the
row runs through: each failure must reach Python as a MemoryError saying "out of memory
allocating N bytes" (nothing else raised, nothing swallowed: the planned failure happened
exactly when the op raised), and the run that succeeds must give the values of a run without
failures: an earlier failure left no corrupted state behind (the buffer pool's cache, a
kernel's scratch). Real address-space limits: test_faults.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from op_table import ROWS

import pydl
from pydl import _core

T = _core._testing
OOM = re.compile(r"out of memory allocating \d+ bytes")
# No row allocates more often than this on its own sample (a guard against a loop that
# never ends, should a row allocate without end)
MAX_ALLOCATIONS = 2000

# Rows whose threaded sample (2 threads: failures inside parallel regions) is cheap enough
# for the default run; every row's is in the slow test.
THREADED = {
    "add_bcast",
    "softmax",
    "sum_axis1_keepdim",
    "matmul_2d",
    "linear",
    "conv_3x3_pad1",
    "convt_k4_s2_p1",
    "max_pool2d",
    "avg_pool2d",
    "upsample_bilinear_x2",
    "layer_norm",
    "lstm",
    "gru",
    "sdpa",
    "attention_heads",
    "cross_entropy",
    "embedding",
    "scatter_reduce_mean",
    "sort_values",
    "cumsum_last",
}


@pytest.fixture(autouse=True)
def _no_planned_failure():
    T.fail_allocation_after(-1)
    yield
    T.fail_allocation_after(-1)


def _forward_backward(row, arrays):
    ts = [pydl.tensor(a, requires_grad=i not in row.nondiff) for i, a in enumerate(arrays)]
    out = row.fn(*ts)
    w = np.random.default_rng(99).uniform(0.5, 1.5, size=out.shape).astype(np.float32)
    out.backward(w)
    return [out.numpy().copy()] + [
        t.grad.numpy().copy() if t.grad is not None else None for t in ts
    ]


def _same(got, want, what):
    for i, (a, b) in enumerate(zip(got, want)):
        assert (a is None) == (b is None), f"{what}: result {i}"
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=f"{what}: result {i}")


def _fail_each_allocation(row, arrays, threads, spread=None):
    """Runs the row with allocation 0, 1, 2, ... failing until it succeeds; returns how many
    allocations it made. With `spread`, only about that many allocations fail in turn (the
    first ones, the last, and evenly between), for samples that allocate thousands of
    times (one product per sample inside a region)."""
    pydl.set_backend("core")
    pydl.set_num_threads(threads)
    arrays = [a.astype(np.float32) for a in arrays]
    T.fail_allocation_after(10**12)
    want = _forward_backward(row, arrays)
    count = 10**12 - T.fail_allocation_after(-1)
    ks = range(MAX_ALLOCATIONS)
    if spread is not None:
        ks = sorted({*range(min(count, 4)), *np.linspace(0, count, spread, dtype=int).tolist()})
    for k in ks:
        error = None
        T.fail_allocation_after(k)
        try:
            got = _forward_backward(row, arrays)
        except MemoryError as e:
            error = e
        finally:
            left = T.fail_allocation_after(-1)
        if error is None:
            assert left >= 0, f"{row.id}: allocation {k} failed, yet the op returned"
            assert k >= count, f"{row.id}: {count} allocations, yet allocation {k} did not fail"
            _same(got, want, f"{row.id} after {k} failed allocations")
            return count
        assert left == -1, f"{row.id}: MemoryError without the planned failure: {error}"
        assert OOM.search(str(error)), f"{row.id}, allocation {k}: {error}"
    pytest.fail(f"{row.id}: still allocating after {ks[-1]} allocations")


def _pool_consistent():
    """The buffer pool's cache gives back exactly what it holds."""
    cached = _core.cached_bytes()
    assert pydl.empty_cache() == cached
    assert _core.cached_bytes() == 0


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_every_allocation_failing_is_memory_error(row, threads):
    arrays = row.sample(np.random.default_rng(0))
    _fail_each_allocation(row, arrays, threads)
    _pool_consistent()


@pytest.mark.parametrize("row", [r for r in ROWS if r.id in THREADED], ids=lambda r: r.id)
def test_failures_inside_parallel_regions(row):
    """The threaded samples at 2 threads: allocations inside regions fail too (conv's
    per-sample GEMMs, attention's blocks), and are rethrown on the caller."""
    before = T.parallel_regions()
    arrays = row.sample(np.random.default_rng(0), row.threaded_inputs())
    n = _fail_each_allocation(row, arrays, 2, spread=24)
    assert n > 0
    assert T.parallel_regions() > before or "threads" in row.skips
    _pool_consistent()


@pytest.mark.slow
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_every_threaded_sample(row):
    if "threads" in row.skips:  # its threaded sample may not fit it (a reshape's size)
        pytest.skip(row.skips["threads"])
    arrays = row.sample(np.random.default_rng(0), row.threaded_inputs())
    _fail_each_allocation(row, arrays, 2, spread=64)
    _pool_consistent()


def test_hook_counts_and_fires_once():
    a = np.ones((4, 4), np.float32)
    assert T.fail_allocation_after(-1) == -1
    T.fail_allocation_after(0)
    with pytest.raises(MemoryError, match=r"pydl: out of memory allocating 64 bytes"):
        _core.matmul_forward(a, a)
    assert T.fail_allocation_after(-1) == -1  # it happened
    np.testing.assert_array_equal(_core.matmul_forward(a, a), np.full((4, 4), 4, np.float32))
    T.fail_allocation_after(1000)
    _core.matmul_forward(a, a)  # the output (and the GEMM's scratch): a few allocations
    assert 990 <= T.fail_allocation_after(-1) < 1000


def test_large_outputs_come_from_the_pool_and_fail_with_their_size():
    """A pooled output (>= 256 KiB) and a NumPy one both name their bytes."""
    big = np.ones((512, 256), np.float32)
    T.fail_allocation_after(0)
    with pytest.raises(MemoryError, match=f"allocating {512 * 512 * 4} bytes"):
        _core.matmul_forward(big, big.T.copy())
    T.fail_allocation_after(0)
    with pytest.raises(MemoryError, match=r"allocating 16 bytes"):
        _core.add_forward(np.ones(4, np.float32), np.ones(4, np.float32))
