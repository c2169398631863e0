"""The NCCL backend: collectives between GPUs through ``cupy.cuda.nccl``, one GPU a rank.

NOTE: written against CuPy's NCCL API (``NcclCommunicator``, ``allReduce``, ``broadcast``) and checked on the CPU
only through a stand-in of that API (tests/distributed); run it on a GPU machine with
``mpiexec -n 1 python -m shenjing.distributed.selftest nccl`` (one rank a GPU; prints "nccl ok").

Rendezvous: rank 0 makes the NCCL unique id and hands it to the others over MPI when the job runs under
``mpiexec`` (``mpi4py`` installed), else through a file (``init_method="file:///shared/path"``), with ranks and
world size from the arguments or from ``RANK`` / ``WORLD_SIZE`` (as torchrun sets them).
"""

from __future__ import annotations

import os
import time
from typing import Any

from ._group import DistBackendError, ProcessGroup

__all__ = ["NCCLGroup"]


def _int_env(*keys: str) -> int | None:
    for key in keys:
        value = os.environ.get(key)
        if value is not None and value.isdigit():
            return int(value)
    return None


class NCCLGroup(ProcessGroup):
    backend = "nccl"

    def __init__(self, timeout: float, init_method: str | None, world_size: int, rank: int, device_id: Any) -> None:
        super().__init__(timeout)
        import cupy
        from cupy.cuda import nccl

        self.cupy, self.nccl = cupy, nccl
        self._mpi = None
        if init_method is None and _int_env("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE") is not None:
            from ._mpi import MPIGroup

            self._mpi = MPIGroup(timeout)
            self.rank, self.size = self._mpi.rank, self._mpi.size
            local = self._mpi.comm.Split_type(self._mpi.MPI.COMM_TYPE_SHARED).Get_rank()
        else:
            self.rank = rank if rank >= 0 else (_int_env("RANK") or 0)
            self.size = world_size if world_size > 0 else (_int_env("WORLD_SIZE") or 1)
            local = _int_env("LOCAL_RANK") or self.rank
        index = local if device_id is None else _device_index(device_id)
        cupy.cuda.Device(index % max(1, cupy.cuda.runtime.getDeviceCount())).use()
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = self._share_id(uid, init_method)
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._ops = {"sum": nccl.NCCL_SUM, "product": nccl.NCCL_PROD, "min": nccl.NCCL_MIN, "max": nccl.NCCL_MAX,
                     "avg": nccl.NCCL_SUM}
        self._types = {"float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32, "float64": nccl.NCCL_FLOAT64,
                       "int32": nccl.NCCL_INT32, "int64": nccl.NCCL_INT64, "uint8": nccl.NCCL_UINT8,
                       "int8": nccl.NCCL_INT8, "bool": nccl.NCCL_UINT8}

    def _share_id(self, uid: Any, init_method: str | None) -> Any:
        if self._mpi is not None:
            return self._mpi.broadcast_object(uid, 0)
        if self.size == 1:
            return uid
        if not init_method or not init_method.startswith("file://"):
            raise ValueError("init_process_group('nccl'): without mpiexec the ranks meet through a shared file: pass "
                             "init_method='file:///path/on/a/shared/disk' and RANK / WORLD_SIZE")
        path = init_method[len("file://"):]
        if self.rank == 0:
            with open(path + ".tmp", "w") as f:
                f.write(",".join(str(int(v)) for v in uid))
            os.replace(path + ".tmp", path)
            return uid
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise DistBackendError(f"rank {self.rank}: rank 0 did not write the NCCL id to {path} within "
                                       f"{self.timeout:g} s")
            time.sleep(0.05)
        with open(path) as f:
            return tuple(int(v) for v in f.read().split(","))

    def _dtype(self, array: Any) -> int:
        name = str(array.dtype)
        if name not in self._types:
            raise TypeError(f"nccl: cannot reduce arrays of dtype {name}")
        return self._types[name]

    def _sync(self, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not self.stream.done:
            if time.monotonic() > deadline:
                self.comm.abort()
                raise DistBackendError(f"rank {self.rank}/{self.size}: {what} did not complete within "
                                       f"{self.timeout:g} s: another rank has died or hangs")
            time.sleep(1e-4)

    def _device(self, array: Any) -> Any:
        array = self.cupy.asarray(array)
        return self.cupy.ascontiguousarray(array)

    def _back(self, result: Any, like: Any) -> Any:
        """The result where the input lived: a host (NumPy) input gets a host array back (staged through the GPU)."""
        if isinstance(like, self.cupy.ndarray):
            return result.reshape(like.shape)
        return self.cupy.asnumpy(result).reshape(like.shape)

    def all_reduce(self, array: Any, op: str) -> Any:
        buf = self._device(array).copy()
        self.cupy.cuda.get_current_stream().synchronize()
        self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf), self._ops[op], self.stream.ptr)
        self._sync(f"all_reduce({op}) of shape {tuple(buf.shape)}")
        if op == "avg":
            buf /= self.size
        return self._back(buf, array)

    def broadcast(self, array: Any, src: int) -> Any:
        buf = self._device(array).copy()
        self.cupy.cuda.get_current_stream().synchronize()
        self.comm.broadcast(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf), src, self.stream.ptr)
        self._sync(f"broadcast from rank {src} of shape {tuple(buf.shape)}")
        return self._back(buf, array)

    def barrier(self) -> None:
        self.all_reduce(self.cupy.zeros(1, dtype="float32"), "sum")

    def all_gather(self, array: Any) -> list:
        buf = self._device(array)
        out = self.cupy.empty((self.size,) + buf.shape, dtype=buf.dtype)
        self.cupy.cuda.get_current_stream().synchronize()
        self.comm.allGather(buf.data.ptr, out.data.ptr, buf.size, self._dtype(buf), self.stream.ptr)
        self._sync(f"all_gather of shape {tuple(buf.shape)}")
        return [self._back(out[r], array) for r in range(self.size)]

    def all_gather_object(self, obj: Any) -> list:
        if self._mpi is None:
            raise RuntimeError("nccl: all_gather_object needs the job to run under mpiexec")
        return self._mpi.all_gather_object(obj)

    def broadcast_object(self, obj: Any, src: int) -> Any:
        if self._mpi is None:
            raise RuntimeError("nccl: broadcast_object_list needs the job to run under mpiexec")
        return self._mpi.broadcast_object(obj, src)

    def close(self) -> None:
        self.comm.destroy()
        if self._mpi is not None:
            self._mpi.close()


def _device_index(device_id: Any) -> int:
    if isinstance(device_id, int):
        return device_id
    index = getattr(device_id, "index", None)
    if index is not None:
        return int(index)
    text = str(device_id)
    return int(text.split(":")[1]) if ":" in text else 0
