"""The 1-D members of the 2-D families: avg_pool1d, adaptive_avg_pool1d, dropout1d and their layers.

Each is its 2-D counterpart on a view of unit height, (N, C, L) → (N, C, 1, L), so it shares that Function
(forward and backward) rather than repeating it.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..tensor import Tensor
from ._window import pair
from .dropout import Dropout, DropoutFunction, _check_p
from .module import Module
from .pooling import adaptive_avg_pool2d, avg_pool2d

__all__ = ["AvgPool1d", "AdaptiveAvgPool1d", "Dropout1d", "avg_pool1d", "adaptive_avg_pool1d", "dropout1d"]


def _check_1d(name: str, input: Tensor) -> None:  # noqa: A002
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"{name}: expected a 2-D (C, L) or 3-D (N, C, L) input, got a {input.ndim}-D input of shape "
            f"{tuple(input.shape)}")


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over each window of k along the last axis of (N, C, L) or (C, L); avg_pool2d of unit height."""
    _check_1d("avg_pool1d", input)
    (k,) = pair(kernel_size, "kernel_size", 1)
    (s,) = (k,) if stride is None or stride == [] else pair(stride, "stride", 1)
    (p,) = pair(padding, "padding", 1)
    out = avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), ceil_mode, count_include_pad)
    return out.squeeze(-2)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average pooling of the last axis to a fixed length L_out (windows ⌊iL/L_out⌋ … ⌈(i+1)L/L_out⌉)."""
    _check_1d("adaptive_avg_pool1d", input)
    (size,) = pair(output_size, "output_size", 1)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Channel dropout on (N, C, L) or (C, L): zero whole channels with probability p, scale the rest by 1/(1 − p).

    ∂L/∂x = ∂L/∂a ⊙ m / (1 − p), m of shape (N, C, 1) (or (C, 1)).
    """
    _check_p(p)
    _check_1d("dropout1d", input)
    if not training or p == 0:
        return input
    return DropoutFunction.apply(input, p=p, mask_shape=tuple(input.shape[:-1]) + (1,))


class AvgPool1d(Module):
    """Mean over windows of ``kernel_size`` along the last axis (see :func:`avg_pool1d`)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", 1)
        self.padding = pair(padding, "padding", 1)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def get_config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding),
                "ceil_mode": self.ceil_mode, "count_include_pad": self.count_include_pad}


class AdaptiveAvgPool1d(Module):
    """Average pooling of the last axis to ``output_size`` (see :func:`adaptive_avg_pool1d`)."""

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def get_config(self) -> dict:
        return {"output_size": self.output_size}


class Dropout1d(Dropout):
    """Zeroes whole channels of (N, C, L) with probability ``p`` in training; off in eval()."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim == 2 and self.training:
            warnings.warn("Dropout1d: a 2-D input is taken as one unbatched sample (C, L)", UserWarning, stacklevel=2)
        return dropout1d(input, self.p, self.training)
