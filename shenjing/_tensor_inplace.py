"""Tensor's in-place methods (``x += y``, ``add_``, ``zero_``, ``scatter_`` ...), recorded inside a graph."""

from __future__ import annotations

from typing import Any

from . import autograd
from ._tensor_base import _data, _inplace_graph, _inplace_ops, _legacy_alpha
from .backend import backend_of
from .ops import elementwise as E

Tensor: Any = None  # the class these methods are a base of; set by tensor.py once it has made it


class InplaceMethods:
    """The ``x.f_()`` methods and augmented assignment (``x += y``)."""

    __slots__ = ()

    # ---- in-place updates ---------------------------------------------------------------------------------
    # Outside a graph (no_grad, or nothing requires grad) they write the array directly: initialisation and
    # optimizers. Inside one they are recorded (see shenjing/autograd/inplace.py). Each bumps ``_version``.
    def _inplace(self, op: Any, other: Any, method: str) -> Tensor:
        """``x op= y``: in place, as PyTorch. Inside a graph the write is recorded (x moves onto a new node)."""
        if autograd._grad_mode.enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            return _inplace_graph(self, lambda old: op.apply(old, old if other is self else other))
        getattr(self.array, method)(_data(other))
        autograd.bump_version(self.array)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(E.Add, other, "__iadd__")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(E.Sub, other, "__isub__")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(E.Mul, other, "__imul__")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(E.Div, other, "__itruediv__")

    def _check_inplace(self) -> None:
        if self.requires_grad and self._ctx is None and autograd.is_grad_enabled():
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. Wrap the update in "
                "`with shenjing.no_grad():`."
            )

    def _in_graph(self, *others: Any) -> bool:
        return autograd._grad_mode.enabled and (
            self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)
        )

    def _inplace_unary(self, fn: Any) -> Tensor:
        """``x.f_()`` for an element-wise ``f``: recorded inside a graph, a plain write outside."""
        if self._in_graph():
            return _inplace_graph(self, fn)
        self.array[...] = fn(Tensor._wrap(self.array)).array
        autograd.bump_version(self.array)
        return self

    def _fill_with(self, value: Any) -> Tensor:
        if self._in_graph(value):
            return _inplace_graph(self, lambda old: _inplace_ops().Fill.apply(old, value))
        self.array[...] = _data(value)
        autograd.bump_version(self.array)
        return self

    def zero_(self) -> Tensor:
        return self._fill_with(0)

    def fill_(self, value: Any) -> Tensor:
        return self._fill_with(value)

    def copy_(self, source: Any, non_blocking: bool = False) -> Tensor:
        if self._in_graph(source):
            if isinstance(source, Tensor) and source.device != self.device:
                source = source.to(self.device)
            return _inplace_graph(self, lambda old: _inplace_ops().Copy.apply(old, source))
        src = _data(source)
        if not isinstance(src, backend_of(self.array).array_types):
            src = backend_of(self.array).from_host(backend_of(src).to_host(src)) if hasattr(src, "shape") else src
        self.array[...] = src
        autograd.bump_version(self.array)
        return self

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        other, alpha = _legacy_alpha("add_", other, alpha)
        if self._in_graph(other):
            return _inplace_graph(self, lambda old: E.Add.apply(old, other if alpha == 1 else other * alpha))
        self.array += _data(other) * alpha if alpha != 1 else _data(other)
        autograd.bump_version(self.array)
        return self

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        other, alpha = _legacy_alpha("sub_", other, alpha)
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> Tensor:
        if self._in_graph(other):
            return _inplace_graph(self, lambda old: E.Mul.apply(old, old if other is self else other))
        self.array *= _data(other)
        autograd.bump_version(self.array)
        return self

    def div_(self, other: Any) -> Tensor:
        if self._in_graph(other):
            return _inplace_graph(self, lambda old: E.Div.apply(old, old if other is self else other))
        self.array /= _data(other)
        autograd.bump_version(self.array)
        return self

    def pow_(self, exponent: Any) -> Tensor:
        if self._in_graph(exponent):
            return _inplace_graph(self, lambda old: E.Pow.apply(old, exponent))
        self.array **= _data(exponent)
        autograd.bump_version(self.array)
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        if self._in_graph():
            return _inplace_graph(self, lambda old: old.clamp(min, max))
        backend_of(self.array).xp.clip(self.array, _data(min), _data(max), out=self.array)
        autograd.bump_version(self.array)
        return self

    clip_ = clamp_

    def clamp_min_(self, min: Any) -> Tensor:  # noqa: A002
        return self.clamp_(min=min)

    def clamp_max_(self, max: Any) -> Tensor:  # noqa: A002
        return self.clamp_(max=max)

    def neg_(self) -> Tensor:
        return self._inplace_unary(lambda t: -t)

    def abs_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.abs())

    def exp_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.exp())

    def log_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.log())

    def sqrt_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.sqrt())

    def sin_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.sin())

    def cos_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.cos())

    def relu_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.relu())

    def sigmoid_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.sigmoid())

    def tanh_(self) -> Tensor:
        return self._inplace_unary(lambda t: t.tanh())

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return self._inplace_op(lambda t: t.masked_fill(mask, value), value)  # masked_fill checks mask and value

    def _random_fill(self, sample: Any) -> Tensor:
        values = sample(backend_of(self.array)).astype(self.array.dtype)
        if self._in_graph():
            return _inplace_graph(self, lambda old: _inplace_ops().Fill.apply(old, values))
        self.array[...] = values
        autograd.bump_version(self.array)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        self._check_inplace()
        return self._random_fill(lambda backend: backend.generator.uniform(a, b, size=self.array.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        self._check_inplace()
        return self._random_fill(lambda backend: backend.generator.normal(mean, std, size=self.array.shape))

    def _inplace_op(self, compute: Any, *others: Any) -> Tensor:
        """``x.f_(...)``: ``compute(x)`` (an out-of-place op) becomes x's value; inside a graph x moves onto the
        new node (``autograd.inplace.rebase``, version-counted) while earlier consumers keep its old history."""
        self._check_inplace()
        tracked = autograd.is_grad_enabled() and (
            self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others))
        if not tracked:
            out = compute(self)
            self._check_inplace_result(out)
            self.array[...] = out.array
            autograd.bump_version(self.array)
            return self

        def checked(old: Tensor) -> Tensor:
            out = compute(old)
            self._check_inplace_result(out)
            return out

        return _inplace_graph(self, checked)

    def _check_inplace_result(self, out: Tensor) -> None:
        if out.shape != self.shape:
            raise RuntimeError(
                f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(out.shape)}")
        if out.array.dtype != self.array.dtype:
            raise RuntimeError(f"result type {out.dtype} can't be cast to the desired output type {self.dtype}")

    def scatter_(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                 reduce: str | None = None) -> Tensor:
        return self._inplace_op(lambda t: t.scatter(dim, index, src, value=value, reduce=reduce), src)

    def scatter_add_(self, dim: int, index: Any, src: Any) -> Tensor:
        return self._inplace_op(lambda t: t.scatter_add(dim, index, src), src)

    def scatter_reduce_(self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> Tensor:
        return self._inplace_op(lambda t: t.scatter_reduce(dim, index, src, reduce, include_self=include_self), src)

    def index_add_(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        return self._inplace_op(lambda t: t.index_add(dim, index, source, alpha=alpha), source)

    def tril_(self, diagonal: int = 0) -> Tensor:
        return self._inplace_op(lambda t: t.tril(diagonal))

    def triu_(self, diagonal: int = 0) -> Tensor:
        return self._inplace_op(lambda t: t.triu(diagonal))

    def index_fill_(self, dim: int, index: Any, value: Any) -> Tensor:
        return self._inplace_op(lambda t: t.index_fill(dim, index, value), value)
