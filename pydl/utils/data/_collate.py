"""default_collate and default_convert: how a DataLoader turns samples into batches, as
torch.utils.data's (tensors are stacked, NumPy arrays and numbers become tensors, and
containers are collated element by element, keeping their type)."""

from __future__ import annotations

import collections.abc
from typing import Any

import numpy as np

from ..._factories import as_tensor
from ...tensor import Tensor

_ERR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _numeric(arr: np.ndarray) -> bool:
    # Strings and objects have no tensor dtype (PyTorch names the array's dtype).
    return arr.dtype.kind not in "SaUO"


def default_convert(data: Any) -> Any:
    """NumPy arrays and NumPy scalars in `data` (nested in dicts, namedtuples, tuples and
    lists) as tensors; everything else unchanged (tuples become lists, as PyTorch's).
    The DataLoader's collate_fn when batch_size=None."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        return as_tensor(np.asarray(data)) if _numeric(np.asarray(data)) else data
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({k: default_convert(v) for k, v in data.items()})
        except TypeError:  # a mapping type that cannot be built from a dict
            return {k: default_convert(v) for k, v in data.items()}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def _check_shapes(batch: Any) -> None:
    """Samples stacked into a batch have one shape (PyTorch's error and wording)."""
    shape = np.shape(batch[0])
    for i, b in enumerate(batch):
        if np.shape(b) != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(np.shape(b))} at entry {i}"
            )


def default_collate(batch: Any) -> Any:
    """A list of samples as one batch, as torch.utils.data.default_collate.

    Tensors are stacked on a new first dimension; NumPy arrays likewise (keeping their
    dtype); NumPy scalars become a tensor of their dtype; Python floats a float64 tensor,
    ints an int64 tensor (bools a bool tensor); strings and bytes stay a sequence.
    Mappings, namedtuples and sequences are collated key by key / position by position
    and keep their type, except tuples, which become lists (as PyTorch's)."""
    if len(batch) == 0:
        raise IndexError("default_collate: the batch is empty (no samples to collate)")
    elem = batch[0]
    if isinstance(elem, Tensor):
        from ... import stack

        _check_shapes(batch)
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if not _numeric(elem):
            raise TypeError(_ERR.format(elem.dtype))
        _check_shapes(batch)
        return as_tensor(np.stack([np.asarray(b) for b in batch]))
    if isinstance(elem, (str, bytes, np.str_, np.bytes_)):
        return batch
    if isinstance(elem, np.generic):
        return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return as_tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):  # bool is an int: a bool tensor, as torch.tensor([True])
        arr = np.array(batch)
        return as_tensor(arr.astype(np.int64) if arr.dtype.kind in "iu" else arr)
    if isinstance(elem, collections.abc.Mapping):
        out = {k: default_collate([d[k] for d in batch]) for k in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed  # a list, as PyTorch's (backwards compatibility)
        try:
            return type(elem)(transposed)
        except TypeError:
            return transposed
    raise TypeError(_ERR.format(type(elem)))
