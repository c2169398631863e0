"""Test accuracy of the textbook CNN on MNIST: shenjing vs PyTorch CPU, same recipe, same initial weights, same order.

    Conv2d(1, 32, 3) → ReLU → Conv2d(32, 64, 3) → ReLU → MaxPool2d(2) → Dropout2d(0.25) → Flatten
    → Linear(9216, 128) → ReLU → Dropout(0.5) → Linear(128, 10); cross-entropy on logits, Adam 1e-3, batch 64,
    inputs (x/255 − 0.1307)/0.3081. Both start from PyTorch's initial weights (seed ``--seed``) and see the
    batches in the same order; only the dropout masks differ (each library's own generator).

Target: shenjing ≥ 99.0 % test accuracy within 5 epochs, and within 0.3 points of PyTorch.

    python benchmarks/bench_cnn_accuracy.py [--epochs 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _mnist import load
from _models import shenjing_model, torch_model

import shenjing
from shenjing import nn

MEAN, STD = 0.1307, 0.3081


def accuracy(predict, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    correct = 0
    for i in range(0, len(x), batch):
        correct += int((predict(x[i : i + batch]) == y[i : i + batch]).sum())
    return correct / len(x)


def run_torch(data: tuple, state: dict, orders: list, batch: int) -> list:
    x_train, y_train, x_test, y_test = data
    model = torch_model()
    model.load_state_dict(state)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def predict(xb: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(xb)).argmax(1).numpy()

    history = []
    for order in orders:
        model.train()
        start = time.perf_counter()
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            loss = torch.nn.functional.cross_entropy(
                model(torch.from_numpy(x_train[idx])), torch.from_numpy(y_train[idx])
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        model.eval()
        history.append((seconds, accuracy(predict, x_test, y_test)))
        print(f"  PyTorch  epoch {len(history)}: {seconds:6.1f} s, test accuracy {100 * history[-1][1]:.2f} %")
    return history


def run_shenjing(data: tuple, state: dict, orders: list, batch: int, seed: int) -> list:
    x_train, y_train, x_test, y_test = data
    shenjing.manual_seed(seed)
    model = shenjing_model()
    model.load_state_dict(state)
    optimizer = shenjing.optim.Adam(model.parameters(), lr=1e-3)

    def predict(xb: np.ndarray) -> np.ndarray:
        with shenjing.no_grad():
            return model(shenjing.from_numpy(xb)).argmax(1).numpy()

    history = []
    for order in orders:
        model.train()
        start = time.perf_counter()
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            logits = model(shenjing.from_numpy(x_train[idx]))
            loss = nn.functional.cross_entropy(logits, shenjing.from_numpy(y_train[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        model.eval()
        history.append((seconds, accuracy(predict, x_test, y_test)))
        print(f"  shenjing epoch {len(history)}: {seconds:6.1f} s, test accuracy {100 * history[-1][1]:.2f} %")
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)

    x_train, y_train, x_test, y_test = load(flat=False)
    x_train = ((x_train - MEAN) / STD).astype(np.float32)
    x_test = ((x_test - MEAN) / STD).astype(np.float32)
    data = (x_train, y_train, x_test, y_test)
    rng = np.random.default_rng(args.seed)
    orders = [rng.permutation(len(x_train)) for _ in range(args.epochs)]
    torch.manual_seed(args.seed)
    state = torch_model().state_dict()
    numpy_state = {k: v.numpy().copy() for k, v in state.items()}

    print(f"textbook CNN on MNIST, {args.epochs} epochs, batch {args.batch_size}, Adam 1e-3, seed {args.seed}")
    theirs = run_torch(data, state, orders, args.batch_size)
    ours = run_shenjing(data, numpy_state, orders, args.batch_size, args.seed)
    best_ours, best_theirs = ours[-1][1], theirs[-1][1]
    gap = 100 * (best_ours - best_theirs)
    time_ratio = sum(s for s, _ in ours) / sum(s for s, _ in theirs)
    print(
        f"final test accuracy: shenjing {100 * best_ours:.2f} %, PyTorch {100 * best_theirs:.2f} %, "
        f"difference {gap:+.2f} points (target: shenjing ≥ 99.0 %, |difference| ≤ 0.3)"
    )
    print(f"training time ratio shenjing / PyTorch: {time_ratio:.2f}× (not interleaved; see bench_cnn_step.py)")


if __name__ == "__main__":
    main()
