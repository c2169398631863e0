"""A stand-in for CuPy that runs on the CPU and fails on any math that bypasses the backend seam.

Arrays of this module are wrappers around NumPy arrays. Like CuPy's, they refuse to be turned into NumPy
arrays implicitly; unlike CuPy's, NumPy functions applied to them raise instead of dispatching. So a
library call such as ``numpy.exp(a)`` on a "device" array — math that went around ``xp`` — fails loudly,
while ``xp.exp(a)`` (through the backend) and array methods/operators work. Tests register a
:class:`FakeGPUBackend` as the "cuda" backend and run the same models on both devices.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from shenjing.backend import Backend, Device

BYPASS = "bypassed the backend seam: a NumPy function was applied to a device array"


def _unwrap(x: Any) -> Any:
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, tuple):
        return tuple(_unwrap(i) for i in x)
    if isinstance(x, list):
        return [_unwrap(i) for i in x]
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return ndarray(x)
    if isinstance(x, np.generic):  # CuPy returns 0-d arrays, not scalars
        return ndarray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(i) for i in x)
    if isinstance(x, list):
        return [_wrap(i) for i in x]
    return x


def _call(f: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return _wrap(f(*_unwrap(args), **_unwrap(kwargs)))

    return wrapped


class ndarray:  # noqa: N801 - CuPy's name
    __slots__ = ("_a",)
    __array_priority__ = 1000

    def __init__(self, array: np.ndarray) -> None:
        self._a = array

    # the seam: NumPy must not touch device arrays
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Implicit conversion to a NumPy array is not allowed (" + BYPASS + ")")

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        raise TypeError(f"numpy.{ufunc.__name__} {BYPASS}")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise TypeError(f"numpy.{func.__name__} {BYPASS}")

    def get(self) -> np.ndarray:
        return self._a.copy()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._a, name)
        return _call(value) if callable(value) else _wrap(value)

    def __getitem__(self, index: Any) -> Any:
        return _wrap(self._a[_unwrap(index)])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._a[_unwrap(index)] = _unwrap(value)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        return (ndarray(np.asarray(row)) for row in self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __index__(self) -> int:
        return int(self._a)

    def __repr__(self) -> str:
        return f"fakecupy.{self._a!r}"

    # shape and dtype attributes are plain values
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: ndarray(self._a.T))
    base = property(lambda self: None if self._a.base is None else ndarray(self._a.base)
                    if isinstance(self._a.base, np.ndarray) else self._a.base)


def _binary(name: str) -> Any:
    def method(self: ndarray, other: Any) -> Any:
        result = getattr(self._a, name)(_unwrap(other))
        if result is NotImplemented:
            return NotImplemented
        return _wrap(result)

    return method


def _inplace(name: str) -> Any:
    def method(self: ndarray, other: Any) -> Any:
        getattr(self._a, name)(_unwrap(other))
        return self

    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"):
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__"))
    setattr(ndarray, f"__r{_name}__", _binary(f"__r{_name}__"))
    setattr(ndarray, f"__i{_name}__", _inplace(f"__i{_name}__"))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__"))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", lambda self, _n=_name: _wrap(getattr(self._a, f"__{_n}__")()))
ndarray.__hash__ = None  # type: ignore[assignment]


class _Generator:
    """numpy.random.Generator producing device arrays."""

    def __init__(self, seed: Any = None) -> None:
        self._g = np.random.default_rng(seed)

    def __getattr__(self, name: str) -> Any:
        if name == "bit_generator":
            return self._g.bit_generator
        return _call(getattr(self._g, name))


class _Module(types.ModuleType):
    """Every NumPy function, taking and returning device arrays."""

    def __init__(self, name: str, source: Any) -> None:
        super().__init__(name)
        self._source = source

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._source, name)
        if isinstance(value, type) or isinstance(value, np.dtype) or not callable(value):
            return value
        return _call(value)


fakecupy = _Module("fakecupy", np)
fakecupy.ndarray = ndarray
fakecupy.random = _Module("fakecupy.random", np.random)
fakecupy.random.default_rng = lambda seed=None: _Generator(seed)
fakecupy.linalg = _Module("fakecupy.linalg", np.linalg)
fakecupy.lib = types.ModuleType("fakecupy.lib")
fakecupy.lib.stride_tricks = _Module("fakecupy.lib.stride_tricks", np.lib.stride_tricks)
fakecupy.asnumpy = lambda a: a.get() if isinstance(a, ndarray) else np.asarray(a)


class FakeGPUBackend(Backend):
    """A backend on device "cuda" whose arrays are :class:`ndarray` wrappers (see the module docstring)."""

    conv_block_bytes = 1 << 31  # as CupyBackend: whole batches per convolution product

    def __init__(self) -> None:
        super().__init__(Device("cuda"), fakecupy, (ndarray,))

    def from_host(self, array: Any) -> Any:
        return ndarray(np.array(array))

    def to_host(self, array: Any) -> np.ndarray:
        return array.get() if isinstance(array, ndarray) else np.asarray(array)

    def asarray(self, data: Any, dtype: Any = None) -> Any:
        return fakecupy.asarray(data, dtype=dtype)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        np.add.at(target._a, _unwrap(index), _unwrap(values))
