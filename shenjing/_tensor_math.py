"""Tensor's arithmetic, comparison, element-wise, activation and reduction methods; the math is in ops/ and nn/."""

from __future__ import annotations

import operator
from typing import Any

from . import autograd, return_types
from ._tensor_base import _data, _legacy_alpha
from .backend import backend_of
from .ops import elementwise as E
from .ops import linalg as L
from .ops import reduce as R
from .ops.broadcast import promote

Tensor: Any = None  # the class these methods are a base of; set by tensor.py once it has made it


_activation_module = None


def _activations() -> Any:
    """``nn.activation``, imported on first use (it sits above tensor.py in the import order)."""
    global _activation_module
    if _activation_module is None:
        from .nn import activation

        _activation_module = activation
    return _activation_module


class Compare:
    """Not a Function: the name under which a tracer (shenjing.onnx) sees the unrecorded ops of :func:`_compare`."""


def _compare(op: Any, a: Any, b: Any) -> Tensor:
    """``op(a, b)`` on the arrays, unrecorded, in the dtype ``torch.result_type`` gives (comparisons, //, %).

    NOTE: x // 0 and x % 0 give inf / nan silently, as PyTorch (NumPy would warn: its error state is lifted)."""
    left, right = promote(_data(a), _data(b))
    array = left if hasattr(left, "dtype") and hasattr(left, "shape") else right
    arithmetic = op is operator.floordiv or op is operator.mod  # comparisons raise no floating-point errors
    errstate = getattr(backend_of(array).xp, "errstate", None) if arithmetic and hasattr(array, "shape") else None
    if errstate is None:
        out = Tensor._wrap(op(left, right))
    else:
        with errstate(divide="ignore", invalid="ignore"):
            out = Tensor._wrap(op(left, right))
    if autograd._grad_mode.tracer is not None:
        autograd._grad_mode.tracer(Compare, None, (a, b), {"op": op}, out)
    return out


class MathMethods:
    """Operators (``+``, ``@``, ``<`` ...), their named forms, element-wise functions and reductions."""

    __slots__ = ()

    # ---- arithmetic ---------------------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return E.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return E.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return E.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return E.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return E.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return E.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return E.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return E.Div.apply(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return E.Pow.apply(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return E.Pow.apply(other, self)

    def __neg__(self) -> Tensor:
        return E.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return E.Abs.apply(self)

    def __matmul__(self, other: Any) -> Tensor:
        return L.MatMul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return L.MatMul.apply(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return _compare(operator.floordiv, self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _compare(operator.floordiv, other, self)

    def __mod__(self, other: Any) -> Tensor:
        return _compare(operator.mod, self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _compare(operator.mod, other, self)

    # comparisons give bool tensors and record nothing
    # (compared in the promoted dtype of both, as PyTorch: torch.result_type)
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(operator.eq, self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(operator.ne, self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _compare(operator.lt, self, other)

    def __le__(self, other: Any) -> Tensor:
        return _compare(operator.le, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _compare(operator.gt, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _compare(operator.ge, self, other)

    def __invert__(self) -> Tensor:
        out = Tensor._wrap(~self.array)
        if autograd._grad_mode.tracer is not None:
            autograd._grad_mode.tracer(Compare, None, (self,), {"op": operator.invert}, out)
        return out

    def __and__(self, other: Any) -> Tensor:
        return _compare(operator.and_, self, other)

    def __rand__(self, other: Any) -> Tensor:
        return _compare(operator.and_, other, self)

    def __or__(self, other: Any) -> Tensor:
        return _compare(operator.or_, self, other)

    def __ror__(self, other: Any) -> Tensor:
        return _compare(operator.or_, other, self)

    def __xor__(self, other: Any) -> Tensor:
        return _compare(operator.xor, self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return _compare(operator.xor, other, self)

    def eq(self, other: Any) -> Tensor:
        return self == other

    def add(self, other: Any, alpha: float = 1) -> Tensor:
        other, alpha = _legacy_alpha("add", other, alpha)
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: float = 1) -> Tensor:
        other, alpha = _legacy_alpha("sub", other, alpha)
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any) -> Tensor:
        return self / other

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def mm(self, mat2: Any) -> Tensor:
        from .functions import mm

        return mm(self, mat2)

    def mv(self, vec: Any) -> Tensor:
        from .functions import mv

        return mv(self, vec)

    def dot(self, other: Any) -> Tensor:
        from .functions import dot

        return dot(self, other)

    def bmm(self, mat2: Any) -> Tensor:
        from .functions import bmm

        return bmm(self, mat2)

    def neg(self) -> Tensor:
        return -self

    def exp(self) -> Tensor:
        return E.Exp.apply(self)

    def log(self) -> Tensor:
        return E.Log.apply(self)

    def sqrt(self) -> Tensor:
        return E.Sqrt.apply(self)

    def rsqrt(self) -> Tensor:
        return 1 / E.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return E.Abs.apply(self)

    def sin(self) -> Tensor:
        return E.Sin.apply(self)

    def cos(self) -> Tensor:
        return E.Cos.apply(self)

    def square(self) -> Tensor:
        return E.Mul.apply(self, self)

    def reciprocal(self) -> Tensor:
        return 1 / self

    def sign(self) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.sign(self.array))

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return E.Clamp.apply(self, _data(min), _data(max))

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Tensor:  # noqa: A002
        return self.clamp(max=max)

    def maximum(self, other: Any) -> Tensor:
        return E.Maximum.apply(self, other)

    def minimum(self, other: Any) -> Tensor:
        return E.Minimum.apply(self, other)

    def where(self, condition: Any, other: Any) -> Tensor:
        return E.Where.apply(_data(condition), self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """self with ``value`` where the bool ``mask`` (broadcast with self) is True; the value takes self's dtype."""
        mask = _data(mask)
        if getattr(mask, "dtype", None) is None or mask.dtype.kind != "b":
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                               f"{getattr(mask, 'dtype', type(mask).__name__)}")
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                                   f"{value.ndim} dimension(s)")
            if value.dtype != self.dtype:
                value = value.to(self.dtype)
        elif self.array.dtype.kind != "f":
            value = backend_of(self.array).xp.asarray(value).astype(self.array.dtype)
        return E.Where.apply(mask, value, self)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return self + (end - self) * weight

    # activations live with their derivatives in nn/activation.py
    def sigmoid(self) -> Tensor:
        return _activations().sigmoid(self)

    def tanh(self) -> Tensor:
        return _activations().tanh(self)

    def relu(self) -> Tensor:
        return _activations().relu(self)

    def softmax(self, dim: int = -1) -> Tensor:
        return _activations().softmax(self, dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return _activations().log_softmax(self, dim)

    # ---- reductions ---------------------------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        source = self if dtype is None else self.to(dtype)
        if source.array.dtype.kind == "b":
            source = source.long()
        return R.Sum.apply(source, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        source = self if dtype is None else self.to(dtype)
        if source.array.dtype.kind not in "fc":
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
                f"dtype. Got: {source.dtype}. Convert with .float() first."
            )
        return R.Mean.apply(source, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim)

    def _extreme(self, dim: Any, keepdim: bool, minimum: bool) -> Any:
        """``max()``/``min()``: the whole extreme, ``(values, indices)`` along ``dim``, or element-wise."""
        if dim is None:
            return R.Amax.apply(self, axes=None, keepdim=False, minimum=minimum)
        if isinstance(dim, Tensor):  # max(other) is the element-wise maximum, as PyTorch
            return (E.Minimum if minimum else E.Maximum).apply(self, dim)
        (axis,) = R.normalize_axis(dim, self.ndim)
        result = return_types.min if minimum else return_types.max
        if self.ndim == 0:  # NOTE: a 0-d tensor is its own max along dim 0 or -1, at index 0
            xp = backend_of(self.array).xp
            return result(self.clone(), Tensor._wrap(xp.zeros((), dtype="int64")))
        values = R.MaxAlong.apply(self, axis=axis, keepdim=keepdim, minimum=minimum)
        xp = backend_of(self.array).xp
        picked = (self.array.argmin if minimum else self.array.argmax)(axis=axis)
        indices = xp.expand_dims(picked, axis) if keepdim else picked
        return result(values, Tensor._wrap(xp.asarray(indices, dtype="int64")))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The largest element, or ``(values, indices)`` along ``dim``, or the element-wise max with a tensor."""
        return self._extreme(dim, keepdim, minimum=False)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return self._extreme(dim, keepdim, minimum=True)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return R.Amax.apply(self, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim, minimum=False)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return R.Amax.apply(self, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim, minimum=True)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        return R.Var.apply(self, axes=R.normalize_axis(dim, self.ndim), correction=correction, keepdim=keepdim)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return R.LogSumExp.apply(self, axes=R.normalize_axis(dim, self.ndim), keepdim=keepdim)

    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
        if p == 2 or p == "fro":
            return (self * self).sum(dim, keepdim).sqrt()
        if p == 1:
            return self.abs().sum(dim, keepdim)
        if p == float("inf"):
            return self.abs().amax(dim, keepdim)
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg(dim, keepdim, "argmax")

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg(dim, keepdim, "argmin")

    def _arg(self, dim: Any, keepdim: bool, name: str) -> Tensor:
        data = self.array
        if dim is None:
            out = getattr(data.reshape(-1), name)()
            return Tensor._wrap(backend_of(data).xp.asarray(out).reshape((1,) * data.ndim if keepdim else ()))
        out = getattr(data, name)(axis=dim, keepdims=keepdim)
        return Tensor._wrap(out)

    def all(self, dim: Any = None) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.asarray(self.array.all(axis=dim)))

    def any(self, dim: Any = None) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.asarray(self.array.any(axis=dim)))
