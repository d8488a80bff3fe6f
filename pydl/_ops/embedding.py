"""Embedding lookup (cpp/kernels/embedding's binding, pydl/reference/embedding)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as _b
from ..tensor import Tensor, as_tensor, record
from .layout import reshape
from .registry import op


@op()
def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of `weight` at integer `input` (any shape); indices outside the table raise
    IndexError (checked by the C++ core too). The padding_idx row gets no gradient."""
    idx = np.asarray(input._array if isinstance(input, Tensor) else input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding indices must be integers, got dtype {idx.dtype}")
    idx = np.asarray(idx, dtype=np.int64, order="C")
    weight = _weight("embedding", weight)
    rows = weight.shape[0]
    pad = -1 if padding_idx is None else _padding_row("embedding", padding_idx, rows)
    y = _b.active.embedding_forward(weight._array, idx)

    def backward(node: Any, g: np.ndarray) -> Any:
        return (_b.active.embedding_backward(g, idx, rows, pad),)

    return record(y, (weight,), backward)


def _weight(fn: str, weight: Any) -> Tensor:
    """The embedding table: a 2-D Tensor (TypeError / ValueError naming `weight`)."""
    if not isinstance(weight, Tensor):
        got = type(weight).__name__
        if isinstance(weight, np.ndarray):  # say which array: the dtype may be the mistake
            got += f" of dtype {weight.dtype}"
        raise TypeError(f"{fn}(): argument 'weight' must be a Tensor, got {got}")
    if weight.ndim != 2:
        raise ValueError(
            f"{fn}: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}"
        )
    return weight


def _padding_row(fn: str, padding_idx: Any, rows: int) -> int:
    """padding_idx as a row in [0, rows): it may be negative (from the end), as PyTorch's;
    outside [-rows, rows) it is an error (PyTorch: an AssertionError), not a wrapped row."""
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{fn}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -rows <= padding_idx < rows:
        raise ValueError(
            f"{fn}: padding_idx must be within num_embeddings: expected a value in "
            f"[{-rows}, {rows}), got padding_idx={padding_idx}"
        )
    return int(padding_idx) % rows


def _bags(idx: np.ndarray, offsets: Any, include_last_offset: bool) -> tuple:
    """(positions (B, Lmax) into idx.ravel(), valid (B, Lmax) bool) of each bag's entries:
    the rows of 2-D input, or the runs of 1-D input that start at `offsets`."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None when input is 2-D")
        b, length = idx.shape
        pos = np.arange(b * length).reshape(b, length)
        return pos, np.ones((b, length), bool)
    if idx.ndim != 1:
        raise ValueError(f"embedding_bag: input must be 1-D or 2-D, got shape {idx.shape}")
    if offsets is None:
        raise ValueError("embedding_bag: offsets are required when input is 1-D")
    off = np.asarray(offsets._array if isinstance(offsets, Tensor) else offsets)
    if off.ndim != 1 or off.dtype.kind not in "iu":
        raise TypeError(f"embedding_bag: offsets must be a 1-D integer tensor, got {off.dtype}")
    off = off.astype(np.int64)
    if off.size and off[0] != 0:
        raise ValueError(f"embedding_bag: offsets[0] has to be 0, got {off[0]}")
    if np.any(np.diff(off) < 0) or (off.size and off[-1] > idx.size):
        raise ValueError(
            f"embedding_bag: offsets must be non-decreasing and at most the input's length "
            f"{idx.size}, got {off.tolist()}"
        )
    ends = off[1:] if include_last_offset else np.append(off[1:], idx.size)
    starts = off[:-1] if include_last_offset else off
    lengths = ends - starts
    width = int(lengths.max()) if lengths.size else 0
    pos = starts[:, None] + np.arange(width)[None, :]
    valid = np.arange(width)[None, :] < lengths[:, None]
    return np.where(valid, pos, 0), valid


@op(kernels=())
def embedding_bag(
    input: Any,
    weight: Tensor,
    offsets: Any = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sum, mean or max of the embedding rows of each bag (a row of 2-D input, or a run of
    1-D input starting at its offset), without materializing the bags one by one: the
    rows are gathered into (B, Lmax, D) and reduced with weights (per_sample_weights in
    sum mode, 1 / count in mean mode) or masked (max mode). Entries equal to padding_idx
    are left out (and not counted); an empty bag gives zeros. The gradient is dense
    (sparse=True is accepted, as a dense gradient)."""
    from .elementwise import mul, where
    from .reduce import max as reduce_max
    from .reduce import sum as reduce_sum

    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if max_norm is not None or scale_grad_by_freq:
        raise NotImplementedError(
            "embedding_bag: max_norm and scale_grad_by_freq are not supported by pydl"
        )
    if per_sample_weights is not None and mode != "sum":
        raise ValueError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}')"
        )
    weight = _weight("embedding_bag", weight)
    idx = np.asarray(input._array if isinstance(input, Tensor) else input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding_bag indices must be integers, got dtype {idx.dtype}")
    pos, valid = _bags(idx, offsets, include_last_offset)
    flat = idx.reshape(-1).astype(np.int64)
    rows = flat[pos] if flat.size else np.zeros(pos.shape, np.int64)
    if padding_idx is not None:
        valid = valid & (rows != _padding_row("embedding_bag", padding_idx, weight.shape[0]))
    rows = np.where(valid, rows, 0)
    emb = embedding(rows, weight)  # (B, Lmax, D); invalid entries read row 0, weighted 0
    b, dim = pos.shape[0], weight.shape[1]
    if mode == "max":
        if pos.shape[1] == 0:
            return as_tensor(np.zeros((b, dim), weight.dtype))
        shift = np.where(valid, 0.0, -np.inf).astype(weight.dtype)[:, :, None]
        y = reduce_max(emb + as_tensor(shift), 1).values
        return where(valid.any(1)[:, None], y, as_tensor(np.zeros((), weight.dtype)))
    scale = valid.astype(weight.dtype)
    if mode == "mean":
        scale = scale / np.maximum(valid.sum(1, keepdims=True), 1).astype(weight.dtype)
    w = as_tensor(scale)
    if per_sample_weights is not None:
        psw = as_tensor(per_sample_weights)
        if psw.shape != idx.shape:
            raise ValueError(
                f"embedding_bag: per_sample_weights {psw.shape} must have the input's shape "
                f"{idx.shape}"
            )
        w = mul(reshape(psw, (-1,))[pos], w) if pos.size else w
    return reduce_sum(mul(emb, reshape(w, pos.shape + (1,))), 1)
