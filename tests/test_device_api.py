"""shenjing.cuda, shenjing.backends and shenjing.accelerator: truthful answers without a GPU (as PyTorch's on a
CPU machine), with the tests' fake GPU registered, and never importing CuPy at ``import shenjing``."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest
import torch
from fake_cupy import FakeGPUBackend

import shenjing
from shenjing import backend


@pytest.fixture(autouse=True)
def _restore_backends():
    """Each test starts and ends with the backends (and the cached CuPy probe) it found."""
    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    shenjing.cuda._probe.cache_clear()
    yield
    backend._backends.clear()
    backend._backends.update(saved_backends)
    backend._by_array_type.clear()
    backend._by_array_type.update(saved_types)
    shenjing.cuda._probe.cache_clear()


@pytest.fixture
def no_cupy(monkeypatch):
    """A machine without CuPy and without a registered GPU backend (a CPU-only laptop, CI)."""
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError
    backend._backends.pop("cuda", None)


@pytest.fixture
def fake_gpu():
    fake = FakeGPUBackend()
    backend.register_backend(fake)
    return fake


def test_import_shenjing_does_not_import_cupy():
    code = ("import sys, shenjing; assert 'cupy' not in sys.modules and 'shenjing._cuda' not in sys.modules; "
            "shenjing.cuda.device_count; shenjing.backends.cudnn.benchmark; shenjing.accelerator.is_available; "
            "assert 'cupy' not in sys.modules; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr


def test_without_a_gpu_answers_as_torch_on_a_cpu_machine(no_cupy):
    assert torch.cuda.is_available() is False  # the reference: PyTorch on this CPU-only machine
    cuda = shenjing.cuda
    assert cuda.is_available() is False and cuda.is_available() is False  # cached, never raises
    assert cuda.device_count() == torch.cuda.device_count() == 0
    assert cuda.is_initialized() is torch.cuda.is_initialized() is False
    assert cuda.memory_allocated() == torch.cuda.memory_allocated() == 0
    assert cuda.max_memory_allocated() == 0 and cuda.memory_reserved() == 0
    assert cuda.is_bf16_supported() is torch.cuda.is_bf16_supported() is False
    assert cuda.manual_seed(0) is torch.cuda.manual_seed(0) is None  # quietly nothing, as PyTorch
    assert cuda.manual_seed_all(0) is None and cuda.empty_cache() is None
    for name in ["current_device", "get_device_name", "synchronize", "get_device_capability"]:
        with pytest.raises(AssertionError) as theirs:
            getattr(torch.cuda, name)()
        with pytest.raises(theirs.type, match="CuPy is not installed"):
            getattr(cuda, name)()
    assert "cupy" not in backend._backends and "cuda" not in backend._backends


def test_cupy_without_a_device(monkeypatch):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake_cupy = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(
        getDeviceCount=no_device)))
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy)
    backend._backends.pop("cuda", None)
    assert shenjing.cuda.is_available() is False and shenjing.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="No CUDA GPUs are available.*no CUDA-capable device"):
        shenjing.cuda.current_device()
    fake_cupy.cuda.runtime.getDeviceCount = lambda: 0
    shenjing.cuda._probe.cache_clear()
    assert shenjing.cuda.is_available() is False
    with pytest.raises(RuntimeError, match="No CUDA GPUs"):
        shenjing.cuda.synchronize()


def test_device_choice_idiom_without_a_gpu(no_cupy):
    device = shenjing.device("cuda:0" if shenjing.cuda.is_available() else "cpu")
    assert device == "cpu" and repr(device) == repr(torch.device("cpu"))
    assert shenjing.ones(2).to(device).device == "cpu"
    assert shenjing.accelerator.is_available() is torch.accelerator.is_available() is False
    assert shenjing.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
    assert shenjing.accelerator.device_count() == torch.accelerator.device_count() == 0
    assert shenjing.accelerator.memory_allocated() == 0 and shenjing.accelerator.empty_cache() is None
    with pytest.raises(RuntimeError) as theirs:
        torch.accelerator.current_device_index()
    with pytest.raises(theirs.type, match=str(theirs.value)):
        shenjing.accelerator.current_device_index()
    device = shenjing.accelerator.current_accelerator() or shenjing.device("cpu")
    assert device == "cpu"


def test_with_the_fake_gpu(fake_gpu):
    cuda = shenjing.cuda
    assert cuda.is_available() and cuda.is_initialized() and cuda.device_count() == 1
    assert cuda.current_device() == 0 and "stand-in" in cuda.get_device_name(0)
    assert cuda.get_device_name("cuda:0") == cuda.get_device_name()
    with pytest.raises(RuntimeError, match="invalid device ordinal 1"):
        cuda.get_device_name(1)
    cuda.set_device(0)
    cuda.synchronize()
    assert cuda.memory_allocated() == 0  # a stand-in holds no device memory
    cuda.manual_seed(4)
    a = shenjing.rand(3, device="cuda")
    cuda.manual_seed_all(4)
    b = shenjing.rand(3, device="cuda")
    assert a.device == "cuda" and np.array_equal(fake_gpu.to_host(a.array), fake_gpu.to_host(b.array))
    device = shenjing.device("cuda:0" if cuda.is_available() else "cpu")
    assert device == "cuda:0" and shenjing.ones(2).to(device).device == "cuda"
    assert shenjing.ones(2).cuda().device == "cuda"  # Tensor.cuda() is still the method
    assert shenjing.accelerator.is_available() and shenjing.accelerator.device_count() == 1
    accelerator = shenjing.accelerator.current_accelerator()
    assert accelerator == "cuda" and repr(accelerator) == repr(torch.device("cuda"))
    assert shenjing.accelerator.current_device_index() == 0
    shenjing.accelerator.synchronize()


def test_backends_switches_with_torchs_defaults():
    mps, cudnn = shenjing.backends.mps, shenjing.backends.cudnn
    assert mps.is_available() is torch.backends.mps.is_available() is False
    assert mps.is_built() is False
    assert cudnn.is_available() is False and cudnn.version() is None
    for name in ["enabled", "benchmark", "deterministic", "allow_tf32"]:
        assert getattr(cudnn, name) == getattr(torch.backends.cudnn, name), name
    assert shenjing.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    cudnn.benchmark, cudnn.deterministic = True, True
    try:
        assert shenjing.backends.cudnn.benchmark is True and shenjing.backends.cudnn.deterministic is True
    finally:
        cudnn.benchmark, cudnn.deterministic = False, False
    assert isinstance(shenjing.backends.cuda.is_built(), bool)
    assert callable(shenjing.Tensor.cuda) and isinstance(shenjing.cuda, types.ModuleType)


def test_device_flags_of_a_tensor_are_torchs() -> None:
    x = shenjing.ones(2)
    assert (x.is_cuda, x.is_cpu, x.is_mps, x.is_meta, x.is_sparse, x.is_quantized) == (
        False, True, False, False, False, False)
    t = torch.ones(2)
    assert (t.is_cuda, t.is_cpu, t.is_mps, t.is_meta, t.is_sparse, t.is_quantized) == (
        False, True, False, False, False, False)
