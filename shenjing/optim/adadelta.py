"""Adadelta: step sizes from running averages of squared gradients and of squared updates (Zeiler, 2012)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of
from .optimizer import Optimizer, _gradient

__all__ = ["Adadelta", "adadelta_update"]


def adadelta_update(
    param: Any,
    grad: Any,
    square_avg: Any,
    acc_delta: Any,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One Adadelta step on one parameter array, in place (and on ``square_avg``, ``acc_delta``).

    With g = ∂L/∂w (−∂L/∂w when ``maximize``), decay ρ, ε, weight decay λ, learning rate η:

        g ← g + λw                               L2 weight decay
        v ← ρv + (1 − ρ)g²                       running average of g² (``square_avg``)
        Δ = √(u + ε) / √(v + ε) · g              the update, in the units of w
        u ← ρu + (1 − ρ)Δ²                       running average of Δ² (``acc_delta``)
        w ← w − ηΔ

    The ratio of the two root-mean-squares gives each weight its own step size without a global
    learning rate (η = 1.0 by default, as PyTorch, which scales Δ only).
    """
    xp = backend_of(param).xp
    grad, _ = _gradient(param, grad, weight_decay, maximize)
    scratch = xp.multiply(grad, 1 - rho)
    scratch *= grad  # NOTE: ((1 − ρ)g)·g, rounded as torch's addcmul
    square_avg *= rho
    square_avg += scratch  # ρv + (1 − ρ)g²
    std = xp.add(square_avg, eps, out=scratch)
    xp.sqrt(std, out=std)
    delta = xp.add(acc_delta, eps)
    xp.sqrt(delta, out=delta)
    delta /= std
    delta *= grad  # Δ = √(u + ε)/√(v + ε) · g
    xp.multiply(delta, 1 - rho, out=scratch)
    scratch *= delta
    acc_delta *= rho
    acc_delta += scratch  # ρu + (1 − ρ)Δ²
    delta *= -lr
    param += delta  # w − ηΔ


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta`` (see :func:`adadelta_update` for the formulas).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: η, a factor on the update Δ (default 1.0).
        rho: ρ, the decay of both running averages (default 0.9).
        eps: ε inside both roots (default 1e-6).
        weight_decay: L2 penalty λ, added to the gradient as λw (default 0).
        maximize: climb the objective instead of descending it.

    State per parameter: ``step``, ``square_avg`` (v) and ``acc_delta`` (u).

    Example:
        >>> import shenjing
        >>> w = shenjing.nn.Parameter(shenjing.tensor([1.0], dtype=shenjing.float64))
        >>> opt = shenjing.optim.Adadelta([w], eps=0.01)
        >>> (w * w).sum().backward()              # g = 2: v = 0.4, Δ = √0.01/√0.41 · 2
        >>> opt.step()
        >>> round(w.item(), 6)
        0.687652
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    _nonnegative = ("lr", "eps", "weight_decay")

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        if not 0.0 <= group["lr"]:
            raise ValueError(f"Invalid learning rate: {group['lr']}")
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")
        super()._check_hyperparameters(group)

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        xp = backend_of(p.array).xp
        return {"step": 0.0, "square_avg": xp.zeros_like(p.array), "acc_delta": xp.zeros_like(p.array)}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adadelta step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group, p, state in self._params_with_grad():
            adadelta_update(p.array, p.grad.array, state["square_avg"], state["acc_delta"], lr=group["lr"],
                            rho=group["rho"], eps=group["eps"], weight_decay=group["weight_decay"],
                            maximize=group["maximize"])
        return loss
