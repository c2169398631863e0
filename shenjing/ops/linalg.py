"""Matrix products: out = a @ b, batched and broadcast as NumPy's matmul."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from .broadcast import unbroadcast


class MatMul(Function):
    """out = a @ b.   ∂L/∂a = ∂L/∂out @ bᵀ,  ∂L/∂b = aᵀ @ ∂L/∂out (summed over broadcast batch axes).

    A 1-D ``a`` is a row vector and a 1-D ``b`` a column vector, as in NumPy and PyTorch.
    """

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad: Any) -> tuple:
        need_a, need_b = self.needs_input_grad
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1 or b.ndim == 1:  # view grad with the promoted row/column axes put back
            batch = self.xp.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
            grad = grad.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        grad_a = grad_b = None
        if need_a:
            grad_a = grad @ b2.swapaxes(-1, -2)
            grad_a = unbroadcast(grad_a, a2.shape).reshape(a.shape)
        if need_b:
            grad_b = a2.swapaxes(-1, -2) @ grad
            grad_b = unbroadcast(grad_b, b2.shape).reshape(b.shape)
        return grad_a, grad_b
