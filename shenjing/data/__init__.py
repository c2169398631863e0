"""shenjing.data: data sets, samplers, the DataLoader that batches them (in-process or in worker processes), splits.

The same objects are reachable as ``shenjing.utils.data``, PyTorch's spelling.
"""

from __future__ import annotations

import sys

from .. import datasets  # the ready-made data sets, also reachable as shenjing.data.datasets
from .dataset import ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset
from .loader import DataLoader, default_collate, default_convert
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .split import kfold_indices, random_split, train_val_test_split
from .worker import WorkerInfo, get_worker_info

sys.modules[__name__ + ".datasets"] = datasets  # so `from shenjing.data.datasets import mnist` works too

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "StackDataset",
    "Subset",
    "ConcatDataset",
    "ChainDataset",
    "DataLoader",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "WorkerInfo",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "random_split",
    "train_val_test_split",
    "kfold_indices",
    "datasets",
]
