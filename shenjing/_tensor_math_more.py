"""More of ``torch.Tensor``'s math: inverse/hyperbolic trig, logs, gamma functions, atan2 / logaddexp / xlogy, the
NaN-ignoring reductions, cummax / logcumsumexp, kron, predicates and memory queries (``nbytes``, ``data_ptr``);
their in-place ``x.f_()`` forms are in ``_tensor_inplace_more.py``. The Functions are in ``ops/elementwise_more.py``;
``FUNCTION_NAMES`` and ``FUNCTIONS`` give their ``shenjing.f(x, ...)`` forms.
"""

from __future__ import annotations

from typing import Any

from . import autograd, return_types
from ._tensor_base import _data, _dims
from ._tensor_math import _compare
from .backend import backend_of
from .ops import elementwise as E
from .ops import elementwise_more as M
from .ops import reduce as R
from .ops import scans

Tensor: Any = None  # the class these methods are a base of; set by tensor.py once it has made it


def _axis(dim: int, ndim: int) -> int:
    (axis,) = R.normalize_axis(dim, ndim)
    return axis


def _trunc_divide(a: Any, b: Any) -> Any:
    """Integer a / b rounded toward zero (C's division), from the floor division NumPy and CuPy give."""
    quotient = a // b
    return quotient + ((a % b != 0) & ((a < 0) != (b < 0)))


class MathMoreMethods:
    """Element-wise math beyond ``_tensor_math.py``, scans and predicates."""

    __slots__ = ()

    # ---- unary, differentiable (ints and bools compute in the default float dtype, as PyTorch) ---------------
    def acos(self) -> Tensor:
        return M.Acos.apply(self)

    def asin(self) -> Tensor:
        return M.Asin.apply(self)

    def atan(self) -> Tensor:
        return M.Atan.apply(self)

    def tan(self) -> Tensor:
        return M.Tan.apply(self)

    def sinh(self) -> Tensor:
        return M.Sinh.apply(self)

    def cosh(self) -> Tensor:
        return M.Cosh.apply(self)

    def asinh(self) -> Tensor:
        return M.Asinh.apply(self)

    def acosh(self) -> Tensor:
        return M.Acosh.apply(self)

    def atanh(self) -> Tensor:
        return M.Atanh.apply(self)

    arccos, arcsin, arctan, arcsinh, arccosh, arctanh = acos, asin, atan, asinh, acosh, atanh

    def deg2rad(self) -> Tensor:
        return M.Deg2rad.apply(self)

    def rad2deg(self) -> Tensor:
        return M.Rad2deg.apply(self)

    def log2(self) -> Tensor:
        return M.Log2.apply(self)

    def log10(self) -> Tensor:
        return M.Log10.apply(self)

    def log1p(self) -> Tensor:
        return M.Log1p.apply(self)

    def expm1(self) -> Tensor:
        return M.Expm1.apply(self)

    def exp2(self) -> Tensor:
        return M.Exp2.apply(self)

    def logit(self, eps: float | None = None) -> Tensor:
        """ln(p/(1 − p)), p clamped to [eps, 1 − eps] first when ``eps`` is given (gradient 0 where it is)."""
        return M.Logit.apply(self, eps=eps)

    def sinc(self) -> Tensor:
        """sin(πx)/(πx), the normalised sinc (1 at 0)."""
        return M.Sinc.apply(self)

    def erfc(self) -> Tensor:
        return M.Erfc.apply(self)

    def lgamma(self) -> Tensor:
        """ln |Γ(x)|."""
        return M.Lgamma.apply(self)

    def digamma(self) -> Tensor:
        """ψ(x) = d/dx ln Γ(x) (−∞ at 0, nan at the negative integers, as PyTorch)."""
        return M.Polygamma.apply(self, n=0)

    def polygamma(self, n: int) -> Tensor:
        """ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function."""
        if not isinstance(n, int) or n < 0:
            raise RuntimeError(f"polygamma(n, x) does not support negative n, got n={n!r}")
        return M.Polygamma.apply(self, n=n)

    def sgn(self) -> Tensor:
        """sign(x) for real tensors, in their dtype (gradient 0)."""
        return M.Sgn.apply(self)

    def negative(self) -> Tensor:
        if self.array.dtype.kind == "b":
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                               "invert a mask, use the `~` or `logical_not()` operator instead.")
        return -self

    def positive(self) -> Tensor:
        """``self`` itself, as PyTorch (not a copy)."""
        if self.array.dtype.kind == "b":
            raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
        return self

    def absolute(self) -> Tensor:
        return self.abs()

    # ---- binary, differentiable -------------------------------------------------------------------------------
    def atan2(self, other: Any) -> Tensor:
        """The angle of the point (other, self), in (−π, π]."""
        return M.Atan2.apply(self, other)

    arctan2 = atan2

    def hypot(self, other: Any) -> Tensor:
        return M.Hypot.apply(self, other)

    def logaddexp(self, other: Any) -> Tensor:
        """ln(eˣ + eʸ), without overflow."""
        return M.LogAddExp.apply(self, other)

    def logaddexp2(self, other: Any) -> Tensor:
        return M.LogAddExp2.apply(self, other)

    def xlogy(self, other: Any) -> Tensor:
        """x · ln y, 0 where x = 0."""
        return M.Xlogy.apply(self, other)

    def copysign(self, other: Any) -> Tensor:
        return M.Copysign.apply(self, other)

    def float_power(self, exponent: Any) -> Tensor:
        """selfᵉˣᵖᵒⁿᵉⁿᵗ computed in float64 (both operands cast first), as ``torch.float_power``."""
        return _float_power(self, exponent)

    def fmax(self, other: Any) -> Tensor:
        """The element-wise maximum, ignoring a nan on one side (``maximum`` propagates it)."""
        return M.Fmax.apply(self, other)

    def fmin(self, other: Any) -> Tensor:
        return M.Fmin.apply(self, other)

    def true_divide(self, other: Any) -> Tensor:
        return self / other

    def multiply(self, other: Any) -> Tensor:
        return self * other

    def subtract(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return self.sub(other, alpha=alpha)

    def divide(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """self / other; ``rounding_mode`` "trunc" rounds the quotient toward zero, "floor" down (gradient 0)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode != "trunc":
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                               f"'{rounding_mode}'")
        other_dtype = getattr(_data(other), "dtype", None)
        other_integer = other_dtype.kind in "biu" if other_dtype is not None else isinstance(other, int)
        integers = self.array.dtype.kind in "biu" and other_integer
        return _compare(_trunc_divide, self, other) if integers else (self / other).trunc()

    # ---- predicates and non-differentiable element-wise results ---------------------------------------------
    def signbit(self) -> Tensor:
        """Whether the sign bit is set (True for −0.0 too)."""
        return Tensor._wrap(backend_of(self.array).xp.signbit(self.array))

    def heaviside(self, values: Any) -> Tensor:
        """0 where self < 0, ``values`` where self = 0, 1 where self > 0 (in self's dtype)."""
        v = _data(values)
        if getattr(v, "dtype", self.array.dtype) != self.array.dtype:
            raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
        xp = backend_of(self.array).xp
        a = self.array
        return Tensor._wrap(xp.where(a == 0, v, a > 0).astype(a.dtype))

    def isposinf(self) -> Tensor:
        xp = backend_of(self.array).xp
        a = self.array
        return Tensor._wrap(xp.isposinf(a) if a.dtype.kind == "f" else xp.zeros(a.shape, dtype=bool))

    def isneginf(self) -> Tensor:
        xp = backend_of(self.array).xp
        a = self.array
        return Tensor._wrap(xp.isneginf(a) if a.dtype.kind == "f" else xp.zeros(a.shape, dtype=bool))

    def isreal(self) -> Tensor:
        """True where the imaginary part is 0 (everywhere, for real tensors)."""
        xp = backend_of(self.array).xp
        a = self.array
        return Tensor._wrap(a.imag == 0 if a.dtype.kind == "c" else xp.ones(a.shape, dtype=bool))

    def is_complex(self) -> bool:
        return self.array.dtype.kind == "c"

    def is_signed(self) -> bool:
        """Whether the dtype holds negative numbers (False for bool and uint8)."""
        return self.array.dtype.kind in "ifc"

    def is_nonzero(self) -> bool:
        """The value of a one-element tensor as a bool; RuntimeError for any other size, as PyTorch."""
        size = self.array.size
        if size == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        if size > 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item() != 0)

    def is_same_size(self, other: Tensor) -> bool:
        return tuple(self.shape) == tuple(other.shape)

    def is_inference(self) -> bool:
        """Always False: tensors made under ``inference_mode`` are ordinary tensors here."""
        return False

    def allclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        from .functions import allclose

        return allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Tensor) -> bool:
        from .functions import equal

        return equal(self, other)

    # ---- reductions, scans and rearrangements (compositions of recorded ops unless said otherwise) -------------
    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Σ over the entries that are not nan (nan counted as 0)."""
        source = self
        if self.array.dtype.kind in "fc":
            source = self.masked_fill(Tensor._wrap(backend_of(self.array).xp.isnan(self.array)), 0)
        return source.sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The mean of the entries that are not nan (nan where all are)."""
        if self.array.dtype.kind not in "fc":
            raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                               f"{self.dtype}")
        kept = Tensor._wrap(~backend_of(self.array).xp.isnan(self.array))
        count = kept.sum(dim, keepdim).to(self.dtype if dtype is None else dtype)
        return self.nansum(dim, keepdim, dtype=dtype) / count

    def _cumulative_extreme(self, dim: int, minimum: bool) -> Any:
        result = return_types.return_type("cummin" if minimum else "cummax")
        xp = backend_of(self.array).xp
        if self.ndim == 0:
            _axis(dim, 1)  # PyTorch's IndexError for a bad dim
            return result(self.clone(), Tensor._wrap(xp.zeros((), dtype="int64")))
        axis = _axis(dim, self.ndim)
        _, indices = scans.running_extreme(xp, self.array, axis, minimum)
        return result(scans.TakeAlong.apply(self, index=indices, axis=axis), Tensor._wrap(indices))

    def cummax(self, dim: int) -> Any:
        """``(values, indices)``: the running maximum along ``dim`` and where it was found (the latest of ties)."""
        return self._cumulative_extreme(dim, minimum=False)

    def cummin(self, dim: int) -> Any:
        return self._cumulative_extreme(dim, minimum=True)

    def logcumsumexp(self, dim: int) -> Tensor:
        """out_k = ln Σ_{i≤k} e^(x_i) along ``dim``, without overflow."""
        if self.ndim == 0:
            _axis(dim, 1)
            return self.clone() if self.array.dtype.kind in "fc" else self.float()
        source = self if self.array.dtype.kind in "fc" else self.float()
        return scans.LogCumSumExp.apply(source, axis=_axis(dim, self.ndim))

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> Any:
        """``(min, max)`` in one call, as a named tuple."""
        return return_types.aminmax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
        """The n-th forward difference along ``dim``: out_k = x_{k+1} − x_k, ``n`` times (xor for bools);
        ``prepend`` / ``append`` are joined on first."""
        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        d = _axis(dim, self.ndim)
        x = self
        if prepend is not None or append is not None:
            from .functions import cat

            parts = [p if p.ndim else p.expand(*self.shape[:d], 1, *self.shape[d + 1:])
                     for p in (prepend, self, append) if p is not None]
            x = cat(parts, d)
        before, after = (slice(None),) * d + (slice(None, -1),), (slice(None),) * d + (slice(1, None),)
        for _ in range(n):
            x = x[after] != x[before] if x.array.dtype.kind == "b" else x[after] - x[before]
        return x

    def ravel(self) -> Tensor:
        return self.reshape(-1)

    def fliplr(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self) -> Tensor:
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    def rot90(self, k: int = 1, dims: Any = (0, 1)) -> Tensor:
        """Rotated by 90° k times in the plane ``dims``, from the first axis toward the second."""
        dims = list(dims)
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
        d0, d1 = _axis(dims[0], self.ndim), _axis(dims[1], self.ndim)
        if d0 == d1:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
        k %= 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip(d0, d1)
        if k == 3:
            return self.flip(d0).transpose(d0, d1)
        return self.clone()

    def vdot(self, other: Tensor) -> Tensor:
        """Σ conj(self_i) · other_i over two 1-D tensors of equal length (real tensors: the dot product)."""
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and src "
                               f"[{other.shape[0]}] to have the same number of elements, but got {self.shape[0]} "
                               f"and {other.shape[0]} elements respectively")
        return (self * other).sum()

    def kron(self, other: Tensor) -> Tensor:
        """The Kronecker product: out[i·m + j] = self[i] · other[j] along every dimension (the shapes' products)."""
        ndim = max(self.ndim, other.ndim)
        a_shape = (1,) * (ndim - self.ndim) + tuple(self.shape)
        b_shape = (1,) * (ndim - other.ndim) + tuple(other.shape)
        a = self.reshape(tuple(s for n in a_shape for s in (n, 1)))  # (a₀, 1, a₁, 1, …)
        b = other.reshape(tuple(s for n in b_shape for s in (1, n)))  # (1, b₀, 1, b₁, …)
        return (a * b).reshape(tuple(p * q for p, q in zip(a_shape, b_shape)))

    def split_with_sizes(self, split_sizes: Any, dim: int = 0) -> tuple:
        sizes = [int(s) for s in split_sizes]
        length = self.shape[_axis(dim, self.ndim)]
        if sum(sizes) != length:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {length} (input tensor's "
                               f"size at dimension {dim}), but got split_sizes={sizes}")
        return self.split(sizes, dim)

    def sum_to_size(self, *size: Any) -> Tensor:
        """Summed down to ``size``, a shape ``self`` broadcasts from (the reverse of ``expand``)."""
        size = tuple(_dims(size))
        shape = tuple(self.shape)
        lead = len(shape) - len(size)
        if lead < 0 or any(s != n and s != 1 for s, n in zip(size, shape[lead:])):
            raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
        out = self.sum(tuple(range(lead))) if lead else self
        axes = tuple(i for i, (s, n) in enumerate(zip(size, shape[lead:])) if s == 1 and n != 1)
        return out.sum(axes, keepdim=True) if axes else out

    # ---- memory and placement queries -----------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)

    @property
    def itemsize(self) -> int:
        return int(self.array.itemsize)

    def data_ptr(self) -> int:
        """The address of the first element (NumPy's or CuPy's array data pointer)."""
        return autograd._address(self.array)

    def storage_offset(self) -> int:
        """Elements between the start of the memory this tensor views and its first element."""
        root = autograd._root(self.array)
        return (autograd._address(self.array) - autograd._address(root)) // self.array.itemsize

    def get_device(self) -> int:
        """-1 for a CPU tensor, the GPU's index otherwise."""
        device = self.device
        return -1 if device.type == "cpu" else device.index or 0

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        return bool(getattr(self, "_retains_grad", False)) and self._ctx is not None


def _float_power(base: Any, exponent: Any) -> Tensor:
    def as_float64(x: Any) -> Any:
        if isinstance(x, Tensor):
            return x.to("complex128" if x.array.dtype.kind == "c" else "float64")
        return x if isinstance(x, complex) else float(x)

    return E.Pow.apply(as_float64(base), as_float64(exponent))


def polygamma(n: int, input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's names
    """ψ⁽ⁿ⁾(input), as ``torch.polygamma(n, input)`` (n first)."""
    return input.polygamma(n)


def xlogy(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input · ln other, 0 where input = 0; either may be a Python number."""
    return M.Xlogy.apply(input, other)


def float_power(input: Any, exponent: Any) -> Tensor:  # noqa: A002
    """input ** exponent in float64; either may be a Python number."""
    return _float_power(input, exponent)


# ``shenjing.f(x, ...)`` forms (functions.py makes ``x.f(...)`` of each name in FUNCTION_NAMES; FUNCTIONS are the
# ones whose first argument is not the tensor, or may be a number)
FUNCTIONS = {"polygamma": polygamma, "xlogy": xlogy, "float_power": float_power}
FUNCTION_NAMES = (
    "acos asin atan tan sinh cosh asinh acosh atanh arccos arcsin arctan arcsinh arccosh arctanh deg2rad rad2deg "
    "log2 log10 log1p expm1 exp2 logit sinc erfc lgamma digamma sgn negative positive absolute reciprocal "
    "atan2 arctan2 hypot logaddexp logaddexp2 copysign fmax fmin true_divide multiply subtract divide "
    "signbit heaviside isposinf isneginf isreal is_complex is_signed is_nonzero is_same_size is_inference "
    "nansum nanmean cummax cummin logcumsumexp aminmax diff ravel fliplr flipud rot90 vdot kron split_with_sizes "
    "get_device "
    "acos_ asin_ atan_ tan_ sinh_ cosh_ asinh_ acosh_ atanh_ arccos_ arcsin_ arctan_ arcsinh_ arccosh_ arctanh_ "
    "deg2rad_ rad2deg_ log2_ log10_ log1p_ expm1_ exp2_ logit_ sinc_ erfc_ negative_ xlogy_ reciprocal_ rsqrt_ "
    "square_ erf_ frac_ fix_ nan_to_num_ exp_ log_ sqrt_ sin_ cos_ abs_ neg_ clamp_"
).split() + list(FUNCTIONS)
