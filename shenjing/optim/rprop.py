"""Rprop: resilient backpropagation, a step size per weight grown or shrunk by the gradient's sign (Riedmiller
and Braun, 1993), as ``torch.optim.Rprop``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of
from .optimizer import Optimizer

__all__ = ["Rprop", "rprop_update"]


def rprop_update(
    param: Any,
    grad: Any,
    prev: Any,
    step_size: Any,
    *,
    etaminus: float,
    etaplus: float,
    step_size_min: float,
    step_size_max: float,
    maximize: bool,
) -> None:
    """One Rprop step on one parameter array, in place (and on ``prev``, ``step_size``).

    With g = ∂L/∂w (−∂L/∂w when ``maximize``), the previous step's (kept) gradient g′, the step size Δ:

        Δ ← clip(η⁺ Δ, Δ_min, Δ_max)   where g·g′ > 0   (the same sign again: grow)
        Δ ← clip(η⁻ Δ, Δ_min, Δ_max)   where g·g′ < 0   (the sign flipped: a minimum was jumped over, shrink)
        g ← 0                          there, so the next step neither grows nor shrinks it
        w ← w − sign(g) Δ,   g′ ← g

    Only the gradient's sign is used, never its size.
    """
    xp = backend_of(param).xp
    g = -grad if maximize else grad.copy()
    product = xp.sign(g * prev)
    factor = xp.where(product > 0, etaplus, xp.where(product < 0, etaminus, 1.0)).astype(param.dtype)
    step_size *= factor
    xp.clip(step_size, step_size_min, step_size_max, out=step_size)
    g[product < 0] = 0
    param -= xp.sign(g) * step_size
    prev[...] = g


class Rprop(Optimizer):
    """Rprop, as ``torch.optim.Rprop`` (see :func:`rprop_update` for the rule).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: the initial step size Δ of every weight (default 1e-2).
        etas: (η⁻, η⁺), the shrink and growth factors (default (0.5, 1.2)).
        step_sizes: (Δ_min, Δ_max), the bounds of the step size (default (1e-6, 50)).
        maximize: climb the objective instead of descending it.

    State per parameter: ``step``, ``prev`` (the last kept gradient) and ``step_size``.

    Example:
        >>> import shenjing
        >>> w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0]))
        >>> opt = shenjing.optim.Rprop([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()                            # the first step moves each weight by Δ = η against its gradient
        >>> [round(x, 4) for x in w.array.tolist()]
        [0.9, -1.9]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        xp = backend_of(p.array).xp
        return {"step": 0.0, "prev": xp.zeros_like(p.array), "step_size": xp.full_like(p.array, group["lr"])}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Rprop step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group, p, state in self._params_with_grad():
            (etaminus, etaplus), (smin, smax) = group["etas"], group["step_sizes"]
            rprop_update(p.array, p.grad.array, state["prev"], state["step_size"], etaminus=etaminus,
                         etaplus=etaplus, step_size_min=smin, step_size_max=smax, maximize=group["maximize"])
        return loss
