"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm (Kingma & Ba, 2015)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of
from .optimizer import Optimizer, _check_betas, _gradient, _lerp_

__all__ = ["Adamax", "adamax_update"]


def adamax_update(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_inf: Any,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One Adamax step on one parameter array, in place (and on ``exp_avg``, ``exp_inf``).

    With g = ∂L/∂w (−∂L/∂w when ``maximize``), step t (1 on the first step), η, β₁, β₂, ε, weight decay λ:

        g ← g + λw                        L2 weight decay
        m ← β₁m + (1 − β₁)g               first moment (``exp_avg``)
        u ← max(β₂u, |g| + ε)             exponentially weighted infinity norm (``exp_inf``)
        w ← w − (η / (1 − β₁ᵗ)) · m / u

    u needs no bias correction: it is a maximum, not an average started at 0.
    """
    xp = backend_of(param).xp
    grad, _ = _gradient(param, grad, weight_decay, maximize)
    scratch = xp.empty_like(param)
    _lerp_(exp_avg, grad, 1 - beta1, scratch, xp)  # β₁m + (1 − β₁)g, rounded as torch's lerp
    exp_inf *= beta2
    xp.abs(grad, out=scratch)
    scratch += eps
    xp.maximum(exp_inf, scratch, out=exp_inf)  # max(β₂u, |g| + ε)
    clr = lr / (1 - beta1**step)
    update = xp.divide(exp_avg, exp_inf, out=scratch)
    update *= -clr
    param += update  # w − (η / (1 − β₁ᵗ)) m/u


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax`` (see :func:`adamax_update` for the formulas).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: learning rate η (default 2e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: ε added to |g| (default 1e-8).
        weight_decay: L2 penalty λ, added to the gradient as λw (default 0).
        maximize: climb the objective instead of descending it.

    State per parameter: ``step``, ``exp_avg`` (m) and ``exp_inf`` (u).

    Example:
        >>> import shenjing
        >>> w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0]))
        >>> opt = shenjing.optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()                            # the first step moves every weight by about η
        >>> [round(x, 4) for x in w.array.tolist()]
        [0.9, -1.9]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    _nonnegative = ("lr", "eps", "weight_decay")

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        super()._check_hyperparameters(group)
        _check_betas(group["betas"])

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        xp = backend_of(p.array).xp
        return {"step": 0.0, "exp_avg": xp.zeros_like(p.array), "exp_inf": xp.zeros_like(p.array)}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adamax step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group, p, state in self._params_with_grad():
            beta1, beta2 = group["betas"]
            adamax_update(p.array, p.grad.array, state["exp_avg"], state["exp_inf"], state["step"],
                          lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                          weight_decay=group["weight_decay"], maximize=group["maximize"])
        return loss
