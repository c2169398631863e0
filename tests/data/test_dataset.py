"""Dataset, TensorDataset, Subset, ConcatDataset: indexing, lengths, dtypes and the errors they raise."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing
from shenjing.data import ConcatDataset, Dataset, Subset, TensorDataset
from shenjing.data.dataset import tensor_source


def test_tensor_dataset_rows_and_dtypes():
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([3, 1, 4, 1])
    ds = TensorDataset(X, y)
    assert len(ds) == 4
    x2, y2 = ds[2]
    assert isinstance(x2, shenjing.Tensor) and isinstance(y2, shenjing.Tensor)
    np.testing.assert_array_equal(x2.numpy(), [6, 7, 8])
    assert y2.shape == () and y2.item() == 4 and y2.dtype == np.int64  # a 0-d tensor, not a NumPy scalar
    assert x2.dtype == np.float32
    assert ds[-1][1].item() == 1


def test_tensor_dataset_accepts_tensors_lists_and_keeps_dtype():
    ds = TensorDataset(shenjing.randn(5, 2), [0, 1, 0, 1, 1], np.zeros(5))
    assert [t.dtype for t in ds.tensors] == [np.float32, np.int64, np.float64]
    assert all(not t.requires_grad for t in ds.tensors)


def test_tensor_dataset_wraps_arrays_without_copy():
    X = np.zeros((3, 2), np.float32)
    assert TensorDataset(X).tensors[0].array is X
    assert TensorDataset(X).tensors[0].data.array is X  # PyTorch's .data: a detached Tensor on the same array


def test_tensor_dataset_size_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 3\), \(4,\)"):
        TensorDataset(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="got dict at position 1"):
        TensorDataset(np.zeros(3), {"a": 1})


def test_subset_indexing_and_negative_indices():
    ds = TensorDataset(np.arange(10) * 10)
    sub = Subset(ds, [7, -1, 2])
    assert len(sub) == 3
    assert [sub[k][0].item() for k in range(3)] == [70, 90, 20]
    assert sub.indices.tolist() == [7, 9, 2] and sub.indices.dtype == np.int64
    assert [s[0].item() for s in sub[[0, 2]]] == [70, 20]
    assert len(Subset(ds, [])) == 0
    assert Subset(ds, shenjing.tensor([1, 3]))[1][0].item() == 30


def test_subset_errors():
    ds = TensorDataset(np.arange(10))
    with pytest.raises(IndexError, match="index 10 is out of range for a data set of 10"):
        Subset(ds, [1, 10])
    with pytest.raises(TypeError, match="flatnonzero"):
        Subset(ds, np.ones(10, bool))


def test_concat_dataset_and_add():
    a, b = TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 14))
    both = ConcatDataset([a, b])
    assert len(both) == 7 and both.cumulative_sizes == [3, 7]
    assert [both[i][0].item() for i in range(7)] == [0, 1, 2, 10, 11, 12, 13]
    assert both[-1][0].item() == 13
    with pytest.raises(IndexError, match="out of range for 7"):
        both[7]
    assert len(a + b) == 7
    with pytest.raises(ValueError, match="at least one"):
        ConcatDataset([])


def test_dataset_base_requires_getitem_and_len():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


def test_tensor_source_sees_through_subsets_but_not_overrides():
    X = np.arange(20).reshape(10, 2)
    ds = TensorDataset(X)
    arrays, indices = tensor_source(ds)
    assert arrays[0] is X and indices is None
    arrays, indices = tensor_source(Subset(Subset(ds, [9, 8, 7, 6]), [3, 0]))
    assert indices.tolist() == [6, 9]

    class Doubled(TensorDataset):
        def __getitem__(self, i):
            return tuple(t * 2 for t in super().__getitem__(i))

    assert tensor_source(Doubled(X)) is None
    assert tensor_source(Subset(Doubled(X), [0])) is None
