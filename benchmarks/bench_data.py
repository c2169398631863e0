"""Loader overhead per MNIST epoch (60 000 × 784 float32, batch 128): shenjing's DataLoader against PyTorch's.

PyTorch's DataLoader over a TensorDataset indexes sample by sample and collates; shenjing's cuts each batch
with one fancy index per tensor. Also times mnist() itself (cold: parse + verify; warm: the in-process cache).

    SHENJING_DATA=/work/shared/datasets/mnist python benchmarks/bench_data.py
"""

from __future__ import annotations

import importlib
import statistics
import time

import torch

import shenjing
from shenjing.data import DataLoader, TensorDataset
from shenjing.datasets import mnist

torch.set_num_threads(2)


class BySample(TensorDataset):
    """Its own __getitem__ hides it from the fast path: the general, sample-by-sample + default_collate path."""

    def __getitem__(self, index):
        return super().__getitem__(index)


def epoch_seconds(loader) -> float:
    start = time.perf_counter()
    for _x, _y in loader:
        pass
    return time.perf_counter() - start


def main() -> None:
    start = time.perf_counter()
    train = mnist(flatten=True)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    mnist(flatten=True)
    warm = time.perf_counter() - start
    importlib.import_module("shenjing.datasets.mnist")._PARSED.clear()
    print(f"mnist(train) load: {cold:.2f} s first call, {warm:.2f} s with the parsed files cached in memory")

    X, y = (t.numpy() for t in train.tensors)
    sj_loaders = {
        "shuffled": DataLoader(train, batch_size=128, shuffle=True),
        "in order": DataLoader(train, batch_size=128),
        "sample by sample": DataLoader(BySample(X, y), batch_size=128, shuffle=True),
    }
    torch_ds = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    torch_loader = torch.utils.data.DataLoader(torch_ds, batch_size=128, shuffle=True)
    shenjing.manual_seed(0)
    rounds = {name: [] for name in [*sj_loaders, "torch DataLoader"]}
    for _ in range(3):  # interleaved, so both see the same machine load
        for name, loader in sj_loaders.items():
            rounds[name].append(epoch_seconds(loader))
        rounds["torch DataLoader"].append(epoch_seconds(torch_loader))
    torch_time = statistics.median(rounds["torch DataLoader"])
    print("one epoch of MNIST, batch 128 (469 batches), median of 3 interleaved rounds:")
    for name, times in rounds.items():
        t = statistics.median(times)
        print(f"  {name:20s} {t * 1e3:8.1f} ms   {t / torch_time:6.3f}× PyTorch   {t / 469 * 1e6:7.1f} µs/batch")
    copy = []
    for _ in range(3):
        start = time.perf_counter()
        for s in range(0, 60000, 128):
            X[s : s + 128].copy()
        copy.append(time.perf_counter() - start)
    print(f"  {'bare memcpy':20s} {statistics.median(copy) * 1e3:8.1f} ms   (the floor: copying 188 MB of batches)")


if __name__ == "__main__":
    main()
