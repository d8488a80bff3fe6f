"""Dropout with masks from pydl's seeded generator (cpp/kernels/dropout,
pydl/reference/dropout)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _random
from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from .registry import op
from .._dtypes import is_floating


def _dropout(x: Tensor, p: float, training: bool, block: int) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    if not is_floating(x._array.dtype):  # the kept elements are scaled by 1 / (1 - p)
        raise RuntimeError(
            f"dropout: result type float can't be cast to the input's dtype {x._array.dtype}; "
            "pass a floating point input"
        )
    seed, offset = _random._take(max(1, x._array.size // block))
    y = _b.active.dropout_forward(x._array, p, block, seed, offset)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.dropout_backward(g, p, block, seed, offset),)

    return record(y, (x,), backward)


@op()
def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability p (PyTorch's meaning; the
    spec's p is the keep probability 1 - p), scale the rest by 1 / (1 - p). The mask comes
    from pydl's seeded generator, so it is the same for any thread count."""
    return _dropout(input, p, training, 1)


@op(kernels=())
def dropout2d(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Spatial dropout: zero whole channels of (N, C, H, W) input with probability p."""
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d expects (N, C, H, W) or (C, H, W) input; got {x.shape}")
    return _dropout(x, p, training, x.shape[-1] * x.shape[-2])
