"""Power-average pooling: LPPool1d / LPPool2d, out = (Σ_window xᵖ)^(1/p), built on average pooling.

As PyTorch: out = (sign(s)·relu(|s|)·k)^(1/p) with s = avg_pool(xᵖ) over windows of k elements, so p = 1 is
sum pooling and p → ∞ tends to max pooling. The gradient is the chain rule through pow and avg_pool.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from ._window import pair
from .activation import relu
from .module import Module
from .one_d import avg_pool1d
from .pooling import avg_pool2d

__all__ = ["LPPool1d", "LPPool2d", "lp_pool1d", "lp_pool2d"]


def _power_mean_root(pooled: Tensor, count: int, norm_type: float) -> Tensor:
    return (pooled.sign() * relu(pooled.abs()) * count) ** (1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride: Any = None,  # noqa: A002
              ceil_mode: bool = False) -> Tensor:
    """(Σ xᵖ over each window of ``kernel_size`` along the last axis)^(1/p)."""
    (k,) = pair(kernel_size, "kernel_size", 1)
    pooled = avg_pool1d(input ** norm_type, k, stride if stride is not None else k, 0, ceil_mode)
    return _power_mean_root(pooled, k, norm_type)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,  # noqa: A002
              ceil_mode: bool = False) -> Tensor:
    """(Σ xᵖ over each k_h × k_w window)^(1/p)."""
    kh, kw = pair(kernel_size, "kernel_size")
    pooled = avg_pool2d(input ** norm_type, (kh, kw), stride if stride is not None else (kh, kw), 0, ceil_mode)
    return _power_mean_root(pooled, kh * kw, norm_type)


class LPPool1d(Module):
    """Power-average pooling over windows of the last axis (see :func:`lp_pool1d`)."""

    _fn = staticmethod(lp_pool1d)

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return type(self)._fn(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, " \
               f"ceil_mode={self.ceil_mode}"

    def get_config(self) -> dict:
        return {"norm_type": self.norm_type, "kernel_size": self.kernel_size, "stride": self.stride,
                "ceil_mode": self.ceil_mode}


class LPPool2d(LPPool1d):
    """Power-average pooling over k_h × k_w windows (see :func:`lp_pool2d`)."""

    _fn = staticmethod(lp_pool2d)
