"""MNIST test accuracy of MLPs trained with shenjing.train.Trainer, against PyTorch trained the same way.

    textbook 784-16-16-10 (sigmoid as the textbook, and ReLU), Adam 1e-3, batch 128, 10 epochs: shenjing vs
        PyTorch, mean over seeds; target: within 0.3 points of PyTorch
    784-128-10 (ReLU), Adam 1e-3, batch 128, 10 epochs                   target ≥ 97.5 %
    784-512-256-10 (ReLU, dropout 0.2), Adam 1e-3 with cosine annealing (examples/mnist_mlp.toml), batch 128,
        20 epochs                                                        target ≥ 98.2 %

Same data (pixels / 255), same initialisation scheme (PyTorch's), same loop; prints, never asserts.
    SHENJING_DATA=/path/to/mnist python benchmarks/bench_mlp_accuracy.py [--seeds 3] [--skip-big]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _mnist import load

import shenjing
from shenjing import nn, optim
from shenjing.train import Trainer

torch.set_num_threads(2)


def shenjing_run(data, build, epochs: int, seed: int, cosine: bool = False) -> float:
    x_train, y_train, x_test, y_test = data
    shenjing.manual_seed(seed)
    model = build(nn)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if cosine else None
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler, verbose=0, interrupt_checkpoint=None
    )
    trainer.fit((x_train, y_train), epochs=epochs, batch_size=128)
    return trainer.evaluate((x_test, y_test), batch_size=1000)["accuracy"]


def torch_run(data, build, epochs: int, seed: int) -> float:
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in data)
    torch.manual_seed(seed)
    model = build(torch.nn)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x_train)).split(128):
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return (model(x_test).argmax(1) == y_test).float().mean().item()


def textbook(m, activation: str = "Sigmoid"):
    f = getattr(m, activation)
    return m.Sequential(m.Linear(784, 16), f(), m.Linear(16, 16), f(), m.Linear(16, 10))


def mlp128(m):
    return m.Sequential(m.Linear(784, 128), m.ReLU(), m.Linear(128, 10))


def mlp512(m):
    return m.Sequential(
        m.Linear(784, 512), m.ReLU(), m.Dropout(0.2), m.Linear(512, 256), m.ReLU(), m.Dropout(0.2), m.Linear(256, 10)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-big", action="store_true", help="skip the 20-epoch 784-512-256-10 run")
    parser.add_argument("--activation", default="Sigmoid,ReLU", help="hidden activations of the textbook MLP")
    parser.add_argument("--textbook-only", action="store_true")
    args = parser.parse_args()
    data = load(flat=True)

    for activation in args.activation.split(","):
        build = lambda m, a=activation: textbook(m, a)  # noqa: E731
        ours, theirs = [], []
        for seed in range(args.seeds):
            start = time.perf_counter()
            ours.append(shenjing_run(data, build, 10, seed))
            middle = time.perf_counter()
            theirs.append(torch_run(data, build, 10, seed))
            print(
                f"textbook 784-16-16-10 {activation} seed {seed}: shenjing {ours[-1]:.2%} "
                f"({middle - start:.1f} s), PyTorch {theirs[-1]:.2%} ({time.perf_counter() - middle:.1f} s)"
            )
        gap = 100 * (statistics.mean(ours) - statistics.mean(theirs))
        print(
            f"textbook {activation} mean over {args.seeds} seeds: shenjing {statistics.mean(ours):.2%}, PyTorch "
            f"{statistics.mean(theirs):.2%}, difference {gap:+.2f} points (target within ±0.3)"
        )
    if args.textbook_only:
        return

    accuracy = shenjing_run(data, mlp128, 10, 0)
    print(f"784-128-10 ReLU, 10 epochs: shenjing {accuracy:.2%} (target ≥ 97.5 %)")
    if not args.skip_big:
        start = time.perf_counter()
        accuracy = shenjing_run(data, mlp512, 20, 0, cosine=True)  # as examples/mnist_mlp.toml
        print(
            f"784-512-256-10 dropout 0.2, cosine lr, 20 epochs: shenjing {accuracy:.2%} (target ≥ 98.2 %), "
            f"{time.perf_counter() - start:.0f} s"
        )


if __name__ == "__main__":
    main()
