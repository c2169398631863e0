"""Scaled dot-product attention forward + backward at T = 512 against PyTorch: time and peak memory.

    python benchmarks/bench_attention.py [--T 512] [--batch 8] [--heads 4] [--dim 64] [--repeat 5]

Time: both in this process, same inputs, median of ``--repeat`` runs. Memory: each library in its own subprocess;
peak resident memory (VmHWM) after the first forward + backward minus the resident memory before it (the inputs
included, the same for both).
Target (issue 12): peak memory at most 1.5× PyTorch's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np


def _rss(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def one(lib_name: str, args: argparse.Namespace) -> dict:
    import torch

    import shenjing

    torch.set_num_threads(2)
    lib = shenjing if lib_name == "shenjing" else torch
    F = lib.nn.functional
    rng = np.random.default_rng(0)
    shape = (args.batch, args.heads, args.T, args.dim)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    times = []
    base = _rss("VmRSS")
    for r in range(args.repeat + 1):
        q, k, v = (lib.tensor(a, requires_grad=True) for a in arrays)
        start = time.perf_counter()
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out.sum().backward()
        times.append(time.perf_counter() - start)
        if r == 0:
            peak = _rss("VmHWM") - base  # the first pass: every page it needs is new
        del q, k, v, out
    return {"seconds": statistics.median(times[1:]), "peak": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--T", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args)))
        return
    results = {}
    for name in ("shenjing", "torch"):
        cmd = [sys.executable, __file__, "--one", name] + [f"--{k}={getattr(args, k)}" for k in
                                                          ("T", "batch", "heads", "dim", "repeat")]
        results[name] = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    s, t = results["shenjing"], results["torch"]
    mb = 1 / 2**20
    print(f"causal attention fwd+bwd, (B, h, T, d) = ({args.batch}, {args.heads}, {args.T}, {args.dim}), float32:")
    print(f"  time   shenjing {1e3 * s['seconds']:.1f} ms, PyTorch {1e3 * t['seconds']:.1f} ms, "
          f"ratio {s['seconds'] / t['seconds']:.2f}x")
    print(f"  memory shenjing {s['peak'] * mb:.0f} MiB, PyTorch {t['peak'] * mb:.0f} MiB, "
          f"ratio {s['peak'] / max(t['peak'], 1):.2f}x (target ≤ 1.5x)")


if __name__ == "__main__":
    main()
