"""The process-group seam: what every backend (MPI, NCCL, a single process) provides to the collectives.

A group works on raw arrays (the ``xp`` arrays of tensors) and returns the result array; the public functions in
``shenjing.distributed`` put it back into the tensor. Host staging (a device array through NumPy) lives here,
through the backend seam (``backend_of(array).to_host`` / ``from_host``), never by importing an array library.
"""

from __future__ import annotations

import copy
from typing import Any

from ..backend import backend_of

__all__ = ["ReduceOp", "DistBackendError", "ProcessGroup", "LocalGroup", "to_host", "from_host_like"]


class DistBackendError(RuntimeError):
    """A collective failed or timed out (a rank died, hangs, or called a different collective); as PyTorch's."""


class ReduceOp:
    """The reductions of :func:`all_reduce`, as ``torch.distributed.ReduceOp``."""

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"
    _all = ("sum", "product", "min", "max", "avg")

    @classmethod
    def check(cls, op: Any) -> str:
        name = str(op).lower()
        if name not in cls._all:
            raise ValueError(f"all_reduce: unknown op {op!r}; expected one of ReduceOp.SUM, PRODUCT, MIN, MAX, AVG")
        return name


def to_host(array: Any) -> Any:
    """A C-contiguous host (NumPy) array holding ``array``'s values, owned by the caller (a copy)."""
    host = backend_of(array).to_host(array)
    return host.copy(order="C")


def from_host_like(host: Any, like: Any) -> Any:
    """``host`` (NumPy) as an array of ``like``'s backend, dtype and shape."""
    out = backend_of(like).from_host(host.reshape(like.shape))
    return out.astype(like.dtype, copy=False)


class ProcessGroup:
    """A set of ranks that run collectives together. Backends override the methods below."""

    backend = "none"
    rank = 0
    size = 1

    def __init__(self, timeout: float) -> None:
        self.timeout = float(timeout)

    def all_reduce(self, array: Any, op: str) -> Any:
        raise NotImplementedError

    def broadcast(self, array: Any, src: int) -> Any:
        raise NotImplementedError

    def barrier(self) -> None:
        raise NotImplementedError

    def all_gather(self, array: Any) -> list:
        raise NotImplementedError

    def all_gather_object(self, obj: Any) -> list:
        raise NotImplementedError

    def broadcast_object(self, obj: Any, src: int) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend!r}, rank={self.rank}, size={self.size})"


class LocalGroup(ProcessGroup):
    """One process alone (the "gloo" fallback without MPI): every collective is the identity."""

    backend = "gloo"

    def all_reduce(self, array: Any, op: str) -> Any:
        return array

    def broadcast(self, array: Any, src: int) -> Any:
        return array

    def barrier(self) -> None:
        return None

    def all_gather(self, array: Any) -> list:
        return [array.copy()]

    def all_gather_object(self, obj: Any) -> list:
        return [copy.deepcopy(obj)]

    def broadcast_object(self, obj: Any, src: int) -> Any:
        return obj
