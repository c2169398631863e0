"""ConvTranspose2d forward + backward time, shenjing vs PyTorch CPU (the DCGAN generator's layers, batch 64).

    python benchmarks/bench_conv_transpose.py [--repeat 10] [--threads 1]

Prints the median seconds of one forward + backward (input, weight and bias gradients) for each layer and the
ratio shenjing / PyTorch. Run with OMP_NUM_THREADS equal to --threads so both use as many BLAS threads.

Measured (2-core shared box, 1 thread each, batch 64; seconds per forward + backward):

    layer                                  before (dilate + conv)   direct col2im   PyTorch   ratio now
    ConvTranspose2d(100, 128, 7, 1, 0) 1×1       0.621                0.030          0.016      1.85
    ConvTranspose2d(128, 64, 4, 2, 1)  7×7       0.462                0.088          0.039      2.23
    ConvTranspose2d(64, 1, 4, 2, 1)   14×14      0.075                0.009          0.016      0.57

The DCGAN generator's forward + backward (width 64): 1.13 s → 0.13 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import shenjing
from shenjing import nn

LAYERS = [  # (C_in, C_out, kernel, stride, padding, input size): dcgan_generator(width=64) on batch 64
    (100, 128, 7, 1, 0, 1),
    (128, 64, 4, 2, 1, 7),
    (64, 1, 4, 2, 1, 14),
]


def median_time(step, repeat: int) -> float:
    step()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"{'layer':42s} {'shenjing':>9s} {'torch':>9s} {'ratio':>6s}")
    for cin, cout, k, s, p, hw in LAYERS:
        ours = nn.ConvTranspose2d(cin, cout, k, s, p)
        theirs = torch.nn.ConvTranspose2d(cin, cout, k, s, p)
        theirs.load_state_dict(shenjing.io.to_torch_state_dict(ours))
        x = shenjing.randn(args.batch, cin, hw, hw, requires_grad=True)
        xt = torch.from_numpy(x.array.copy()).requires_grad_()

        def ours_step(ours=ours, x=x):
            ours(x).sum().backward()

        def torch_step(theirs=theirs, xt=xt):
            theirs(xt).sum().backward()

        a, b = median_time(ours_step, args.repeat), median_time(torch_step, args.repeat)
        name = f"ConvTranspose2d({cin}, {cout}, {k}, {s}, {p}) on {hw}×{hw}"
        print(f"{name:42s} {a:9.4f} {b:9.4f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
