"""Epoch time of `shenjing train`'s loop against a bare shenjing loop, scikit-learn's MLPClassifier and PyTorch.

MNIST, float32, Adam 1e-3, batch 128, for 784-16-16-10 and 784-128-10 (ReLU). "Trainer + CLI callbacks" is
Trainer.fit with accuracy tracking and the callbacks `shenjing train` installs (CSV and JSON history, a
resumable checkpoint written atomically every epoch); its epoch is timed from one epoch's start to the next
(so the end-of-epoch work is in). Rounds are interleaved; medians are reported.
Targets: Trainer ≤ 1.05× the bare loop, ≤ 1.0× scikit-learn.
    SHENJING_DATA=/path/to/mnist python benchmarks/bench_train_overhead.py [--rounds 5] [--epochs 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings

import numpy as np
import torch
from _mnist import load
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import shenjing
from shenjing import nn, optim
from shenjing.data import DataLoader, TensorDataset
from shenjing.train import Callback, CSVLogger, JSONLogger, ModelCheckpoint, Trainer

torch.set_num_threads(2)
clock = time.perf_counter  # --clock cpu: time.process_time, steadier on a busy machine (with --threads 1)


def build(m, hidden: list[int]):
    sizes = [784, *hidden]
    layers = []
    for d_in, d_out in zip(sizes, sizes[1:]):
        layers += [m.Linear(d_in, d_out), m.ReLU()]
    return m.Sequential(*layers, m.Linear(sizes[-1], 10))


def bare(x, y, hidden, epochs) -> list[float]:
    shenjing.manual_seed(0)
    model = build(nn, hidden)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
    times = []
    for _ in range(epochs):
        start = clock()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        times.append(clock() - start)
    return times


class EpochClock(Callback):
    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.starts.append(clock())

    def on_train_end(self, logs=None) -> None:
        self.starts.append(clock())

    def times(self) -> list[float]:
        return [b - a for a, b in zip(self.starts, self.starts[1:])]


def trainer(x, y, hidden, epochs, folder) -> list[float]:
    shenjing.manual_seed(0)
    model = build(nn, hidden)
    epoch_clock = EpochClock()
    callbacks = [
        epoch_clock,
        CSVLogger(f"{folder}/h.csv"),
        JSONLogger(f"{folder}/h.json"),
        ModelCheckpoint(f"{folder}/checkpoint.safetensors", resumable=True, monitor="loss"),
    ]
    Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=1e-3),
        callbacks=callbacks,
        verbose=0,
        interrupt_checkpoint=None,
    ).fit((x, y), epochs=epochs, batch_size=128)
    return epoch_clock.times()


def sklearn(x, y, hidden, epochs) -> list[float]:
    model = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation="relu",
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=128,
        alpha=0.0,
        random_state=0,
    )
    classes = np.arange(10)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            start = clock()
            model.partial_fit(x, y, classes=classes)
            times.append(clock() - start)
    return times


def pytorch(x, y, hidden, epochs) -> list[float]:
    torch.manual_seed(0)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    model = build(torch.nn, hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = clock()
        for idx in torch.randperm(len(x)).split(128):
            loss = loss_fn(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        times.append(clock() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (the first of each run is dropped)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads (1 on a busy machine)")
    parser.add_argument("--sizes", default="16-16,128", help="hidden layer sizes to time, e.g. 16-16,128")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="cpu: process time (all threads)")
    args = parser.parse_args()
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    x, y, _, _ = load(flat=True)
    folder = tempfile.mkdtemp()
    n = args.epochs + 1
    for hidden in ([int(h) for h in size.split("-")] for size in args.sizes.split(",")):
        runs = {
            "bare shenjing loop": lambda h=hidden: bare(x, y, h, n),
            "Trainer + CLI callbacks": lambda h=hidden: trainer(x, y, h, n, folder),
            "scikit-learn MLPClassifier": lambda h=hidden: sklearn(x, y, h, n),
            "PyTorch": lambda h=hidden: pytorch(x, y, h, n),
        }
        times: dict = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                times[name] += run()[1:]  # drop the first (warm-up) epoch of each run
        medians = {name: statistics.median(t) for name, t in times.items()}
        base = medians["Trainer + CLI callbacks"]
        print(
            f"784-{'-'.join(map(str, hidden))}-10, batch 128, float32, {args.threads} thread(s), {args.clock} clock "
            f"(median of {len(times['PyTorch'])} epochs):"
        )
        for name, seconds in medians.items():
            print(f"  {name:<28} {seconds:.3f} s/epoch   Trainer / this = {base / seconds:.3f}")


if __name__ == "__main__":
    main()
