"""Dropout (inverted): in training zero each unit with probability p and scale the rest by 1/(1 − p)."""

from __future__ import annotations

import warnings
from typing import Any

from ..autograd import Function
from ..backend import backend_of
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout", "Dropout2d", "dropout", "dropout2d", "DropoutFunction"]


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


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Channel dropout: zero whole channels x[n, c] with probability p, scale the rest by 1/(1 − p).

    The mask has shape (N, C, 1, 1) (one draw per channel of each sample), so ∂L/∂x = ∂L/∂a ⊙ m / (1 − p)
    is zero on a dropped channel. A 3-D input is taken as (N, C, L) with a warning, as PyTorch.
    """
    _check_p(p)
    if input.ndim == 2:  # as PyTorch: deprecated, a warning, then element-wise dropout (the textbook's CNN does this)
        warnings.warn(
            "dropout2d: Received a 2-D input to dropout2d, which is deprecated and will result in an error in a future "
            "release. To retain the behavior and silence this warning, please use dropout instead. Note that dropout2d "
            "exists to provide channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and an "
            "optional batch dimension (i.e. 3D or 4D inputs).",
            UserWarning,
            stacklevel=2,
        )
        return dropout(input, p, training)
    if input.ndim not in (3, 4):
        raise RuntimeError(
            f"dropout2d: expected a 4-D input (N, C, H, W) (or 3-D (N, C, L)), got a {input.ndim}-D input of shape "
            f"{tuple(input.shape)}"
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    if not training or p == 0:
        return input
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return DropoutFunction.apply(input, p=p, mask_shape=mask_shape)


class Dropout2d(Dropout):
    """Zeroes whole channels with probability ``p`` in training (scaling the rest by 1/(1 − p)); off in eval().

        a[n, c] = x[n, c] · m[n, c] / (1 − p),   m[n, c] ~ Bernoulli(1 − p)
        ∂L/∂x[n, c] = ∂L/∂a[n, c] · m[n, c] / (1 − p)

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels barely
    regularises a convolutional layer; dropping whole feature maps does (Tompson et al., 2015).

    Shape: (N, C, H, W) → same.

    Example:
        >>> import shenjing
        >>> shenjing.nn.Dropout2d(0.25).eval()(shenjing.ones(1, 2, 3, 3)).sum().item()
        18.0
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return dropout2d(input, self.p, self.training)
