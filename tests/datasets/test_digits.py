"""digits(): scikit-learn's bundled 8×8 digits as float32 images in [0, 1] and int64 labels."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from shenjing.data import DataLoader, train_val_test_split
from shenjing.datasets import digits


def test_digits_images_and_labels():
    ds = digits()
    x, y = ds.tensors
    assert len(ds) == 1797 and x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.dtype == np.int64 and np.bincount(y.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    reference = load_digits()
    np.testing.assert_array_equal(x.array.reshape(1797, 64), (reference.data / 16).astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), reference.target)
    assert float(x.array.min()) == 0 and float(x.array.max()) == 1
    assert ds.images.dtype == np.uint8 and ds.images.shape == (1797, 8, 8) and int(ds.images.max()) == 16
    assert ds.classes == [str(i) for i in range(10)]


def test_digits_flat_and_normalized():
    x, _ = digits(flatten=True, normalize=True).tensors
    assert x.shape == (1797, 64)
    assert abs(float(x.array.mean())) < 1e-5 and abs(float(x.array.std()) - 1) < 1e-4


def test_digits_stratified_split_and_loader():
    train, val, test = train_val_test_split(digits(flatten=True), val=0.1, test=0.1, stratify=True)
    assert (len(train), len(val), len(test)) == (1437, 180, 180)
    x, y = next(iter(DataLoader(train, batch_size=32, shuffle=True)))
    assert x.shape == (32, 64) and y.dtype == np.int64
