"""Samplers, as torch.utils.data.sampler: iterables of dataset indices (or, for
BatchSampler, of lists of indices). Random ones draw from pydl's generator when iterated
(lazily, at the first index), or from `generator` (a numpy.random.Generator)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from . import _rng


class Sampler:
    """Base class: subclasses define __iter__ (over indices) and usually __len__."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices (repeated and cut to num_samples), or
    num_samples indices drawn with replacement."""

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Any = None,
    ) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        self.data_source, self.replacement = data_source, replacement
        self._num_samples = num_samples
        self.generator = _rng.check_generator(generator)
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, count = len(self.data_source), self.num_samples
        if self.replacement:
            yield from _rng.randint(n, count, self.generator).tolist()
            return
        for _ in range(count // n):
            yield from _rng.randperm(n, self.generator).tolist()
        if count % n:
            yield from _rng.randperm(n, self.generator)[: count % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        if not (hasattr(indices, "__len__") and hasattr(indices, "__getitem__")):
            raise TypeError(
                f"SubsetRandomSampler: indices should be a sequence of ints, but got "
                f"{type(indices).__name__} {indices!r}"
            )
        self.indices, self.generator = indices, _rng.check_generator(generator)

    def __iter__(self) -> Iterator[int]:
        for i in _rng.randperm(len(self.indices), self.generator).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probabilities proportional to `weights` (with or
    without replacement), as torch.multinomial."""

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: Any = None,
    ) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        try:
            w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"weights should be a 1d sequence of numbers, but got {type(weights).__name__} "
                f"{weights!r}"
            ) from None
        if w.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {w.shape}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError(
                "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
            )
        self.weights, self.num_samples, self.replacement = w, num_samples, replacement
        self.generator = _rng.check_generator(generator)

    def __iter__(self) -> Iterator[int]:
        u = _rng.uniform(self.num_samples if self.replacement else len(self.weights),
                         self.generator, np.float64)  # fmt: skip
        if self.replacement:  # inverse CDF
            cdf = np.cumsum(self.weights)
            idx = np.searchsorted(cdf, u * cdf[-1], side="right")
            return iter(np.minimum(idx, len(cdf) - 1).tolist())
        # Without replacement: the num_samples largest keys u ** (1 / w) are a draw of
        # successive weighted picks (Efraimidis and Spirakis, 2006); zero weights never win.
        with np.errstate(divide="ignore"):
            keys = np.where(self.weights > 0, np.log(u) / self.weights, -np.inf)
        return iter(np.argsort(-keys, kind="stable")[: self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of batch_size indices from `sampler` (the last one shorter unless drop_last)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
