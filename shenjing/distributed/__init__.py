"""``torch.distributed`` as shenjing: a process group over MPI (CPU clusters) or NCCL (GPUs), and the collectives.

    import shenjing.distributed as dist
    dist.init_process_group("mpi")          # under `mpirun -n 4 python train.py` (or `shenjing launch -n 4 ...`)
    dist.get_rank(), dist.get_world_size()  # 0..3, 4
    dist.all_reduce(t)                      # in place: the sum over all ranks (op=dist.ReduceOp.AVG, MAX, ...)
    dist.broadcast(t, src=0)
    dist.barrier()

No home-made cluster runtime: the processes are started by ``mpiexec`` (MPICH or Open MPI, through ``mpi4py``),
and the ranks talk over MPI, or over NCCL on GPUs (``cupy.cuda.nccl``; rendezvous over MPI or a shared file).

Backends: ``"mpi"`` (tensors on the CPU; device tensors are staged through the host); ``"nccl"`` (tensors on the
GPU, one GPU a rank); ``"gloo"``, the CPU fallback: MPI when ``mpi4py`` is installed, else a single-process group
(world size 1), so a script written for many processes also runs alone without MPI.

Reliability: every collective waits at most ``timeout`` (``init_process_group(timeout=...)``, a ``timedelta`` or
seconds; default 10 minutes as PyTorch's) and then raises :class:`DistBackendError` naming the rank, the collective
and the shapes; an uncaught exception on one rank aborts the whole MPI job (instead of leaving the others waiting
forever), and a rank that dies is reported by ``mpiexec``, which stops the others.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from ..tensor import Tensor
from ._group import DistBackendError, LocalGroup, ProcessGroup, ReduceOp

__all__ = [
    "ReduceOp",
    "DistBackendError",
    "ProcessGroup",
    "init_process_group",
    "destroy_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "get_rank",
    "get_world_size",
    "get_backend",
    "all_reduce",
    "broadcast",
    "barrier",
    "all_gather",
    "all_gather_object",
    "broadcast_object_list",
    "default_pg_timeout",
]

default_pg_timeout = datetime.timedelta(minutes=10)
_default_group: ProcessGroup | None = None


def is_available() -> bool:
    """True: the package is always there (a backend may still be missing: see :func:`is_mpi_available`)."""
    return True


def is_mpi_available() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_nccl_available() -> bool:
    try:
        from cupy.cuda import nccl  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    return _default_group is not None


def _seconds(timeout: Any) -> float:
    if timeout is None:
        return default_pg_timeout.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        return float(timeout)
    raise TypeError(f"init_process_group: expected timeout to be a datetime.timedelta or positive seconds, got "
                    f"{timeout!r}")


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout: Any = None,
                       world_size: int = -1, rank: int = -1, store: Any = None, group_name: str = "",
                       pg_options: Any = None, device_id: Any = None) -> None:
    """Join the default process group, as ``torch.distributed.init_process_group``.

    ``backend``: "mpi", "nccl" or "gloo" (None: "nccl" when CuPy's NCCL is there and ``device_id`` is a GPU, else
    "gloo"). Under ``mpiexec`` the rank and world size come from MPI (given ``rank``/``world_size`` must agree);
    without MPI, the nccl backend reads ``RANK``/``WORLD_SIZE`` from the environment (as torchrun sets them) and
    meets the other ranks through ``init_method="file:///shared/path"``.
    """
    global _default_group
    if _default_group is not None:
        raise RuntimeError("trying to initialize the default process group twice! Call destroy_process_group() "
                           "first.")
    seconds = _seconds(timeout)
    name = (backend or "").lower() or None
    if name is None:
        name = "nccl" if (device_id is not None and "cuda" in str(device_id) and is_nccl_available()) else "gloo"
    if name == "gloo":
        if is_mpi_available():
            name = "mpi"
        else:
            if world_size not in (-1, 1) or rank not in (-1, 0):
                raise RuntimeError(
                    f"init_process_group('gloo', world_size={world_size}, rank={rank}): without mpi4py only a "
                    "single process (world_size=1) can run; install MPI with `pip install mpich mpi4py` and start "
                    "the ranks with `mpiexec -n N` (or `shenjing launch -n N`)."
                )
            _default_group = LocalGroup(seconds)
            return
    if name == "mpi":
        from ._mpi import MPIGroup

        group = MPIGroup(seconds)
    elif name == "nccl":
        from ._nccl import NCCLGroup

        group = NCCLGroup(seconds, init_method, world_size, rank, device_id)
    else:
        raise ValueError(f"init_process_group: unknown backend {backend!r}; expected 'mpi', 'nccl' or 'gloo'")
    for what, given, actual in (("world_size", world_size, group.size), ("rank", rank, group.rank)):
        if given != -1 and given != actual:
            raise ValueError(f"init_process_group: {what}={given} was given but the {name} launcher says "
                             f"{what}={actual}")
    _default_group = group


def destroy_process_group(group: Any = None) -> None:
    """Leave the default process group (collectives raise until the next :func:`init_process_group`)."""
    global _default_group
    if _default_group is not None:
        _default_group.close()
    _default_group = None


def _group(group: Any, caller: str) -> ProcessGroup:
    if group is not None:
        return group
    if _default_group is None:
        raise ValueError(f"{caller}: Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return _default_group


def get_rank(group: Any = None) -> int:
    """This process's rank, 0 … world_size − 1 (raises before init_process_group, as PyTorch)."""
    return _group(group, "get_rank").rank


def get_world_size(group: Any = None) -> int:
    return _group(group, "get_world_size").size


def get_backend(group: Any = None) -> str:
    return _group(group, "get_backend").backend


def _tensor_array(tensor: Any, caller: str) -> Any:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{caller}: expected a Tensor, got {type(tensor).__name__}")
    return tensor.array


class _Done:
    """What ``async_op=True`` returns: the work has already finished (the collectives here complete on return)."""

    def wait(self, timeout: Any = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True


def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Any:
    """In place: ``tensor`` becomes op(tensor on rank 0, …, tensor on rank N−1) on every rank."""
    g = _group(group, "all_reduce")
    tensor.array = g.all_reduce(_tensor_array(tensor, "all_reduce"), ReduceOp.check(op))
    return _Done() if async_op else None


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False) -> Any:
    """In place: every rank's ``tensor`` becomes rank ``src``'s (same shape and dtype on every rank)."""
    g = _group(group, "broadcast")
    if not 0 <= int(src) < g.size:
        raise ValueError(f"broadcast: src={src} is not a rank of a group of {g.size}")
    tensor.array = g.broadcast(_tensor_array(tensor, "broadcast"), int(src))
    return _Done() if async_op else None


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Any:
    """Wait until every rank of the group has called barrier."""
    _group(group, "barrier").barrier()
    return _Done() if async_op else None


def all_gather(tensor_list: list, tensor: Tensor, group: Any = None, async_op: bool = False) -> Any:
    """``tensor_list[r]`` becomes rank r's ``tensor`` (a list of world_size tensors shaped like ``tensor``)."""
    g = _group(group, "all_gather")
    if len(tensor_list) != g.size:
        raise ValueError(f"all_gather: expected a tensor_list of {g.size} tensors (the world size), got "
                         f"{len(tensor_list)}")
    parts = g.all_gather(_tensor_array(tensor, "all_gather"))
    for out, part in zip(tensor_list, parts):
        if tuple(out.shape) != tuple(part.shape):
            raise ValueError(f"all_gather: tensor_list holds a tensor of shape {tuple(out.shape)}, the gathered "
                             f"ones have shape {tuple(part.shape)}")
        out.array = part.astype(out.array.dtype, copy=False)
    return _Done() if async_op else None


def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    """``object_list[r]`` becomes rank r's ``obj`` (any picklable object: MPI pickles it; trusted peers only)."""
    g = _group(group, "all_gather_object")
    object_list[:] = g.all_gather_object(obj)


def broadcast_object_list(object_list: list, src: int = 0, group: Any = None, device: Any = None) -> None:
    """In place: every rank's ``object_list`` becomes rank ``src``'s (same length on every rank)."""
    g = _group(group, "broadcast_object_list")
    object_list[:] = g.broadcast_object(list(object_list), int(src))


def _launched_size() -> int:
    """The world size an MPI launcher announced in the environment (MPICH / Intel MPI / srun's PMI, Open MPI,
    MVAPICH), else 1."""
    for key in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        value = os.environ.get(key)
        if value and value.isdigit():
            return int(value)
    return 1
