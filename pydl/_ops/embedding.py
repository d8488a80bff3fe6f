"""Embedding lookup (cpp/kernels/embedding's binding, pydl/reference/embedding)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, record
from .registry import op


@op()
def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of `weight` at integer `input` (any shape); indices outside the table raise
    IndexError (checked by the C++ core too). The padding_idx row gets no gradient."""
    idx = np.asarray(input._array if isinstance(input, Tensor) else input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding indices must be integers, got dtype {idx.dtype}")
    idx = np.asarray(idx, dtype=np.int64, order="C")
    rows = weight.shape[0]
    pad = -1 if padding_idx is None else (padding_idx % rows)
    y = _b.active.embedding_forward(weight._array, idx)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.embedding_backward(g, idx, rows, pad),)

    return record(y, (weight,), backward)
