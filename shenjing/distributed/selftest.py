"""``mpiexec -n N python -m shenjing.distributed.selftest [mpi|nccl|gloo]``: check a backend end to end.

Runs the collectives (sum, max, avg, broadcast, all_gather, barrier) and three data-parallel SGD steps of a small
float64 MLP against one process with the global batch, then prints ``<backend> ok (world N, max rel diff …)`` on
rank 0 and exits 0; any mismatch raises (and aborts every rank). Tensors live on ``--device`` (default: cuda for
nccl, cpu otherwise). The GPU check of the NCCL path is this one command on a GPU machine:

    mpiexec -n 1 python -m shenjing.distributed.selftest nccl     # one rank a GPU: -n <number of GPUs>
"""

from __future__ import annotations

import argparse
import sys

import numpy  # host-side reference values and comparisons only


def main(argv: list[str] | None = None) -> int:
    import shenjing
    import shenjing.distributed as dist
    from shenjing import nn, optim

    parser = argparse.ArgumentParser(prog="python -m shenjing.distributed.selftest")
    parser.add_argument("backend", nargs="?", default="mpi", choices=["mpi", "nccl", "gloo"])
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    device = args.device or ("cuda" if args.backend == "nccl" else "cpu")
    dist.init_process_group(args.backend, timeout=120)
    rank, world = dist.get_rank(), dist.get_world_size()

    def host(t: object) -> numpy.ndarray:
        return numpy.asarray(t.detach().cpu().numpy())

    t = shenjing.tensor([rank + 1.0, 2.0], dtype=shenjing.float64, device=device)
    dist.all_reduce(t)
    assert host(t).tolist() == [world * (world + 1) / 2, 2.0 * world], host(t)
    m = shenjing.tensor([float(rank)], device=device)
    dist.all_reduce(m, op=dist.ReduceOp.MAX)
    assert host(m).tolist() == [world - 1.0]
    a = shenjing.tensor([float(rank)], dtype=shenjing.float64, device=device)
    dist.all_reduce(a, op=dist.ReduceOp.AVG)
    assert host(a).tolist() == [(world - 1) / 2]
    b = shenjing.tensor([rank, 7], device=device)
    dist.broadcast(b, src=world - 1)
    assert host(b).tolist() == [world - 1, 7]
    parts = [shenjing.zeros(2, device=device) for _ in range(world)]
    dist.all_gather(parts, shenjing.tensor([float(rank), 1.0], device=device))
    assert [host(p).tolist() for p in parts] == [[float(r), 1.0] for r in range(world)]
    dist.barrier()

    batch = 8 * world
    rng = numpy.random.default_rng(0)
    x = shenjing.tensor(rng.standard_normal((3 * batch, 5)), dtype=shenjing.float64, device=device)
    y = shenjing.tensor(rng.standard_normal((3 * batch, 2)), dtype=shenjing.float64, device=device)

    def net(seed: int) -> nn.Module:
        shenjing.manual_seed(seed)
        return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2)).double().to(device)

    model = nn.parallel.DistributedDataParallel(net(rank))
    ref = net(0)
    opts = [optim.SGD(model.parameters(), lr=0.1), optim.SGD(ref.parameters(), lr=0.1)]
    for step in range(3):
        rows = numpy.arange(step * batch, (step + 1) * batch)
        for which, (mod, rows_here) in enumerate(((model, rows[rank::world]), (ref, rows))):
            opts[which].zero_grad()
            nn.functional.mse_loss(mod(x[rows_here]), y[rows_here]).backward()
            opts[which].step()
    worst = max(float(numpy.max(numpy.abs(host(p) - host(q))) / numpy.max(numpy.abs(host(q))))
                for p, q in zip(model.module.parameters(), ref.parameters()))
    assert worst < 1e-10, f"data-parallel weights differ from one process by {worst:.3g} (relative)"
    if rank == 0:
        print(f"{dist.get_backend()} ok (world {world}, device {device}, max rel diff {worst:.2g})", flush=True)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
