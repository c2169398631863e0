"""Generation with and without the key/value cache: examples/gpt_char.py's GPT, 256 new tokens after a 7-token prompt.

Without the cache every new token runs the model over the last 64 ids (the whole context); with one
``nn.KVCache`` per layer each token is a one-position step against the cached keys and values (and when the
window is full it moves on by half the context, re-encoding 32 ids). The speed of either does not depend on the
weights, so the model is freshly initialised. The two runs alternate, ``--rounds`` times; the medians of the wall
time and of the process CPU time are printed with their ratios (on a shared machine the CPU time is the steadier
figure: a 4 ms uncached step is preempted more often than a 0.6 ms cached one).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_generation.py [--tokens 256] [--rounds 5]

Measured on the 2-core machine, quiet, one BLAS thread: without the cache 0.92 s (3.57 ms a token), with it 0.18 s
(0.71 ms a token): 5.1x (wall), 5.0x (CPU). The cached step is bound by per-op cost (about 70 small ops a token;
the same step written in bare NumPy takes about half the time), the uncached one by the 64-row products. With two
BLAS threads on a machine that other jobs share, OpenBLAS's spinning threads make the uncached path very slow
(147 ms a token in one such run, 18x): use one thread for a fair figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import statistics
import time

import shenjing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path = pathlib.Path(__file__).parents[1] / "examples" / "gpt_char.py"
    spec = importlib.util.spec_from_file_location("gpt_char", path)
    gpt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpt)
    shenjing.manual_seed(0)
    model = gpt.build(shenjing, 65)  # tiny Shakespeare's 65 characters, nanoGPT's CPU configuration
    prompt = list(range(7))
    gpt.generate(model, prompt, 16, cache=True)  # warm-up
    wall, cpu = {True: [], False: []}, {True: [], False: []}
    for r in range(args.rounds):
        for cached in (True, False) if r % 2 == 0 else (False, True):
            t, c = time.perf_counter(), time.process_time()
            gpt.generate(model, prompt, args.tokens, cache=cached, seed=r)
            wall[cached].append(time.perf_counter() - t)
            cpu[cached].append(time.process_time() - c)
        print(f"round {r + 1}: cached {wall[True][-1]:.2f} s wall / {cpu[True][-1]:.2f} s CPU, uncached "
              f"{wall[False][-1]:.2f} s wall / {cpu[False][-1]:.2f} s CPU", flush=True)
    med = {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in (True, False)}
    print(f"\n{args.tokens} tokens, median of {args.rounds}:")
    print(f"  without the cache {med[False][0]:.2f} s wall, {med[False][1]:.2f} s CPU "
          f"({1e3 * med[False][1] / args.tokens:.2f} ms CPU a token)")
    print(f"  with the cache    {med[True][0]:.2f} s wall, {med[True][1]:.2f} s CPU "
          f"({1e3 * med[True][1] / args.tokens:.2f} ms CPU a token)")
    print(f"  the cache is {med[False][0] / med[True][0]:.1f}x faster (wall), {med[False][1] / med[True][1]:.1f}x (CPU)")


if __name__ == "__main__":
    main()
