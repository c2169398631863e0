"""DataLoader: batch counts, shuffling, the TensorDataset fast path against the sample-by-sample path, collation."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import shenjing
from shenjing.data import (
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
)


class Slow(TensorDataset):
    """A TensorDataset whose own __getitem__ hides it from the fast path (and counts the calls)."""

    calls = 0

    def __getitem__(self, index):
        Slow.calls += 1
        return super().__getitem__(index)


def make(n=10, d=3):
    X = np.arange(n * d, dtype=np.float32).reshape(n, d)
    y = np.arange(n, dtype=np.int64)
    return X, y


def order_of(loader):
    """The sample indices an epoch visits, read back from the label column."""
    return [i for _, y in loader for i in y.tolist()]


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    "n, batch_size, drop_last, sizes",
    [
        (10, 1, False, [1] * 10),  # online: one update per sample
        (10, 3, False, [3, 3, 3, 1]),  # mini-batch
        (10, 3, True, [3, 3, 3]),
        (10, 5, True, [5, 5]),
        (10, 10, False, [10]),  # full batch: one update per epoch
        (10, 11, False, [10]),
        (10, 11, True, []),
    ],
)
def test_batch_counts(fast, n, batch_size, drop_last, sizes):
    X, y = make(n)
    ds = TensorDataset(X, y) if fast else Slow(X, y)
    loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == len(sizes)
    assert [len(b[1]) for b in batches] == sizes
    assert order_of(loader) == list(range(sum(sizes)))


def test_batches_are_float32_images_and_int64_labels():
    X, y = make()
    x, labels = next(iter(DataLoader(TensorDataset(X, y), batch_size=4)))
    assert isinstance(x, shenjing.Tensor) and x.dtype == np.float32 and x.shape == (4, 3)
    assert labels.dtype == np.int64 and labels.shape == (4,)
    np.testing.assert_array_equal(x.numpy(), X[:4])


def test_batches_are_copies():
    X, y = make()
    x, _ = next(iter(DataLoader(TensorDataset(X, y), batch_size=4)))
    x.array += 100
    assert X[0, 0] == 0


@pytest.mark.parametrize("wrap", ["plain", "subset"])
def test_fast_path_equals_slow_path(wrap):
    X, y = make(23, 4)
    fast, slow = TensorDataset(X, y), Slow(X, y)
    if wrap == "subset":
        picks = [5, 0, 22, 7, 7, 13, 2, 19, 11]
        fast, slow = Subset(fast, picks), Subset(slow, picks)
    for seed in (0, 1):
        Slow.calls = 0
        fast_batches = list(DataLoader(fast, batch_size=4, shuffle=True, generator=seed))
        slow_batches = list(DataLoader(slow, batch_size=4, shuffle=True, generator=seed))
        assert Slow.calls == len(fast)
        assert len(fast_batches) == len(slow_batches)
        for a, b in zip(fast_batches, slow_batches, strict=True):
            assert type(a) is type(b) is list
            for ta, tb in zip(a, b, strict=True):
                assert ta.dtype == tb.dtype and ta.shape == tb.shape
                np.testing.assert_array_equal(ta.numpy(), tb.numpy())


@pytest.mark.parametrize("fast", [True, False])
def test_every_sample_once_per_epoch(fast):
    X, y = make(50)
    ds = TensorDataset(X, y) if fast else Slow(X, y)
    loader = DataLoader(ds, batch_size=7, shuffle=True)
    first, second = order_of(loader), order_of(loader)
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second  # a fresh permutation every epoch
    for x, labels in loader:  # features still travel with their labels
        np.testing.assert_array_equal(x.numpy(), X[labels.numpy()])


def test_shuffle_follows_manual_seed():
    X, y = make(30)
    loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)
    shenjing.manual_seed(1)
    a = order_of(loader), order_of(loader)
    shenjing.manual_seed(1)
    b = order_of(loader), order_of(loader)
    shenjing.manual_seed(2)
    c = order_of(loader), order_of(loader)
    assert a == b and a != c


def test_own_generator_is_reproducible_and_independent_of_global_state():
    X, y = make(30)
    ds = TensorDataset(X, y)
    one = DataLoader(ds, batch_size=8, shuffle=True, generator=7)
    shenjing.manual_seed(123)
    two = DataLoader(ds, batch_size=8, shuffle=True, generator=7)
    epochs_one = [order_of(one) for _ in range(3)]
    epochs_two = [order_of(two) for _ in range(3)]
    assert epochs_one == epochs_two
    assert epochs_one[0] != epochs_one[1]
    three = DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(7))
    assert order_of(three) == epochs_one[0]


def test_unshuffled_order_and_sequential_sampler():
    X, y = make(9)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    assert isinstance(loader.sampler, SequentialSampler)
    assert order_of(loader) == list(range(9))
    assert isinstance(DataLoader(TensorDataset(X, y), shuffle=True).sampler, RandomSampler)


@pytest.mark.parametrize("fast", [True, False])
def test_sampler_argument(fast):
    X, y = make(10)
    ds = TensorDataset(X, y) if fast else Slow(X, y)
    assert order_of(DataLoader(ds, batch_size=3, sampler=[9, 0, 4, 4])) == [9, 0, 4, 4]
    loader = DataLoader(ds, batch_size=2, sampler=SubsetRandomSampler([1, 3, 5], generator=0))
    assert len(loader) == 2 and sorted(order_of(loader)) == [1, 3, 5]


def test_general_dataset_with_dict_samples():
    class Points(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(2, i, np.float32), "label": i % 2, "weight": 0.5 * i, "name": f"p{i}"}

    batches = list(DataLoader(Points(), batch_size=2))
    assert len(batches) == 3
    first = batches[0]
    assert set(first) == {"x", "label", "weight", "name"}
    assert first["x"].shape == (2, 2) and first["x"].dtype == np.float32
    assert first["label"].tolist() == [0, 1] and first["label"].dtype == np.int64
    assert first["weight"].dtype == np.float32  # the default dtype (PyTorch: float64)
    assert first["name"] == ["p0", "p1"]
    assert batches[-1]["x"].shape == (1, 2)


def test_default_collate_structures():
    Pair = namedtuple("Pair", ["image", "label"])
    batch = default_collate([Pair(np.zeros((2, 2)), 1), Pair(np.ones((2, 2)), 0)])
    assert isinstance(batch, Pair) and batch.image.shape == (2, 2, 2) and batch.label.tolist() == [1, 0]
    nested = default_collate([(shenjing.ones(3), {"a": (1, 2.5)}), (shenjing.zeros(3), {"a": (3, 4.5)})])
    assert isinstance(nested, list) and nested[0].shape == (2, 3)
    assert nested[1]["a"][0].tolist() == [1, 3] and nested[1]["a"][1].tolist() == [2.5, 4.5]
    assert default_collate([True, False]).dtype == np.bool_
    assert default_collate([np.float64(1.0), np.float64(2.0)]).dtype == np.float64
    assert default_collate([np.int32(1), np.int32(2)]).dtype == np.int32


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match=r"same shape, got shapes \(2,\), \(3,\).*collate_fn"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="3 elements"):
        default_collate([(1, 2, 3), (1, 2)])
    with pytest.raises(TypeError, match="got NoneType"):
        default_collate([None, None])
    with pytest.raises(TypeError, match="non-empty list"):
        default_collate([])


def test_custom_collate_fn_gets_samples_even_for_tensor_dataset():
    X, y = make(6)
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return len(samples)

    assert list(DataLoader(TensorDataset(X, y), batch_size=4, collate_fn=collate)) == [4, 2]
    assert seen == [4, 2]


def test_argument_errors():
    ds = TensorDataset(*make())
    with pytest.raises(ValueError, match="positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match="num_workers=0 to disable"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(TypeError, match="TensorDataset"):
        DataLoader(5)
    with pytest.raises(TypeError, match="seed instead"):
        DataLoader(ds, shuffle=True, generator="seed")


def test_len_counts_updates_per_epoch():
    ds = TensorDataset(np.zeros((60000, 1), np.float32))
    assert len(DataLoader(ds, batch_size=128)) == 469  # ⌈60000 / 128⌉
    assert len(DataLoader(ds, batch_size=128, drop_last=True)) == 468  # ⌊60000 / 128⌋
    assert len(DataLoader(ds, batch_size=len(ds))) == 1
    assert "469 batches" in repr(DataLoader(ds, batch_size=128))
