"""On the GPU (or the fake one): shenjing.cuda and shenjing.accelerator report the device that tensors use."""

from __future__ import annotations

import numpy as np

import shenjing
from shenjing import backend


def test_cuda_namespace_reports_the_gpu():
    cuda = shenjing.cuda
    assert cuda.is_available() and cuda.device_count() >= 1
    x = shenjing.ones(1024, 1024, device="cuda")
    assert cuda.is_initialized() and cuda.current_device() == 0
    assert isinstance(cuda.get_device_name(), str) and cuda.get_device_name()
    major, minor = cuda.get_device_capability()
    assert major >= 0 and minor >= 0
    cuda.synchronize()
    assert cuda.memory_allocated() >= 0 and cuda.memory_reserved() >= cuda.memory_allocated()
    if backend.get_backend("cuda").xp.__name__ == "cupy":  # the real GPU: the array is in CuPy's pool
        assert cuda.memory_allocated() >= 4 * 1024 * 1024
    del x
    cuda.empty_cache()
    cuda.manual_seed(11)
    a = shenjing.rand(5, device="cuda")
    cuda.manual_seed(11)
    b = shenjing.rand(5, device="cuda")
    host = backend.get_backend("cuda").to_host
    assert np.array_equal(host(a.array), host(b.array))


def test_device_idioms_pick_the_gpu():
    device = shenjing.device("cuda:0" if shenjing.cuda.is_available() else "cpu")
    assert device == "cuda" and shenjing.zeros(3).to(device).device == "cuda"
    assert shenjing.accelerator.current_accelerator() == "cuda"
    assert shenjing.accelerator.device_count() >= 1
    assert shenjing.zeros(2).cuda().device == "cuda"
