"""Quantized and pruned layers keep their math behind the backend seam (the fake GPU of tests/fake_cupy.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: fake_cupy

import shenjing  # noqa: E402
from shenjing import backend, nn, prune  # noqa: E402
from shenjing.quantize import quantize_dynamic, quantize_static  # noqa: E402

fake_cupy = pytest.importorskip("fake_cupy", reason="the fake GPU backend lives in tests/fake_cupy.py")


@pytest.fixture
def gpu():
    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    fake = fake_cupy.FakeGPUBackend()
    backend.register_backend(fake)
    yield fake
    backend._backends.clear()
    backend._backends.update(saved_backends)
    backend._by_array_type.clear()
    backend._by_array_type.update(saved_types)


def _host(t):
    return backend.backend_of(t.array).to_host(t.array)


def test_quantized_model_on_the_fake_gpu(gpu):
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 4)).eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    q = quantize_static(model, [x])
    with shenjing.no_grad():
        cpu = q(shenjing.tensor(x)).array
        on_gpu = quantize_static(model.to("cuda"), [shenjing.tensor(x, device="cuda")])
        out = on_gpu(shenjing.tensor(x, device="cuda"))
    assert isinstance(out.array, fake_cupy.ndarray)
    np.testing.assert_array_equal(_host(out), cpu)
    x2 = np.random.default_rng(1).standard_normal((2, 108)).astype(np.float32)
    gpu_linear = quantize_dynamic(model)[3]  # the model is on the fake GPU now
    cpu_linear = quantize_dynamic(model.to("cpu"))[3]
    out = gpu_linear(shenjing.tensor(x2, device="cuda"))
    assert isinstance(out.array, fake_cupy.ndarray)
    np.testing.assert_array_equal(_host(out), cpu_linear(shenjing.tensor(x2)).array)


def test_pruning_on_the_fake_gpu(gpu):
    shenjing.manual_seed(0)
    cpu_model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    gpu_model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    gpu_model.load_state_dict(cpu_model.state_dict())
    gpu_model.to("cuda")
    for m in (cpu_model, gpu_model):
        prune.global_unstructured([(m[0], "weight"), (m[2], "weight")], prune.L1Unstructured, amount=0.5)
        prune.ln_structured(m[0], "weight", 0.25, n=2, dim=0)
    x = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_array_equal(_host(gpu_model(shenjing.tensor(x, device="cuda"))),
                                  cpu_model(shenjing.tensor(x)).array)
    for m in (cpu_model, gpu_model):
        prune.remove(m[0], "weight")
        prune.remove(m[2], "weight")
    small_cpu, small_gpu = prune.shrink(cpu_model, 0.5), prune.shrink(gpu_model, 0.5)
    np.testing.assert_array_equal(_host(small_gpu(shenjing.tensor(x, device="cuda"))),
                                  small_cpu(shenjing.tensor(x)).array)
