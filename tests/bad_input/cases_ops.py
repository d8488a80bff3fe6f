"""Cases generated from the op table (tests/op_table.py): every row's op given a wrong kind
of argument where it takes its first tensor: a string, and a complex array (no pydl dtype).
"""

import numpy as np
from corpus import bad
from op_table import ROWS

import pydl

CASES: list = []


def _call_with(row, first):
    """The row's op on its own float32 sample, the first input replaced by `first`."""

    def call():
        arrays = row.sample(np.random.default_rng(0))
        args = [first] + [pydl.tensor(a.astype(np.float32)) for a in arrays[1:]]
        return row.fn(*args)

    return call


for _row in ROWS:
    bad(CASES, f"op.{_row.id}.str", _call_with(_row, "abc"), TypeError, r"str")
    bad(
        CASES,
        f"op.{_row.id}.complex",
        _call_with(_row, np.ones((2, 3), np.complex64)),
        TypeError,
        r"complex",
    )
