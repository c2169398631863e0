"""Run under mpiexec by tests/distributed/test_mpi.py: data-parallel training against one process with batch B.

Usage: mpiexec -n N python _ddp_worker.py CASE OUT.json   (rank 0 writes the JSON the test reads)
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

import shenjing
import shenjing.distributed as dist
from shenjing import nn, optim
from shenjing.data import DataLoader, TensorDataset
from shenjing.data.distributed import DistributedSampler

B, STEPS = 24, 6


def make_model(seed: int) -> nn.Module:
    shenjing.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.Tanh(), nn.Flatten(),
        nn.Linear(3 * 6 * 6, 16), nn.GELU(), nn.Linear(16, 4),
    ).double()


def data() -> tuple:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((B * STEPS, 1, 6, 6))
    y = rng.integers(0, 4, size=B * STEPS)
    return shenjing.tensor(x, dtype=shenjing.float64), shenjing.tensor(y)


def max_rel(a: list, b: list) -> float:
    worst = 0.0
    for p, q in zip(a, b):
        worst = max(worst, float(np.max(np.abs(p - q)) / max(np.max(np.abs(q)), 1e-300)))
    return worst


def weights(model: nn.Module) -> list:
    return [p.detach().numpy().copy() for p in model.parameters()]


def reference(accumulate: int = 1) -> list:
    model = make_model(0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = data()
    loss_fn = nn.CrossEntropyLoss()
    for step in range(STEPS):
        opt.zero_grad()
        loss_fn(model(x[step * B:(step + 1) * B]), y[step * B:(step + 1) * B]).backward()
        opt.step()
    return weights(model)


def ddp_equality(rank: int, world: int, bucket_cap_mb: float) -> dict:
    # every rank starts from different weights: DDP must broadcast rank 0's
    model = nn.parallel.DistributedDataParallel(make_model(rank), bucket_cap_mb=bucket_cap_mb,
                                                broadcast_buffers=False)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = data()
    loss_fn = nn.CrossEntropyLoss()
    # the global batch of step s is samples s*B … (s+1)*B−1; rank r takes its B/N of them through the sampler
    ds = TensorDataset(x, y)
    sampler = DistributedSampler(ds, shuffle=False)
    loader = DataLoader(ds, batch_size=B // world, sampler=sampler)
    assert len(loader) == STEPS, len(loader)
    # DistributedSampler without shuffle interleaves: rank r gets r, r+N, …; batch s of rank r is those in step s
    for xb, yb in loader:
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    mine = weights(model.module)
    gathered: list = []
    dist.all_gather_object(gathered, mine)
    out = {"buckets": len(model._buckets), "bytes": model.communication_bytes, "calls": model.communication_calls}
    if rank == 0:
        ref = reference()
        out["rel"] = max_rel(mine, ref)
        out["ranks_agree"] = max(max_rel(g, mine) for g in gathered)
    return out


def ddp_no_sync(rank: int, world: int) -> dict:
    """Two micro-batches a step, the first under no_sync(): the same as one step on the whole global batch."""
    model = nn.parallel.DistributedDataParallel(make_model(rank), broadcast_buffers=False)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = data()
    loss_fn = nn.CrossEntropyLoss()
    per = B // world
    for step in range(STEPS):
        opt.zero_grad()
        idx = np.arange(step * B, (step + 1) * B)[rank::world]  # this rank's share of the global batch
        halves = (idx[:per // 2], idx[per // 2:])
        with model.no_sync():
            (loss_fn(model(x[halves[0]]), y[halves[0]]) * (len(halves[0]) / per)).backward()
        (loss_fn(model(x[halves[1]]), y[halves[1]]) * (len(halves[1]) / per)).backward()
        opt.step()
    mine = weights(model.module)
    out = {}
    if rank == 0:
        out["rel"] = max_rel(mine, reference())
    return out


def collectives(rank: int, world: int) -> dict:
    t = shenjing.tensor([float(rank + 1), 2.0 * rank], dtype=shenjing.float64)
    dist.all_reduce(t)
    m = shenjing.tensor([float(rank)])
    dist.all_reduce(m, op=dist.ReduceOp.MAX)
    a = shenjing.tensor([float(rank)])
    dist.all_reduce(a, op=dist.ReduceOp.AVG)
    b = shenjing.tensor([rank * 10, rank], dtype=shenjing.int64)
    dist.broadcast(b, src=world - 1)
    parts = [shenjing.zeros(2) for _ in range(world)]
    dist.all_gather(parts, shenjing.tensor([float(rank), -float(rank)]))
    dist.barrier()
    return {"sum": t.tolist(), "max": m.tolist(), "avg": a.tolist(), "bcast": b.tolist(),
            "gather": [p.tolist() for p in parts], "backend": dist.get_backend()}


def dies(rank: int, world: int) -> dict:
    if rank == world - 1:
        os._exit(3)  # a rank that dies without a word
    t = shenjing.ones(3)
    dist.all_reduce(t)
    return {}


def hangs(rank: int, world: int) -> dict:
    if rank == world - 1:
        time.sleep(60)  # a rank that never arrives
    t = shenjing.ones(3)
    dist.all_reduce(t)
    return {}


def trainer_equality(rank: int, world: int, path: str) -> dict:
    """DistributedTrainer (Adam, global batch B, no shuffle) == Trainer in one process; then a resumed run."""
    from shenjing.train import Trainer
    from shenjing.train.callbacks import ModelCheckpoint
    from shenjing.train.distributed import DistributedTrainer

    x, y = data()
    x = x.reshape(len(x), -1)

    def mlp(seed):
        shenjing.manual_seed(seed)
        return nn.Sequential(nn.Linear(36, 12), nn.Tanh(), nn.Linear(12, 4)).double()

    def run(klass, model, epochs, shuffle, resume=None, callbacks=()):
        trainer = klass(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), verbose=0, seed=5,
                        callbacks=list(callbacks), interrupt_checkpoint=None)
        history = trainer.fit((x, y), epochs=epochs, batch_size=B, shuffle=shuffle, resume_from=resume)
        return trainer, history

    model = mlp(rank)
    _, history = run(DistributedTrainer, model, 3, False)
    out = {}
    if rank == 0:
        ref = mlp(0)
        _, ref_history = run(Trainer, ref, 3, False)
        out["rel"] = max_rel(weights(model), weights(ref))
        out["loss"] = history["loss"]
        out["ref_loss"] = ref_history["loss"]
    # resume across a restart with the same world size == an uninterrupted run (shuffled)
    whole = mlp(0)
    run(DistributedTrainer, whole, 4, True)
    ckpt = os.path.join(os.path.dirname(path), "ckpt.safetensors")
    first = mlp(0)
    run(DistributedTrainer, first, 2, True, callbacks=[ModelCheckpoint(ckpt, resumable=True)])
    dist.barrier()
    second = mlp(1)
    run(DistributedTrainer, second, 4, True, resume=ckpt)
    if rank == 0:
        out["resume_rel"] = max_rel(weights(second), weights(whole))
    return out


def sync_bn(rank: int, world: int) -> dict:
    """BatchNorm2d → SyncBatchNorm under DDP on N ranks == BatchNorm2d in one process with the global batch."""

    def bn_model(seed):
        shenjing.manual_seed(seed)
        return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.Tanh(), nn.Flatten(),
                             nn.Linear(108, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4)).double()

    x, y = data()
    loss_fn = nn.CrossEntropyLoss()
    model = nn.parallel.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(bn_model(rank)))
    assert sum(isinstance(m, nn.SyncBatchNorm) for m in model.modules()) == 2
    ref = bn_model(0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for step in range(STEPS):
        idx = np.arange(step * B, (step + 1) * B)
        opt.zero_grad()
        loss_fn(model(x[idx[rank::world]]), y[idx[rank::world]]).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref(x[idx]), y[idx]).backward()
        ref_opt.step()
    mine = [t.detach().numpy().copy() for t in model.module.state_dict().values() if t.dtype != shenjing.int64]
    theirs = [t.detach().numpy().copy() for t in ref.state_dict().values() if t.dtype != shenjing.int64]
    return {"rel": max_rel(mine, theirs), "n": len(mine)}


def trainer_nan(rank: int, world: int) -> dict:
    """A nan in the last rank's share: every rank stops at the same step with stop_reason "nan", nobody waits."""
    from shenjing.train.distributed import DistributedTrainer

    x, y = data()
    x = x.reshape(len(x), -1)
    x.array[B + world - 1, 0] = float("nan")  # step 2, on the last rank
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(36, 4)).double()
    trainer = DistributedTrainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), verbose=0,
                                 interrupt_checkpoint=None)
    history = trainer.fit((x, y), epochs=2, batch_size=B, shuffle=False)
    reasons: list = []
    dist.all_gather_object(reasons, (history.stop_reason, len(history)))
    return {"reasons": reasons}


def main() -> int:
    case, path = sys.argv[1], sys.argv[2]
    dist.init_process_group("mpi", timeout=float(os.environ.get("DIST_TIMEOUT", "600")))
    rank, world = dist.get_rank(), dist.get_world_size()
    if case == "equality":
        out = ddp_equality(rank, world, 25.0)
    elif case == "equality_small_buckets":
        out = ddp_equality(rank, world, 0.0005)
    elif case == "no_sync":
        out = ddp_no_sync(rank, world)
    elif case == "collectives":
        out = collectives(rank, world)
    elif case == "trainer":
        out = trainer_equality(rank, world, path)
    elif case == "sync_bn":
        out = sync_bn(rank, world)
    elif case == "trainer_nan":
        out = trainer_nan(rank, world)
    elif case == "dies":
        out = dies(rank, world)
    elif case == "hangs":
        out = hangs(rank, world)
    else:
        raise SystemExit(f"unknown case {case}")
    out["world"] = world
    if rank == 0:
        with open(path, "w") as f:
            json.dump(out, f)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
