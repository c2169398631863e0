"""MNIST and Fashion-MNIST: the real files (via SHENJING_DATA), IDX parsing, and every corrupt-file error."""

from __future__ import annotations

import gzip
import hashlib
import importlib
from pathlib import Path

import numpy as np
import pytest
from conftest import MNIST_HINT, mnist_dir

from shenjing.data import DataLoader
from shenjing.datasets import fashion_mnist, mnist, read_idx

# the module, not the function `shenjing.datasets.mnist` that shadows its name in the package
mnist_module = importlib.import_module("shenjing.datasets.mnist")


MNIST_DIR = mnist_dir()
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists(),
    reason=f"the MNIST files are not in {MNIST_DIR}: {MNIST_HINT}",
)
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file holding ``array`` (uint8, int16, int32, float32 or float64)."""
    code = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_split(folder: Path, images: np.ndarray, labels: np.ndarray, prefix: str = "t10k") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))


def small(n=6):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    """Each test parses and verifies its files again (the in-process cache would hide corrupt-file checks)."""
    monkeypatch.setattr(mnist_module, "_PARSED", {})


@pytest.fixture(scope="module")
def train_set():
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the MNIST files are not in {MNIST_DIR}: {MNIST_HINT}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHENJING_DATA", str(MNIST_DIR))
        return mnist(train=True, download=False)


# ---- the real MNIST ----------------------------------------------------------------------------------------------
@needs_mnist
def test_mnist_train_shapes_dtypes_counts(train_set):
    x, y = train_set.tensors
    assert x.shape == (60000, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (60000,) and y.dtype == np.int64
    assert float(x.array.min()) == 0.0 and float(x.array.max()) == 1.0
    assert np.bincount(y.numpy()).tolist() == TRAIN_COUNTS
    assert train_set.images.shape == (60000, 28, 28) and train_set.images.dtype == np.uint8
    assert not train_set.images.flags.writeable  # the raw arrays are shared; keep them intact
    np.testing.assert_array_equal(x.array[123, 0], train_set.images[123] / np.float32(255))
    assert train_set.targets is y and train_set.classes[7] == "7 - seven"
    assert repr(train_set) == "MNIST(train: 60000 images (1, 28, 28) float32, 10 classes)"


@needs_mnist
def test_mnist_through_shenjing_data_env(monkeypatch):
    monkeypatch.setenv("SHENJING_DATA", str(MNIST_DIR))
    test = mnist(train=False, download=False, flatten=True, normalize=True)
    x, y = test.tensors
    assert x.shape == (10000, 784) and x.dtype == np.float32
    assert np.bincount(y.numpy()).tolist() == TEST_COUNTS
    np.testing.assert_allclose(x.array[0], (test.images[0].reshape(-1) / 255 - 0.1307) / 0.3081, rtol=1e-5, atol=1e-6)
    assert abs(float(x.array.mean())) < 0.02 and abs(float(x.array.std()) - 1) < 0.02
    assert len(DataLoader(test, batch_size=128)) == 79


@needs_mnist
def test_mnist_found_in_root_slash_mnist_and_gunzipped(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte.gz").symlink_to(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    # an already gunzipped file is found and verified by its (uncompressed) MD5 too
    (folder / "t10k-labels-idx1-ubyte").write_bytes(
        gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    )
    test = mnist(root=tmp_path, train=False, download=False)
    assert test.tensors[0].shape == (10000, 1, 28, 28)
    assert np.bincount(test.labels).tolist() == TEST_COUNTS


@needs_mnist
def test_mnist_checksums_are_of_the_uncompressed_content():
    for spec in mnist_module.MNIST_FILES["train"] + mnist_module.MNIST_FILES["test"]:
        content = gzip.decompress((MNIST_DIR / spec.name).read_bytes())
        assert hashlib.md5(content).hexdigest() == spec.md5


@needs_mnist
def test_mnist_file_in_fashion_slot_is_refused(tmp_path):
    folder = tmp_path / "fashion_mnist"
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).symlink_to(MNIST_DIR / name)
    with pytest.raises(ValueError, match="this is an MNIST file"):
        fashion_mnist(root=tmp_path, train=False, download=False)


# ---- IDX parsing ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_read_idx_round_trip(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    np.testing.assert_array_equal(read_idx(idx_bytes(array)), array)
    path = tmp_path / "a.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(array)))
    loaded = read_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


def test_read_idx_wrong_magic(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"\x12\x34\x08\x03" + bytes(100)))
    with pytest.raises(ValueError, match=r"bad.gz: expected an IDX file.*got magic number 12 34 08 03"):
        read_idx(path)
    with pytest.raises(ValueError, match="empty file"):
        read_idx(b"")


def test_read_idx_truncated_and_trailing():
    good = idx_bytes(np.zeros((3, 2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"expected 28 bytes for an array of shape \(3, 2, 2\).*got 27.*truncated"):
        read_idx(good[:-1])
    with pytest.raises(ValueError, match="longer than its header says"):
        read_idx(good + b"\0")
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(good[:9])


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(1000, np.uint8)))[:-20])
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz: not a readable gzip file.*truncated or corrupt"):
        read_idx(path)


# ---- corrupt or missing MNIST files --------------------------------------------------------------------------------
def test_wrong_checksum(tmp_path):
    write_split(tmp_path, *small())
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz: the MD5 of its uncompressed content is [0-9a-f]{32}, "
                       r"expected 2646ac647ad5339dbf082846283269ea.*Delete it"):  # fmt: skip
        mnist(root=tmp_path, train=False, download=False)


def trust_small_files(monkeypatch, folder: Path, prefix: str = "t10k") -> None:
    """Point the MD5 table of the test split at the small files written into ``folder``."""
    specs = []
    for spec in mnist_module.MNIST_FILES["test"]:
        content = gzip.decompress((folder / spec.name).read_bytes())
        specs.append(mnist_module.IdxFile(spec.name, md5=hashlib.md5(content).hexdigest()))
    monkeypatch.setitem(mnist_module.MNIST_FILES, "test", tuple(specs))


def test_small_files_with_matching_checksums_load(tmp_path, monkeypatch):
    images, labels = small(6)
    write_split(tmp_path, images, labels)
    trust_small_files(monkeypatch, tmp_path)
    ds = mnist(root=tmp_path, train=False, download=False)
    assert len(ds) == 6 and ds.labels.tolist() == labels.tolist()
    np.testing.assert_array_equal(ds.images, images)


def test_label_image_count_mismatch(tmp_path, monkeypatch):
    images, labels = small(6)
    write_split(tmp_path, images, labels[:5])
    trust_small_files(monkeypatch, tmp_path)
    with pytest.raises(
        ValueError, match=r"one label per image, got images \(6, 28, 28\).*labels \(5,\).*do not belong together"
    ):
        mnist(root=tmp_path, train=False, download=False)


def test_label_out_of_range(tmp_path, monkeypatch):
    images, labels = small(6)
    labels[3] = 12
    write_split(tmp_path, images, labels)
    trust_small_files(monkeypatch, tmp_path)
    with pytest.raises(ValueError, match=r"labels in 0…9, got values from 0 to 12"):
        mnist(root=tmp_path, train=False, download=False)


def test_missing_files_without_download(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        mnist(root=tmp_path, train=True, download=False)
    message = str(error.value)
    assert "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz not found" in message
    assert f"Place the files in {tmp_path / 'mnist'}" in message and "download=True" in message


def test_bad_normalize_argument(tmp_path):
    with pytest.raises(ValueError, match=r"normalize=True, False or \(mean, std\)"):
        mnist(root=tmp_path, normalize="yes")


# ---- Fashion-MNIST ---------------------------------------------------------------------------------------------------
def test_fashion_mnist_unverifiable_copy_warns_and_loads(tmp_path):
    images, labels = small(4)
    write_split(tmp_path / "fashion_mnist", images, labels, prefix="train")
    with pytest.warns(UserWarning, match="cannot verify its checksum"):
        ds = fashion_mnist(root=tmp_path, download=False, flatten=True, normalize=True)
    assert ds.tensors[0].shape == (4, 784) and ds.classes[9] == "Ankle boot"
    np.testing.assert_allclose(
        ds.tensors[0].data[0], (images[0].reshape(-1) / 255 - 0.2860) / 0.3530, rtol=1e-5, atol=1e-6
    )
    assert repr(ds).startswith("FashionMNIST(train: 4 images (784,)")


def test_fashion_mnist_official_gz_is_verified_silently(tmp_path, monkeypatch, recwarn):
    images, labels = small(4)
    folder = tmp_path / "fashion_mnist"
    write_split(folder, images, labels)
    gz = {
        spec.name: hashlib.md5((folder / spec.name).read_bytes()).hexdigest()
        for spec in mnist_module.FASHION_MNIST_FILES["test"]
    }
    specs = tuple(mnist_module.IdxFile(name, gz_md5=digest) for name, digest in gz.items())
    monkeypatch.setitem(mnist_module.FASHION_MNIST_FILES, "test", specs)
    assert len(fashion_mnist(root=tmp_path, train=False, download=False)) == 4
    assert not [w for w in recwarn if "checksum" in str(w.message)]


def test_own_subfolder_wins_over_root(tmp_path):
    write_split(tmp_path, *small(3), prefix="train")  # something else in the root itself
    images, labels = small(5)
    write_split(tmp_path / "fashion_mnist", images, labels, prefix="train")
    with pytest.warns(UserWarning, match="cannot verify"):
        assert len(fashion_mnist(root=tmp_path, download=False)) == 5
