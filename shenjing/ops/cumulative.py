"""Running sums and products along an axis: out_k = a_0 + … + a_k (cumsum) or a_0 · … · a_k (cumprod)."""

from __future__ import annotations

from typing import Any

from ..autograd import Function


def reverse_cumsum(xp: Any, x: Any, axis: int) -> Any:
    """r_k = x_k + x_{k+1} + … + x_{n-1} along ``axis`` (the transpose of a running sum)."""
    return xp.flip(xp.cumsum(xp.flip(x, axis), axis=axis), axis)


class Cumsum(Function):
    """out_k = Σ_{i≤k} a_i along ``axis``.   ∂L/∂a_k = Σ_{j≥k} ∂L/∂out_j (a reversed running sum)."""

    def forward(self, a: Any, axis: int = 0) -> Any:
        self.axis = axis
        return self.xp.cumsum(a, axis=axis)

    def backward(self, grad: Any) -> Any:
        return reverse_cumsum(self.xp, grad, self.axis)


class Cumprod(Function):
    """out_k = Π_{i≤k} a_i along ``axis``.   ∂L/∂a_k = Σ_{j≥k} ∂L/∂out_j · Π_{i≤j, i≠k} a_i.

    Without zeros that is (Σ_{j≥k} ∂L/∂out_j · out_j) / a_k; with zeros in a line the products are formed
    position by position instead of dividing by zero.
    """

    def forward(self, a: Any, axis: int = 0) -> Any:
        self.a, self.axis = a, axis
        self.out = self.xp.cumprod(a, axis=axis)
        return self.out

    def backward(self, grad: Any) -> Any:
        xp, a, axis = self.xp, self.a, self.axis
        if a.size == 0:
            return xp.zeros_like(grad)
        if not bool((a == 0).any()):
            return reverse_cumsum(xp, grad * self.out, axis) / a
        moved = xp.moveaxis(a, axis, -1)
        g = xp.moveaxis(grad, axis, -1)
        grad_a = xp.zeros(moved.shape, dtype=grad.dtype)
        for k in range(moved.shape[-1]):
            others = moved.copy()
            others[..., k] = 1
            products = xp.cumprod(others, axis=-1)[..., k:]
            grad_a[..., k] = (g[..., k:] * products).sum(axis=-1)
        return xp.moveaxis(grad_a, -1, axis)
