"""One MNIST epoch of the 784-128-10 ReLU MLP (Adam, batch 128, float32): shenjing vs PyTorch CPU.

Same process, interleaved rounds, median ratio. Target: shenjing ≤ 1.0× PyTorch's epoch time.
    python benchmarks/bench_mlp_epoch.py [--rounds 5] [--hidden 128]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from _mnist import load

import shenjing
from shenjing import nn


def shenjing_epoch(x: np.ndarray, y: np.ndarray, hidden: list[int], batch: int, seed: int) -> float:
    shenjing.manual_seed(seed)
    sizes = [784] + hidden
    layers: list = []
    for d_in, d_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(d_in, d_out), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], 10))
    optimizer = shenjing.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    order = np.random.default_rng(seed).permutation(len(x))
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        idx = order[i : i + batch]
        xb, yb = shenjing.from_numpy(x[idx]), shenjing.from_numpy(y[idx])
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def torch_epoch(x: np.ndarray, y: np.ndarray, hidden: list[int], batch: int, seed: int) -> float:
    torch.manual_seed(seed)
    sizes = [784] + hidden
    layers: list = []
    for d_in, d_out in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(d_in, d_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    order = np.random.default_rng(seed).permutation(len(x))
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        idx = order[i : i + batch]
        xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hidden", type=int, nargs="+", default=[128])
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(2)
    x, y, _, _ = load(flat=True)
    name = "-".join(map(str, [784] + args.hidden + [10]))
    shenjing_epoch(x[:5000], y[:5000], args.hidden, args.batch, 0)  # warm-up
    torch_epoch(x[:5000], y[:5000], args.hidden, args.batch, 0)
    ours, theirs = [], []
    for r in range(args.rounds):
        ours.append(shenjing_epoch(x, y, args.hidden, args.batch, r))
        theirs.append(torch_epoch(x, y, args.hidden, args.batch, r))
        print(f"round {r}: shenjing {ours[-1]:.3f} s   PyTorch {theirs[-1]:.3f} s   ratio {ours[-1] / theirs[-1]:.2f}")
    ratios = [a / b for a, b in zip(ours, theirs)]
    print(f"MLP {name}, batch {args.batch}, Adam, float32, one epoch: shenjing median {statistics.median(ours):.3f} s, "
          f"PyTorch median {statistics.median(theirs):.3f} s, median ratio {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
