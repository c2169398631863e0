"""All-pairs distances: ``cdist`` (every row of x₁ against every row of x₂) and ``pdist`` (the rows of one set).

    D[i, j] = ‖x₁[i] − x₂[j]‖_p = (Σ_k |x₁[i, k] − x₂[j, k]|^p)^(1/p)      (p = 0: the count of unequal entries,
                                                                          p = ∞: the largest |difference|)
    ∂D[i, j]/∂x₁[i, k] = sign(d) |d|^(p−1) / D[i, j]^(p−1),   d = x₁[i, k] − x₂[j, k]   (0 where D = 0)

For p = 2 that is (x₁[i] − x₂[j]) / D[i, j], so with W = ∂L/∂D ⊘ D the gradients are matrix products,

    ∂L/∂x₁ = diag(W 1) x₁ − W x₂,    ∂L/∂x₂ = diag(Wᵀ 1) x₂ − Wᵀ x₁,

and the forward can be one too (``compute_mode``, as PyTorch: past 25 rows a side, by default),
D² = ‖x₁[i]‖² + ‖x₂[j]‖² − 2 x₁[i]·x₂[j], clamped at 0.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import quiet as _quiet
from ..tensor import Tensor

__all__ = ["cdist", "pdist", "CdistFunction"]

_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


class CdistFunction(Function):
    """D[…, i, j] = ‖x₁[…, i] − x₂[…, j]‖_p over batches (…, P, M) and (…, R, M) (see the module docstring)."""

    def forward(self, x1: Any, x2: Any, p: float = 2.0, use_mm: bool = False) -> Any:
        xp = self.xp
        self.x1, self.x2, self.p = x1, x2, p
        if p == 2 and use_mm:  # D² = ‖a‖² + ‖b‖² − 2 a·b, one product
            sq = (x1 * x1).sum(-1)[..., :, None] + (x2 * x2).sum(-1)[..., None, :] - 2 * (x1 @ xp.swapaxes(x2, -1, -2))
            self.D = xp.sqrt(xp.maximum(sq, 0))
            return self.D
        diff = xp.abs(x1[..., :, None, :] - x2[..., None, :, :])  # (…, P, R, M)
        if p == 0:
            self.D = (diff != 0).sum(-1).astype(x1.dtype)
        elif p == 1:
            self.D = diff.sum(-1)
        elif p == 2:
            self.D = xp.sqrt((diff * diff).sum(-1))
        elif math.isinf(p):
            self.D = diff.max(-1) if diff.shape[-1] else xp.zeros(diff.shape[:-1], dtype=x1.dtype)
        else:
            self.D = (diff ** p).sum(-1) ** (1 / p)
        return self.D

    def backward(self, grad: Any) -> tuple:
        xp, p, x1, x2, D = self.xp, self.p, self.x1, self.x2, self.D
        need_1, need_2 = self.needs_input_grad[:2]
        if p == 0:
            return (xp.zeros_like(x1) if need_1 else None), (xp.zeros_like(x2) if need_2 else None)
        if p == 2:
            with _quiet(xp):
                W = xp.where(D > 0, grad / xp.where(D > 0, D, 1), 0)  # ∂L/∂D ⊘ D, 0 where D = 0
            g1 = W.sum(-1)[..., None] * x1 - W @ x2 if need_1 else None
            g2 = xp.swapaxes(W, -1, -2).sum(-1)[..., None] * x2 - xp.swapaxes(W, -1, -2) @ x1 if need_2 else None
            return g1, g2
        d = x1[..., :, None, :] - x2[..., None, :, :]  # (…, P, R, M)
        if p == 1:
            pieces = xp.sign(d) * grad[..., None]
        elif math.isinf(p):
            pieces = xp.sign(d) * (xp.abs(d) == D[..., None]) * grad[..., None]
        else:
            with _quiet(xp):
                scale = xp.where(D > 0, grad / xp.where(D > 0, D, 1) ** (p - 1), 0)
            pieces = xp.sign(d) * xp.abs(d) ** (p - 1) * scale[..., None]
        g1 = pieces.sum(-2) if need_1 else None
        g2 = -pieces.sum(-3) if need_2 else None
        return g1, g2


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of x1 (…, P, M) and each row of x2 (…, R, M): (…, P, R).

    Batch dimensions broadcast; ``compute_mode`` as PyTorch's (p = 2 by one matrix product when either side has
    more than 25 rows, by default).
    """
    if not isinstance(x1, Tensor) or not isinstance(x2, Tensor):
        raise TypeError("cdist(): x1 and x2 must be Tensors")
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if not x1.is_floating_point() or not x2.is_floating_point():
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}, X2 got: {x2.dtype}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    if compute_mode not in _MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == _MODES[0] and (x1.shape[-2] > 25 or x2.shape[-2] > 25)))
    batch = _broadcast_batch(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    if tuple(x1.shape[:-2]) != batch:
        x1 = x1.expand(batch + tuple(x1.shape[-2:]))
    if tuple(x2.shape[:-2]) != batch:
        x2 = x2.expand(batch + tuple(x2.shape[-2:]))
    return CdistFunction.apply(x1, x2, p=float(p), use_mm=use_mm)


def _broadcast_batch(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for i, (u, v) in enumerate(zip(a, b)):
        if u != v and 1 not in (u, v):
            raise RuntimeError(f"cdist: the batch dimensions {a} and {b} do not broadcast (dimension {i})")
        out.append(max(u, v))
    return tuple(out)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:  # noqa: A002
    """The distances between the rows of input (N, M) taken two at a time, i < j, row by row: N(N − 1)/2 values."""
    if not isinstance(input, Tensor) or input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {getattr(input, 'ndim', '?')}D")
    from ..functions import triu_indices

    N = input.shape[0]
    rows, cols = triu_indices(N, N, 1)
    full = cdist(input, input, p, compute_mode="donot_use_mm_for_euclid_dist")
    return full[rows, cols]
