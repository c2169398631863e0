"""Samplers against torch.utils.data: lengths, deterministic orders, draws' distributions, PyTorch's errors."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import shenjing
from shenjing.utils.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


class FakeGenerator:
    """What shenjing.Generator offers the data code: a NumPy Generator in ``.rng``."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def manual_seed(self, seed):
        self.rng = np.random.default_rng(seed)
        return self


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)])
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert list(BatchSampler([5, 1, 4], 2, False)) == list(tud.BatchSampler([5, 1, 4], 2, False))


@pytest.mark.parametrize(
    "make", [lambda m: m.BatchSampler(range(4), 0, False), lambda m: m.BatchSampler(range(4), True, False),
             lambda m: m.BatchSampler(range(4), 2, 1), lambda m: m.RandomSampler(range(4), num_samples=0),
             lambda m: m.RandomSampler(range(4), replacement=1), lambda m: m.WeightedRandomSampler([1.0], 0),
             lambda m: m.WeightedRandomSampler([1.0], 2, replacement=None),
             lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2)]
)
def test_constructor_errors_match_torch(make):
    with pytest.raises(Exception) as theirs:
        make(tud)
    with pytest.raises(theirs.type) as ours:
        make(shenjing.utils.data)
    assert str(theirs.value).split(",")[0] == str(ours.value).split(",")[0]  # PyTorch's own wording


def test_random_sampler_permutations_and_lengths():
    ds = range(7)
    sampler = RandomSampler(ds, generator=0)
    a, b = list(sampler), list(sampler)
    assert sorted(a) == sorted(b) == list(range(7)) and a != b  # a fresh permutation per epoch
    assert list(RandomSampler(ds, generator=0)) == a  # a seed repeats the whole sequence
    chained = list(RandomSampler(ds, num_samples=17, generator=1))
    assert len(chained) == 17 == len(RandomSampler(ds, num_samples=17))
    assert sorted(chained[:7]) == sorted(chained[7:14]) == list(range(7))  # whole permutations, as PyTorch
    assert len(set(chained[14:])) == 3
    assert RandomSampler(ds).num_samples == len(tud.RandomSampler(ds)) == 7


def test_random_sampler_with_replacement():
    draws = list(RandomSampler(range(3), replacement=True, num_samples=3000, generator=0))
    counts = Counter(draws)
    assert sorted(counts) == [0, 1, 2] and all(900 < c < 1100 for c in counts.values())


def test_generators_shenjing_numpy_and_global():
    g = FakeGenerator(5)
    first = list(RandomSampler(range(10), generator=g))
    g.manual_seed(5)  # a re-seeded generator is seen by the sampler (it keeps the generator, not a copy)
    assert list(RandomSampler(range(10), generator=g)) == first
    assert list(RandomSampler(range(10), generator=np.random.default_rng(5))) == first
    shenjing.manual_seed(3)
    a = list(RandomSampler(range(10)))
    shenjing.manual_seed(3)
    assert list(RandomSampler(range(10))) == a
    with pytest.raises(TypeError, match="seed instead"):
        RandomSampler(range(3), generator=torch.Generator())


def test_subset_random_sampler():
    sampler = SubsetRandomSampler(shenjing.tensor([3, 8, 9]), generator=0)
    assert sorted(sampler) == [3, 8, 9] and len(sampler) == 3 == len(tud.SubsetRandomSampler([3, 8, 9]))


def test_weighted_random_sampler_distribution():
    weights = [0.0, 1.0, 3.0]
    draws = Counter(WeightedRandomSampler(weights, 4000, generator=0))
    assert draws[0] == 0 and 0.2 < draws[1] / 4000 < 0.3
    unique = list(WeightedRandomSampler(shenjing.tensor([1.0, 1.0, 5.0, 0.0]), 3, replacement=False, generator=0))
    assert sorted(unique) == [0, 1, 2]
    assert len(WeightedRandomSampler(weights, 12)) == 12 == len(tud.WeightedRandomSampler(weights, 12))


@pytest.mark.parametrize("weights, n, replacement", [([1.0, -1.0], 2, True), ([0.0, 0.0], 2, True),
                                                     ([1.0, 1.0], 3, False)])
def test_weighted_random_sampler_draw_errors_match_torch(weights, n, replacement):
    with pytest.raises(RuntimeError):
        list(tud.WeightedRandomSampler(weights, n, replacement))
    with pytest.raises(RuntimeError, match="WeightedRandomSampler"):
        list(WeightedRandomSampler(weights, n, replacement))
