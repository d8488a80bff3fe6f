"""Reductions over axes (cpp/kernels/reduce, pydl/reference/reduce)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from ._util import axis_tuple
from .registry import op


def _sum_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    return (_b.active.sum_backward(g, x.shape, node.saved),)


def _mean_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    return (_b.active.mean_backward(g, x.shape, node.saved),)


def _max_backward(node: Any, g: np.ndarray) -> Any:
    (x,) = node.inputs
    axes, y = node.saved
    return (_b.active.max_backward(g, x._array, y, axes),)


@op(method=True, toplevel=True)
def sum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Sum over `dim` (an int, a tuple, or None for all)."""
    x = as_tensor(x)
    axes = axis_tuple(dim, x.ndim)
    return record(_b.active.sum_forward(x._array, axes, keepdim), (x,), _sum_backward, axes)


@op(method=True, toplevel=True)
def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Mean over `dim` (an int, a tuple, or None for all)."""
    x = as_tensor(x)
    axes = axis_tuple(dim, x.ndim)
    return record(_b.active.mean_forward(x._array, axes, keepdim), (x,), _mean_backward, axes)


@op(aliases=("amax",), method=True, toplevel=True)
def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Maximum over `dim`. The gradient is split evenly among tied maxima (torch.amax)."""
    x = as_tensor(x)
    axes = axis_tuple(dim, x.ndim)
    y = _b.active.max_forward(x._array, axes, keepdim)
    return record(y, (x,), _max_backward, (axes, y))
