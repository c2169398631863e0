"""``shenjing.accelerator``: PyTorch's device-agnostic questions; the one accelerator shenjing knows is CUDA.

    device = shenjing.accelerator.current_accelerator() or shenjing.device("cpu")
"""

from __future__ import annotations

from . import cuda as _cuda
from .backend import Device

__all__ = [
    "is_available",
    "current_accelerator",
    "device_count",
    "current_device_index",
    "set_device_index",
    "synchronize",
    "empty_cache",
    "memory_allocated",
]


def is_available() -> bool:
    """True when a GPU can be used (see :func:`shenjing.cuda.is_available`)."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> Device | None:
    """``device('cuda')`` when a GPU is available, else None (``check_available`` as PyTorch: same answer here)."""
    return Device("cuda") if _cuda.is_available() else None


def device_count() -> int:
    """The number of accelerator devices (0 without a GPU)."""
    return _cuda.device_count() if _cuda.is_available() else 0


def _require() -> None:
    if not _cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def current_device_index() -> int:
    """The current accelerator's number; RuntimeError without one, as PyTorch."""
    _require()
    return _cuda.current_device()


current_device_idx = current_device_index


def set_device_index(device: int) -> None:
    """Make ``device`` the current accelerator."""
    _require()
    _cuda.set_device(device)


set_device_idx = set_device_index


def synchronize(device: int | None = None) -> None:
    """Wait for the accelerator's queued work; RuntimeError without one."""
    _require()
    _cuda.synchronize(device)


def empty_cache() -> None:
    """Give cached accelerator memory back (nothing to do without one)."""
    _cuda.empty_cache()


def memory_allocated(device: int | None = None) -> int:
    """Bytes held by arrays on the accelerator (0 without one)."""
    return _cuda.memory_allocated(device)
