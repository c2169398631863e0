"""``shenjing.cuda``: PyTorch's ``torch.cuda`` questions, answered truthfully, CuPy imported only when asked.

    device = shenjing.device("cuda:0" if shenjing.cuda.is_available() else "cpu")

``import shenjing`` never imports CuPy. :func:`is_available` does, once: it is True only when CuPy imports
AND sees at least one CUDA device (the answer is cached; it never raises), or when a "cuda" backend is
already registered (the real one, after a first move to the GPU, or the tests' fake GPU). Functions that
need a GPU (:func:`current_device`, :func:`synchronize`, …) raise without one, as PyTorch's do:
AssertionError when CuPy is missing (PyTorch: "not compiled with CUDA"), RuntimeError when it sees no
device. Seeding and memory questions answer quietly without one, as PyTorch's.

shenjing runs one GPU: the current CUDA device, ``cuda`` and ``cuda:0`` meaning the same.
"""

from __future__ import annotations

import functools
from typing import Any

from . import backend as _backend

__all__ = [
    "is_available",
    "is_initialized",
    "device_count",
    "current_device",
    "set_device",
    "get_device_name",
    "get_device_capability",
    "manual_seed",
    "manual_seed_all",
    "synchronize",
    "empty_cache",
    "memory_allocated",
    "max_memory_allocated",
    "memory_reserved",
    "is_bf16_supported",
]


@functools.cache
def _probe() -> tuple[int, str]:
    """``(number of CUDA devices CuPy sees, why none)``, asked once per process."""
    try:
        import cupy
    except Exception as error:  # noqa: BLE001 - ImportError, or a CuPy that fails to load its CUDA libraries
        return 0, f"CuPy is not installed or does not load ({error}); install it with `pip install shenjing[gpu]`"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as error:  # noqa: BLE001 - no driver, no device: any CUDA error means no usable GPU
        return 0, f"CuPy sees no usable CUDA device ({error})"
    return count, "" if count else "CuPy sees no CUDA device"


def _registered() -> Any:
    """The "cuda" backend if one is registered (real after a first GPU tensor, or the tests' fake), else None."""
    return _backend._backends.get("cuda")


def _cupy(backend: Any) -> Any:
    """CuPy, if ``backend`` is the real CuPy backend (None for a stand-in such as the tests' fake GPU)."""
    xp = getattr(backend, "xp", None)
    return xp if getattr(xp, "__name__", "") == "cupy" else None


def is_available() -> bool:
    """True when tensors can go to "cuda": CuPy imports and sees a CUDA device (or a cuda backend is set up)."""
    if _registered() is not None:
        return True
    try:
        return _probe()[0] > 0
    except Exception:  # noqa: BLE001 - is_available never raises
        return False


def is_initialized() -> bool:
    """True once the GPU backend is set up (after the first tensor moved to "cuda")."""
    return _registered() is not None


def device_count() -> int:
    """The number of CUDA devices (0 without a GPU)."""
    backend = _registered()
    if backend is not None and _cupy(backend) is None:
        return 1  # a stand-in backend (the tests' fake GPU) is one device
    return _probe()[0]


def _init() -> Any:
    """The GPU backend, set up on first use; the PyTorch exception classes when there is no GPU."""
    backend = _registered()
    if backend is not None:
        return backend
    count, reason = _probe()
    if count == 0:
        if "not installed" in reason:
            raise AssertionError(f"shenjing.cuda: CUDA is not available: {reason}")
        raise RuntimeError(f"shenjing.cuda: No CUDA GPUs are available: {reason}")
    return _backend.get_backend("cuda")


def _index(device: Any) -> int:
    """A device argument (None, an int, "cuda:1", a device) as a device number, checked against device_count."""
    if device is None:
        return current_device()
    if isinstance(device, str | _backend.Device):
        device = _backend.Device(device)
        if device.type != "cuda":
            raise ValueError(f"shenjing.cuda: expected a cuda device, got {device}")
        device = current_device() if device.index is None else device.index
    if isinstance(device, bool) or not isinstance(device, int):
        raise TypeError(f"shenjing.cuda: expected a device number, a 'cuda:N' string or a device, got {device!r}")
    if not 0 <= device < device_count():
        raise RuntimeError(
            f"shenjing.cuda: invalid device ordinal {device}: there are {device_count()} CUDA device(s)"
        )
    return device


def current_device() -> int:
    """The number of the current CUDA device."""
    cupy = _cupy(_init())
    return 0 if cupy is None else int(cupy.cuda.runtime.getDevice())


def set_device(device: Any) -> None:
    """Make ``device`` (a number, "cuda:N" or a device) the current CUDA device."""
    index = _index(device)
    cupy = _cupy(_init())
    if cupy is not None:
        cupy.cuda.Device(index).use()


def get_device_name(device: Any = None) -> str:
    """The device's name, such as "NVIDIA H200"."""
    backend = _init()
    index = _index(device)
    cupy = _cupy(backend)
    if cupy is None:
        return f"shenjing stand-in GPU ({type(backend).__name__}, NumPy on the CPU)"
    name = cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device: Any = None) -> tuple[int, int]:
    """The device's CUDA compute capability ``(major, minor)``, such as (9, 0) for Hopper."""
    backend = _init()
    index = _index(device)
    cupy = _cupy(backend)
    if cupy is None:
        return (0, 0)
    properties = cupy.cuda.runtime.getDeviceProperties(index)
    return int(properties["major"]), int(properties["minor"])


def manual_seed(seed: int) -> None:
    """Seed the GPU's random generator; does nothing without a GPU, as PyTorch.

    :func:`shenjing.manual_seed` seeds it too (with the CPU's).
    """
    seed = int(seed)
    if is_available():
        _init().seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator (shenjing uses one GPU: the same as :func:`manual_seed`)."""
    manual_seed(seed)


def synchronize(device: Any = None) -> None:
    """Wait until the GPU has finished all its queued work (to time GPU code, say)."""
    backend = _init()
    if device is not None:
        _index(device)
    cupy = _cupy(backend)
    if cupy is not None:
        cupy.cuda.runtime.deviceSynchronize()


def empty_cache() -> None:
    """Give the GPU memory CuPy keeps for reuse back to the driver; nothing to do without a GPU."""
    cupy = _cupy(_registered())
    if cupy is not None:
        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()


def memory_allocated(device: Any = None) -> int:
    """Bytes of GPU memory held by arrays now (CuPy's memory pool); 0 before the GPU is used or without one."""
    cupy = _cupy(_registered())
    return 0 if cupy is None else int(cupy.get_default_memory_pool().used_bytes())


def max_memory_allocated(device: Any = None) -> int:
    """CuPy keeps no peak count: the bytes its memory pool holds now (at least what is in use); 0 without a GPU."""
    return memory_reserved(device)


def memory_reserved(device: Any = None) -> int:
    """Bytes of GPU memory CuPy's pool holds, in use or cached for reuse; 0 without a GPU."""
    cupy = _cupy(_registered())
    return 0 if cupy is None else int(cupy.get_default_memory_pool().total_bytes())


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: shenjing has no bfloat16 dtype (neither NumPy nor CuPy has one), on any device."""
    return False
