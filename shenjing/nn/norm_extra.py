"""Group and RMS normalisation (functional + Module), composed of differentiable reductions.

    group_norm: x̂ = (x − μ_g) / √(σ²_g + ε) over each group of C/G channels and all positions, a = γx̂ + β
    rms_norm:   a = x / √(mean(x²) + ε) · γ over the last len(normalized_shape) dimensions

Their gradients are the chain rule through mean, var, sqrt and the products (no fused backward).
"""

from __future__ import annotations

from typing import Any

from ..backend import backend_of
from ..creation import ones, zeros
from ..tensor import Tensor
from .module import Module, Parameter

__all__ = ["GroupNorm", "RMSNorm", "group_norm", "rms_norm"]


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,  # noqa: A002
               eps: float = 1e-5) -> Tensor:
    """Normalise each group of channels of (N, C, *) by its own mean and (biased) variance; γ, β per channel."""
    shape = tuple(input.shape)
    if input.ndim < 2 or shape[1] % num_groups:
        raise RuntimeError(
            f"group_norm: expected an input (N, C, *) with C divisible by num_groups={num_groups}, got shape "
            f"{shape}")
    N = shape[0]
    groups = input.reshape(N, num_groups, -1)  # (N, G, C/G · positions)
    mean = groups.mean(-1, keepdim=True)
    var = groups.var(-1, keepdim=True, correction=0)
    x_hat = ((groups - mean) / (var + eps).sqrt()).reshape(shape)
    affine = (1, shape[1]) + (1,) * (input.ndim - 2)
    if weight is not None:
        x_hat = x_hat * weight.reshape(affine)
    if bias is not None:
        x_hat = x_hat + bias.reshape(affine)
    return x_hat


def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,  # noqa: A002
             eps: float | None = None) -> Tensor:
    """a = x / √(mean(x²) + ε) · γ over the trailing ``normalized_shape``; ε defaults to the dtype's machine ε."""
    dims = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(dims):]) != dims:
        raise RuntimeError(
            f"rms_norm: normalized_shape {dims} does not match the trailing dimensions of the input of shape "
            f"{tuple(input.shape)}")
    if eps is None:
        eps = float(backend_of(input.array).xp.finfo(input.array.dtype).eps)
    axes = tuple(range(input.ndim - len(dims), input.ndim))
    out = input / ((input * input).mean(axes, keepdim=True) + eps).sqrt()
    return out * weight if weight is not None else out


class GroupNorm(Module):
    """Group normalisation (Wu & He, 2018): statistics per sample over groups of channels; γ = 1, β = 0 at start.

    Shape: (N, C, *) → same. Parameters ``weight`` and ``bias`` (C,) when ``affine``.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(ones(num_channels, dtype=dtype, device=device))
            self.bias = Parameter(zeros(num_channels, dtype=dtype, device=device))
        else:
            self.weight = self.bias = None

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"

    def get_config(self) -> dict:
        return {"num_groups": self.num_groups, "num_channels": self.num_channels, "eps": self.eps,
                "affine": self.affine}


class RMSNorm(Module):
    """RMS normalisation (Zhang & Sennrich, 2019): a = x / RMS(x) · γ over ``normalized_shape``; γ = 1 at start."""

    def __init__(self, normalized_shape: Any, eps: float | None = None, elementwise_affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        dims = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = dims, eps, elementwise_affine
        self.weight = Parameter(ones(*dims, dtype=dtype, device=device)) if elementwise_affine else None

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"

    def get_config(self) -> dict:
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine}
