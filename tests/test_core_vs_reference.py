"""Every core kernel (forward and backward) against its NumPy reference (float64), on every
sample of every op-table row."""

import numpy as np
import pytest
from helpers import run_row
from op_table import ROWS

CASES = [
    pytest.param(row, k, dtype, id=f"{row.id}-s{k}-{np.dtype(dtype).name}")
    for row in ROWS
    for k in range(len(row.samples()))
    for dtype in row.dtypes
]


def _scaled(a, b, rtol, atol):
    scale = max(1.0, float(np.max(np.abs(b))) if b.size else 1.0)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale)


@pytest.mark.parametrize(("row", "sample", "dtype"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_core_matches_reference(row, sample, dtype, seed):
    if "core" in row.skips:
        pytest.skip(row.skips["core"])
    arrays = row.sample(np.random.default_rng(seed), row.samples()[sample])
    out_c, grads_c = run_row(row, arrays, "core", dtype)
    out_r, grads_r = run_row(row, arrays, "reference", np.float64)
    assert out_c.dtype == dtype
    assert out_c.shape == out_r.shape
    _scaled(out_c, out_r, row.rtol, row.atol)
    for i, (gc, gr) in enumerate(zip(grads_c, grads_r)):
        if i in row.nondiff:
            continue
        assert gc.shape == arrays[i].shape, f"{row.id}: grad {i} has the wrong shape"
        _scaled(gc, gr, row.rtol, row.atol)
