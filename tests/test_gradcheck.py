"""Every reference backward against central finite differences in float64."""

import numpy as np
import pytest
from helpers import numeric_grads, run_row
from op_table import ROWS


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_reference_backward_matches_finite_differences(row, rng):
    if "gradcheck" in row.skips:
        pytest.skip(row.skips["gradcheck"])
    arrays = row.sample(rng)
    _, analytic = run_row(row, arrays, "reference", np.float64)
    numeric = numeric_grads(row, arrays)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        if i in row.nondiff:
            continue
        np.testing.assert_allclose(
            a, n, rtol=1e-5, atol=1e-6, err_msg=f"{row.id}: gradient of input {i}"
        )
