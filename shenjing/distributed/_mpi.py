"""The MPI backend: collectives through ``mpi4py`` (MPICH or Open MPI), with a timeout on every one.

Every collective is started non-blocking (``Iallreduce``, ``Ibcast``, ``Ibarrier``, ``Iallgather``) and polled
until it completes or ``timeout`` seconds pass; then :class:`DistBackendError` names the rank, the collective and
the shape, and, if nothing catches it, the uncaught-exception hook aborts the whole job (``MPI_Abort``), so the
other ranks stop instead of waiting forever.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy  # host-side communication buffers only, no math

from ._group import DistBackendError, ProcessGroup, from_host_like, to_host

__all__ = ["MPIGroup"]

_hook_installed = False


def _install_abort_hook(comm: Any) -> None:
    """An uncaught exception on one rank aborts every rank (as ``python -m mpi4py`` does), not a silent hang."""
    global _hook_installed
    if _hook_installed or comm.Get_size() == 1:
        return
    _hook_installed = True
    previous = sys.excepthook

    def hook(kind: Any, value: Any, tb: Any) -> None:
        previous(kind, value, tb)
        sys.stderr.write(f"shenjing.distributed: rank {comm.Get_rank()} failed with {kind.__name__}; aborting "
                         f"all {comm.Get_size()} ranks\n")
        sys.stderr.flush()
        # NOTE: Abort kills every rank at once, and with them the launcher's forwarding of what they wrote: give
        # it a moment to pass this rank's traceback on, or the user sees an exit status and no reason (seen in CI)
        time.sleep(1.0)
        comm.Abort(1)

    sys.excepthook = hook


class MPIGroup(ProcessGroup):
    backend = "mpi"

    def __init__(self, timeout: float, comm: Any = None) -> None:
        super().__init__(timeout)
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD.Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self._ops = {"sum": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX, "avg": MPI.SUM}
        _install_abort_hook(MPI.COMM_WORLD)

    # ---- waiting with a deadline -------------------------------------------------------------------------------
    def _wait(self, request: Any, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        pause = 0.0
        while not request.Test():
            if time.monotonic() > deadline:
                raise DistBackendError(
                    f"rank {self.rank}/{self.size}: {what} did not complete within {self.timeout:g} s: another rank "
                    "has died, hangs, or called a different collective (raise init_process_group(timeout=...) if a "
                    "rank is just slow)."
                )
            time.sleep(pause)
            pause = min(pause * 2 + 1e-5, 2e-3)

    # ---- collectives -------------------------------------------------------------------------------------------
    def all_reduce(self, array: Any, op: str) -> Any:
        host = to_host(array)
        if self.size > 1:
            self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, host, op=self._ops[op]),
                       f"all_reduce({op}) of shape {tuple(host.shape)} {host.dtype}")
        if op == "avg":
            host /= self.size
        return from_host_like(host, array)

    def broadcast(self, array: Any, src: int) -> Any:
        host = to_host(array)
        if self.size > 1:
            self._wait(self.comm.Ibcast(host, root=src), f"broadcast from rank {src} of shape {tuple(host.shape)}")
        return from_host_like(host, array)

    def barrier(self) -> None:
        if self.size > 1:
            self._wait(self.comm.Ibarrier(), "barrier")

    def all_gather(self, array: Any) -> list:
        host = to_host(array)
        out = numpy.empty((self.size,) + host.shape, dtype=host.dtype)
        self._wait(self.comm.Iallgather(host, out), f"all_gather of shape {tuple(host.shape)}")
        return [from_host_like(out[r], array) for r in range(self.size)]

    def _objects(self, obj: Any) -> list:
        # NOTE: object collectives pickle (MPI's own lowercase API); they carry small bookkeeping between trusted
        # ranks of one job, never data from outside. A blocking call: guard it with a barrier that has a timeout.
        self.barrier()
        return self.comm.allgather(obj)

    def all_gather_object(self, obj: Any) -> list:
        return self._objects(obj)

    def broadcast_object(self, obj: Any, src: int) -> Any:
        self.barrier()
        return self.comm.bcast(obj, root=src)

    def close(self) -> None:
        try:
            self.comm.Free()
        except Exception:  # noqa: BLE001 - freeing at shutdown is best effort
            pass
