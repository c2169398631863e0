"""Dropout (inverted): in training zero each unit with probability p and scale the rest by 1/(1 − p)."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import backend_of
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout", "dropout", "DropoutFunction"]


class DropoutFunction(Function):
    """a = z ⊙ m / (1 − p), m ~ Bernoulli(1 − p) per element (or per channel, with ``mask_shape``).

    ∂L/∂z = ∂L/∂a ⊙ m / (1 − p). The scaling keeps E[a] = z, so evaluation needs no rescaling.
    """

    def forward(self, z: Any, p: float = 0.5, mask_shape: tuple | None = None) -> Any:
        generator = backend_of(z).generator
        shape = z.shape if mask_shape is None else mask_shape
        keep = generator.random(shape, dtype=z.dtype) >= p if z.dtype.kind == "f" else None
        if keep is None:
            raise TypeError(f"dropout: expected a floating-point input, got {z.dtype}")
        scale = z.dtype.type(1 / (1 - p)) if p < 1 else z.dtype.type(0)
        self.mask = keep * scale  # (…) of z.dtype: 0 or 1/(1 − p)
        return z * self.mask

    def backward(self, grad_a: Any) -> Any:
        return grad_a * self.mask


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Inverted dropout; the identity when ``training`` is False or p = 0."""
    _check_p(p)
    if not training or p == 0:
        return input
    return DropoutFunction.apply(input, p=p)


class Dropout(Module):
    """Randomly zeroes units with probability ``p`` in training (scaling the rest by 1/(1 − p)); off in eval().

    A regulariser: the network cannot rely on any single unit. Differs from the original paper, which
    scales at test time instead; this "inverted" form is PyTorch's and Keras's.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p = p

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"

    def get_config(self) -> dict:
        return {"p": self.p}
