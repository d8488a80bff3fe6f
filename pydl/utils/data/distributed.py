"""DistributedSampler, as torch.utils.data.distributed's: each of num_replicas processes
iterates its own interleaved share of one permutation (the same on every process)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ... import distributed as dist
from .sampler import Sampler


class DistributedSampler(Sampler):
    """The indices of `dataset` for process `rank` of `num_replicas`: one permutation
    (shuffle: seeded by seed + epoch, so equal on every process; call set_epoch each
    epoch), padded by repetition to a multiple of num_replicas (or cut, drop_last), of
    which rank takes every num_replicas-th from position rank.

    num_replicas and rank default to pydl.distributed's world size and rank (1 and 0
    before init()). The shuffled order is NumPy's default_rng(seed + epoch).permutation,
    not torch.randperm's."""

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        joined = dist.is_initialized()
        if num_replicas is None:
            num_replicas = dist.get_world_size() if joined else 1
        if rank is None:
            rank = dist.get_rank() if joined else 0
        for name, value in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(
                    f"DistributedSampler: {name} should be an integer, got "
                    f"{type(value).__name__} {value!r}"
                )
        if num_replicas < 1:
            raise ValueError(
                f"DistributedSampler: num_replicas should be a positive integer, got {num_replicas}"
            )
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            pad = self.total_size - len(indices)
            indices += (indices * math.ceil(pad / len(indices)))[:pad] if pad else []
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use a new permutation (seed + epoch) from the next iteration on."""
        self.epoch = epoch
