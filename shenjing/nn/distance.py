"""Distances and similarities between vectors: cosine similarity, pairwise p-norm distance, Lp normalisation.

Each is a composition of differentiable ops (products, sums, norms, clamp), so its gradient is the chain rule
through them; the formulas below are those of PyTorch 2.13.
"""

from __future__ import annotations

from ..tensor import Tensor
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance", "cosine_similarity", "pairwise_distance", "normalize"]


def _lp_norm(x: Tensor, p: float, dim: int, keepdim: bool) -> Tensor:
    if p == 0:  # the number of non-zero entries: no gradient
        return (x != 0).sum(dim, keepdim).to(x.dtype)
    return x.norm(p, dim, keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """cos(x₁, x₂) = Σ (x₁ / max(‖x₁‖, ε)) (x₂ / max(‖x₂‖, ε)) along ``dim`` (each normalised first, as PyTorch).

    ∂cos/∂x₁ = x₂/(‖x₁‖‖x₂‖) − cos · x₁/‖x₁‖² (where neither norm is below ε).

    Shape: x1, x2 broadcastable to a common shape (*, D, *); output that shape without ``dim``.

    Example:
        >>> import shenjing
        >>> round(cosine_similarity(shenjing.tensor([[1.0, 0.0]]), shenjing.tensor([[1.0, 1.0]])).item(), 4)  # 1/√2
        0.7071
    """
    if x1.ndim != x2.ndim and min(x1.ndim, x2.ndim) > 0:
        ndim = max(x1.ndim, x2.ndim)
        x1 = x1.reshape((1,) * (ndim - x1.ndim) + tuple(x1.shape))
        x2 = x2.reshape((1,) * (ndim - x2.ndim) + tuple(x2.shape))
    n1 = x1.norm(2, dim, keepdim=True).clamp_min(eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """d(x₁, x₂) = ‖x₁ − x₂ + ε‖ₚ along the last dimension (ε keeps the gradient finite where x₁ = x₂).

    Shape: (N, D) or (D,) each, broadcastable; output (N,) (or (N, 1) with ``keepdim``).
    """
    diff = x1 - x2 + eps
    return _lp_norm(diff, p, max(x1.ndim, x2.ndim) - 1 if max(x1.ndim, x2.ndim) else 0, keepdim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,  # noqa: A002
              out: Tensor | None = None) -> Tensor:
    """x / max(‖x‖ₚ, ε) along ``dim``: each slice scaled to unit p-norm (zero slices stay zero)."""
    result = input / _lp_norm(input, p, dim, keepdim=True).clamp_min(eps)
    if out is not None:
        out.copy_(result)
        return out
    return result


class CosineSimilarity(Module):
    """cos(x₁, x₂) along ``dim`` (see :func:`cosine_similarity`)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)

    def get_config(self) -> dict:
        return {"dim": self.dim, "eps": self.eps}


class PairwiseDistance(Module):
    """‖x₁ − x₂ + ε‖ₚ along the last dimension (see :func:`pairwise_distance`)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)

    def get_config(self) -> dict:
        return {"p": self.norm, "eps": self.eps, "keepdim": self.keepdim}
