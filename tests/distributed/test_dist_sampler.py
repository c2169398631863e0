"""DistributedSampler: every sample exactly once per epoch across the ranks; the same shares as PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
from torch.utils.data.distributed import DistributedSampler as TorchSampler

import shenjing
from shenjing.data import DataLoader, TensorDataset
from shenjing.data.distributed import DistributedSampler
from shenjing.utils.data.distributed import DistributedSampler as Alias


def test_alias_is_the_same_class():
    assert Alias is DistributedSampler
    assert shenjing.utils.data.distributed.DistributedSampler is DistributedSampler


@pytest.mark.parametrize("n,replicas", [(12, 4), (100, 2), (10, 3), (7, 4), (3, 5)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shares_match_torch(n, replicas, drop_last):
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(data, num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == ours.num_samples
        assert ours.total_size == theirs.total_size


@pytest.mark.parametrize("n,replicas", [(12, 4), (100, 2), (60, 3)])
@pytest.mark.parametrize("epoch", [0, 1, 5])
def test_every_sample_exactly_once_per_epoch(n, replicas, epoch):
    seen = []
    for rank in range(replicas):
        s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=True, seed=3)
        s.set_epoch(epoch)
        seen.extend(list(s))
    assert sorted(seen) == list(range(n))


def test_uneven_length_pads_with_repeats_or_drops():
    n, replicas = 10, 4
    padded = [i for r in range(replicas) for i in DistributedSampler(range(n), replicas, r, seed=1)]
    assert len(padded) == 12 and set(padded) == set(range(n))  # two samples twice, every one at least once
    assert sorted(np.bincount(padded).tolist()) == [1] * 8 + [2] * 2
    dropped = [i for r in range(replicas) for i in DistributedSampler(range(n), replicas, r, seed=1, drop_last=True)]
    assert len(dropped) == 8 and len(set(dropped)) == 8


def test_shuffle_changes_with_epoch_and_agrees_across_ranks():
    a = DistributedSampler(range(50), 2, 0, seed=0)
    b = DistributedSampler(range(50), 2, 1, seed=0)
    first = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) != first
    assert not set(a) & set(b)  # the same permutation on both ranks: disjoint shares
    assert list(DistributedSampler(range(50), 2, 0, seed=0)) == first  # deterministic from seed + epoch


def test_with_a_dataloader_batches_the_share():
    x = shenjing.arange(16).reshape(16, 1).float()
    ds = TensorDataset(x, x)
    loader = DataLoader(ds, batch_size=3, sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    got = [b[0].reshape(-1).tolist() for b in loader]
    assert got == [[1.0, 3.0, 5.0], [7.0, 9.0, 11.0], [13.0, 15.0]]
    assert len(loader) == 3


def test_bad_rank_and_no_group():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError):
        TorchSampler(range(4), num_replicas=2, rank=2)
    import shenjing.distributed as dist

    if not dist.is_initialized():
        with pytest.raises(RuntimeError, match="init_process_group"):
            DistributedSampler(range(4))

