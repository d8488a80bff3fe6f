"""Comparisons and logical ops (cpp/kernels/compare, pydl/reference/compare): ops whose
kernels have no backward kernel.

Comparisons and logical ops give bool tensors that are not differentiable (no node is
recorded), as PyTorch's. `other` may be a tensor or a Python number. Both operands are cast
to their promoted dtype first, the logical ops' too, as PyTorch does (so a 0-d int64 tensor
holding 2**40 is 0 beside an int32 tensor, in both).
"""

from __future__ import annotations

import builtins
from typing import Any, Callable

import numpy as np

from .. import _capture
from .. import backend as _b
from .._dtypes import result_type
from ..tensor import Tensor, _constant, as_tensor
from .registry import op


def _operand(x: Any) -> Any:
    """A tensor, or a Python number as it is (numbers are weak in promotion)."""
    if isinstance(x, Tensor) or type(x) in (builtins.bool, int, float):
        return x
    return as_tensor(x)


def _array(x: Any, dtype: np.dtype) -> np.ndarray:
    """x's values in dtype: a Python int wraps around into a narrower integer dtype, as
    PyTorch's scalars do (`uint8_tensor == -1` compares with 255)."""
    if isinstance(x, Tensor):
        return x._array.astype(dtype, copy=False)
    return _capture.snapshot(np.array(x).astype(dtype))  # a number: pydl.compile copies it


def _promoted(input: Any, other: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both operands cast to their promoted dtype (Note [Type promotion] in pydl/_dtypes.py)."""
    input, other = _operand(input), _operand(other)
    dtype = result_type(input, other)
    return _array(input, dtype), _array(other, dtype)


def _comparison(name: str, doc: str) -> Callable:
    def fn(input: Any, other: Any) -> Tensor:
        a, b = _promoted(input, other)
        return _constant(_b.active.compare_forward(a, b, name))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = __name__
    return op(kernels=("compare",), method=True, toplevel=True)(fn)


eq = _comparison("eq", "input == other elementwise, broadcasting; a bool tensor.")
ne = _comparison("ne", "input != other elementwise, broadcasting; a bool tensor.")
lt = _comparison("lt", "input < other elementwise, broadcasting; a bool tensor.")
le = _comparison("le", "input <= other elementwise, broadcasting; a bool tensor.")
gt = _comparison("gt", "input > other elementwise, broadcasting; a bool tensor.")
ge = _comparison("ge", "input >= other elementwise, broadcasting; a bool tensor.")


def _logical(name: str, doc: str) -> Callable:
    kernel_op = name[len("logical_") :]

    def fn(input: Any, other: Any) -> Tensor:
        a, b = _promoted(input, other)
        return _constant(_b.active.logical_forward(a, b, kernel_op))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = __name__
    return op(kernels=("logical",), method=True, toplevel=True)(fn)


logical_and = _logical("logical_and", "Elementwise AND of the operands' truth (nonzero); bool.")
logical_or = _logical("logical_or", "Elementwise OR of the operands' truth (nonzero); bool.")
logical_xor = _logical("logical_xor", "Elementwise XOR of the operands' truth (nonzero); bool.")


@op(method=True, toplevel=True)
def logical_not(input: Any) -> Tensor:
    """True where input is zero; a bool tensor."""
    return _constant(_b.active.logical_not_forward(as_tensor(input)._array))


@op(kernels=(), toplevel=True)
def isin(
    elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False
) -> Tensor:
    """True where an element of `elements` is in `test_elements` (a bool tensor of
    elements' shape; not differentiable)."""
    e = np.asarray(getattr(elements, "_array", elements))
    t = np.asarray(getattr(test_elements, "_array", test_elements))
    return _constant(np.isin(e, t, assume_unique=assume_unique, invert=invert))
