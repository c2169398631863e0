"""``shenjing.backends.mkldnn``: the switches of oneDNN (formerly MKL-DNN), the CPU convolution kernels, as PyTorch's.

    shenjing.backends.mkldnn.is_available()        # True where the onednn-cpu-gomp wheel loads (Linux x86-64)
    shenjing.backends.mkldnn.enabled = False       # float32 convolutions back on the im2col matrix products
    with shenjing.backends.mkldnn.flags(enabled=False):
        ...                                        # the same, for a block
    with shenjing.backends.mkldnn.verbose(shenjing.backends.mkldnn.VERBOSE_ON):
        model(x)                                   # oneDNN prints one line per kernel it runs

Which convolutions run on oneDNN, and why, is in ``shenjing/nn/_onednn.py``'s docstring. ``deterministic`` and
``allow_tf32`` are accepted as in PyTorch: shenjing's oneDNN calls are in strict float32, and they give the same
result on every run with the same number of threads.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ..nn import _onednn

__all__ = ["is_available", "enabled", "deterministic", "allow_tf32", "flags", "set_flags", "verbose",
           "VERBOSE_OFF", "VERBOSE_ON", "VERBOSE_ON_CREATION"]

enabled = True  # PyTorch's default
deterministic = False
allow_tf32 = True

VERBOSE_OFF = 0
VERBOSE_ON = 1
VERBOSE_ON_CREATION = 2


def is_available() -> bool:
    """Whether oneDNN's library is installed and loads here (``pip install onednn-cpu-gomp``)."""
    return _onednn.available()


def set_flags(_enabled: bool | None = None, _deterministic: bool | None = None,
              _allow_tf32: bool | None = None) -> tuple:
    """Set the switches given (None leaves one as it is); the previous (enabled, deterministic, allow_tf32)."""
    global enabled, deterministic, allow_tf32
    previous = (enabled, deterministic, allow_tf32)
    if _enabled is not None:
        enabled = bool(_enabled)
    if _deterministic is not None:
        deterministic = bool(_deterministic)
    if _allow_tf32 is not None:
        allow_tf32 = bool(_allow_tf32)
    return previous


@contextmanager
def flags(enabled: bool = False, deterministic: bool = False, allow_tf32: bool = True) -> Iterator[None]:
    """The switches set for a ``with`` block (PyTorch's defaults: oneDNN off), restored after it."""
    previous = set_flags(enabled, deterministic, allow_tf32)
    try:
        yield
    finally:
        set_flags(*previous)


class verbose:
    """oneDNN's own trace for a ``with`` block: one line per kernel run (``VERBOSE_ON``), and per kernel created
    (``VERBOSE_ON_CREATION``), printed by the library to standard output, as ``torch.backends.mkldnn.verbose``."""

    def __init__(self, level: int) -> None:
        if level not in (VERBOSE_OFF, VERBOSE_ON, VERBOSE_ON_CREATION):
            raise ValueError(f"mkldnn.verbose: level must be VERBOSE_OFF, VERBOSE_ON or VERBOSE_ON_CREATION, "
                             f"got {level!r}")
        self.level = level

    def __enter__(self) -> verbose | None:
        if self.level == VERBOSE_OFF:
            return None
        if not _onednn.set_verbose(self.level):
            raise RuntimeError("mkldnn.verbose: oneDNN is not available here (pip install onednn-cpu-gomp), "
                               "so there is nothing to trace")
        return self

    def __exit__(self, *exc: object) -> bool:
        _onednn.set_verbose(VERBOSE_OFF)
        return False
