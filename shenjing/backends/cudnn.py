"""``shenjing.backends.cudnn``: cuDNN's switches, settable as in PyTorch; shenjing does not call cuDNN.

    shenjing.backends.cudnn.benchmark = True       # accepted; no effect (no cuDNN autotuning)
    shenjing.backends.cudnn.deterministic = True   # accepted; shenjing's kernels are deterministic already

Convolutions run as im2col matrix products (NumPy or CuPy), so :func:`is_available` is False and
:func:`version` is None on every machine.
"""

from __future__ import annotations

__all__ = ["is_available", "version", "enabled", "benchmark", "deterministic", "allow_tf32", "benchmark_limit"]

enabled = True  # PyTorch's default
benchmark = False
deterministic = False
allow_tf32 = True
benchmark_limit = 10


def is_available() -> bool:
    """False: shenjing's GPU path is CuPy without cuDNN."""
    return False


def version() -> int | None:
    """None: no cuDNN (as PyTorch without it)."""
    return None
