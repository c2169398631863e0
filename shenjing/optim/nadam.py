"""NAdam: Adam with Nesterov momentum and a warming momentum schedule μₜ (Dozat, 2016)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of, get_default_dtype
from .optimizer import Optimizer, _check_betas, _gradient, _lerp_

__all__ = ["NAdam", "nadam_update"]


def nadam_update(
    param: Any,
    grad: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
    mu_product: Any,
    step: float,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    momentum_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None:
    """One NAdam step on one parameter array, in place (and on ``exp_avg``, ``exp_avg_sq``, ``mu_product``).

    With g = ∂L/∂w (−∂L/∂w when ``maximize``), step t (1 on the first step), η, β₁, β₂, ε, weight decay λ,
    momentum decay ψ:

        w ← w − ηλw (decoupled)   or   g ← g + λw (L2)
        μₜ = β₁(1 − ½·0.96^(tψ)),   μₜ₊₁ = β₁(1 − ½·0.96^((t+1)ψ)),   Πₜ = Π μ₁…μₜ (``mu_product``)
        m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²,   v̂ = v / (1 − β₂ᵗ)
        w ← w − η(1 − μₜ)/(1 − Πₜ) · g/(√v̂ + ε) − η μₜ₊₁/(1 − Πₜ μₜ₊₁) · m/(√v̂ + ε)

    NOTE: ``mu_product`` is a 0-d array of the default dtype (float32), as PyTorch keeps it, and its rounding
    enters the step sizes as in PyTorch.
    """
    xp = backend_of(param).xp
    bias_correction2 = 1 - beta2**step
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        weight_decay = 0
    grad, _ = _gradient(param, grad, weight_decay, maximize)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product *= mu
    scratch = xp.empty_like(param)
    _lerp_(exp_avg, grad, 1 - beta1, scratch, xp)
    xp.multiply(grad, 1 - beta2, out=scratch)
    scratch *= grad
    exp_avg_sq *= beta2
    exp_avg_sq += scratch  # β₂v + (1 − β₂)g²
    denom = xp.divide(exp_avg_sq, bias_correction2)
    xp.sqrt(denom, out=denom)
    denom += eps  # √v̂ + ε
    product = float(mu_product)
    product_next = product * mu_next
    xp.multiply(grad, -lr * (1.0 - mu) / (1.0 - product), out=scratch)
    scratch /= denom
    param += scratch  # the Nesterov part: the current gradient
    xp.multiply(exp_avg, (-lr * mu_next) / (1.0 - product_next), out=scratch)
    scratch /= denom
    param += scratch  # the momentum part


class NAdam(Optimizer):
    """NAdam, as ``torch.optim.NAdam`` (see :func:`nadam_update` for the formulas).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: learning rate η (default 2e-3).
        betas: (β₁, β₂) (default (0.9, 0.999)).
        eps: ε added to √v̂ (default 1e-8).
        weight_decay: λ (default 0), L2 in the gradient, or decoupled with ``decoupled_weight_decay``.
        momentum_decay: ψ in the momentum schedule μₜ (default 4e-3).
        decoupled_weight_decay: decay the weights directly, w ← w − ηλw, as AdamW.
        maximize: climb the objective instead of descending it.

    State per parameter: ``step``, ``mu_product`` (Πₜ), ``exp_avg`` (m) and ``exp_avg_sq`` (v).

    Example:
        >>> import shenjing
        >>> w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0]))
        >>> opt = shenjing.optim.NAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()                            # (1 − μ₁)/(1 − μ₁) + μ₂/(1 − μ₁μ₂) of η: about 1.05η
        >>> [round(x, 4) for x in w.array.tolist()]
        [0.8944, -1.8944]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    _nonnegative = ("lr", "eps", "weight_decay", "momentum_decay")

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        super()._check_hyperparameters(group)
        _check_betas(group["betas"])

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        xp = backend_of(p.array).xp
        return {
            "step": 0.0,
            "mu_product": xp.ones((), dtype=get_default_dtype()),
            "exp_avg": xp.zeros_like(p.array),
            "exp_avg_sq": xp.zeros_like(p.array),
        }

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One NAdam step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group, p, state in self._params_with_grad():
            beta1, beta2 = group["betas"]
            nadam_update(p.array, p.grad.array, state["exp_avg"], state["exp_avg_sq"], state["mu_product"],
                         state["step"], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                         weight_decay=group["weight_decay"], momentum_decay=group["momentum_decay"],
                         decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"])
        return loss
