"""PyTorch's legacy constructors: ``Tensor(2, 3)``, ``FloatTensor([1, 2])``, ``LongTensor``, ... and their names.

They make plain :class:`shenjing.Tensor` objects; ``isinstance(x, FloatTensor)`` asks "a float32 CPU tensor?",
as in PyTorch. New code should prefer :func:`shenjing.tensor`, :func:`shenjing.empty` and ``dtype=``.
"""

from __future__ import annotations

from typing import Any

from .backend import as_dtype, get_backend
from .dtypes import to_shenjing
from .tensor import Size, Tensor, _dims, tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor", "legacy_tensor", "LEGACY_NAMES", "LegacyTensorType"]


def legacy_tensor(args: tuple, dtype: Any, device: Any) -> Tensor:
    """``torch.Tensor(...)``'s forms: sizes (uninitialised), data (converted to ``dtype``), or nothing."""
    dtype = as_dtype(dtype)
    if not args:
        args = (0,)
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args) or (
        len(args) == 1 and isinstance(args[0], Size)
    ):
        return Tensor._wrap(get_backend(device).xp.empty(_dims(args), dtype=dtype))
    if len(args) != 1:
        raise TypeError(
            f"Tensor(): expected sizes (ints) or one sequence/array of data, got {len(args)} arguments: "
            f"{', '.join(type(a).__name__ for a in args)}"
        )
    return tensor(args[0], dtype=dtype, device=device)


LEGACY_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                 "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
                 "uint8": "ByteTensor", "bool": "BoolTensor"}


class LegacyTensorType(type):
    """The metaclass of ``FloatTensor`` & co.: ``isinstance(x, FloatTensor)`` is "a float32 CPU Tensor"."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.array.dtype == cls.dtype.dtype and obj.device.type == "cpu"

    def __repr__(cls) -> str:
        return f"<class 'shenjing.{cls.__name__}'>"


def _legacy_type(name: str, dtype_name: str) -> type:
    def __new__(cls: type, *data: Any, device: Any = None) -> Tensor:
        return legacy_tensor(data, cls.dtype, device)  # type: ignore[attr-defined]

    doc = (f"``shenjing.{name}(...)``: the legacy constructor of {dtype_name} tensors, as ``torch.{name}``; "
           "returns a plain :class:`Tensor` (``Tensor(2, 3)``, ``Tensor([1, 2])`` forms).")
    return LegacyTensorType(name, (), {"__new__": __new__, "dtype": to_shenjing(dtype_name), "__doc__": doc})


FloatTensor = _legacy_type("FloatTensor", "float32")
DoubleTensor = _legacy_type("DoubleTensor", "float64")
HalfTensor = _legacy_type("HalfTensor", "float16")
LongTensor = _legacy_type("LongTensor", "int64")
IntTensor = _legacy_type("IntTensor", "int32")
ShortTensor = _legacy_type("ShortTensor", "int16")
CharTensor = _legacy_type("CharTensor", "int8")
ByteTensor = _legacy_type("ByteTensor", "uint8")
BoolTensor = _legacy_type("BoolTensor", "bool")
