"""Comparisons and logical ops with broadcasting: bool results, no backward (they are not
differentiable)."""

import numpy as np

from .elementwise import _check

_COMPARE = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}
_LOGICAL = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}


def compare_forward(a, b, op):
    """a <op> b for op in eq, ne, lt, le, gt, ge (NaN compares unequal to everything)"""
    fn = _COMPARE.get(op)
    if fn is None:
        raise ValueError(f"compare: op must be 'eq', 'ne', 'lt', 'le', 'gt' or 'ge'; got '{op}'")
    _check(a, b)
    return np.asarray(fn(a, b), order="C")


def logical_forward(a, b, op):
    """(a != 0) <op> (b != 0) for op in and, or, xor (NaN is nonzero)"""
    fn = _LOGICAL.get(op)
    if fn is None:
        raise ValueError(f"logical: op must be 'and', 'or' or 'xor'; got '{op}'")
    _check(a, b)
    return np.asarray(fn(a, b), order="C")


def logical_not_forward(x):
    """x == 0"""
    return np.asarray(np.logical_not(x), order="C")
