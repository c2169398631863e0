"""MNIST and Fashion-MNIST: reading IDX files, checking them, and the labelled-image data set they become."""

from __future__ import annotations

import gzip
import os
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy  # host-side parsing of files

from ..backend import get_default_dtype
from ..data.dataset import TensorDataset
from ._download import data_root, fetch, md5

__all__ = ["LabelledImages", "mnist", "fashion_mnist", "read_idx", "MNIST_MIRRORS", "FASHION_MNIST_MIRRORS"]

# IDX header: two zero bytes, a type code, the number of dimensions; then one big-endian uint32 per dimension
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)


@dataclass(frozen=True)
class IdxFile:
    """One IDX file of a data set and what proves it genuine.

    ``md5`` is the MD5 of the uncompressed content (the same whoever gzipped it); ``gz_md5`` that of the
    official ``.gz`` file, used where the uncompressed sum is not published.
    """

    name: str
    md5: str | None = None
    gz_md5: str | None = None


# Uncompressed MD5s: /work/shared/datasets/README.md (identical to the original files from LeCun's site)
MNIST_FILES = {
    "train": (
        IdxFile("train-images-idx3-ubyte.gz", md5="6bbc9ace898e44ae57da46a324031adb"),
        IdxFile("train-labels-idx1-ubyte.gz", md5="a25bea736e30d166cdddb491f175f624"),
    ),
    "test": (
        IdxFile("t10k-images-idx3-ubyte.gz", md5="2646ac647ad5339dbf082846283269ea"),
        IdxFile("t10k-labels-idx1-ubyte.gz", md5="27ae3e4e09519cfbb04c329615203637"),
    ),
}
# Fashion-MNIST publishes the MD5s of its .gz files only (github.com/zalandoresearch/fashion-mnist README)
FASHION_MNIST_FILES = {
    "train": (
        IdxFile("train-images-idx3-ubyte.gz", gz_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        IdxFile("train-labels-idx1-ubyte.gz", gz_md5="25c81989df183df01b3e8a0aad5dffbe"),
    ),
    "test": (
        IdxFile("t10k-images-idx3-ubyte.gz", gz_md5="bef4ecab320f06d8554ea6380940ec79"),
        IdxFile("t10k-labels-idx1-ubyte.gz", gz_md5="bb300cfdad3c16e7a12a480ee83cd310"),
    ),
}
MNIST_CLASSES = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
                 "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]  # fmt: skip
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip


# ---- IDX files ---------------------------------------------------------------------------------------------------
def _content(raw: bytes, name: str) -> bytes:
    """The bytes of an IDX file, gunzipped when they are a gzip stream (any wrapper; the CRC is checked)."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"{name}: not a readable gzip file ({error}); it is truncated or corrupt (an interrupted download?). "
            "Delete it and download it again."
        ) from None


def read_idx(source: str | os.PathLike | bytes, name: str | None = None) -> numpy.ndarray:
    """The array stored in an IDX file (the format of MNIST and Fashion-MNIST), gzipped or not.

    IDX layout: bytes 0–1 zero, byte 2 the element type (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), byte 3 the number of dimensions d, then d big-endian uint32 sizes, then
    the elements in C order, big-endian.

    Args:
        source: a path, or the file's bytes.
        name: what to call the file in error messages (default: the path).

    Returns:
        A read-only NumPy array of the stored shape (no copy for uint8 files).

    Raises:
        ValueError: a wrong magic number, a truncated file or trailing bytes, naming the file.

    Example:
        >>> import numpy as np
        >>> from shenjing.datasets import read_idx
        >>> read_idx(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])).tolist()
        [7, 8, 9]
    """
    if isinstance(source, bytes | bytearray | memoryview):
        raw, name = bytes(source), name or "IDX data"
    else:
        raw, name = Path(source).read_bytes(), name or str(source)
    content = _content(raw, name)
    header = content[:4]
    if len(header) < 4 or header[:2] != b"\0\0" or header[2] not in IDX_TYPES:
        raise ValueError(
            f"{name}: expected an IDX file, starting 00 00 <type 08…0E> <ndim>, got magic number "
            f"{header.hex(' ') or 'none (empty file)'}. Is this an MNIST-format file?"
        )
    dtype = numpy.dtype(IDX_TYPES[header[2]])
    ndim = header[3]
    offset = 4 + 4 * ndim
    if len(content) < offset:
        raise ValueError(f"{name}: truncated IDX header: {len(content)} bytes, a {ndim}-d header needs {offset}")
    shape = tuple(int(size) for size in numpy.frombuffer(content, dtype=">u4", count=ndim, offset=4))
    expected = offset + int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
    if len(content) != expected:
        problem = "truncated" if len(content) < expected else "longer than its header says"
        raise ValueError(
            f"{name}: expected {expected} bytes for an array of shape {shape} and dtype {dtype.name}, got "
            f"{len(content)}: the file is {problem}. Delete it and download it again."
        )
    array = numpy.frombuffer(content, dtype=dtype, offset=offset).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


# parsed files by (path, size, mtime): a second mnist() in one process skips gunzip and MD5 (≈ 0.25 s of ≈ 0.6 s)
_PARSED: dict[tuple, numpy.ndarray] = {}


def _check_md5(name: str, raw: bytes, content: bytes, spec: IdxFile, strict: bool) -> None:
    """Raise ValueError unless the file is the one ``spec`` describes (warn where that cannot be known)."""
    if spec.md5 is not None:
        got = md5(content)
        if got != spec.md5:
            raise ValueError(
                f"{name}: the MD5 of its uncompressed content is {got}, expected {spec.md5}: the file is corrupt "
                f"or not the expected {spec.name}. Delete it and download it again."
            )
        return
    if spec.gz_md5 is None or md5(raw) == spec.gz_md5:
        return
    if content_of_mnist := {f.md5 for files in MNIST_FILES.values() for f in files} & {md5(content)}:
        raise ValueError(
            f"{name}: this is an MNIST file (uncompressed MD5 {content_of_mnist.pop()}), not Fashion-MNIST's "
            f"{spec.name}. Keep each data set in its own folder: <root>/mnist and <root>/fashion_mnist."
        )
    if strict:
        raise ValueError(f"{name}: MD5 {md5(raw)}, expected {spec.gz_md5}: not the published {spec.name}")
    # NOTE: only the official .gz bytes have a published MD5; a re-compressed or gunzipped copy is checked
    # for its format (shape, labels) but cannot be proven genuine
    warnings.warn(
        f"{name}: cannot verify its checksum (only the official {spec.name} has a published MD5, {spec.gz_md5}); "
        "checked its format only",
        stacklevel=4,
    )


def _read_checked(path: Path, spec: IdxFile, strict: bool = False) -> numpy.ndarray:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, spec)
    if key in _PARSED:
        return _PARSED[key]
    raw = path.read_bytes()
    content = _content(raw, str(path))
    _check_md5(str(path), raw, content, spec, strict)
    array = read_idx(content, name=str(path))
    _PARSED[key] = array
    return array


def _find(folders: list[Path], spec: IdxFile) -> Path | None:
    """The file in the first folder that has it, gzipped or already gunzipped."""
    plain = spec.name.removesuffix(".gz")
    for folder in folders:
        for candidate in (folder / spec.name, folder / plain):
            if candidate.is_file():
                return candidate
    return None


def _load(
    title: str,
    subfolder: str,
    files: dict,
    mirrors: tuple,
    root: Any,
    train: bool,
    download: bool,
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """The (images, labels) arrays of one split, downloaded first when missing and allowed to."""
    base = data_root(root)
    folders = [base / subfolder, base]  # its own folder first: MNIST and Fashion-MNIST share file names
    specs = files["train" if train else "test"]
    paths = [_find(folders, spec) for spec in specs]
    missing = [spec.name for spec, path in zip(specs, paths, strict=True) if path is None]
    if missing:
        target = base / subfolder
        if not download:
            raise FileNotFoundError(
                f"{title}: {', '.join(missing)} not found in {base} or {target}. Place the files in {target}, "
                f"or pass download=True to fetch them from {mirrors[0]}"
            )
        fetch(title, missing, target, mirrors, check=lambda temporary: _check_download(temporary, specs))
        paths = [_find(folders, spec) for spec in specs]
    images, labels = (_read_checked(path, spec) for path, spec in zip(paths, specs, strict=True))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{title}: expected images (N, H, W) and labels (N,) with one label per image, got images "
            f"{images.shape} from {paths[0]} and labels {labels.shape} from {paths[1]}. The two files do not "
            "belong together; delete them and download them again."
        )
    return images, labels


def _check_download(temporary: Path, specs: tuple) -> None:
    """Reject a downloaded file (still at its temporary name ``.<name>.<random>.part``) that is not genuine."""
    spec = next(spec for spec in specs if temporary.name.startswith(f".{spec.name}."))
    raw = temporary.read_bytes()
    content = _content(raw, spec.name)
    _check_md5(spec.name, raw, content, spec, strict=True)
    read_idx(content, name=spec.name)


# ---- the data set ------------------------------------------------------------------------------------------------
class LabelledImages(TensorDataset):
    """Grey-scale images with class labels: a :class:`~shenjing.data.TensorDataset` of ``(x, y)``.

    x = pixel / 255 in [0, 1] (the default float dtype, float32), optionally standardised, x ← (x − μ) / σ;
    y the class index (int64). The DataLoader batches it with one fancy index per tensor.

    Attributes:
        tensors: ``(x, y)``; x (N, 1, H, W), or (N, H·W) with ``flatten=True``, or (N, H, W) with ``rows=True``
            (row-by-row: H time steps of W features each, for an RNN with batch_first=True); y (N,).
        images: the raw pixels, a read-only uint8 NumPy array (N, H, W).
        labels: the raw labels, a NumPy array (N,).
        targets: y, the labels as an int64 Tensor (as torchvision's ``.targets``).
        classes: the class names; ``y`` indexes them.
        train: whether this is the training split.
    """

    def __init__(
        self,
        images: numpy.ndarray,
        labels: numpy.ndarray,
        classes: list[str],
        name: str,
        train: bool = True,
        flatten: bool = False,
        normalize: tuple[float, float] | None = None,
        max_value: float = 255.0,
        rows: bool = False,
    ) -> None:
        if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(
                f"{name}: expected labels in 0…{len(classes) - 1}, got values from {labels.min()} to {labels.max()}"
            )
        n = len(images)
        x = images.astype(get_default_dtype())  # (N, H, W)
        x /= max_value
        if normalize is not None:
            mean, std = normalize
            x -= mean
            x /= std
        if flatten and rows:
            raise ValueError(f"{name}: choose flatten=True (rows of H·W pixels) or rows=True (H steps of W), not both")
        if rows:  # a sequence per image: H time steps of W features, for recurrent layers (batch_first)
            x = x.reshape(n, *images.shape[1:])
        else:
            x = x.reshape(n, -1) if flatten else x.reshape(n, 1, *images.shape[1:])
        super().__init__(x, labels.astype(numpy.int64))
        self.images, self.labels, self.classes = images, labels, list(classes)
        self.name, self.train, self.normalization = name, train, normalize

    @property
    def targets(self) -> Any:
        return self.tensors[1]

    def __repr__(self) -> str:
        x = self.tensors[0]
        split = "train" if self.train else "test"
        return f"{self.name}({split}: {len(self)} images {tuple(x.shape[1:])} {x.dtype.name}, {len(self.classes)} classes)"


def _normalization(normalize: Any, default: tuple[float, float], where: str) -> tuple[float, float] | None:
    if normalize is True:
        return default
    if normalize is None or normalize is False:
        return None
    if isinstance(normalize, tuple | list) and len(normalize) == 2:
        return float(normalize[0]), float(normalize[1])
    raise ValueError(f"{where}: expected normalize=True, False or (mean, std), got {normalize!r}")


def mnist(
    root: str | os.PathLike | None = None,
    train: bool = True,
    download: bool = True,
    flatten: bool = False,
    normalize: bool | tuple[float, float] = False,
    rows: bool = False,
) -> LabelledImages:
    """The MNIST handwritten digits: 60 000 training or 10 000 test images of 28×28 pixels, 10 classes.

    Reads the four standard IDX files (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``, gzipped or not) from ``root/mnist`` or
    ``root``, where ``root`` defaults to ``$SHENJING_DATA``, else ``~/.cache/shenjing``. Each file's
    uncompressed content must have its published MD5 (so any mirror's gzip wrapper works). Missing files are
    downloaded into ``root/mnist`` from :data:`MNIST_MIRRORS` when ``download`` is true.

    Args:
        root: the data folder (overrides ``$SHENJING_DATA``).
        train: the 60 000 training images (True) or the 10 000 test images (False).
        download: fetch missing files; offline, fails naming the files and the folder to place them in.
        flatten: images as rows (N, 784) for an MLP instead of (N, 1, 28, 28) for a CNN.
        normalize: False: x = pixel / 255 in [0, 1]; True: then x ← (x − 0.1307) / 0.3081, the training set's
            mean and standard deviation; or a ``(mean, std)`` pair of your own.
        rows: row-by-row MNIST, x (N, 28, 28) = 28 time steps of 28 pixels, the classic sequence benchmark
            for ``nn.LSTM(28, hidden, batch_first=True)``.

    Returns:
        A :class:`LabelledImages` data set: samples ``(x, y)``, x float32, y int64; raw uint8 pixels in ``.images``.

    Example:
        >>> from shenjing.datasets import mnist
        >>> train = mnist(flatten=True)  # doctest: +SKIP
        >>> train.tensors[0].shape, train.tensors[1].dtype  # doctest: +SKIP
        ((60000, 784), dtype('int64'))
    """
    norm = _normalization(normalize, (0.1307, 0.3081), "mnist")
    images, labels = _load("mnist", "mnist", MNIST_FILES, MNIST_MIRRORS, root, train, download)
    return LabelledImages(images, labels, MNIST_CLASSES, "MNIST", train, flatten, norm, rows=rows)


def fashion_mnist(
    root: str | os.PathLike | None = None,
    train: bool = True,
    download: bool = True,
    flatten: bool = False,
    normalize: bool | tuple[float, float] = False,
) -> LabelledImages:
    """Fashion-MNIST (Zalando): 28×28 grey images of 10 kinds of clothing, MNIST's format and sizes.

    Exactly as :func:`mnist` (same file names, same arguments), from ``root/fashion_mnist`` or ``root``,
    downloading into ``root/fashion_mnist`` from :data:`FASHION_MNIST_MIRRORS`. ``normalize=True`` uses the
    training set's mean and standard deviation, 0.2860 and 0.3530.

    Checksums: Fashion-MNIST publishes the MD5s of its official ``.gz`` files only. Downloads and files
    byte-identical to those are verified; a copy gzipped anew or gunzipped cannot be, so it is checked for its
    format only, with a warning (and rejected if it is MNIST's content).

    Example:
        >>> from shenjing.datasets import fashion_mnist
        >>> fashion_mnist(train=False).classes[9]  # doctest: +SKIP
        'Ankle boot'
    """
    norm = _normalization(normalize, (0.2860, 0.3530), "fashion_mnist")
    images, labels = _load(
        "fashion_mnist", "fashion_mnist", FASHION_MNIST_FILES, FASHION_MNIST_MIRRORS, root, train, download
    )
    return LabelledImages(images, labels, FASHION_MNIST_CLASSES, "FashionMNIST", train, flatten, norm)
