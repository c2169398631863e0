"""Process-wide settings programs set at their first lines, as PyTorch's: threads, determinism, matmul precision.

- ``set_num_threads(n)`` / ``get_num_threads()``: the BLAS threads, through threadpoolctl (the library scikit-learn
  uses for the same job) when it is installed; the matrix products are where a NumPy program spends its threads.
  Once convolutions run on oneDNN, ``n`` is its OpenMP threads and BLAS keeps one (``nn/_onednn.py`` says why).
- ``use_deterministic_algorithms(mode, warn_only=False)``: accepted and remembered. Every shenjing op on the CPU is
  deterministic already (no atomics, no autotuning), so there is nothing to switch.
- ``set_float32_matmul_precision('highest' | 'high' | 'medium')``: remembered; NumPy's float32 products are always
  full precision ('highest'), which is what the others allow to be lowered from.
- ``set_flush_denormal(mode)``: NumPy gives no control over the CPU's denormal mode, so it returns False (PyTorch's
  answer where the CPU cannot), and changes nothing.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

__all__ = [
    "set_num_threads", "get_num_threads", "set_num_interop_threads", "get_num_interop_threads",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode", "get_deterministic_debug_mode",
    "set_float32_matmul_precision", "get_float32_matmul_precision", "set_flush_denormal", "set_warn_always",
    "is_warn_always_enabled", "typename",
]

_state: dict[str, Any] = {
    "threads": None, "interop_threads": None, "deterministic": False, "warn_only": False,
    "matmul_precision": "highest", "warn_always": False,
}


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RuntimeError(f"{name} expects a positive integer")
    return value


def set_num_threads(num: int) -> None:
    """Use ``num`` threads for the matrix products (BLAS) and oneDNN's convolutions, as ``torch.set_num_threads``."""
    _state["threads"] = _positive("set_num_threads", num)
    from .nn import _onednn

    _onednn.set_num_threads(num)
    _limit_blas(1 if _onednn.in_use() else num)


def _limit_blas(num: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # no threadpoolctl: remembered only (set OMP_NUM_THREADS before starting Python instead)
        return
    threadpool_limits(limits=num, user_api="blas")


def _openmp_started() -> None:
    """The first convolution ran on oneDNN: its OpenMP pool gets the threads, OpenBLAS keeps one."""
    from .nn import _onednn

    if _state["threads"] is not None:
        _onednn.set_num_threads(_state["threads"])
    _limit_blas(1)


def get_num_threads() -> int:
    """The threads the matrix products use (BLAS's own count where threadpoolctl can read it), or oneDNN's."""
    from .nn import _onednn

    if _onednn.in_use():
        return _state["threads"] or os.cpu_count() or 1
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
        if counts:
            return max(counts)
    return _state["threads"] or os.cpu_count() or 1


def set_num_interop_threads(num: int) -> None:
    """Accepted as PyTorch's (shenjing runs no inter-op thread pool)."""
    _state["interop_threads"] = _positive("set_num_interop_threads", num)


def get_num_interop_threads() -> int:
    return _state["interop_threads"] or os.cpu_count() or 1


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms. Remembered; shenjing's CPU ops are deterministic in any case."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not "
                        f"{type(mode).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


def set_deterministic_debug_mode(debug_mode: Any) -> None:
    """0 / 'default', 1 / 'warn', 2 / 'error', as PyTorch: the same as ``use_deterministic_algorithms``."""
    modes = {"default": 0, "warn": 1, "error": 2}
    level = modes.get(debug_mode, debug_mode) if isinstance(debug_mode, str) else debug_mode
    if level not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(level != 0, warn_only=level == 1)


def get_deterministic_debug_mode() -> int:
    if not _state["deterministic"]:
        return 0
    return 1 if _state["warn_only"] else 2


def set_float32_matmul_precision(precision: str) -> None:
    """'highest', 'high' or 'medium', as PyTorch (anything else warns and changes nothing)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["matmul_precision"]


def set_flush_denormal(mode: bool) -> bool:
    """False: NumPy cannot set the CPU's flush-to-zero mode, so denormals stay (PyTorch's answer where unsupported)."""
    return False


def set_warn_always(b: bool) -> None:
    _state["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _state["warn_always"]


def typename(obj: Any) -> str:
    """``'shenjing.FloatTensor'`` for a float32 tensor (as ``torch.typename``), else the object's type name."""
    from .tensor import Tensor

    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", "__builtin__", None) else f"{module}.{name}"
