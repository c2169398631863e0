"""In-place forms of ``_tensor_math_more.py``'s math (``x.acos_()``, ``x.atan2_(y)``, ``x.eq_(y)``, ...) and the
in-place view changes (``squeeze_``, ``unsqueeze_``, ``t_``, ``transpose_``): recorded inside a graph, a plain
write outside, the version bumped, PyTorch's errors for a leaf that requires grad."""

from __future__ import annotations

import operator
from typing import Any

from . import autograd
from ._tensor_base import _data, _inplace_graph
from .backend import backend_of
from .ops import elementwise_more as M
from .ops.broadcast import promote

Tensor: Any = None  # the class these methods are a base of; set by tensor.py once it has made it


class InplaceMoreMethods:
    """The ``x.f_()`` forms of the math in ``_tensor_math_more.py`` and the in-place view changes."""

    __slots__ = ()

    # ---- in-place view changes: a new shape for the same tensor object -----------------------------------------
    def _inplace_view(self, make: Any) -> Tensor:
        """``self`` becomes ``make(self)`` (a view); inside a graph it moves onto the view's node, as PyTorch."""
        self._check_inplace()
        if self._in_graph():
            from .autograd.inplace import _live_base

            base = _live_base(self)
            if base is not None and base.requires_grad and base._ctx is None:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation. Take the view of a copy (x.clone()) or work under shenjing.no_grad().")
            old = autograd._alias(self, self.array)  # the old place in the graph, as a separate tensor
            new = make(old)
            self.array, self._ctx = new.array, new._ctx
        else:
            self.array = make(Tensor._wrap(self.array)).array
        autograd.bump_version(self.array)
        return self

    def squeeze_(self, dim: Any = None) -> Tensor:
        return self._inplace_view(lambda t: t.squeeze(dim))

    def unsqueeze_(self, dim: int) -> Tensor:
        return self._inplace_view(lambda t: t.unsqueeze(dim))

    def t_(self) -> Tensor:
        return self._inplace_view(lambda t: t.t())

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        return self._inplace_view(lambda t: t.transpose(dim0, dim1))

    swapaxes_ = swapdims_ = transpose_

    # ---- in-place forms of comparisons and logic: 0/1 in self's dtype, gradient 0 (recorded, as PyTorch) -------
    def _compare_(self, op: Any, other: Any = None) -> Tensor:
        def compute(t: Tensor) -> Tensor:
            if other is None:
                return M.Compared.apply(t, op=op)
            return M.Compared.apply(t, other, op=op)

        self._check_inplace()
        if self._in_graph(other):
            return _inplace_graph(self, compute)
        xp = backend_of(self.array).xp
        left, right = (self.array, None) if other is None else promote(self.array, _data(other))
        self.array[...] = xp.asarray(op(left) if other is None else op(left, right))
        autograd.bump_version(self.array)
        return self

    def eq_(self, other: Any) -> Tensor:
        return self._compare_(operator.eq, other)

    def ne_(self, other: Any) -> Tensor:
        return self._compare_(operator.ne, other)

    def lt_(self, other: Any) -> Tensor:
        return self._compare_(operator.lt, other)

    def le_(self, other: Any) -> Tensor:
        return self._compare_(operator.le, other)

    def gt_(self, other: Any) -> Tensor:
        return self._compare_(operator.gt, other)

    def ge_(self, other: Any) -> Tensor:
        return self._compare_(operator.ge, other)

    greater_, greater_equal_, less_, less_equal_, not_equal_ = gt_, ge_, lt_, le_, ne_

    def logical_and_(self, other: Any) -> Tensor:
        return self._compare_(backend_of(self.array).xp.logical_and, other)

    def logical_or_(self, other: Any) -> Tensor:
        return self._compare_(backend_of(self.array).xp.logical_or, other)

    def logical_xor_(self, other: Any) -> Tensor:
        return self._compare_(backend_of(self.array).xp.logical_xor, other)

    def logical_not_(self) -> Tensor:
        return self._compare_(backend_of(self.array).xp.logical_not)

    # ---- other in-place forms with arguments ----------------------------------------------------------------
    def float_power_(self, exponent: Any) -> Tensor:
        if self.array.dtype != "float64":
            raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype} but the operation's result "
                               f"requires dtype float64")
        return self._inplace_op(lambda t: t.float_power(exponent), exponent)

    def multiply_(self, other: Any) -> Tensor:
        return self.mul_(other)

    def subtract_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return self.sub_(other, alpha=alpha)

    def true_divide_(self, other: Any) -> Tensor:
        return self.div_(other)

    def divide_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return self.div_(other)
        return self._inplace_op(lambda t: t.divide(other, rounding_mode=rounding_mode), other)

    def remainder_(self, other: Any) -> Tensor:
        return self._inplace_op(lambda t: t.remainder(other), other)


def _inplace_form(name: str) -> Any:
    """``x.name_(*args)``: ``x.name(*args)`` written into x (``Tensor._inplace_op``: recorded inside a graph, a
    plain write outside, the version bumped, PyTorch's errors for a leaf that requires grad and for a result
    whose dtype x cannot hold)."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._inplace_op(lambda t: getattr(t, name)(*args, **kwargs), *args, *kwargs.values())

    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"In-place :meth:`Tensor.{name}`: ``x.{name}_(...)`` writes ``x.{name}(...)`` into x."
    return method


_INPLACE_FORMS = (
    "acos asin atan tan sinh cosh asinh acosh atanh arccos arcsin arctan arcsinh arccosh arctanh deg2rad rad2deg "
    "log2 log10 log1p expm1 exp2 logit sinc erfc lgamma digamma polygamma sgn negative absolute "
    "atan2 arctan2 hypot xlogy copysign heaviside "
    "reciprocal rsqrt square erf erfinv frac fix fmod floor_divide nan_to_num "
    "bitwise_and bitwise_or bitwise_xor bitwise_not"
).split()
for _name in _INPLACE_FORMS:
    setattr(InplaceMoreMethods, f"{_name}_", _inplace_form(_name))
del _name


