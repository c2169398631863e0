"""Shape ops (reshape, permute, expand, index, cat, stack, pad): they move values, so the gradient moves back."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from .broadcast import unbroadcast


class Reshape(Function):
    """out = a viewed with a new shape.   ∂L/∂a = ∂L/∂out reshaped back."""

    def forward(self, a: Any, shape: tuple = ()) -> Any:
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, grad: Any) -> Any:
        return grad.reshape(self.shape)


class Permute(Function):
    """out = a with axes reordered by ``dims``.   ∂L/∂a = ∂L/∂out with the inverse permutation."""

    def forward(self, a: Any, dims: tuple = ()) -> Any:
        self.dims = dims
        return a.transpose(dims)

    def backward(self, grad: Any) -> Any:
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return grad.transpose(inverse)


class Expand(Function):
    """out = a broadcast to ``shape``.   ∂L/∂a = ∂L/∂out summed over the broadcast axes."""

    def forward(self, a: Any, shape: tuple = ()) -> Any:
        self.shape = a.shape
        return self.xp.broadcast_to(a, shape)

    def backward(self, grad: Any) -> Any:
        return unbroadcast(grad, self.shape)


def is_basic_index(index: Any) -> bool:
    """True when ``index`` only slices (ints, slices, None, ...): then no element is picked twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, int | slice) or i is None or i is Ellipsis for i in items)


class Index(Function):
    """out = a[index].   ∂L/∂a = zeros with ∂L/∂out scattered back to the picked places.

    NOTE: with integer-array indices a place can be picked more than once; its gradient is then the sum
    over the picks (a scatter-add), not the last one.
    """

    def forward(self, a: Any, index: Any = None) -> Any:
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, grad: Any) -> Any:
        grad_a = self.xp.zeros(self.shape, dtype=grad.dtype)
        if is_basic_index(self.index):
            grad_a[self.index] = grad
        else:
            from ..backend import backend_of

            backend_of(grad_a).scatter_add(grad_a, self.index, grad)
        return grad_a


class Cat(Function):
    """out = the inputs joined along ``axis``.   ∂L/∂inputᵢ = the slice of ∂L/∂out that inputᵢ filled."""

    def forward(self, *arrays: Any, axis: int = 0) -> Any:
        self.axis = axis
        self.bounds = []
        start = 0
        for a in arrays:
            self.bounds.append((start, start + a.shape[axis]))
            start += a.shape[axis]
        return self.xp.concatenate(arrays, axis=axis)

    def backward(self, grad: Any) -> tuple:
        prefix = (slice(None),) * self.axis
        return tuple(
            grad[prefix + (slice(lo, hi),)] if need else None
            for (lo, hi), need in zip(self.bounds, self.needs_input_grad)
        )


class Stack(Function):
    """out = the inputs stacked along a new ``axis``.   ∂L/∂inputᵢ = ∂L/∂out taken at position i."""

    def forward(self, *arrays: Any, axis: int = 0) -> Any:
        self.axis = axis
        return self.xp.stack(arrays, axis=axis)

    def backward(self, grad: Any) -> tuple:
        prefix = (slice(None),) * self.axis
        return tuple(grad[prefix + (i,)] if need else None for i, need in enumerate(self.needs_input_grad))


class Pad(Function):
    """out = a with ``value`` added around it (``pad_width`` as NumPy's).   ∂L/∂a = the inner part of ∂L/∂out."""

    def forward(self, a: Any, pad_width: tuple = (), value: float = 0.0) -> Any:
        self.inner = tuple(slice(lo, lo + size) for (lo, _), size in zip(pad_width, a.shape))
        return self.xp.pad(a, pad_width, mode="constant", constant_values=value)

    def backward(self, grad: Any) -> Any:
        return grad[self.inner]


class Tile(Function):
    """out = a repeated ``reps`` times along each axis (``Tensor.repeat``).   ∂L/∂a = the sum over the copies."""

    def forward(self, a: Any, reps: tuple = ()) -> Any:
        self.shape = a.shape
        return self.xp.tile(a, reps)

    def backward(self, grad: Any) -> Any:
        shape = self.shape
        reps_shape = grad.shape[: grad.ndim - len(shape)]
        lead = len(reps_shape)
        split = list(reps_shape)
        for i, size in enumerate(shape):
            split += [grad.shape[lead + i] // size, size]
        grad = grad.reshape(split)
        axes = tuple(range(lead)) + tuple(lead + 2 * i for i in range(len(shape)))
        return grad.sum(axis=axes)


class Flip(Function):
    """out = a reversed along ``axes``.   ∂L/∂a = ∂L/∂out reversed back."""

    def forward(self, a: Any, axes: tuple = ()) -> Any:
        self.axes = axes
        return self.xp.flip(a, axes)

    def backward(self, grad: Any) -> Any:
        return self.xp.flip(grad, self.axes)
