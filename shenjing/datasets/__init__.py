"""shenjing.datasets: ready-made data sets (MNIST, Fashion-MNIST, scikit-learn's digits, CSV tables); index only.

Files are cached under ``$SHENJING_DATA`` (else ``~/.cache/shenjing``); ``root=`` overrides both.
"""

from __future__ import annotations

from ._download import data_root
from .csv import TabularDataset, load_csv
from .digits import digits
from .mnist1d import mnist1d
from .text import CharText, char_text, tiny_shakespeare
from .mnist import FASHION_MNIST_MIRRORS, MNIST_MIRRORS, LabelledImages, fashion_mnist, mnist, read_idx

__all__ = [
    "mnist",
    "fashion_mnist",
    "digits",
    "load_csv",
    "read_idx",
    "data_root",
    "LabelledImages",
    "TabularDataset",
    "MNIST_MIRRORS",
    "FASHION_MNIST_MIRRORS",
    "mnist1d",
    "char_text",
    "tiny_shakespeare",
    "CharText",
]
