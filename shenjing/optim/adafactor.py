"""Adafactor (Shazeer & Stern, 2018): Adam-like steps whose second moment is kept as a row and a column factor.

For a matrix weight (…, n, m) the running mean of g² costs n + m numbers instead of n·m: R (…, n, 1) holds the rows'
means and C (…, 1, m) the columns', and V̂ = R C / mean(R) rebuilds the full estimate (exact when g² has rank one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of
from .optimizer import Optimizer

__all__ = ["Adafactor", "adafactor_update"]


def adafactor_update(param: Any, grad: Any, state: dict, *, lr: float, beta2_decay: float, eps1: float | None,
                     eps2: float, d: float, weight_decay: float, maximize: bool) -> None:
    """One Adafactor step on one parameter array, in place (and on its factors in ``state``), as PyTorch's.

    With g = ∂L/∂w (−g when ``maximize``), step t, decay exponent τ (``beta2_decay``), learning rate γ:

        β̂₂ = 1 − t^τ,   ρ = min(γ, 1/√t),   α = max(ε₂, RMS(w)) · ρ        (the step is relative to w's size)
        w ← w − γλw                                                        decoupled weight decay
        R ← β̂₂ R + (1 − β̂₂) mean_cols(g²),  C ← β̂₂ C + (1 − β̂₂) mean_rows(g²),  V̂ = R C / max(mean(R), ε₁)
        (a vector keeps V̂ ← β̂₂ V̂ + (1 − β̂₂) g² whole)
        U = g / √max(V̂, ε₁²),   w ← w − α U / max(1, RMS(U) / d)            (d clips the update's RMS)

    ε₁ defaults to the dtype's machine epsilon.
    """
    xp = backend_of(param).xp
    g = -grad if maximize else grad
    eps1 = float(xp.finfo(param.dtype).eps) if eps1 is None else eps1
    t = state["step"]  # (counted by the optimizer before this call)
    fraction = t ** beta2_decay  # 1 − β̂₂
    rho = min(lr, 1 / math.sqrt(t))
    alpha = max(eps2, float(xp.sqrt((param * param).sum() / max(param.size, 1)))) * rho
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    if g.ndim > 1:
        row, col = state["row_var"], state["col_var"]
        row += fraction * ((g * g).mean(-1, keepdims=True) - row)  # a lerp towards this step's means
        col += fraction * ((g * g).mean(-2, keepdims=True) - col)
        estimate = (row @ col) / xp.maximum(row.mean(-2, keepdims=True), eps1)
    else:
        variance = state["variance"]
        variance += fraction * (g * g - variance)
        estimate = variance.copy()
    update = g / xp.sqrt(xp.maximum(estimate, eps1 * eps1))
    rms = float(xp.sqrt((update * update).sum() / max(update.size, 1)))
    param -= (alpha / max(1.0, rms / d)) * update


class Adafactor(Optimizer):
    """Adafactor, as ``torch.optim.Adafactor`` (formulas: :func:`adafactor_update`).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: γ, the largest relative step (default 0.01; the step is min(γ, 1/√t) times w's RMS).
        beta2_decay: τ in β̂₂ = 1 − t^τ (default −0.8).
        eps: (ε₁, ε₂): ε₁ floors the second moment (None: the dtype's epsilon), ε₂ the weight RMS (default 1e-3).
        d: the clipping threshold on the update's RMS (default 1.0).
        weight_decay: λ, decoupled (default 0).
        maximize: climb the objective instead of descending it.

    State per parameter: ``step``, and ``row_var`` (…, n, 1) and ``col_var`` (…, 1, m) for a matrix, or
    ``variance`` for a vector, as PyTorch's names and shapes.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize)
        super().__init__(params, defaults)

    _nonnegative = ("lr", "weight_decay")

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        xp = backend_of(p.array).xp
        state: dict[str, Any] = {"step": 0.0}
        shape = tuple(p.array.shape)
        if len(shape) > 1:
            state["row_var"] = xp.zeros(shape[:-1] + (1,), dtype=p.array.dtype)
            state["col_var"] = xp.zeros(shape[:-2] + (1, shape[-1]), dtype=p.array.dtype)
        else:
            state["variance"] = xp.zeros_like(p.array)
        return state

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adafactor step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group, p, state in self._params_with_grad():
            eps1, eps2 = group["eps"]
            adafactor_update(p.array, p.grad.array, state, lr=group["lr"], beta2_decay=group["beta2_decay"],
                             eps1=eps1, eps2=eps2, d=group["d"], weight_decay=group["weight_decay"],
                             maximize=group["maximize"])
        return loss
