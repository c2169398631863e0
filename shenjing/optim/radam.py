"""RAdam: Adam with its adaptive step switched on only once the variance of v̂ is tractable (Liu et al., 2020)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of
from .optimizer import Optimizer, _check_betas, _gradient, _lerp_

__all__ = ["RAdam", "radam_update"]


def radam_update(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None:
    """One RAdam step on one parameter array, in place (and on ``exp_avg``, ``exp_avg_sq``).

    With g = ∂L/∂w (−∂L/∂w when ``maximize``), step t (1 on the first step), η, β₁, β₂, ε, weight decay λ:

        w ← w − ηλw (decoupled)   or   g ← g + λw (L2)
        m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²,   m̂ = m / (1 − β₁ᵗ)
        ρ∞ = 2/(1 − β₂) − 1,   ρₜ = ρ∞ − 2t β₂ᵗ / (1 − β₂ᵗ)     length of the approximated moving average
        if ρₜ > 5:  r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ)),   l = √(1 − β₂ᵗ) / (√v + ε)
                    w ← w − η m̂ l r           (rectified adaptive step)
        else:       w ← w − η m̂               (SGD with momentum while v̂ is unreliable)
    """
    xp = backend_of(param).xp
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        weight_decay = 0
    grad, _ = _gradient(param, grad, weight_decay, maximize)
    scratch = xp.empty_like(param)
    _lerp_(exp_avg, grad, 1 - beta1, scratch, xp)
    xp.multiply(grad, 1 - beta2, out=scratch)
    scratch *= grad
    exp_avg_sq *= beta2
    exp_avg_sq += scratch  # β₂v + (1 − β₂)g²
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    update = exp_avg / bias_correction1  # m̂
    update *= lr
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        adaptive = xp.sqrt(exp_avg_sq, out=scratch)
        adaptive += eps
        xp.divide(bias_correction2**0.5, adaptive, out=adaptive)  # l = √(1 − β₂ᵗ) / (√v + ε)
        update *= adaptive
        update *= rect
    param -= update


class RAdam(Optimizer):
    """RAdam, as ``torch.optim.RAdam`` (see :func:`radam_update` for the formulas).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: learning rate η (default 1e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: ε added to √v (default 1e-8).
        weight_decay: λ (default 0), L2 in the gradient, or decoupled with ``decoupled_weight_decay``.
        decoupled_weight_decay: decay the weights directly, w ← w − ηλw, as AdamW.
        maximize: climb the objective instead of descending it.

    State per parameter: ``step``, ``exp_avg`` (m) and ``exp_avg_sq`` (v).

    Example:
        >>> import shenjing
        >>> w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0]))
        >>> opt = shenjing.optim.RAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()                            # ρ₁ = 1 ≤ 5: the first step is η m̂ = η g
        >>> [round(x, 4) for x in w.array.tolist()]
        [0.8, -1.6]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    _nonnegative = ("lr", "eps", "weight_decay")

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        super()._check_hyperparameters(group)
        _check_betas(group["betas"])

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        xp = backend_of(p.array).xp
        return {"step": 0.0, "exp_avg": xp.zeros_like(p.array), "exp_avg_sq": xp.zeros_like(p.array)}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RAdam step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group, p, state in self._params_with_grad():
            beta1, beta2 = group["betas"]
            radam_update(p.array, p.grad.array, state["exp_avg"], state["exp_avg_sq"], state["step"],
                         lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                         weight_decay=group["weight_decay"],
                         decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"])
        return loss
