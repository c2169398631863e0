"""The process group and DistributedDataParallel inside one process (world size 1, the "gloo" fallback)."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

import shenjing
import shenjing.distributed as dist
from shenjing import nn, optim


@pytest.fixture
def group(monkeypatch):
    monkeypatch.setattr(dist, "is_mpi_available", lambda: False)  # the single-process fallback, no MPI here
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=30))
    yield
    dist.destroy_process_group()


def test_group_basics(group):
    assert dist.is_initialized() and dist.is_available()
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "gloo")
    t = shenjing.tensor([1.0, 2.0])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    dist.broadcast(t, src=0)
    dist.barrier()
    assert t.tolist() == [1.0, 2.0]
    out = [shenjing.zeros(2)]
    dist.all_gather(out, t)
    assert out[0].tolist() == [1.0, 2.0]
    objs: list = []
    dist.all_gather_object(objs, {"a": 1})
    assert objs == [{"a": 1}]
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="src=3"):
        dist.broadcast(t, src=3)
    with pytest.raises(ValueError, match="unknown op"):
        dist.all_reduce(t, op="mean")


def test_errors_without_a_group(monkeypatch):
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(ValueError, match="unknown backend"):
        dist.init_process_group("carrier-pigeon")
    monkeypatch.setattr(dist, "is_mpi_available", lambda: False)
    with pytest.raises(RuntimeError, match="pip install mpich mpi4py"):
        dist.init_process_group("gloo", world_size=2, rank=0)
    with pytest.raises(TypeError, match="timedelta"):
        dist.init_process_group("gloo", timeout="soon")
    assert not dist.is_initialized()


def _net(seed=0):
    shenjing.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double()


def test_ddp_one_rank_trains_like_the_plain_model(group):
    x = shenjing.tensor(np.random.default_rng(0).standard_normal((8, 4)))
    plain, wrapped = _net(), nn.parallel.DistributedDataParallel(_net(), bucket_cap_mb=0.0001)
    assert len(wrapped._buckets) > 1
    opt_a = optim.SGD(plain.parameters(), lr=0.1)
    opt_b = optim.SGD(wrapped.parameters(), lr=0.1)
    for _ in range(3):
        for model, opt in ((plain, opt_a), (wrapped, opt_b)):
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()
    for p, q in zip(plain.parameters(), wrapped.module.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert list(wrapped.state_dict()) == ["module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"]


def test_ddp_no_sync_accumulates_then_averages(group):
    x = shenjing.tensor(np.random.default_rng(1).standard_normal((6, 4)))
    plain, wrapped = _net(), nn.parallel.DistributedDataParallel(_net())
    (plain(x[:3]).sum() + plain(x[3:]).sum()).backward()
    with wrapped.no_sync():
        wrapped(x[:3]).sum().backward()
        assert wrapped.communication_calls == 0
    wrapped(x[3:]).sum().backward()
    assert wrapped.communication_calls == 1
    for p, q in zip(plain.parameters(), wrapped.module.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-14)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)

    def forward(self, x, use_b=False):
        return self.b(x) if use_b else self.a(x)


def test_unused_parameters(group):
    x = shenjing.randn(4, 3)
    strict = nn.parallel.DistributedDataParallel(TwoHeads())
    strict(x).sum().backward()  # b never gets a gradient: its bucket cannot complete
    with pytest.raises(RuntimeError, match="find_unused_parameters=True"):
        strict(x)
    loose = nn.parallel.DistributedDataParallel(TwoHeads(), find_unused_parameters=True)
    for use_b in (False, True, False):
        loose.zero_grad()
        loose(x, use_b=use_b).sum().backward()
    assert loose.module.a.weight.grad is not None
    np.testing.assert_array_equal(loose.module.b.weight.grad.numpy(), np.zeros((2, 3), dtype=np.float32))


def test_ddp_checks(group):
    with pytest.raises(TypeError, match="nn.Module"):
        nn.parallel.DistributedDataParallel(lambda x: x)
    with pytest.raises(RuntimeError, match="doesn't have any parameter"):
        nn.parallel.DistributedDataParallel(nn.ReLU())


def test_launch_command_line(monkeypatch, capsys):
    import sys

    from shenjing.cli import main
    from shenjing.distributed.launch import find_mpiexec, mpiexec_command

    monkeypatch.setenv("SHENJING_MPIEXEC", "/opt/mpi/bin/mpiexec")
    assert find_mpiexec() == "/opt/mpi/bin/mpiexec"
    assert mpiexec_command(4, ["train", "c.toml"]) == [
        "/opt/mpi/bin/mpiexec", "-n", "4", sys.executable, "-m", "shenjing.cli", "train", "c.toml"]
    assert mpiexec_command(2, ["run.py", "--lr", "0.1"])[3:] == [sys.executable, "run.py", "--lr", "0.1"]
    with pytest.raises(ValueError, match="give a command"):
        mpiexec_command(2, [])
    assert main(["launch", "-n", "0", "train", "c.toml"]) == 2
    assert "shenjing launch: error: -n must be at least 1, got 0" in capsys.readouterr().err
