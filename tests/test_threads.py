"""Core results are bit-identical for 1 and 2 threads (Note [Determinism]), on inputs that
provably run multi-threaded: each row's threaded sample must enter a parallel region with
more than one thread (the core counts them), or the row says why it cannot."""

import numpy as np
import pytest
from helpers import run_row
from op_table import ROWS

import pydl
from pydl import _core


def _parallel_regions() -> int:
    return _core._testing.parallel_regions()


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_one_and_two_threads_bit_identical(row):
    if "threads" in row.skips:
        pytest.skip(row.skips["threads"])
    arrays = row.sample(np.random.default_rng(3), row.threaded_inputs())
    pydl.set_num_threads(1)
    out1, g1 = run_row(row, arrays, "core", np.float32)
    pydl.set_num_threads(2)
    before = _parallel_regions()
    out2, g2 = run_row(row, arrays, "core", np.float32)
    assert _parallel_regions() > before, (
        f"{row.id}: the threaded sample never ran on 2 threads; give the row a bigger "
        f"`threaded` sample or a skip with the reason"
    )
    assert np.array_equal(out1, out2, equal_nan=True)
    for a, b in zip(g1, g2):
        assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True)


def test_one_thread_never_enters_a_parallel_region():
    pydl.set_num_threads(1)
    before = _parallel_regions()
    pydl.matmul(pydl.ones(512, 512), pydl.ones(512, 512))
    assert _parallel_regions() == before
