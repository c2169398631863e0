"""DistributedDataParallel, SyncBatchNorm and the host staging of the process group run through the backend seam
(on tests/fake_cupy's stand-in GPU, whose arrays NumPy may not touch), with a two-rank group of identical twins."""

from __future__ import annotations

import numpy as np
import pytest
from fake_cupy import FakeGPUBackend

import shenjing
from shenjing import backend, nn, optim
from shenjing.distributed._group import ProcessGroup, from_host_like, to_host


class Twins(ProcessGroup):
    """Two ranks holding the same values: a sum doubles, everything goes through the host as MPI's staging does."""

    backend, rank, size = "twins", 0, 2

    def all_reduce(self, array, op):
        host = to_host(array)
        return from_host_like(host * 2 if op == "sum" else host, array)

    def broadcast(self, array, src):
        return from_host_like(to_host(array), array)


@pytest.fixture
def gpu():
    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    backend.register_backend(FakeGPUBackend())
    yield
    backend._backends.clear()
    backend._backends.update(saved_backends)
    backend._by_array_type.clear()
    backend._by_array_type.update(saved_types)


def _model(seed, device):
    shenjing.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Tanh(), nn.Flatten(), nn.Linear(8, 3)).double().to(
        device)


def _train(device, data):
    x, y = (shenjing.tensor(a, device=device) for a in data)
    model = nn.parallel.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(_model(0, device)),
                                                process_group=Twins(30), bucket_cap_mb=0.0002)
    for m in model.modules():
        if isinstance(m, nn.SyncBatchNorm):
            m.process_group = model.process_group
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return [backend.backend_of(t.array).to_host(t.array) for t in model.module.state_dict().values()]


def test_ddp_and_sync_batchnorm_through_the_seam(gpu):
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((6, 1, 4, 4)), rng.integers(0, 3, 6))
    on_cpu, on_gpu = _train("cpu", data), _train("cuda", data)
    # twins: the global batch is two copies of the local one, so the result equals plain training on it
    shenjing.manual_seed(0)
    plain = _model(0, "cpu")
    opt = optim.Adam(plain.parameters(), lr=0.01)
    x, y = shenjing.tensor(data[0]), shenjing.tensor(data[1])
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(plain(x), y).backward()
        opt.step()
    for a, b in zip(on_cpu, on_gpu):
        np.testing.assert_array_equal(a, b)
    for name, a, b in zip(plain.state_dict(), on_cpu, plain.state_dict().values()):
        if name.endswith("running_var"):  # unbiased with M = 2 × local count: M/(M−1) differs from one copy's
            continue
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
