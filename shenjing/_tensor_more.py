"""More of ``torch.Tensor``'s methods that programs call: named comparisons, rounding, narrow / select / movedim /
tile, addcmul / addcdiv, dtype shorthands and layout queries. Each is a short composition of the engine's ops,
so gradients come from the ops it is made of (the rounding functions' from ``ops.elementwise.Rounding``).
"""

from __future__ import annotations

import operator
from typing import Any

from ._tensor_base import _dims
from ._tensor_math import _compare
from .backend import backend_of
from .ops import elementwise as E
from .ops import reduce as R

Tensor: Any = None  # the class these methods are a base of; set by tensor.py once it has made it


def _int(value: Any, what: str) -> int:
    """A Python int from an int or a one-element integer tensor (PyTorch accepts both for narrow's start)."""
    if hasattr(value, "array"):
        if value.numel() != 1 or value.dtype.is_floating_point:
            raise TypeError(f"{what} must be an integer or a one-element integer tensor, got {value!r}")
        return int(value.item())
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}")
    return value


class MoreMethods:
    """Named forms of the comparison operators, rounding, narrow/select/movedim/tile and friends."""

    __slots__ = ()

    # ---- comparisons and logic (bool results, recorded nothing: as the operators) ----------------------------
    def gt(self, other: Any) -> Tensor:
        return self > other

    def ge(self, other: Any) -> Tensor:
        return self >= other

    def lt(self, other: Any) -> Tensor:
        return self < other

    def le(self, other: Any) -> Tensor:
        return self <= other

    def ne(self, other: Any) -> Tensor:
        return self != other

    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def logical_and(self, other: Any) -> Tensor:
        return _compare(backend_of(self.array).xp.logical_and, self, other)

    def logical_or(self, other: Any) -> Tensor:
        return _compare(backend_of(self.array).xp.logical_or, self, other)

    def logical_xor(self, other: Any) -> Tensor:
        return _compare(backend_of(self.array).xp.logical_xor, self, other)

    def logical_not(self) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.logical_not(self.array))

    def bitwise_and(self, other: Any) -> Tensor:
        return _compare(operator.and_, self, other)

    def bitwise_or(self, other: Any) -> Tensor:
        return _compare(operator.or_, self, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return _compare(operator.xor, self, other)

    def bitwise_not(self) -> Tensor:
        return ~self

    def isnan(self) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.isnan(self.array))

    def isinf(self) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.isinf(self.array))

    def isfinite(self) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.isfinite(self.array))

    def remainder(self, other: Any) -> Tensor:
        return self % other

    def floor_divide(self, other: Any) -> Tensor:
        return self // other

    # ---- rounding: step functions, zero gradient -----------------------------------------------------------
    def floor(self) -> Tensor:
        return E.Rounding.apply(self, kind="floor")

    def ceil(self) -> Tensor:
        return E.Rounding.apply(self, kind="ceil")

    def round(self, *, decimals: int = 0) -> Tensor:
        return E.Rounding.apply(self, kind="round", decimals=decimals)

    def trunc(self) -> Tensor:
        return E.Rounding.apply(self, kind="trunc")

    fix = trunc

    def frac(self) -> Tensor:
        """a − trunc(a): ∂/∂a = 1."""
        return self - self.trunc()

    def floor_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.floor())

    def ceil_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.ceil())

    def round_(self, *, decimals: int = 0) -> Tensor:
        return self._inplace_unary(lambda t: t.round(decimals=decimals))

    def trunc_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.trunc())

    def sign_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.sign())

    # ---- fused-looking updates (hand-written optimizers call them) -----------------------------------------
    def addcmul(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        """self + value · tensor1 ⊙ tensor2."""
        return self + tensor1 * tensor2 * value if value != 1 else self + tensor1 * tensor2

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        """self + value · tensor1 ⊘ tensor2."""
        return self + tensor1 / tensor2 * value if value != 1 else self + tensor1 / tensor2

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        return self.add_(tensor1 * tensor2, alpha=value)

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        return self.add_(tensor1 / tensor2, alpha=value)

    def lerp_(self, end: Any, weight: Any) -> Tensor:
        return self._inplace_op(lambda t: t.lerp(end, weight), end, weight)

    # ---- views and rearrangements --------------------------------------------------------------------------
    def narrow(self, dim: int, start: Any, length: int) -> Tensor:
        """The view of ``length`` entries from ``start`` along ``dim`` (a negative start counts from the end)."""
        if self.ndim == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        d = _axis(dim, self.ndim)
        size = self.shape[d]
        start, length = _int(start, "start"), _int(length, "length")
        if not -size <= start <= size:
            raise IndexError(
                f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
            )
        if start < 0:
            start += size
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim: int, index: int) -> Tensor:
        """The slice at ``index`` along ``dim``, that dimension removed (``x.select(1, i)`` is ``x[:, i]``)."""
        if self.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        d = _axis(dim, self.ndim)
        size, index = self.shape[d], _int(index, "index")
        if not -size <= index < size:
            raise IndexError(
                f"select(): index {index} out of range for tensor of size {list(self.shape)} at dimension {d}"
            )
        return self[(slice(None),) * d + (index,)]

    def movedim(self, source: Any, destination: Any) -> Tensor:
        """The dimensions ``source`` moved to positions ``destination``, the others kept in order."""
        src = [_axis(s, self.ndim) for s in _dims((source,))]
        dst = [_axis(s, self.ndim) for s in _dims((destination,))]
        if len(src) != len(dst):
            raise RuntimeError(
                f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain the same "
                f"number of dims as destination ({list(dst)} dims)"
            )
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError("movedim: repeated dim in `source` or `destination`")
        order = [d for d in range(self.ndim) if d not in src]
        for s, d in sorted(zip(dst, src)):
            order.insert(s, d)
        return self.permute(*order)

    moveaxis = movedim

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        return self.transpose(dim0, dim1)

    def broadcast_to(self, size: Any) -> Tensor:
        return self.expand(*tuple(size))

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return (self != 0).sum(dim)

    def tile(self, *dims: Any) -> Tensor:
        """``repeat`` with ones prepended to ``dims`` when it has fewer entries than the tensor has dimensions."""
        reps = tuple(_dims(dims))
        return self.repeat(*((1,) * (self.ndim - len(reps)) + reps))

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """Every window of ``size`` entries along ``dimension``, ``step`` apart, as a new last dimension:
        shape (…, n, …, size) with n = ⌊(L − size) / step⌋ + 1 (a gather, so the gradient adds back overlaps)."""
        d = _axis(dimension, self.ndim)
        length = self.shape[d] if self.ndim else 1
        if size > length:
            raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
        if step <= 0:
            raise RuntimeError(f"step is {step} but must be > 0")
        n = (length - size) // step + 1
        xp = backend_of(self.array).xp
        index = (xp.arange(n)[:, None] * step + xp.arange(size)[None, :]).reshape(-1)
        windows = self.index_select(d, Tensor._wrap(index))  # (…, n·size, …)
        windows = windows.reshape(*self.shape[:d], n, size, *self.shape[d + 1 :])
        return windows.movedim(d + 1, -1)

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple:
        """Views split along ``dim``: into n nearly equal parts (the first ``L mod n`` one longer), or at the given
        indices (``x[:i0]``, ``x[i0:i1]``, …, ``x[ik:]``)."""
        d = _axis(dim, self.ndim)
        length = self.shape[d]
        if isinstance(indices_or_sections, int):
            n = indices_or_sections
            if n <= 0:
                raise RuntimeError(f"number of sections must be larger than 0, got {n}")
            sizes = [length // n + (1 if k < length % n else 0) for k in range(n)]
            cuts = [sum(sizes[:k]) for k in range(1, n)]
        else:
            cuts = [_int(i, "index") for i in indices_or_sections]
        bounds = [0, *[min(max(c if c >= 0 else c + length, 0), length) for c in cuts], length]
        prefix = (slice(None),) * d
        return tuple(self[prefix + (slice(lo, max(lo, hi)),)] for lo, hi in zip(bounds[:-1], bounds[1:]))

    def hsplit(self, sections: Any) -> tuple:
        return self.tensor_split(sections, 1 if self.ndim > 1 else 0)

    def vsplit(self, sections: Any) -> tuple:
        if self.ndim < 2:
            raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with "
                               f"{self.ndim} dimensions!")
        return self.tensor_split(sections, 0)

    def fmod(self, other: Any) -> Tensor:
        """The remainder with the sign of the dividend (C's fmod), where ``%`` takes the divisor's: ∂/∂self = 1."""
        divisor = other.array if hasattr(other, "array") else other
        xp = backend_of(self.array).xp
        if self.array.dtype.kind in "iu":
            return Tensor._wrap(xp.fmod(self.array, divisor))
        return self - (self / other).trunc() * other

    def cross(self, other: Any, dim: int | None = None) -> Tensor:
        """The vector product along ``dim`` (the first dimension of size 3 when None, as ``torch.cross``)."""
        if dim is None:
            dim = next((k for k, n in enumerate(self.shape) if n == 3), None)
            if dim is None:
                raise RuntimeError(f"no dimension of size 3 in input of shape {tuple(self.shape)}")
        d = _axis(dim, self.ndim)
        if self.shape[d] != 3 or other.shape[d] != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {d} must have length 3. Got {self.shape[d]} and "
                               f"{other.shape[d]}")
        a = [self.select(d, k) for k in range(3)]
        b = [other.select(d, k) for k in range(3)]
        parts = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
        from .functions import stack

        return stack(parts, d)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
        """Counts of the entries in ``bins`` equal bins over [min, max] (the data's range when both are 0);
        entries outside are ignored, the top edge belongs to the last bin."""
        xp = backend_of(self.array).xp
        data = self.array.reshape(-1)
        lo, hi = float(min), float(max)
        if lo == hi == 0 and data.size:
            lo, hi = float(data.min()), float(data.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        counts, _ = xp.histogram(data, bins=bins, range=(lo, hi))
        return Tensor._wrap(counts.astype(self.array.dtype))

    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """``(values, indices)``: the most frequent value along ``dim`` (the smallest of ties) and an index of it."""
        from . import return_types

        xp = backend_of(self.array).xp
        source = self.array if self.ndim else self.array.reshape(1)
        d = _axis(dim, source.ndim)
        moved = xp.moveaxis(source, d, -1)
        ordered = xp.sort(moved, axis=-1)
        n = ordered.shape[-1]
        same = ordered[..., 1:] == ordered[..., :-1]
        run = xp.zeros(ordered.shape, dtype="int64")
        for k in range(1, n):  # run[k]: how many equal values end at position k
            run[..., k] = xp.where(same[..., k - 1], run[..., k - 1] + 1, 0)
        best = xp.argmax(run, axis=-1)  # the first longest run: the smallest of tied values
        values = xp.take_along_axis(ordered, best[..., None], axis=-1)[..., 0]
        hits = moved == values[..., None]
        indices = (n - 1 - xp.argmax(hits[..., ::-1], axis=-1)).astype("int64")  # the last index of that value
        if keepdim and self.ndim:
            values, indices = xp.expand_dims(values, d), xp.expand_dims(indices, d)
        elif not self.ndim:
            values, indices = values.reshape(()), indices.reshape(())
        return return_types.mode(Tensor._wrap(values), Tensor._wrap(indices))

    # ---- reductions and special functions ------------------------------------------------------------------
    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Π of the entries (along ``dim``); integers and bools multiply as int64, as PyTorch."""
        source = self if dtype is None else self.to(dtype)
        if source.array.dtype.kind in "biu" and dtype is None:
            source = source.long()
        axis = None if dim is None else _axis(dim, self.ndim)
        return R.Prod.apply(source, axis=axis, keepdim=keepdim and dim is not None)

    def erf(self) -> Tensor:
        return E.Erf.apply(self)

    def erfinv(self) -> Tensor:
        return E.Erfinv.apply(self)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """NaN → ``nan``, +∞ → ``posinf`` (the dtype's largest by default), −∞ → ``neginf``; ∂ = 1 elsewhere, 0 there."""
        xp = backend_of(self.array).xp
        if self.array.dtype.kind not in "fc":
            return self.clone()
        info = xp.finfo(self.array.dtype)
        big = float(info.max) if posinf is None else posinf
        small = float(info.min) if neginf is None else neginf
        a = self.array
        replaced = self.where(Tensor._wrap(~xp.isnan(a)), nan)
        replaced = replaced.where(Tensor._wrap(~xp.isposinf(a)), big)
        return replaced.where(Tensor._wrap(~xp.isneginf(a)), small)

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        return _compare(lambda a, b: backend_of(a).xp.isclose(a, b, rtol, atol, equal_nan), self, other)

    def inner(self, other: Any) -> Tensor:
        """Σ_k self[…, k] · other[…, k] over the last dimension of both: shape self.shape[:-1] + other.shape[:-1]."""
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        left = self.reshape(-1, self.shape[-1])
        right = other.reshape(-1, other.shape[-1])
        return (left @ right.t()).reshape(*self.shape[:-1], *other.shape[:-1])

    def dist(self, other: Any, p: float = 2) -> Tensor:
        return (self - other).norm(p)

    # ---- random in-place fills and no-op memory placement --------------------------------------------------
    def bernoulli_(self, p: float = 0.5) -> Tensor:
        """Each entry 1 with probability ``p`` (a number or a tensor of probabilities), else 0."""
        self._check_inplace()
        prob = p.array if hasattr(p, "array") else p
        return self._random_fill(lambda backend: backend.generator.random(self.array.shape) < prob)

    def exponential_(self, lambd: float = 1.0) -> Tensor:
        self._check_inplace()
        return self._random_fill(lambda backend: backend.generator.exponential(1 / lambd, self.array.shape))

    def random_(self, low: int = 0, high: int | None = None) -> Tensor:
        """Integers uniform on [low, high) (``random_(high)`` for [0, high)), as PyTorch's ``random_``."""
        self._check_inplace()
        if high is None:
            low, high = 0, low
        return self._random_fill(lambda backend: backend.generator.integers(low, high, self.array.shape))

    def pin_memory(self, device: Any = None) -> Tensor:
        """No-op on the CPU (there is no separate page-locked memory to copy into); returns self."""
        return self

    def is_pinned(self, device: Any = None) -> bool:
        return False

    def share_memory_(self) -> Tensor:
        """No-op: worker processes of shenjing's DataLoader receive copies; returns self, as PyTorch does."""
        return self

    def is_shared(self) -> bool:
        return False

    # ---- dtype shorthands and layout queries ---------------------------------------------------------------
    def short(self) -> Tensor:
        return self.to("int16")

    def byte(self) -> Tensor:
        return self.to("uint8")

    def char(self) -> Tensor:
        return self.to("int8")

    def bfloat16(self) -> Tensor:
        raise TypeError(
            "bfloat16 is not supported: NumPy (shenjing's CPU array library) has no bfloat16 type; use "
            "x.half() (float16) or x.float()."
        )

    def nelement(self) -> int:
        return self.numel()

    def ndimension(self) -> int:
        return self.dim()

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return bool(self.array.flags.c_contiguous)

    def stride(self, dim: int | None = None) -> Any:
        """Steps in elements between neighbours along each dimension, as PyTorch (NumPy's strides are bytes)."""
        steps = tuple(s // self.array.itemsize for s in self.array.strides)
        return steps if dim is None else steps[_axis(dim, self.ndim)]


def _axis(dim: Any, ndim: int) -> int:
    """``dim`` (an int or a one-element integer tensor) as a positive axis, with PyTorch's IndexError."""
    (axis,) = R.normalize_axis(_int(dim, "dim"), ndim)
    return axis

