"""Data-parallel epoch time of the textbook CNN on 1 and 2 MPI processes on this machine, the scaling efficiency,
and the communication volume per step.

    Conv2d(1, 32, 3) → ReLU → Conv2d(32, 64, 3) → ReLU → MaxPool2d(2) → Dropout2d(0.25) → Flatten
    → Linear(9216, 128) → ReLU → Dropout(0.5) → Linear(128, 10); Adam 1e-3, float32, global batch 64.

    python benchmarks/bench_ddp.py [--samples 6400] [--ranks 1 2]     # starts mpiexec -n R for each R itself

Each run trains one epoch on the first ``--samples`` MNIST training images with DistributedTrainer (each rank
takes batch 64 / R through DistributedSampler), OMP_NUM_THREADS=1 per rank so R ranks use R cores, and reports
the epoch time on rank 0. Efficiency(R) = time(1) / (R · time(R)). Communication: the bytes of gradient each rank
all-reduces per step (every parameter once, one message per 25 MB bucket), the same on every rank.

Measured on the 2-core development machine shared with other jobs (so noisy), --samples 1280 (20 steps):
    ranks 1: epoch 3.38 s;  ranks 2: epoch 2.65 s  → speed-up 1.28, efficiency 0.64;
    all-reduce per step per rank: 4.80 MB (1,199,882 float32 parameters) in 1 message.
(The losses differ a little between 1 and 2 ranks: the dropout masks are drawn differently.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's shenjing


def worker(samples: int, out: str) -> None:
    sys.path.insert(0, str(HERE))
    import _mnist
    from _models import shenjing_model

    import shenjing
    import shenjing.distributed as dist
    from shenjing import nn, optim
    from shenjing.train.distributed import DistributedTrainer

    dist.init_process_group("gloo")
    x, y, _, _ = _mnist.load(flat=False)
    x, y = shenjing.tensor(x[:samples]), shenjing.tensor(y[:samples])
    shenjing.manual_seed(0)
    model = shenjing_model()
    trainer = DistributedTrainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), verbose=0,
                                 seed=0, interrupt_checkpoint=None)
    dist.barrier()
    start = time.perf_counter()
    history = trainer.fit((x, y), epochs=1, batch_size=64)
    dist.barrier()
    elapsed = time.perf_counter() - start
    steps = len(trainer.loader)
    if dist.get_rank() == 0:
        with open(out, "w") as f:
            json.dump({"seconds": elapsed, "steps": steps, "bytes": trainer.ddp.communication_bytes,
                       "calls": trainer.ddp.communication_calls, "loss": history["loss"][-1],
                       "params": sum(p.numel() for p in model.parameters())}, f)
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=6400)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.samples, args.worker)
        return
    from shenjing.distributed.launch import find_mpiexec

    results = {}
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")])
    for ranks in args.ranks:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "r.json")
            subprocess.run([find_mpiexec(), "-n", str(ranks), sys.executable, __file__, "--samples",
                            str(args.samples), "--worker", out], check=True, env=env)
            results[ranks] = json.loads(Path(out).read_text())
    base = results[min(results)]["seconds"] * min(results)
    for ranks, r in results.items():
        per_step = r["bytes"] / max(r["steps"], 1)
        print(f"ranks {ranks}: epoch {r['seconds']:.2f} s ({r['steps']} steps, loss {r['loss']:.3f}); "
              f"speed-up {base / r['seconds']:.2f}, efficiency {base / (ranks * r['seconds']):.2f}; "
              f"all-reduce per step per rank {per_step / 1e6:.2f} MB in {r['calls'] / max(r['steps'], 1):.0f} "
              f"message(s) ({r['params']:,} parameters)")


if __name__ == "__main__":
    main()
