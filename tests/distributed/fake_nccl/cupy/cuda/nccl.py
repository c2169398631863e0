"""cupy.cuda.nccl of the stand-in: NcclCommunicator over MPI, reading and writing the buffers by address."""

from __future__ import annotations

import ctypes

import numpy as np

NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN = 0, 1, 2, 3
NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_INT64, NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64 = 0, 1, 2, 4, 6, 7, 8
_TYPES = {NCCL_INT8: np.int8, NCCL_UINT8: np.uint8, NCCL_INT32: np.int32, NCCL_INT64: np.int64,
          NCCL_FLOAT16: np.float16, NCCL_FLOAT32: np.float32, NCCL_FLOAT64: np.float64}
calls: list = []


def get_unique_id() -> tuple:
    return tuple(range(128))


def _view(ptr: int, count: int, datatype: int) -> np.ndarray:
    dtype = np.dtype(_TYPES[datatype])
    raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(ptr)
    return np.frombuffer(raw, dtype=dtype, count=count)


class NcclCommunicator:
    def __init__(self, ndev: int, uid: tuple, rank: int) -> None:
        from mpi4py import MPI

        assert uid == get_unique_id(), "the NCCL id did not reach this rank"
        self.MPI, self.comm = MPI, MPI.COMM_WORLD
        assert (self.comm.Get_size(), self.comm.Get_rank()) == (ndev, rank)
        self._ops = {NCCL_SUM: MPI.SUM, NCCL_PROD: MPI.PROD, NCCL_MAX: MPI.MAX, NCCL_MIN: MPI.MIN}

    def allReduce(self, sendbuf: int, recvbuf: int, count: int, datatype: int, op: int, stream: int) -> None:  # noqa: N802
        calls.append("allReduce")
        send, recv = _view(sendbuf, count, datatype), _view(recvbuf, count, datatype)
        out = np.empty_like(send)
        self.comm.Allreduce(send.copy(), out, op=self._ops[op])
        recv[...] = out

    def broadcast(self, sendbuf: int, recvbuf: int, count: int, datatype: int, root: int, stream: int) -> None:
        calls.append("broadcast")
        buf = _view(sendbuf, count, datatype).copy()
        self.comm.Bcast(buf, root=root)
        _view(recvbuf, count, datatype)[...] = buf

    def allGather(self, sendbuf: int, recvbuf: int, count: int, datatype: int, stream: int) -> None:  # noqa: N802
        calls.append("allGather")
        send = _view(sendbuf, count, datatype).copy()
        out = np.empty(count * self.comm.Get_size(), dtype=send.dtype)
        self.comm.Allgather(send, out)
        _view(recvbuf, count * self.comm.Get_size(), datatype)[...] = out

    def abort(self) -> None:
        self.comm.Abort(1)

    def destroy(self) -> None:
        return None
