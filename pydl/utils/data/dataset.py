"""Datasets, as torch.utils.data.dataset: map-style (Dataset: __getitem__ and __len__)
and iterable-style (IterableDataset: __iter__), and their combinations."""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ...tensor import Tensor
from . import _rng


class Dataset:
    """A map-style dataset: subclasses define __getitem__(index) (and usually __len__)."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """An iterable-style dataset: subclasses define __iter__. With DataLoader workers each
    worker iterates its own copy; __iter__ shards with get_worker_info(), as PyTorch's."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Tensors (or NumPy arrays) of one length along dimension 0, indexed together:
    dataset[i] is (t[i] for t in tensors)."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(
            t if isinstance(t, (Tensor, np.ndarray)) else np.asarray(t) for t in tensors
        )
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise IndexError(
                    f"TensorDataset: tensor {i} is 0-d; it needs a dimension 0 to index samples"
                )
        if any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError(
                "Size mismatch between tensors: TensorDataset needs tensors of one length "
                f"along dimension 0, got {[len(t) for t in tensors]}"
            )
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def _batch(self, indices: Sequence[int]) -> list | None:
        """The default collation of [self[i] for i in indices] in one fancy index per
        tensor (the DataLoader's fast path); None where a tensor records gradients
        (stacking them one by one is what records the graph)."""
        if any(isinstance(t, Tensor) and t.requires_grad for t in self.tensors):
            return None
        from ..._factories import as_tensor

        idx = np.asarray(indices, dtype=np.int64)
        arrays = [t.numpy() if isinstance(t, Tensor) else t for t in self.tensors]
        if any(a.dtype.kind in "SaUO" for a in arrays):
            return None
        return [as_tensor(np.ascontiguousarray(a[idx])) for a in arrays]


class StackDataset(Dataset):
    """Datasets of one length stacked per sample: a tuple (positional) or a dict (keyword)."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError(
                "Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                "input/output, but both types are given."
            )
        self.datasets: Any = args or kwargs
        values = list(args or kwargs.values())
        if not values:
            raise ValueError("At least one dataset should be passed")
        self._length = len(values[0])
        if any(len(d) != self._length for d in values):
            raise ValueError("Size mismatch between datasets")

    def __getitem__(self, index: int) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset):
    """Map-style datasets one after the other."""

    @staticmethod
    def cumsum(sequence: Iterable[Any]) -> list[int]:
        return list(itertools.accumulate(len(e) for e in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        elif idx >= len(self):
            raise IndexError(
                f"index {idx} is out of range for a ConcatDataset of length {len(self)}"
            )
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[d][idx - (self.cumulative_sizes[d - 1] if d else 0)]


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other (chained lazily)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            total += len(d)  # type: ignore[arg-type]
        return total


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        if not (hasattr(indices, "__len__") and hasattr(indices, "__getitem__")):
            raise TypeError(
                f"Subset: indices should be a sequence of ints, but got "
                f"{type(indices).__name__} {indices!r}"
            )
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return getitems([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def _batch(self, indices: Sequence[int]) -> list | None:
        """The underlying dataset's fast batch (TensorDataset._batch), if it has one."""
        batch = getattr(self.dataset, "_batch", None)
        return batch([self.indices[i] for i in indices]) if callable(batch) else None


def random_split(
    dataset: Dataset, lengths: Sequence[int | float], generator: Any = None
) -> list[Subset]:
    """`dataset` split at random into Subsets of the given lengths, or of fractions of its
    length (floor(frac * len), the remainder handed out one by one from the first), as
    torch.utils.data.random_split. The permutation comes from pydl's generator (or
    `generator`, a numpy.random.Generator)."""
    _rng.check_generator(generator)
    n = len(dataset)  # type: ignore[arg-type]
    if isinstance(lengths, (str, bytes)) or not hasattr(lengths, "__len__"):
        raise TypeError(f"random_split: lengths should be a list of ints or fractions, but got "
                        f"{type(lengths).__name__} {lengths!r}")  # fmt: skip
    for i, x in enumerate(lengths):
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
            raise TypeError(f"random_split: lengths[{i}] should be an int or a fraction, but got "
                            f"{type(x).__name__} {x!r}")  # fmt: skip
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    for i, x in enumerate(lengths):
        if x < 0 or x != int(x):
            raise ValueError(
                f"random_split: lengths should be non-negative ints (or fractions summing to "
                f"1), but lengths[{i}] is {x} (lengths={list(lengths)})"
            )
    perm = _rng.randperm(n, generator).tolist()
    ends = list(itertools.accumulate(int(x) for x in lengths))
    return [Subset(dataset, perm[e - int(x) : e]) for e, x in zip(ends, lengths)]
