"""Character-level text data sets, tiny Shakespeare and MNIST-1D."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shenjing.datasets import char_text, mnist1d, tiny_shakespeare

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def test_char_text_windows_are_shifted_by_one(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello world, hello")
    train = char_text(path, block_size=4, val_fraction=0.25)
    val = char_text(path, block_size=4, split="val", val_fraction=0.25)
    assert train.vocab == sorted(set("hello world, hello"))
    assert len(train.data) == 13 and len(val.data) == 5 and len(train) == 9
    x, y = train[2]
    assert train.decode(x) == "llo " and train.decode(y) == "lo w"
    xb, yb = train[[0, 8]]
    assert xb.shape == (2, 4) and train.decode(yb[1]) == "ld, "
    assert train.encode("hole") == [train.stoi[c] for c in "hole"]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        train.encode("xyz")
    with pytest.raises(IndexError):
        train[9]
    with pytest.raises(ValueError, match="too few"):
        char_text(path, block_size=30)
    with pytest.raises(ValueError, match="split"):
        char_text(path, split="test")
    with pytest.raises(FileNotFoundError, match="no text file"):
        char_text(tmp_path / "missing.txt")


def test_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "bin.txt"
    path.write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(ValueError, match="encoding="):
        char_text(path)


@pytest.mark.skipif(not (SHARED / "tinyshakespeare" / "input.txt").exists(),
                    reason=f"tiny Shakespeare is not in {SHARED}/tinyshakespeare (set root= or $SHENJING_DATA)")
def test_tiny_shakespeare_from_the_shared_folder():
    train = tiny_shakespeare(SHARED, block_size=32, download_if_missing=False)
    val = tiny_shakespeare(SHARED, block_size=32, split="val", download_if_missing=False)
    assert train.vocab_size == 65 and len(train.data) + len(val.data) == 1115394
    assert train.decode(train[0][0]).startswith("First Citizen")


def test_tiny_shakespeare_missing_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="input.txt"):
        tiny_shakespeare(tmp_path, download_if_missing=False)


def test_mnist1d_is_deterministic_and_leaves_numpy_rng_alone():
    pytest.importorskip("mnist1d", reason="pip install 'shenjing[seq]' for MNIST-1D")
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    train, test = mnist1d(num_samples=500), mnist1d(train=False, num_samples=500)
    assert np.array_equal(np.random.get_state()[1], before)
    x, y = train.tensors
    assert x.shape == (400, 40) and str(x.dtype).endswith("float32") and test.tensors[0].shape == (100, 40)
    assert sorted(set(y.array.tolist())) == list(range(10))
    again = mnist1d(num_samples=500)
    np.testing.assert_array_equal(again.tensors[0].array, x.array)
    assert mnist1d(num_samples=500, channels=True).tensors[0].shape == (400, 1, 40)
    with pytest.raises(TypeError, match="unknown"):
        mnist1d(bogus=1)


def test_row_by_row_mnist_layout():
    from shenjing.datasets import LabelledImages

    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    rows = LabelledImages(images, np.array([1, 2]), [str(i) for i in range(10)], "MNIST", rows=True)
    x = rows.tensors[0]
    assert x.shape == (2, 28, 28)
    np.testing.assert_allclose(x.array[1, 3], images[1, 3] / 255.0, rtol=1e-6)
    with pytest.raises(ValueError, match="not both"):
        LabelledImages(images, np.array([1, 2]), [str(i) for i in range(10)], "MNIST", rows=True, flatten=True)
