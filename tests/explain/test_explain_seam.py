"""explain and Diagnostics on the fake GPU backend: their math goes through the array module, not NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from fake_cupy import FakeGPUBackend

import shenjing
from shenjing import backend, nn
from shenjing.train import Trainer
from shenjing.train.diagnostics import Diagnostics


@pytest.fixture
def gpu():
    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    backend.register_backend(FakeGPUBackend())
    yield
    backend._backends.clear()
    backend._backends.update(saved_backends)
    backend._by_array_type.clear()
    backend._by_array_type.update(saved_types)


def _model() -> nn.Sequential:
    shenjing.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Sigmoid())


def test_explain_on_the_fake_gpu_equals_the_cpu(gpu) -> None:
    x, y = np.arange(6, dtype=np.float32).reshape(2, 3) / 6, np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    cpu = _model().explain(x, y, lr=0.1)
    model = _model().to("cuda")
    on_gpu = model.explain(shenjing.tensor(x, device="cuda"), shenjing.tensor(y, device="cuda"), lr=0.1)
    for key in ("z", "a", "delta", "dW", "W_new"):
        np.testing.assert_array_equal(on_gpu.layer(1)[key], cpu.layer(1)[key])
    assert on_gpu.to_text() == cpu.to_text()


def test_diagnostics_on_the_fake_gpu_equal_the_cpu(gpu) -> None:
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    y = np.random.default_rng(1).uniform(size=(8, 2)).astype(np.float32)
    results = []
    for device in (None, "cuda"):
        model = _model()
        diag = Diagnostics()
        Trainer(model, nn.MSELoss(), shenjing.optim.SGD(model.parameters(), lr=0.1), callbacks=[diag], verbose=0,
                device=device).fit((x, y), epochs=1, batch_size=4, shuffle=False)
        results.append(diag.history)
    assert results[0] == results[1]
