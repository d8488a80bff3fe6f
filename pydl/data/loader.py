"""A minimal Dataset/DataLoader pair: batches of NumPy arrays, shuffled from pydl's seed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import _random


class TensorDataset:
    """Arrays of equal length, indexed together."""

    def __init__(self, *arrays: Any) -> None:
        arrays = tuple(np.asarray(a) for a in arrays)
        if not arrays or any(len(a) != len(arrays[0]) for a in arrays):
            raise ValueError(
                f"TensorDataset needs arrays of one length, got {[len(a) for a in arrays]}"
            )
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> tuple:
        return tuple(a[index] for a in self.arrays)


class DataLoader:
    """Iterates over a TensorDataset in batches (shuffle draws from pydl's generator)."""

    def __init__(
        self,
        dataset: TensorDataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last = shuffle, drop_last

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple]:
        n = len(self.dataset)
        if self.shuffle:
            keys = np.empty(n, dtype=np.float32)
            _random.uniform_(keys)
            order = np.argsort(keys, kind="stable")
        else:
            order = np.arange(n)
        for i in range(len(self)):
            yield self.dataset[order[i * self.batch_size : (i + 1) * self.batch_size]]
