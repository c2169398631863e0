"""Gradient clipping, as ``torch.nn.utils``: rescale (``clip_grad_norm_``) or clamp (``clip_grad_value_``) gradients.

Call between ``loss.backward()`` and ``optimizer.step()``: it changes the gradients, not the weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ...backend import backend_of
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _grads(parameters: Any) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors: Iterable[Tensor], norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """‖g‖ₚ of all tensors together, as if concatenated into one vector: (Σᵢ Σ |gᵢ|ᵖ)^(1/p); max |g| for p = inf."""
    from ...creation import tensor as make_tensor

    arrays = [t.array for t in tensors]
    norm_type = float(norm_type)
    if not arrays:
        return make_tensor(0.0)
    xp = backend_of(arrays[0]).xp
    if math.isinf(norm_type):
        norms = [xp.abs(a).max() for a in arrays]
        total = xp.max(xp.stack(norms))
    else:
        # NOTE: per-tensor norms first, then the norm of those norms: the same value, no concatenation copy.
        norms = [xp.linalg.norm(a.ravel(), norm_type) for a in arrays]
        total = xp.linalg.norm(xp.stack(norms), norm_type)
    total = make_tensor(total.astype(arrays[0].dtype))
    if error_if_nonfinite and not math.isfinite(float(total.array)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return total


def clip_grad_norm_(
    parameters: Any, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: Any = None
) -> Tensor:
    """Rescale gradients in place so that their total norm is at most ``max_norm``; returns the norm before.

        ‖g‖ = (Σ over every gradient element |g|ᵖ)^(1/p)
        g ← g · min(1, max_norm / (‖g‖ + 1e-6))

    The direction of the update is kept; only its length is capped. Guards against exploding gradients.

    Args:
        parameters: an iterable of tensors (``model.parameters()``) or one tensor.
        max_norm: the largest allowed total norm.
        norm_type: p of the p-norm (2 by default; ``float("inf")`` for the largest absolute value).
        error_if_nonfinite: raise if the total norm is nan or inf (default False, as PyTorch).

    Example:
        >>> import shenjing
        >>> w = shenjing.tensor([3.0, 4.0], requires_grad=True)
        >>> (w * w).sum().backward()                      # grad = 2w = [6, 8], norm 10
        >>> float(shenjing.nn.utils.clip_grad_norm_([w], max_norm=5.0))
        10.0
        >>> [round(g, 4) for g in w.grad.tolist()]
        [3.0, 4.0]
    """
    grads = _grads(parameters)
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total_norm
    clip_coef = float(max_norm) / (float(total_norm.array) + 1e-6)
    if not clip_coef >= 1:  # NOTE: PyTorch multiplies by min(coef, 1) always (nan too); a multiply by 1 is skipped
        for g in grads:
            g.array *= g.array.dtype.type(clip_coef)
    return total_norm


def clip_grad_value_(parameters: Any, clip_value: float, foreach: Any = None) -> None:
    """Clamp every gradient element into [−clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = backend_of(g.array).xp
        xp.clip(g.array, -clip_value, clip_value, out=g.array)
