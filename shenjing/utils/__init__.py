"""shenjing.utils: PyTorch's ``torch.utils`` spellings; ``shenjing.utils.data`` is :mod:`shenjing.data`."""

from __future__ import annotations

from . import data

__all__ = ["data"]
