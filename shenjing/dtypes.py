"""Dtypes named as PyTorch's (``shenjing.float32``) and PyTorch's type promotion (``result_type``).

A :class:`dtype` is a thin, immutable name for a NumPy dtype: it prints as ``shenjing.float32``, compares and
hashes equal to the NumPy dtype it names (``x.dtype == numpy.float32``, ``== "float32"``), and carries that
NumPy dtype in ``.dtype``, so that NumPy and CuPy accept it wherever they take a dtype
(``numpy.zeros(3, dtype=shenjing.float32)``, ``array.astype(x.dtype)``). Arrays keep NumPy dtypes; only the
Tensor-facing side (``Tensor.dtype``, ``shenjing.float32``, ``get_default_dtype()``) shows these.

Why a wrapper and not NumPy's dtype objects: NumPy dtypes cannot be subclassed and their repr cannot be changed,
and PyTorch programs print dtypes. The wrapper is converted at the seam by NumPy itself (``numpy.dtype(d)``
reads ``d.dtype``), so no array code needed to change.

Type promotion follows ``torch.result_type`` (not NumPy's rules):

* categories rank bool < integer < floating < complex;
* operands come in three priorities: tensors with dimensions, 0-d tensors, Python numbers. A lower priority
  only changes the result when its category is higher: ``float32 tensor * int64 tensor`` is float32,
  ``float32 tensor * float64 0-d tensor`` is float32, ``int32 tensor * 0-d float64 tensor`` is float64;
* Python numbers never widen a tensor's dtype (``float32 * 2.0`` stays float32, ``int32 + 5`` stays int32), and
  a Python float with an integer tensor gives the default float dtype (float32);
* within a priority, :func:`promote_types` (``int64`` with ``float16`` is ``float16``; float16 with float32 is
  float32).
"""

from __future__ import annotations

from typing import Any

import numpy

__all__ = ["dtype", "promote_types", "result_type", "can_cast", "to_shenjing", "category", "finfo", "iinfo"]


class dtype:  # noqa: N801 - PyTorch's name
    """The dtype of a tensor, ``shenjing.float32`` and friends; equal to the NumPy dtype of its arrays."""

    __slots__ = ("dtype", "name", "itemsize", "kind", "char", "type", "str", "num", "is_floating_point",
                 "is_complex", "is_signed")

    def __init__(self, numpy_dtype: Any) -> None:
        numpy_dtype = numpy.dtype(numpy_dtype)
        set_ = object.__setattr__
        set_(self, "dtype", numpy_dtype)
        set_(self, "name", numpy_dtype.name)
        set_(self, "itemsize", numpy_dtype.itemsize)
        set_(self, "kind", numpy_dtype.kind)
        set_(self, "char", numpy_dtype.char)
        set_(self, "type", numpy_dtype.type)
        set_(self, "str", numpy_dtype.str)
        set_(self, "num", numpy_dtype.num)
        set_(self, "is_floating_point", numpy_dtype.kind == "f")
        set_(self, "is_complex", numpy_dtype.kind == "c")
        set_(self, "is_signed", numpy_dtype.kind in "fci")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("shenjing dtypes are immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is dtype:
            return self.dtype == other.dtype  # type: ignore[attr-defined]
        if other is None:
            return False
        try:
            return self.dtype == numpy.dtype(other)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.dtype)  # NOTE: as the NumPy dtype's, so both find the same dict entries

    def __repr__(self) -> str:
        return f"shenjing.{_NAMES.get(self.dtype.name, self.dtype.name)}"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        return to_shenjing, (self.dtype.str,)


_NAMES = {"float16": "float16", "float32": "float32", "float64": "float64", "int8": "int8", "int16": "int16",
          "int32": "int32", "int64": "int64", "uint8": "uint8", "bool": "bool", "complex64": "complex64",
          "complex128": "complex128", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64"}
_BY_NUMPY: dict = {}


def to_shenjing(spec: Any) -> dtype:
    """The shenjing dtype of a NumPy dtype (or anything ``numpy.dtype`` reads); one object per dtype."""
    found = _BY_NUMPY.get(spec)
    if found is not None:
        return found
    numpy_dtype = numpy.dtype(spec.dtype if spec.__class__ is dtype else spec)
    found = _BY_NUMPY.get(numpy_dtype)
    if found is None:
        found = _BY_NUMPY[numpy_dtype] = dtype(numpy_dtype)
    return found


for _name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "complex64",
              "complex128"):
    to_shenjing(_name)


def category(kind: str) -> int:
    """Rank of a dtype kind in promotion: bool 0 < integer 1 < floating 2 < complex 3."""
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[kind]


def _np(d: Any) -> numpy.dtype:
    return d.dtype if d.__class__ is dtype else numpy.dtype(d)


def promote_types(type1: Any, type2: Any) -> dtype:
    """The smallest dtype both ``type1`` and ``type2`` convert to, as ``torch.promote_types``.

    As NumPy's except that an integer or bool with a floating dtype gives that floating dtype
    (``int64`` with ``float16`` is ``float16``, NumPy says float64).
    """
    return to_shenjing(_promote(_np(type1), _np(type2)))


def _promote(d1: numpy.dtype, d2: numpy.dtype) -> numpy.dtype:
    if d1 == d2:
        return d1
    c1, c2 = category(d1.kind), category(d2.kind)
    if c1 >= 2 > c2:
        return d1
    if c2 >= 2 > c1:
        return d2
    if c1 == 3 and c2 == 2 or c1 == 2 and c2 == 3:  # complex with a float: complex of the wider float
        width = max(d1.itemsize if c1 == 2 else d1.itemsize // 2, d2.itemsize if c2 == 2 else d2.itemsize // 2)
        return numpy.dtype(f"complex{16 * width}")
    return numpy.promote_types(d1, d2)


def _default_float() -> numpy.dtype:
    from . import backend  # NOTE: imported late: backend imports this module

    return backend._default_dtype


def _scalar_dtype(value: Any) -> numpy.dtype:
    if isinstance(value, bool):
        return numpy.dtype(bool)
    if isinstance(value, int):
        return numpy.dtype("int64")
    if isinstance(value, float):
        return _default_float()
    if isinstance(value, complex):
        return numpy.dtype("complex64" if _default_float().itemsize == 4 else "complex128")
    raise TypeError(f"result_type: expected a Tensor, an array or a Python number, got {type(value).__name__}")


def _combine(higher: numpy.dtype | None, lower: numpy.dtype | None) -> numpy.dtype | None:
    """torch's combine_categories: a lower-priority result counts only when its category is higher."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = category(higher.kind), category(lower.kind)
    if ch == 3:
        return higher
    if ch == 2:
        return _promote(higher, lower) if cl == 3 else higher
    if ch == 0 or cl >= 2:
        return _promote(higher, lower)
    return higher


def result_dtype(*operands: Any) -> numpy.dtype:
    """The NumPy dtype of ``torch.result_type`` over arrays (priority by ``ndim``) and Python numbers."""
    dims = zero = scalars = None
    for x in operands:
        if x is None:
            continue
        d = getattr(x, "dtype", None)
        if d is None or x.__class__ in _NUMPY_SCALARS:  # Python numbers and NumPy scalars are weak
            d = _scalar_dtype(x.item() if x.__class__ in _NUMPY_SCALARS else x)
            scalars = d if scalars is None else _promote(scalars, d)
        else:
            d = _np(d)
            if x.ndim:
                dims = d if dims is None else _promote(dims, d)
            else:
                zero = d if zero is None else _promote(zero, d)
    out = _combine(dims, _combine(zero, scalars))
    if out is None:
        raise TypeError("result_type: expected at least one operand")
    return out


_NUMPY_SCALARS = frozenset(t for t in numpy.sctypeDict.values() if issubclass(t, numpy.generic))


def result_type(tensor1: Any, tensor2: Any) -> dtype:
    """The dtype of an element-wise op on ``tensor1`` and ``tensor2`` (Tensors or Python numbers), as torch's."""
    return to_shenjing(result_dtype(_array_or_number(tensor1), _array_or_number(tensor2)))


def _array_or_number(x: Any) -> Any:
    return getattr(x, "array", x)


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` → ``to`` implicitly (no lower category; bool only to bool).

    ``can_cast(float32, int32)`` is False, ``can_cast(int64, float16)`` True, ``can_cast(float64, float32)`` True
    (as PyTorch, same-category narrowing is allowed).
    """
    c_from, c_to = category(_np(from_).kind), category(_np(to).kind)
    if c_to == 0:
        return c_from == 0
    return c_from <= c_to


class finfo:  # noqa: N801 - PyTorch's name
    """Limits of a floating dtype (the default one when ``None``), as ``torch.finfo``: Python floats.

    Attributes: ``bits``, ``eps`` (the gap from 1 to the next number), ``max``, ``min``, ``tiny`` (=
    ``smallest_normal``), ``resolution`` (10⁻ᵖ for p decimal digits), ``dtype`` (its name, ``'float32'``).
    """

    def __init__(self, type: Any = None) -> None:  # noqa: A002
        info = numpy.finfo(_default_float() if type is None else _np(type))
        self.bits, self.dtype = int(info.bits), info.dtype.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801
    """Limits of an integer dtype, as ``torch.iinfo``: ``bits``, ``max``, ``min`` (Python ints), ``dtype``."""

    def __init__(self, type: Any) -> None:  # noqa: A002
        info = numpy.iinfo(_np(type))
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), info.dtype.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
