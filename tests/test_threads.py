"""Core results are bit-identical for 1 and 2 threads (Note [Determinism]), on inputs that
provably run multi-threaded: each row's threaded sample must enter a parallel region with
more than one thread (the core counts them) in its forward and in its backward, or the row
says why that direction cannot."""

import numpy as np
import pytest
from op_table import ROWS

import pydl
from pydl import _core


def _parallel_regions() -> int:
    return _core._testing.parallel_regions()


def _run_counted(row, arrays):
    """run_row on the core, float32, also returning how many multi-threaded regions the
    forward and the backward entered."""
    pydl.set_backend("core")
    ts = [
        pydl.tensor(a.astype(np.float32), requires_grad=i not in row.nondiff)
        for i, a in enumerate(arrays)
    ]
    start = _parallel_regions()
    out = row.fn(*ts)
    mid = _parallel_regions()
    w = np.random.default_rng(99).uniform(0.5, 1.5, size=out.shape).astype(np.float32)
    out.backward(w)
    grads = [t.grad.numpy() if t.grad is not None else None for t in ts]
    return out.numpy().copy(), grads, (mid - start, _parallel_regions() - mid)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_one_and_two_threads_bit_identical(row):
    if "threads" in row.skips:
        pytest.skip(row.skips["threads"])
    arrays = row.sample(np.random.default_rng(3), row.threaded_inputs())
    pydl.set_num_threads(1)
    out1, g1, _ = _run_counted(row, arrays)
    pydl.set_num_threads(2)
    out2, g2, regions = _run_counted(row, arrays)
    for direction, count in zip(("forward", "backward"), regions):
        skip = row.skips.get(f"threads_{direction}")
        assert count > 0 or skip, (
            f"{row.id}: the threaded sample's {direction} never ran on 2 threads; give the "
            f"row a bigger `threaded` sample or a skips['threads_{direction}'] reason"
        )
    assert np.array_equal(out1, out2, equal_nan=True)
    for a, b in zip(g1, g2):
        assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True)


def test_one_thread_never_enters_a_parallel_region():
    pydl.set_num_threads(1)
    before = _parallel_regions()
    pydl.matmul(pydl.ones(512, 512), pydl.ones(512, 512))
    assert _parallel_regions() == before
