"""Reductions over axes (sum, mean, max/min, var, logsumexp): the gradient spreads back over what was reduced."""

from __future__ import annotations

from typing import Any

from ..autograd import Function


def normalize_axis(axis: Any, ndim: int) -> tuple | None:
    """``dim`` as PyTorch takes it (None, int, negative, tuple) as a sorted tuple of positive axes."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for ax in axes:
        if not -max(ndim, 1) <= ax < max(ndim, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, {max(ndim, 1) - 1}], "
                f"but got {ax})"
            )
        out.append(ax % max(ndim, 1))
    return tuple(sorted(out))


def _expand_back(grad: Any, shape: tuple, axes: tuple | None, keepdim: bool) -> Any:
    """Re-insert the reduced axes of ``grad`` (size 1) so it broadcasts against the input's ``shape``."""
    if keepdim or not shape:
        return grad
    if axes is None:
        return grad.reshape((1,) * len(shape))
    kept = list(shape)
    for ax in axes:
        kept[ax] = 1
    return grad.reshape(kept)


class Sum(Function):
    """out = Σᵢ aᵢ over ``axes``.   ∂out/∂aᵢ = 1."""

    def forward(self, a: Any, axes: tuple | None = None, keepdim: bool = False) -> Any:
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return a.sum(axis=axes, keepdims=keepdim)

    def backward(self, grad: Any) -> Any:
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        return self.xp.broadcast_to(grad, self.shape)


class Mean(Function):
    """out = (1/n) Σᵢ aᵢ over ``axes`` (n elements).   ∂out/∂aᵢ = 1/n."""

    def forward(self, a: Any, axes: tuple | None = None, keepdim: bool = False) -> Any:
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        out = a.mean(axis=axes, keepdims=keepdim)
        self.n = a.size // max(out.size, 1) if a.size else 0
        return out

    def backward(self, grad: Any) -> Any:
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        return self.xp.broadcast_to(grad / self.n, self.shape)


class Amax(Function):
    """out = max over ``axes``.   ∂out/∂aᵢ = 1/k for each of the k elements equal to the max, else 0.

    NOTE: ties share the gradient evenly, as PyTorch's ``max()``/``amax``; ``max(dim)`` returning indices
    instead sends it all to the first maximum (:class:`MaxAlong`).
    """

    def forward(self, a: Any, axes: tuple | None = None, keepdim: bool = False, minimum: bool = False) -> Any:
        out = a.min(axis=axes, keepdims=True) if minimum else a.max(axis=axes, keepdims=True)
        self.a, self.out_kept, self.axes, self.keepdim = a, out, axes, keepdim
        return out if keepdim else out.reshape(_drop_axes(a.shape, axes))

    def backward(self, grad: Any) -> Any:
        mask = self.a == self.out_kept
        count = mask.sum(axis=self.axes, keepdims=True)
        grad = _expand_back(grad, self.a.shape, self.axes, self.keepdim)
        return mask * (grad / count)


class MaxAlong(Function):
    """out = max along one ``axis``, with the index of the (first) maximum.   ∂out/∂a = 1 at that index."""

    def forward(self, a: Any, axis: int = 0, keepdim: bool = False, minimum: bool = False) -> Any:
        xp = self.xp
        indices = (a.argmin if minimum else a.argmax)(axis=axis)
        self.indices = xp.expand_dims(indices, axis)
        self.shape, self.axis, self.keepdim = a.shape, axis, keepdim
        out = xp.take_along_axis(a, self.indices, axis=axis)
        return out if keepdim else out.squeeze(axis)

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        if not self.keepdim:
            grad = xp.expand_dims(grad, self.axis)
        grad_a = xp.zeros(self.shape, dtype=grad.dtype)
        xp.put_along_axis(grad_a, self.indices, grad, axis=self.axis)
        return grad_a


class Var(Function):
    """out = Σᵢ (aᵢ − ā)² / (n − c) over ``axes``, c the correction (1: unbiased).

    ∂out/∂aᵢ = 2 (aᵢ − ā) / (n − c).
    """

    def forward(self, a: Any, axes: tuple | None = None, correction: float = 1, keepdim: bool = False) -> Any:
        mean = a.mean(axis=axes, keepdims=True)
        self.centered = a - mean
        self.n = a.size // max(mean.size, 1)
        self.divisor = max(self.n - correction, 0)
        self.axes, self.keepdim, self.shape = axes, keepdim, a.shape
        with _ignore_division_warnings(self.xp):
            return (self.centered * self.centered).sum(axis=axes, keepdims=keepdim) / self.divisor

    def backward(self, grad: Any) -> Any:
        grad = _expand_back(grad, self.shape, self.axes, self.keepdim)
        return grad * (2 / self.divisor) * self.centered


class LogSumExp(Function):
    """out = log Σᵢ e^aᵢ, computed as m + log Σᵢ e^(aᵢ − m) with m = max aᵢ (finite for logits of ±1e4).

    ∂out/∂aᵢ = e^(aᵢ − out) = softmax(a)ᵢ.
    """

    def forward(self, a: Any, axes: tuple | None = None, keepdim: bool = False) -> Any:
        xp = self.xp
        m = a.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # NOTE: all −inf rows give −inf, not nan
        out = xp.log(xp.exp(a - m).sum(axis=axes, keepdims=True)) + m
        self.a, self.out_kept, self.axes, self.keepdim = a, out, axes, keepdim
        return out if keepdim else out.reshape(_drop_axes(a.shape, axes))

    def backward(self, grad: Any) -> Any:
        grad = _expand_back(grad, self.a.shape, self.axes, self.keepdim)
        return grad * self.xp.exp(self.a - self.out_kept)


def _drop_axes(shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return ()
    return tuple(size for i, size in enumerate(shape) if i not in axes)


class _ignore_division_warnings:
    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def __enter__(self) -> None:
        self.state = self.xp.seterr(divide="ignore", invalid="ignore") if hasattr(self.xp, "seterr") else None

    def __exit__(self, *exc: object) -> None:
        if self.state is not None:
            self.xp.seterr(**self.state)


class Prod(Function):
    """out = Π_i a_i along ``axis`` (all of a when None).   ∂out/∂a_k = Π_{i≠k} a_i.

    The product of all but a_k is formed as (product of those before k) · (product of those after k), two
    running products, so a zero anywhere in the line gives the exact gradient (no division by a_k).
    """

    def forward(self, a: Any, axis: int | None = None, keepdim: bool = False) -> Any:
        self.shape, self.axis, self.keepdim = a.shape, axis, keepdim
        self.a = a
        return self.xp.prod(a, axis=axis, keepdims=keepdim)

    def backward(self, grad: Any) -> Any:
        xp, a, axis = self.xp, self.a, self.axis
        line = a.reshape(-1) if axis is None else xp.moveaxis(a, axis, -1)
        ones = xp.ones(line.shape[:-1] + (1,), dtype=a.dtype)
        before = xp.cumprod(xp.concatenate([ones, line[..., :-1]], axis=-1), axis=-1)
        after = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(line[..., 1:], -1)], axis=-1), axis=-1), -1)
        others = before * after  # Π_{i≠k} a_i for every k
        if axis is None:
            return (grad * others).reshape(self.shape)
        g = grad if self.keepdim else xp.expand_dims(grad, axis)
        return xp.moveaxis(others, -1, axis) * g
