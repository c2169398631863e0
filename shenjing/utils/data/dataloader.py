"""``torch.utils.data.dataloader``: the DataLoader, its collate functions and get_worker_info."""

from __future__ import annotations

from ...data.loader import DataLoader, default_collate, default_convert
from ...data.worker import get_worker_info

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
