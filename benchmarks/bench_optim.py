"""Time of one optimizer step, shenjing.optim against torch.optim (CPU, float32), for a few model sizes.

Both optimizers hold the same shapes and the same fixed gradients; steps are timed in interleaved windows
in this process, and the ratio printed is the median over windows of (shenjing time / PyTorch time).

    mlp        784-128-10:             2 weights + 2 biases,   101 770 parameters (MNIST MLP)
    cnn        the textbook CNN:       8 tensors,            1 199 882 parameters (fc1 9216×128 dominates)
    many-small 40 tensors of 64×64 and 64: per-parameter Python overhead

    python benchmarks/bench_optim.py [--windows 7] [--steps 50] [--threads 2]

PyTorch runs with 2 threads by default; on a busy machine its thread pool stalls (steps of tens of ms),
so compare with ``--threads 1`` too.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import shenjing

SHAPES = {
    "mlp": [(128, 784), (128,), (10, 128), (10,)],
    "cnn": [(32, 1, 3, 3), (32,), (64, 32, 3, 3), (64,), (128, 9216), (128,), (10, 128), (10,)],
    "many-small": [(64, 64), (64,)] * 20,
}

OPTIMIZERS = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}),
    ("Adam", {"lr": 1e-3}),
    ("Adam", {"lr": 1e-3, "amsgrad": True}),
    ("AdamW", {"lr": 1e-3}),
    ("RMSprop", {"lr": 1e-3}),
    ("RMSprop", {"lr": 1e-3, "centered": True, "momentum": 0.9}),
    ("Adagrad", {"lr": 1e-2}),
]


def build(name: str, options: dict, shapes: list[tuple]) -> tuple:
    rng = np.random.default_rng(0)
    params, tparams = [], []
    for shape in shapes:
        w = rng.standard_normal(shape).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32) * np.float32(1e-3)
        p = shenjing.nn.Parameter(shenjing.tensor(w.copy()))
        p.grad = shenjing.tensor(g.copy())
        tp = torch.tensor(w.copy(), requires_grad=True)
        tp.grad = torch.tensor(g.copy())
        params.append(p)
        tparams.append(tp)
    return getattr(shenjing.optim, name)(params, **options), getattr(torch.optim, name)(tparams, **options)


def time_steps(opt, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=7)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'model':<11} {'optimizer':<62} {'shenjing µs':>12} {'torch µs':>10} {'ratio':>6}")
    for model, shapes in SHAPES.items():
        for name, options in OPTIMIZERS:
            ours, theirs = build(name, options, shapes)
            with torch.no_grad():
                time_steps(ours, 3), time_steps(theirs, 3)  # state allocation, warm caches
            ratios, ours_times, theirs_times = [], [], []
            for _ in range(args.windows):
                ours_time = time_steps(ours, args.steps)
                theirs_time = time_steps(theirs, args.steps)
                ours_times.append(ours_time)
                theirs_times.append(theirs_time)
                ratios.append(ours_time / theirs_time)
            label = f"{name}({', '.join(f'{k}={v}' for k, v in options.items())})"
            print(
                f"{model:<11} {label:<62} {statistics.median(ours_times) * 1e6:>12.1f} "
                f"{statistics.median(theirs_times) * 1e6:>10.1f} {statistics.median(ratios):>6.2f}"
            )


if __name__ == "__main__":
    main()
