"""MNIST for benchmarks: the shared IDX files as NumPy arrays (no shenjing code involved)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

CANDIDATES = [os.environ.get("SHENJING_DATA", ""), str(Path(__file__).resolve().parents[2] / "shared/datasets/mnist")]


def _find(name: str) -> Path:
    for root in CANDIDATES:
        for folder in (Path(root), Path(root) / "mnist"):
            if root and (folder / name).exists():
                return folder / name
    raise SystemExit(f"MNIST file {name} not found: set SHENJING_DATA to the folder holding the IDX .gz files")


def _read(name: str, offset: int) -> np.ndarray:
    with gzip.open(_find(name), "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load(flat: bool = True) -> tuple:
    """(x_train, y_train, x_test, y_test): float32 in [0, 1] ((N, 784) or (N, 1, 28, 28)), int64 labels."""
    shape = (-1, 784) if flat else (-1, 1, 28, 28)
    x_train = (_read("train-images-idx3-ubyte.gz", 16).reshape(shape) / np.float32(255)).astype(np.float32)
    x_test = (_read("t10k-images-idx3-ubyte.gz", 16).reshape(shape) / np.float32(255)).astype(np.float32)
    y_train = _read("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    y_test = _read("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    return x_train, y_train, x_test, y_test
