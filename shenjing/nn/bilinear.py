"""Bilinear layer: y = x₁ᵀ A x₂ + b, one matrix A_o (in1, in2) per output feature (functional + Module).

    yₒ = Σᵢⱼ x₁ᵢ A_oij x₂ⱼ + bₒ
    ∂L/∂x₁ = Σₒ δₒ A_o x₂,   ∂L/∂x₂ = Σₒ δₒ A_oᵀ x₁,   ∂L/∂A_o = δₒ x₁ x₂ᵀ,   ∂L/∂b = δ

computed as a matrix product and a reduction (their backward is the chain rule).
"""

from __future__ import annotations

import math
from typing import Any

from ..creation import empty
from ..tensor import Tensor
from .init import uniform_
from .module import Module, Parameter

__all__ = ["Bilinear", "bilinear"]


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """yₒ = x₁ᵀ A_o x₂ + bₒ; input1 (*, in1), input2 (*, in2), weight (out, in1, in2) → (*, out)."""
    D_out, D_in1, D_in2 = weight.shape
    if input1.shape[-1] != D_in1 or input2.shape[-1] != D_in2 or tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(
            f"bilinear: expected input1 (*, {D_in1}) and input2 (*, {D_in2}) with the same leading dimensions for "
            f"weight of shape {tuple(weight.shape)}, got {tuple(input1.shape)} and {tuple(input2.shape)}")
    lead = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, D_in1), input2.reshape(-1, D_in2)  # (M, in1), (M, in2)
    mixed = x1 @ weight.permute(1, 0, 2).reshape(D_in1, D_out * D_in2)  # (M, out·in2): Σᵢ x₁ᵢ A_oij
    y = (mixed.reshape(-1, D_out, D_in2) * x2.unsqueeze(1)).sum(-1)  # (M, out)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, D_out)


class Bilinear(Module):
    """y = x₁ᵀ A x₂ + b, as ``torch.nn.Bilinear``: weight (out, in1, in2) and bias (out,) ~ U(±1/√in1)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        bound = 1 / math.sqrt(in1_features)
        self.weight = Parameter(uniform_(empty(out_features, in1_features, in2_features, dtype=dtype, device=device),
                                         -bound, bound))
        self.bias = Parameter(uniform_(empty(out_features, dtype=dtype, device=device), -bound, bound)) if bias \
            else None

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")

    def get_config(self) -> dict:
        return {"in1_features": self.in1_features, "in2_features": self.in2_features,
                "out_features": self.out_features, "bias": self.bias is not None}
