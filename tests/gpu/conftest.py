"""The GPU suite: run on a machine with an NVIDIA GPU, CuPy and PyTorch (CI has none, so it skips).

    python -m pytest -q tests/gpu          # on the GPU machine
    SHENJING_FAKE_GPU=1 python -m pytest -q tests/gpu   # dry run of the suite's logic on the CPU

With SHENJING_FAKE_GPU=1 the "cuda" device is the fake-CuPy backend of tests/fake_cupy.py and PyTorch runs
on the CPU, so the suite's own code can be checked anywhere.
"""

from __future__ import annotations

import os

import pytest

import shenjing
from shenjing import backend

FAKE = os.environ.get("SHENJING_FAKE_GPU") == "1"


def _gpu_available() -> str | None:
    if FAKE:
        return None
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install shenjing[gpu]); the GPU suite runs on a machine with a GPU"
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            return "no CUDA device visible"
    except Exception as error:  # noqa: BLE001 - any CUDA driver error means: no usable GPU here
        return f"CUDA unavailable: {error}"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _gpu_available()
    if reason:
        for item in items:
            if "tests/gpu" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def torch_device():

    return "cpu" if FAKE else "cuda"


@pytest.fixture(autouse=True)
def gpu_backend():
    if FAKE:
        from fake_cupy import FakeGPUBackend

        saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
        backend.register_backend(FakeGPUBackend())
        yield
        backend._backends.clear()
        backend._backends.update(saved_backends)
        backend._by_array_type.clear()
        backend._by_array_type.update(saved_types)
    else:
        shenjing.manual_seed(0)
        yield
