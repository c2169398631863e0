"""Broadcasting in reverse: a gradient summed back to the shape of the input that was broadcast."""

from __future__ import annotations

from typing import Any


def shape_of(x: Any) -> tuple:
    """The shape of an array, or () for a Python number."""
    return getattr(x, "shape", ())


def unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``.

    If ``a`` of shape (45, 1) was broadcast to (45, 65), each a[i, 0] was used 65 times, so
    ∂L/∂a[i, 0] = Σⱼ ∂L/∂out[i, j].
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)
