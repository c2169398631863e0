"""random_split, train_val_test_split and kfold_indices: sizes, disjointness, stratification, sklearn splitters."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, KFold, ShuffleSplit, StratifiedKFold

import shenjing
from shenjing.data import Subset, TensorDataset, kfold_indices, random_split, train_val_test_split


def labelled(n=200):
    """n samples of 3 classes in proportion 60 / 30 / 10 %, sorted by class (so an unshuffled cut is biased)."""
    y = np.repeat([0, 1, 2], [int(0.6 * n), int(0.3 * n), n - int(0.6 * n) - int(0.3 * n)])
    X = np.arange(n, dtype=np.float32)[:, None]
    return TensorDataset(X, y), y


def assert_partition(parts, n):
    every = np.concatenate([p.indices for p in parts])
    assert sorted(every.tolist()) == list(range(n))


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.25, 0.25, 0.5], [0.33, 0.33, 0.34], [10, 0]])
def test_random_split_sizes_match_torch(lengths):
    torch = pytest.importorskip("torch", reason="the size parity check compares with torch.utils.data.random_split")
    ds = TensorDataset(np.arange(10))
    parts = random_split(ds, lengths, generator=0)
    expected = [len(p) for p in torch.utils.data.random_split(range(10), lengths)]
    assert [len(p) for p in parts] == expected
    assert all(isinstance(p, Subset) for p in parts)
    assert_partition(parts, 10)


def test_random_split_reproducible():
    ds = TensorDataset(np.arange(50))
    a = [p.indices.tolist() for p in random_split(ds, [0.5, 0.5], generator=3)]
    b = [p.indices.tolist() for p in random_split(ds, [0.5, 0.5], generator=3)]
    shenjing.manual_seed(4)
    c = [p.indices.tolist() for p in random_split(ds, [0.5, 0.5])]
    shenjing.manual_seed(4)
    d = [p.indices.tolist() for p in random_split(ds, [0.5, 0.5])]
    assert a == b and c == d and a != c


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match="sum to the data set's 10 samples"):
        random_split(TensorDataset(np.arange(10)), [3, 3])


def test_train_val_test_split_sizes_and_disjoint():
    ds, _ = labelled(200)
    train, val, test = train_val_test_split(ds, val=0.15, test=0.1)
    assert (len(train), len(val), len(test)) == (150, 30, 20)
    assert_partition([train, val, test], 200)
    again = train_val_test_split(ds, val=0.15, test=0.1)
    assert [p.indices.tolist() for p in again] == [p.indices.tolist() for p in (train, val, test)]
    other = train_val_test_split(ds, val=0.15, test=0.1, seed=1)
    assert other[0].indices.tolist() != train.indices.tolist()


def test_train_val_test_split_counts_rounding_and_arrays():
    X = np.zeros((1797, 64), np.float32)
    y = np.arange(1797) % 10
    train, val, test = train_val_test_split((X, y), val=0.1, test=0.1)
    assert (len(train), len(val), len(test)) == (1437, 180, 180)  # fractions round up, as scikit-learn
    assert isinstance(train.dataset, TensorDataset) and len(train.dataset.tensors) == 2
    train, val, test = train_val_test_split(X, val=100, test=0)
    assert (len(train), len(val), len(test)) == (1697, 100, 0)


@pytest.mark.parametrize("stratify", ["labels", True])
def test_stratified_split_keeps_class_proportions(stratify):
    ds, y = labelled(200)
    parts = train_val_test_split(ds, val=0.2, test=0.2, stratify=y if stratify == "labels" else True)
    assert_partition(parts, 200)
    for part in parts:
        counts = np.bincount(y[part.indices], minlength=3) / len(part)
        np.testing.assert_allclose(counts, [0.6, 0.3, 0.1], atol=0.03)
    plain = train_val_test_split(ds, val=0.2, test=0.2)
    assert sorted(len(p) for p in plain) == sorted(len(p) for p in parts)


def test_split_errors():
    ds, y = labelled(20)
    with pytest.raises(ValueError, match=r"val \(10\) and test \(11\) samples exceed the data set's 20"):
        train_val_test_split(ds, val=10, test=11)
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\)"):
        train_val_test_split(ds, val=1.5)
    with pytest.raises(ValueError, match=r"one label per sample, shape \(20,\)"):
        train_val_test_split(ds, stratify=y[:5])
    with pytest.raises(ValueError, match="Pass the labels"):
        train_val_test_split(TensorDataset(np.zeros(20)), stratify=True)


def test_missing_sklearn_is_a_clear_import_error(monkeypatch):
    ds, y = labelled(20)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        train_val_test_split(ds, stratify=y)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        kfold_indices(ds, cv=5)
    assert len(train_val_test_split(ds)[0]) == 16  # the plain split needs no scikit-learn


def test_kfold_int_cv_is_kfold_every_sample_validated_once():
    ds, _ = labelled(23)
    folds = kfold_indices(ds, cv=5)
    assert len(folds) == 5
    assert [len(val) for _, val in folds] == [5, 5, 5, 4, 4]  # scikit-learn's KFold sizes
    assert_partition([val for _, val in folds], 23)
    for train, val in folds:
        assert not set(train.indices) & set(val.indices)
        assert len(train) + len(val) == 23 and train.dataset is ds
    assert folds[0][1].indices.tolist() == [0, 1, 2, 3, 4]  # unshuffled, as KFold(5)


def test_kfold_int_cv_with_labels_is_stratified():
    ds, y = labelled(200)
    for _, val in kfold_indices(ds, cv=4, labels=y):
        np.testing.assert_allclose(np.bincount(y[val.indices], minlength=3) / len(val), [0.6, 0.3, 0.1])
    assert len(kfold_indices(ds, cv=4, labels=True)) == 4


def test_kfold_accepts_sklearn_splitters_and_pairs():
    ds, y = labelled(60)
    ours = kfold_indices(ds, cv=KFold(3, shuffle=True, random_state=0))
    theirs = list(KFold(3, shuffle=True, random_state=0).split(np.zeros(60)))
    assert [(t.indices.tolist(), v.indices.tolist()) for t, v in ours] == [(a.tolist(), b.tolist()) for a, b in theirs]
    strat = kfold_indices(ds, cv=StratifiedKFold(3, shuffle=True, random_state=0), labels=y)
    assert all(np.bincount(y[v.indices]).tolist() == [12, 6, 2] for _, v in strat)
    groups = np.arange(60) // 6
    for train, val in kfold_indices(ds, cv=GroupKFold(5), groups=groups):
        assert not set(groups[train.indices]) & set(groups[val.indices])
    assert len(kfold_indices(ds, cv=ShuffleSplit(7, test_size=0.2, random_state=0))) == 7
    pairs = kfold_indices(ds, cv=[(np.arange(10, 60), np.arange(10))])
    assert len(pairs) == 1 and pairs[0][1].indices.tolist() == list(range(10))
    assert len(kfold_indices((np.zeros((10, 2)), np.arange(10)), cv=2)) == 2  # arrays are wrapped


def test_kfold_stratified_splitter_without_labels():
    ds, _ = labelled(30)
    with pytest.raises(ValueError, match="StratifiedKFold needs class labels"):
        kfold_indices(ds, cv=StratifiedKFold(3))


def test_fraction_counts_survive_floating_point():
    train, val, test = train_val_test_split(np.zeros(100), val=0.7, test=0.1)  # 0.7 · 100 = 70.00000000000001
    assert (len(train), len(val), len(test)) == (20, 70, 10)
