"""Cumulative scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp
(cpp/kernels/scan, pydl/reference/scan).

Each moves its dim last, scans the rows (Note [Rows of the reduced dims] in reduce.py) and
moves it back."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from ..tensor import Tensor, _constant, as_tensor, record
from ._util import axis_index
from .layout import permute, reshape
from .reduce import _int_to_int64, _kernel, _reduced_axes
from .registry import op
from .._dtypes import is_floating


def along_last(x: Tensor, dim: Any, fn: str) -> tuple[Tensor, int]:
    """(x with `dim` moved last, dim as an index); a 0-d x (dim 0 or -1) as one row of one."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, (bool, np.bool_)):
        raise TypeError(f"{fn}(): argument 'dim' must be int, not {type(dim).__name__}")
    if x.ndim == 0:
        _reduced_axes(dim, 0)
        return reshape(x, (1,)), 0
    d = axis_index(int(dim), x.ndim)
    if d == x.ndim - 1:
        return x, d
    order = [i for i in range(x.ndim) if i != d] + [d]
    return permute(x, order), d


def back_from_last(y: Tensor, d: int, ndim: int) -> Tensor:
    """along_last's inverse: the last dim of y moved back to d (y of ndim dims; 0-d: y's one
    element)."""
    if ndim == 0:
        return reshape(y, ())
    if d == ndim - 1:
        return y
    order = list(range(d)) + [ndim - 1] + list(range(d, ndim - 1))
    return permute(y, order)


def _cumsum_backward(node: Any, g: np.ndarray) -> Any:
    return (_kernel("cumsum_backward", g),)


@op(method=True, toplevel=True)
def cumsum(x: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sums along `dim`; integer and bool tensors give int64 (as PyTorch), or x is
    cast to `dtype` first."""
    x = _int_to_int64(as_tensor(x), dtype, "cumsum")
    rows, d = along_last(x, dim, "cumsum")
    y = record(_kernel("cumsum_forward", rows._array), (rows,), _cumsum_backward, reads=False)
    return back_from_last(y, d, x.ndim)


def _cumprod_backward(node: Any, g: np.ndarray) -> Any:
    (rows,) = node.inputs
    return (_kernel("cumprod_backward", g, rows._array),)


@op(method=True, toplevel=True)
def cumprod(x: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running products along `dim`; integer and bool tensors give int64. The gradient is
    right where x holds zeros (no division)."""
    x = _int_to_int64(as_tensor(x), dtype, "cumprod")
    rows, d = along_last(x, dim, "cumprod")
    y = record(_kernel("cumprod_forward", rows._array), (rows,), _cumprod_backward)
    return back_from_last(y, d, x.ndim)


def _cummax_backward(node: Any, g: np.ndarray) -> Any:
    return (_kernel("cummax_backward", g, node.saved),)


def _cumulative_extreme(x: Any, dim: Any, largest: bool) -> Any:
    name = "cummax" if largest else "cummin"
    x = as_tensor(x)
    rows, d = along_last(x, dim, name)
    values, indices = _kernel("cummax_forward", rows._array, largest)
    v = back_from_last(record(values, (rows,), _cummax_backward, indices), d, x.ndim)
    i = back_from_last(_constant(indices), d, x.ndim)
    return getattr(return_types, name)(v, i)


@op(kernels=("cummax",), method=True, toplevel=True)
def cummax(x: Tensor, dim: int) -> Any:
    """`return_types.cummax(values, indices)`: the running maximum along `dim` and where it
    is (the last of tied maxima; a NaN stays, at the last NaN's index). Each value's gradient
    goes to the element its index names."""
    return _cumulative_extreme(x, dim, largest=True)


@op(kernels=("cummax",), method=True, toplevel=True)
def cummin(x: Tensor, dim: int) -> Any:
    """`return_types.cummin(values, indices)`: the running minimum along `dim` (as cummax)."""
    return _cumulative_extreme(x, dim, largest=False)


def _logcumsumexp_backward(node: Any, g: np.ndarray) -> Any:
    (rows,) = node.inputs
    return (_kernel("logcumsumexp_backward", g, rows._array, node.saved),)


@op(method=True, toplevel=True)
def logcumsumexp(x: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(x), dim)), computed stably (a running logaddexp), of a floating
    tensor (NotImplementedError for others, as PyTorch)."""
    x = as_tensor(x)
    if not is_floating(x.dtype):
        raise NotImplementedError(f"logcumsumexp(): not implemented for dtype {x.dtype}")
    rows, d = along_last(x, dim, "logcumsumexp")
    y = _kernel("logcumsumexp_forward", rows._array)
    return back_from_last(record(y, (rows,), _logcumsumexp_backward, y), d, x.ndim)
