"""One training step of the textbook CNN (batch 64, Adam 1e-3, float32): shenjing vs PyTorch CPU, time and memory.

    Conv2d(1, 32, 3) → ReLU → Conv2d(32, 64, 3) → ReLU → MaxPool2d(2) → Dropout2d(0.25) → Flatten
    → Linear(9216, 128) → ReLU → Dropout(0.5) → Linear(128, 10), cross-entropy on the logits.

Time: both models in this process, same initial weights, interleaved windows of steps, median of the per-window
ratios. Memory: each framework in its own subprocess (both libraries imported in each, so the baselines match);
peak resident memory (VmHWM, reset after the imports) during the steps minus resident memory before the model
was built.
Target (issue 18): shenjing ≤ 1.0× PyTorch's step time on a quiet machine, ≤ 1.3× with one other busy process
(``--busy`` starts one), and ≤ 1.0× its peak memory. It also prints the share of the machine's FLOP ceiling each
reaches: the step's products (4.58 GFLOP) against PyTorch's best large matrix product.

    python benchmarks/bench_cnn_step.py [--windows 7] [--steps 10] [--profile] [--busy] [--tune-malloc]

Run it on a quiet machine: with one other busy process on the 2 cores, both libraries slow down many times
over (their BLAS / OpenMP threads wait for each other).

Measured 2026-12-05 (Intel Xeon, Sapphire Rapids, 2 cores, AVX-512), float32 convolutions, max pooling, ReLU's
backward and Linear's products on oneDNN (``shenjing/nn/_onednn.py``), Adam in cache-sized pieces: 38.3 ms
against 39.9 ms, median ratio 0.96× (windows 0.91–1.03×; 35.5 vs 37.9 ms, 0.95×, in another run); with one other
busy process 105.7 vs 144.4 ms, 0.75× (0.62–0.86×); peak memory 98 vs 175 MiB (0.56×). Ceiling (PyTorch's
2048² product) 323 GFLOP/s, so 14.2 ms at best: shenjing reaches 37 % of it, PyTorch 36 %. A later run the same day
(ceiling 336 GFLOP/s, 13.6 ms): 31.6 vs 35.3 ms, median 0.89× (0.88–0.94×), ceiling share 43 % against 39 %;
busy 0.61× (0.39–0.87×); peak memory 100.8 vs 169.7 MiB (0.59×); no page faults in the timed steps. The steps before,
same machine: im2col + OpenBLAS 1.46×; oneDNN convolutions only 1.29× (47.7 vs 36.8 ms; pooling 7.7 ms, ReLU 6.7,
Linear 6.2, Adam 6.0 of it). Where the time goes now (``--profile``): convolution ∂x and ∂W 12.4 ms, forward
5.7, Adam 3.6, ReLU forward 2.3 (NumPy's one-core maximum) and backward 1.9, Linear 3.2, pooling 2.6.

Earlier measurements, with the im2col path:
On an AMD EPYC machine (2026-12-03, AVX-512, OpenBLAS SkylakeX kernels, 2 threads each), quiet: 50.2 / 51.2 ms
against 43.7 / 44.4 ms, median 1.13× / 1.16× (windows 1.06–1.25×); 1.22–1.78× in hours when the host was busy
(both libraries slower, ours more). With one other busy process (`python -c "while True: pass"`) on the 2 cores:
173.8 vs 149.6 ms, 1.18× (windows 1.08–1.43×), against 1.18× (62.5 vs 52.2 ms) quiet just before. Peak memory 74.6 vs 179.4 MiB (0.42×). The second convolution is bound by its
three products: each runs at 120–170 GF/s in OpenBLAS here (blocks of 8 images: 160–170), 26 ms of the
convolution's 35 ms; the im2col copies and row adds take the rest. Tried that session and not kept (interleaved
A/B, min of 12–15 runs): keeping forward's whole-batch columns for ∂L/∂W (forward +2 ms for the fresh 43 MB
buffer, ∂L/∂W −0.2 ms, +53 MiB); splitting the copies over two threads (slower: OpenBLAS's worker thread spins on
the second core after each product); the batch split over two threads with one BLAS thread each (55 vs 38 ms);
Winograd F(2×2, 3×3) (forward 17.2 vs 11.7 ms, ∂x 24.5 vs 15.6, ∂W 27.6 vs 14.0).

``--profile`` prints where shenjing's step time goes: per autograd Function (forward and backward separately)
and, separately, the optimizer step and the rest (graph bookkeeping, module calls).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict

import numpy as np
import torch
from _models import shenjing_model, torch_model  # noqa: E402 - benchmarks/ is the script folder

import shenjing
from shenjing import nn

BATCH = 64


def data(seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    x = ((rng.random((BATCH, 1, 28, 28), dtype=np.float32) - 0.1307) / 0.3081).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    return x, y


def make_steps(x: np.ndarray, y: np.ndarray) -> tuple:
    """The two step functions, from the same initial weights."""
    torch.manual_seed(0)
    t_model = torch_model()
    s_model = shenjing_model()
    s_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
    t_opt = torch.optim.Adam(t_model.parameters(), lr=1e-3)
    s_opt = shenjing.optim.Adam(s_model.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    sx, sy = shenjing.from_numpy(x), shenjing.from_numpy(y)

    def torch_step() -> None:
        t_opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(t_model(tx), ty)
        loss.backward()
        t_opt.step()

    def shenjing_step() -> None:
        s_opt.zero_grad()
        loss = nn.functional.cross_entropy(s_model(sx), sy)
        loss.backward()
        s_opt.step()

    return shenjing_step, torch_step, s_opt


def tune_malloc() -> bool:
    """Keep freed memory in the process (glibc): no fresh pages, so no page faults, for the step's big arrays.

    By default glibc returns large freed blocks to the OS (mmap threshold and heap trimming), and the next
    step's arrays fault their pages in again: about 4 µs a 4 KiB page on this VM, thousands a step. Fixing
    both thresholds high (as ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` would) removes that for
    both libraries, which share the allocator in this process. Returns False where there is no glibc.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 256 << 20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))


def time_steps(step, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> None:
    """Start the kernel's peak-RSS counter (VmHWM) afresh, so imports do not count (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_child(framework: str, steps: int) -> None:
    """Run in a subprocess: print the peak memory of ``steps`` training steps above the pre-model baseline."""
    x, y = data()
    _reset_peak()
    baseline = _rss_bytes()
    if framework == "torch":
        torch.manual_seed(0)
        model = torch_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def step() -> None:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(tx), ty).backward()
            opt.step()
    else:
        model = shenjing_model()
        opt = shenjing.optim.Adam(model.parameters(), lr=1e-3)
        sx, sy = shenjing.from_numpy(x), shenjing.from_numpy(y)

        def step() -> None:
            opt.zero_grad()
            nn.functional.cross_entropy(model(sx), sy).backward()
            opt.step()

    for _ in range(steps):
        step()
    peak = _peak_bytes()
    print(json.dumps({"peak_above_baseline": peak - baseline}))


def measure_memory(steps: int = 10, tuned: bool = False) -> dict:
    result = {}
    for framework in ("shenjing", "torch"):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", framework, "--steps", str(steps)]
            + (["--tune-malloc"] if tuned else []),
            capture_output=True,
            text=True,
            check=True,
        )
        result[framework] = json.loads(out.stdout.strip().splitlines()[-1])["peak_above_baseline"]
    return result


def step_flops() -> float:
    """Multiply-adds × 2 of one training step: each convolution's and Linear's forward, ∂x (not for the first
    layer, whose input needs no gradient) and ∂W products; the element-wise work is left out."""
    conv1 = BATCH * 32 * 26 * 26 * (1 * 3 * 3) * 2
    conv2 = BATCH * 64 * 24 * 24 * (32 * 3 * 3) * 2
    fc1, fc2 = BATCH * 9216 * 128 * 2, BATCH * 128 * 10 * 2
    return 2 * conv1 + 3 * (conv2 + fc1 + fc2)


def flop_ceiling(size: int = 2048, repeats: int = 7) -> float:
    """This machine's float32 ceiling for the step's products, FLOP/s: PyTorch's best large matrix product (MKL,
    all threads) — the rate no convolution or Linear here can beat."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = min(_timed_once(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * size**3 / best


def _timed_once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def profile(shenjing_step, optimizer, steps: int) -> None:
    """Time every Function's forward and backward, the optimizer, and the rest of shenjing's step."""
    from shenjing.autograd import Function

    totals: dict = defaultdict(float)
    classes = {cls for cls in _subclasses(Function) if "forward" in vars(cls) or "backward" in vars(cls)}
    originals = {}
    for cls in classes:
        for name in ("forward", "backward"):
            if name in vars(cls):
                original = vars(cls)[name]
                originals[(cls, name)] = original
                setattr(cls, name, _timed(original, f"{cls.__name__}.{name}", totals))
    original_step = type(optimizer).step
    type(optimizer).step = _timed(original_step, "optimizer.step", totals)
    try:
        shenjing_step()
        totals.clear()
        start = time.perf_counter()
        for _ in range(steps):
            shenjing_step()
        whole = (time.perf_counter() - start) / steps * 1e3
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)
        type(optimizer).step = original_step
    # a subclass's forward calling super().forward() is counted in both: report the outermost only
    print(f"\nwhere shenjing's step goes ({steps} steps, {whole:.1f} ms a step; inner calls counted once):")
    accounted = 0.0
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        ms = seconds / steps * 1e3
        accounted += ms
        print(f"  {name:<40s} {ms:7.2f} ms  {100 * ms / whole:5.1f} %")
    print(
        f"  {'rest (graph, modules, Python)':<40s} {whole - accounted:7.2f} ms  "
        f"{100 * (whole - accounted) / whole:5.1f} %"
    )


def _subclasses(cls: type) -> list:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


_depth = [0]


def _timed(fn, name: str, totals: dict):
    def wrapper(*args, **kwargs):
        if _depth[0]:
            return fn(*args, **kwargs)
        _depth[0] += 1
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - start
            _depth[0] -= 1

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=7, help="interleaved windows per framework")
    parser.add_argument("--steps", type=int, default=10, help="steps per window")
    parser.add_argument("--profile", action="store_true", help="print where shenjing's step time goes")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--busy", action="store_true", help="time with one other busy process on the machine")
    parser.add_argument("--tune-malloc", action="store_true", help="keep freed memory in the process (glibc)")
    parser.add_argument("--memory-child", choices=("shenjing", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.tune_malloc and not tune_malloc():
        print("--tune-malloc: no glibc mallopt here; running with the default allocator")
        args.tune_malloc = False
    if args.memory_child:
        memory_child(args.memory_child, args.steps)
        return

    x, y = data()
    shenjing_step, torch_step, s_opt = make_steps(x, y)
    busy = None
    if args.busy:  # one other busy process on the cores, as the second target
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    for _ in range(3):  # warm up: first-touch allocations, BLAS threads, optimizer state
        shenjing_step()
        torch_step()
    s_times, t_times, ratios = [], [], []
    for _ in range(args.windows):
        s = time_steps(shenjing_step, args.steps)
        t = time_steps(torch_step, args.steps)
        s_times.append(s)
        t_times.append(t)
        ratios.append(s / t)
    s_ms, t_ms = statistics.median(s_times) * 1e3, statistics.median(t_times) * 1e3
    kept = os.environ.get("SHENJING_KEEP_FREED_MEMORY", "1") != "0"
    allocator = (
        "glibc malloc tuned (--tune-malloc)" if args.tune_malloc
        else "freed memory kept by shenjing's import (shenjing.backend.keep_freed_memory)" if kept
        else "default allocator (SHENJING_KEEP_FREED_MEMORY=0)"
    )
    print(
        f"textbook CNN training step, batch {BATCH}, float32, {args.windows} windows × {args.steps} steps, {allocator}"
    )
    print(f"  shenjing  {s_ms:7.1f} ms/step   (windows: {', '.join(f'{v * 1e3:.1f}' for v in s_times)})")
    print(f"  PyTorch   {t_ms:7.1f} ms/step   (windows: {', '.join(f'{v * 1e3:.1f}' for v in t_times)})")
    target = "1.3× with one other busy process" if args.busy else "1.0× on a quiet machine"
    print(
        f"  time ratio shenjing / PyTorch: median {statistics.median(ratios):.2f}×  "
        f"(range {min(ratios):.2f}–{max(ratios):.2f}; target ≤ {target})"
    )
    if busy is not None:
        busy.kill()
        busy.wait()
    flops, ceiling = step_flops(), flop_ceiling()
    print(f"  FLOP ceiling: {ceiling / 1e9:.0f} GFLOP/s (PyTorch's 2048² matrix product), a step's products "
          f"{flops / 1e9:.2f} GFLOP → at best {flops / ceiling * 1e3:.1f} ms;")
    print(f"  share of the ceiling reached: shenjing {flops / (s_ms / 1e3) / ceiling:.0%}, "
          f"PyTorch {flops / (t_ms / 1e3) / ceiling:.0%}")
    for name, step in (("shenjing", shenjing_step), ("PyTorch", torch_step)):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(args.steps):
            step()
        per_step = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / args.steps
        print(f"  page faults a step, {name}: {per_step:.0f}")
    if not args.no_memory:
        memory = measure_memory(tuned=args.tune_malloc)
        s_mb, t_mb = memory["shenjing"] / 2**20, memory["torch"] / 2**20
        print(
            f"  peak memory above baseline: shenjing {s_mb:.1f} MiB, PyTorch {t_mb:.1f} MiB, "
            f"ratio {s_mb / t_mb:.2f}× (target ≤ 1.0×)"
        )
    if args.profile:
        profile(shenjing_step, s_opt, args.steps)


if __name__ == "__main__":
    main()
