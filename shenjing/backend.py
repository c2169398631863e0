"""The one array-module seam: which array library does the math, the default dtype and the random generators.

Every op gets its array module (``xp``) from here: NumPy for tensors on the CPU, CuPy for tensors on a GPU.
No other file imports NumPy or CuPy for math. The global state of shenjing is exactly what this file and
``autograd.py`` hold: the backends, the default dtype, the random generators and the grad mode.
"""

from __future__ import annotations

import ctypes
import os
import sys
import types
from typing import Any

import numpy

from .dtypes import dtype as _dtype
from .dtypes import to_shenjing

__all__ = [
    "Backend",
    "Device",
    "backend_of",
    "get_backend",
    "register_backend",
    "get_default_dtype",
    "set_default_dtype",
    "get_default_device",
    "set_default_device",
    "manual_seed",
    "as_dtype",
    "is_device",
]


class Device:
    """Where a tensor lives: ``Device("cpu")``, ``Device("cuda")`` or ``Device("cuda:1")``.

    Equal to the string it was made from, so ``t.device == "cpu"`` works as in PyTorch.
    """

    __slots__ = ("type", "index")

    def __init__(self, spec: str | Device = "cpu", index: int | None = None) -> None:
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, number = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(
                f"device: expected one of 'cpu', 'cuda', 'cuda:N', got {spec!r}. "
                "shenjing runs on the CPU (NumPy) or on an NVIDIA GPU (CuPy)."
            )
        self.type = kind
        self.index = int(number) if number else index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Device(other)
        if not isinstance(other, Device):
            return NotImplemented
        same_index = self.index == other.index or self.index is None or other.index is None
        return self.type == other.type and same_index

    def __hash__(self) -> int:
        return hash(self.type)

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


def is_device(spec: Any) -> bool:
    """True for a Device or a device string ('cpu', 'cuda', 'cuda:1'); False for dtypes such as 'float32'."""
    return isinstance(spec, Device) or (isinstance(spec, str) and spec.partition(":")[0] in ("cpu", "cuda"))


class Backend:
    """An array library behind a device type.

    Attributes:
        device: the device its arrays live on.
        xp: the array module (``numpy`` or ``cupy``); ops call ``xp.exp`` and friends through it.
        generator: the random generator tensors on this device draw from.

    The few places where array libraries differ (scatter-add, moving arrays to and from the host,
    random generators) are methods here, so that layers never need to know which library runs.
    """

    def __init__(self, device: Device, xp: types.ModuleType, array_types: tuple[type, ...]) -> None:
        self.device = device
        self.xp = xp
        self.array_types = array_types
        self.generator = xp.random.default_rng(_seed)

    # Optional fused kernels a backend may provide (None: use the generic xp code path).
    fused_adam: Any = None
    # Bytes of im2col columns a convolution processes at once (None: the CPU's cache-sized blocks).
    conv_block_bytes: int | None = None

    def __repr__(self) -> str:
        return f"Backend({self.device}, xp={self.xp.__name__})"

    def asarray(self, data: Any, dtype: Any = None) -> Any:
        """``data`` as an array of this backend (no copy when it already is one of that dtype)."""
        return self.xp.asarray(data, dtype=dtype)

    def from_host(self, array: numpy.ndarray) -> Any:
        """A NumPy array copied onto this backend's device."""
        return self.xp.asarray(array)

    def to_host(self, array: Any) -> numpy.ndarray:
        """This backend's array as a NumPy array on the host."""
        return numpy.asarray(array)

    def special(self, name: str) -> Any:
        """The ``scipy.special`` function ``name`` (erf, erfc, …) for this backend's arrays, or None without SciPy
        (callers then use their own series). NumPy arrays only here; the CuPy backend gives ``cupyx.scipy.special``."""
        if self.xp is not numpy:
            return None
        try:
            import scipy.special
        except ImportError:
            return None
        return getattr(scipy.special, name, None)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        """``target[index] += values``, adding once per occurrence of repeated indices."""
        numpy.add.at(target, index, values)

    def seed(self, seed: int) -> None:
        self.generator = self.xp.random.default_rng(seed)

    def get_rng_state(self) -> dict:
        return self.generator.bit_generator.state

    def set_rng_state(self, state: dict) -> None:
        self.generator.bit_generator.state = state


# NumPy returns these scalar types (not 0-d arrays) from full reductions and from ufuncs on 0-d arrays;
# autograd turns them back into arrays so that every tensor holds an array.
SCALAR_TYPES = frozenset(t for t in numpy.sctypeDict.values() if issubclass(t, numpy.generic))

_seed: int | None = None
_default_dtype = numpy.dtype(numpy.float32)
_backends: dict[str, Backend] = {}
_by_array_type: dict[type, Backend] = {}

NUMPY = Backend(Device("cpu"), numpy, (numpy.ndarray, numpy.generic))


def register_backend(backend: Backend) -> None:
    """Make ``backend`` the one that serves tensors on ``backend.device``."""
    _backends[backend.device.type] = backend
    for array_type in backend.array_types:
        _by_array_type[array_type] = backend


register_backend(NUMPY)


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed large blocks in the process instead of returning them to the OS.

    A training step allocates and frees the same large arrays every step (activations, gradients). By
    default glibc serves blocks above 128 KiB–32 MiB with fresh ``mmap`` pages and unmaps them on free, so
    every step touches new pages: measured here, ~3 800 page faults (≈ 4 µs each) per step of the textbook
    CNN, 15 % of its step time. With a 256 MiB mmap threshold and a 1 GiB trim threshold the pages are
    reused. Resident memory then stays at its peak until the process ends. Called once at import on Linux
    with glibc; set ``SHENJING_KEEP_FREED_MEMORY=0`` to leave the allocator alone. Returns whether it applied.
    """
    if os.environ.get("SHENJING_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...): nothing to tune
        return False
    if not hasattr(libc, "mallopt"):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 256 << 20)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))


keep_freed_memory()


def _load_cuda() -> Backend:
    from ._cuda import CupyBackend  # imports CuPy; only reached when a GPU is asked for

    backend = CupyBackend()
    register_backend(backend)
    return backend


def get_backend(device: str | Device | None = None) -> Backend:
    """The backend of ``device`` (the default device's, see :func:`set_default_device`, when ``None``)."""
    if device is None:
        return _default_backend
    kind = device.type if isinstance(device, Device) else Device(device).type
    backend = _backends.get(kind)
    if backend is None:
        backend = _load_cuda()
    return backend


def backend_for_module(xp: Any) -> Backend:
    """The backend whose array module is ``xp``."""
    for backend in _backends.values():
        if backend.xp is xp:
            return backend
    return NUMPY


def quiet(xp: Any) -> Any:
    """A context in which 0/0, log 0, overflow … give nan/inf silently, as PyTorch's ops do (NumPy would warn;
    an array library without ``errstate``, CuPy, is already silent)."""
    import contextlib

    errstate = getattr(xp, "errstate", None)
    return errstate(divide="ignore", invalid="ignore", over="ignore") if errstate is not None else \
        contextlib.nullcontext()


def backend_of(array: Any) -> Backend:
    """The backend an array belongs to, from its type."""
    backend = _by_array_type.get(type(array))
    if backend is not None:
        return backend
    for backend in _backends.values():
        if isinstance(array, backend.array_types):
            _by_array_type[type(array)] = backend
            return backend
    raise TypeError(f"expected an array of a known backend (NumPy, CuPy), got {type(array).__name__}")


def as_dtype(dtype: Any) -> numpy.dtype:
    """A dtype spec (``shenjing.float32``, ``"float64"``, ``numpy.int64``, ``float``) as a NumPy dtype."""
    if dtype.__class__ is _dtype:
        return dtype.dtype
    if dtype is float:
        return _default_dtype
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"expected a dtype such as shenjing.float32, got {dtype!r}") from None


def get_default_dtype() -> Any:
    """The floating dtype of new tensors made from Python numbers and of new layers (``shenjing.float32``)."""
    return to_shenjing(_default_dtype)


def set_default_dtype(dtype: Any) -> None:
    """Set the default floating dtype: ``shenjing.float32`` (the default) or ``shenjing.float64``."""
    global _default_dtype
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_dtype = dtype


_default_backend = NUMPY


def get_default_device() -> Device:
    """The device of new tensors made without ``device=`` (``device(type='cpu')`` unless set)."""
    return _default_backend.device


def set_default_device(device: str | Device | None) -> None:
    """Make new tensors and layers live on ``device`` by default, as ``torch.set_default_device``.

    ``None`` or ``"cpu"``: NumPy on the CPU. ``"cuda"``: CuPy; raises a RuntimeError that says why when no GPU
    (or no CuPy) is available.
    """
    global _default_backend
    if device is None:
        _default_backend = NUMPY
        return
    if not is_device(device):
        raise RuntimeError(f"set_default_device: expected a device such as 'cpu' or 'cuda', got {device!r}")
    kind = Device(device).type
    _default_backend = NUMPY if kind == "cpu" else _backends.get(kind) or _load_cuda()


def manual_seed(seed: int) -> None:
    """Seed the random generators of every backend (initialisation, dropout, shuffling)."""
    global _seed
    _seed = int(seed)
    for backend in _backends.values():
        backend.seed(_seed)


def get_rng_state() -> dict:
    """The state of every backend's generator, to restore with :func:`set_rng_state`."""
    return {kind: backend.get_rng_state() for kind, backend in _backends.items()}


def set_rng_state(state: dict) -> None:
    for kind, backend_state in state.items():
        get_backend(kind).set_rng_state(backend_state)
