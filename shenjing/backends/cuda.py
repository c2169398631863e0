"""``shenjing.backends.cuda``: whether the CUDA backend is built (CuPy importable) and TF32 switches.

    shenjing.backends.cuda.matmul.allow_tf32 = True   # accepted; CuPy's matrix products follow CuPy's settings
"""

from __future__ import annotations

import importlib.util

__all__ = ["is_built", "matmul"]


def is_built() -> bool:
    """True when CuPy is installed (shenjing's CUDA backend can load); see shenjing.cuda.is_available()."""
    try:
        return importlib.util.find_spec("cupy") is not None
    except (ImportError, ValueError):
        return False


class _MatmulSwitches:
    """``matmul.allow_tf32`` and friends: stored, as PyTorch's, with PyTorch's defaults."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self) -> str:
        return f"matmul(allow_tf32={self.allow_tf32})"


matmul = _MatmulSwitches()
