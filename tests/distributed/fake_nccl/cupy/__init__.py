"""A stand-in for the part of CuPy that shenjing.distributed's NCCL backend uses, for checking that path on the CPU.

"Device" arrays are NumPy arrays of a subclass whose ``.data.ptr`` is the host address; ``cupy.cuda.nccl`` is
served by MPI (mpi4py) over those addresses, so the NCCL group's code runs unchanged, pointers and all. Only for
tests/distributed (put this folder first on PYTHONPATH under mpiexec); never a CuPy for real use.
"""

from __future__ import annotations

import numpy as _np

from . import cuda  # noqa: F401


class _Memory:
    def __init__(self, ptr: int) -> None:
        self.ptr = ptr


class ndarray(_np.ndarray):  # noqa: N801 - CuPy's name
    @property
    def data(self) -> _Memory:  # type: ignore[override]
        assert self.flags.c_contiguous
        return _Memory(self.ctypes.data)


def _dev(a: object) -> ndarray:
    return _np.asarray(a).view(ndarray)


def asarray(a: object, dtype: object = None) -> ndarray:
    return _dev(_np.array(a, dtype=dtype, copy=True))


def ascontiguousarray(a: object) -> ndarray:
    return _dev(_np.ascontiguousarray(a))


def asnumpy(a: object) -> _np.ndarray:
    return _np.array(a, copy=True).view(_np.ndarray)


def zeros(shape: object, dtype: object = "float64") -> ndarray:
    return _dev(_np.zeros(shape, dtype=dtype))


def empty(shape: object, dtype: object = "float64") -> ndarray:
    return _dev(_np.empty(shape, dtype=dtype))
