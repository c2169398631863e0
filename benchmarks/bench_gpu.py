"""On an NVIDIA GPU: shenjing on CuPy against PyTorch eager on the same GPU, in the same process.

    python benchmarks/bench_gpu.py [--epochs-mlp 10] [--epochs-cnn 3] [--timing-steps 200]

Prints, for the 784-128-10 MLP (batch 128, Adam) and the textbook CNN (batch 64, Adam):
  * time per training step and per epoch (469 / 938 steps), median of interleaved windows, and the ratio
    (target ≤ 1.5× PyTorch eager);
  * test accuracy after training on the GPU (MLP ≥ 97.5 % after 10 epochs; CNN ≥ 99.0 % on normalised
    inputs), to compare with the CPU figures of bench_mlp_accuracy.py / bench_cnn_accuracy.py.
Falls back to random data for the timings when MNIST is not found (set SHENJING_DATA).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _models import shenjing_model, torch_model  # noqa: E402

import shenjing  # noqa: E402
from shenjing import nn  # noqa: E402

MEAN, STD = 0.1307, 0.3081


def load_data() -> tuple:
    try:
        from _mnist import load

        x, y, xt, yt = load(flat=False)
        return (x - MEAN) / STD, y, (xt - MEAN) / STD, yt, True
    except SystemExit:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((60000, 1, 28, 28)).astype(np.float32)
        return x, rng.integers(0, 10, 60000), x[:10000], rng.integers(0, 10, 10000), False


def sj_mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def t_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(),
                               torch.nn.Linear(128, 10))


class Runner:
    """One library's model, optimizer and data on the GPU, stepping through shuffled batches."""

    def __init__(self, lib: str, make, data: tuple, batch: int) -> None:
        x, y, xt, yt = data
        self.lib, self.batch = lib, batch
        if lib == "shenjing":
            import cupy

            self.model = make().to("cuda")
            self.opt = shenjing.optim.Adam(self.model.parameters(), lr=1e-3)
            self.loss = nn.CrossEntropyLoss()
            self.x, self.y = cupy.asarray(x), cupy.asarray(y)
            self.xt, self.yt = cupy.asarray(xt), cupy.asarray(yt)
            self.wrap = shenjing.Tensor._wrap
            self.sync = cupy.cuda.Device().synchronize
        else:
            self.model = make().cuda()
            self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
            self.loss = torch.nn.CrossEntropyLoss()
            self.x, self.y = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
            self.xt, self.yt = torch.from_numpy(xt).cuda(), torch.from_numpy(yt).cuda()
            self.wrap = lambda a: a
            self.sync = torch.cuda.synchronize
        self.order = np.random.default_rng(0).permutation(len(x))
        self.position = 0

    def steps(self, count: int) -> float:
        self.model.train()
        self.sync()
        start = time.perf_counter()
        for _ in range(count):
            if self.position + self.batch > len(self.order):
                self.position = 0
            idx = self.order[self.position : self.position + self.batch]
            self.position += self.batch
            xb, yb = self.wrap(self.x[idx]), self.wrap(self.y[idx])
            loss = self.loss(self.model(xb), yb)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        self.sync()
        return (time.perf_counter() - start) / count

    def accuracy(self) -> float:
        self.model.eval()
        correct = 0
        grad_off = shenjing.no_grad() if self.lib == "shenjing" else torch.no_grad()
        with grad_off:
            for i in range(0, len(self.yt), 1000):
                logits = self.model(self.wrap(self.xt[i : i + 1000]))
                correct += int((logits.argmax(1) == self.wrap(self.yt[i : i + 1000])).sum().item())
        return correct / len(self.yt)


def compare(name: str, make_sj, make_t, data: tuple, batch: int, epochs: int, timing_steps: int,
            real: bool) -> None:
    ours, theirs = Runner("shenjing", make_sj, data, batch), Runner("torch", make_t, data, batch)
    ours.steps(20)
    theirs.steps(20)
    times_sj, times_t = [], []
    for _ in range(5):
        times_sj.append(ours.steps(timing_steps // 5))
        times_t.append(theirs.steps(timing_steps // 5))
    steps_per_epoch = -(-len(data[0]) // batch)
    a, b = statistics.median(times_sj), statistics.median(times_t)
    print(f"{name}: step shenjing {a * 1e3:.2f} ms, PyTorch {b * 1e3:.2f} ms, ratio {a / b:.2f}x; "
          f"epoch ≈ {a * steps_per_epoch:.2f} s vs {b * steps_per_epoch:.2f} s", flush=True)
    if real and epochs:
        for runner in (ours, theirs):
            runner.position = 0
            runner.steps(steps_per_epoch * epochs)
        print(f"{name}: test accuracy after {epochs} more epochs on the GPU: shenjing {ours.accuracy():.4f}, "
              f"PyTorch {theirs.accuracy():.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs-mlp", type=int, default=10)
    parser.add_argument("--epochs-cnn", type=int, default=3)
    parser.add_argument("--timing-steps", type=int, default=200)
    args = parser.parse_args()
    x, y, xt, yt, real = load_data()
    print(f"device: {torch.cuda.get_device_name()}; data: {'MNIST' if real else 'random (timing only)'}")
    shenjing.manual_seed(0)
    torch.manual_seed(0)
    compare("MLP 784-128-10, batch 128", sj_mlp, t_mlp, (x, y, xt, yt), 128, args.epochs_mlp, args.timing_steps,
            real)
    compare("textbook CNN, batch 64", shenjing_model, torch_model, (x, y, xt, yt), 64, args.epochs_cnn, args.timing_steps, real)


if __name__ == "__main__":
    main()
