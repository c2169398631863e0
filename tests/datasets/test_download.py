"""Downloads: the cache folder, the offline failure message, and the real download code run on local file:// URLs."""

from __future__ import annotations

import gzip
import importlib
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import MNIST_HINT, mnist_dir

from shenjing.datasets import data_root, mnist
from shenjing.datasets._download import download

# the module, not the function `shenjing.datasets.mnist` that shadows its name in the package
mnist_module = importlib.import_module("shenjing.datasets.mnist")

MNIST_DIR = mnist_dir()


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.setattr(mnist_module, "_PARSED", {})


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_data_root(monkeypatch, tmp_path):
    monkeypatch.delenv("SHENJING_DATA", raising=False)
    assert data_root() == Path.home() / ".cache" / "shenjing"
    monkeypatch.setenv("SHENJING_DATA", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root(tmp_path / "x") == tmp_path / "x"


def test_offline_download_fails_naming_files_and_folder(tmp_path, monkeypatch):
    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError) as error:
        mnist(root=tmp_path, train=False, download=True)
    message = str(error.value)
    assert "could not download t10k-images-idx3-ubyte.gz" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz" in message
    assert "https://storage.googleapis.com/cvdf-datasets/mnist/t10k-images-idx3-ubyte.gz" in message
    assert "Temporary failure in name resolution" in message
    assert f"place these files in {tmp_path / 'mnist'}" in message
    assert "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz" in message
    assert leftovers(tmp_path) == []  # no partial files


@pytest.mark.skipif(
    not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(), reason=f"no MNIST files in {MNIST_DIR}: {MNIST_HINT}"
)
def test_download_from_mirrors_on_local_files(tmp_path, monkeypatch):
    """The real download path: the first mirror fails, the second (a file:// URL) serves, MD5s are checked."""
    mirrors = ((tmp_path / "nowhere").as_uri() + "/", MNIST_DIR.as_uri() + "/")
    monkeypatch.setattr(mnist_module, "MNIST_MIRRORS", mirrors)
    root = tmp_path / "cache"
    test = mnist(root=root, train=False, download=True)
    assert test.tensors[0].shape == (10000, 1, 28, 28)
    assert leftovers(root) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert (root / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes() == (
        MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
    ).read_bytes()
    monkeypatch.setattr(mnist_module, "MNIST_MIRRORS", ())  # a second call finds the cached files
    assert len(mnist(root=root, train=False, download=True)) == 10000


def test_download_rejects_files_with_wrong_checksum(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, array in [("t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8)),
                        ("t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))]:  # fmt: skip
        header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
        (mirror / name).write_bytes(gzip.compress(header + array.tobytes()))
    monkeypatch.setattr(mnist_module, "MNIST_MIRRORS", (mirror.as_uri() + "/",))
    root = tmp_path / "cache"
    with pytest.raises(RuntimeError, match=r"(?s)could not download t10k-images.*MD5 of its uncompressed content"):
        mnist(root=root, train=False, download=True)
    assert leftovers(root) == []


def test_download_serves_bytes_through_urlopen(tmp_path, monkeypatch):
    """download() with a patched opener: streams in chunks, writes atomically, runs the check before renaming."""
    payload = bytes(range(256)) * 1000

    class Response:
        headers = {"Content-Length": str(len(payload))}

        def __init__(self):
            self.position = 0

        def read(self, size):
            chunk = payload[self.position : self.position + size]
            self.position += len(chunk)
            return chunk

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response())
    target = tmp_path / "sub" / "file.bin"
    assert download("https://example.invalid/file.bin", target) == target
    assert target.read_bytes() == payload

    def reject(path):
        assert path != target and path.read_bytes() == payload  # checked before it takes the final name
        raise ValueError("not wanted")

    other = tmp_path / "sub" / "other.bin"
    with pytest.raises(ValueError, match="not wanted"):
        download("https://example.invalid/other.bin", other, check=reject)
    assert leftovers(tmp_path) == ["file.bin"]
