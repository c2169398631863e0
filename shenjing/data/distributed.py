"""``torch.utils.data.distributed.DistributedSampler``: each rank visits its own share of the data set.

    sampler = DistributedSampler(dataset)               # rank and replicas from shenjing.distributed
    loader = DataLoader(dataset, batch_size=b, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                        # a new shuffle each epoch, the same one on every rank

One epoch's order (shuffled with ``seed + epoch`` when ``shuffle``) is padded by repeating its first indices to a
multiple of ``num_replicas`` (or cut to one, with ``drop_last``), and rank r takes every num_replicas-th index
from position r. So the ranks together visit every sample exactly once per epoch when the length divides evenly,
and otherwise ``total_size − len(dataset)`` samples twice (or that many fewer with ``drop_last``).
NOTE: the shuffle is NumPy's permutation with ``seed + epoch``, not torch.randperm's order (no torch here).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy  # host-side index bookkeeping only: indices always live on the host

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Sample indices of ``dataset`` for one of ``num_replicas`` ranks, as PyTorch's."""

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from .. import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "shenjing.distributed.init_process_group() first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self.drop_last = bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = bool(shuffle)
        self.seed = int(seed)

    def indices(self) -> numpy.ndarray:
        """This rank's indices for the current epoch (an int64 array)."""
        n = len(self.dataset)
        if self.shuffle:
            order = numpy.random.default_rng(self.seed + self.epoch).permutation(n).astype(numpy.int64)
        else:
            order = numpy.arange(n, dtype=numpy.int64)
        if not self.drop_last:
            padding = self.total_size - n
            if padding > 0:
                order = numpy.concatenate([order, numpy.resize(order, padding)]) if n else order
        else:
            order = order[:self.total_size]
        assert len(order) == self.total_size, (len(order), self.total_size)
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Shuffle differently in each epoch (call before each epoch; the same value on every rank)."""
        self.epoch = int(epoch)
