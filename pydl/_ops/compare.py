"""Comparisons and logical ops (cpp/kernels/compare, pydl/reference/compare), and contiguous
(cpp/kernels/layout's strided copy): ops whose kernels have no backward kernel."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from .registry import op


def _contiguous_backward(node: Any, g: np.ndarray) -> Any:
    return (g,)


@op(method=True)
def contiguous(x: Tensor) -> Tensor:
    """x itself when its array is C-contiguous, else a C-contiguous copy (the gradient
    passes through)."""
    x = as_tensor(x)
    if x._array.flags.c_contiguous:
        return x
    return record(_b.active.contiguous_forward(x._array), (x,), _contiguous_backward)
