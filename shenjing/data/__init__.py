"""shenjing.data: data sets, the DataLoader that batches them, and splits (index only; see the files)."""

from __future__ import annotations

import sys

from .. import datasets  # the ready-made data sets, also reachable as shenjing.data.datasets
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset
from .loader import DataLoader, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, default_collate
from .split import kfold_indices, random_split, train_val_test_split

sys.modules[__name__ + ".datasets"] = datasets  # so `from shenjing.data.datasets import mnist` works too

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "ConcatDataset",
    "DataLoader",
    "default_collate",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "random_split",
    "train_val_test_split",
    "kfold_indices",
    "datasets",
]
