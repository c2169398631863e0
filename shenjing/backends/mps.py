"""``shenjing.backends.mps``: Apple's Metal GPU backend, which shenjing does not have."""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: shenjing runs on the CPU (NumPy) or an NVIDIA GPU (CuPy), never on Apple's MPS."""
    return False


def is_built() -> bool:
    """False: shenjing has no MPS backend."""
    return False
