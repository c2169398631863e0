"""Adagrad: per-weight learning rates from the sum of all past squared gradients (Duchi et al., 2011)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of
from .optimizer import Optimizer, _gradient

__all__ = ["Adagrad", "adagrad_update"]


def adagrad_update(
    param: Any,
    grad: Any,
    state_sum: Any,
    step: float,
    *,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """One Adagrad step on one parameter array, in place (and on ``state_sum``).

    With g = ∂L/∂w (−∂L/∂w when ``maximize``), step t (1 on the first step), learning rate η, decay d,
    weight decay λ, ε:

        g ← g + λw                          L2 weight decay
        η̃ = η / (1 + (t − 1)d)              learning-rate decay
        G ← G + g²                          the sum of squared gradients (``sum``; starts at
                                            ``initial_accumulator_value``)
        w ← w − η̃ g / (√G + ε)

    Weights with large past gradients take small steps and rarely-updated weights large ones.

    Differs from Keras 3, which puts ε inside the root, g / √(G + ε), with ε = 1e-7 and G starting at
    0.1 (PyTorch and we: √G + ε, ε = 1e-10, G starting at 0).
    """
    xp = backend_of(param).xp
    grad, owned = _gradient(param, grad, weight_decay, maximize)
    clr = lr / (1 + (step - 1) * lr_decay)
    scratch = xp.multiply(grad, grad)
    state_sum += scratch  # G + g²
    std = xp.sqrt(state_sum, out=scratch)
    std += eps
    update = xp.multiply(grad, -clr, out=grad) if owned else grad * -clr
    update /= std
    param += update  # w − η̃ g/(√G + ε)


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (see :func:`adagrad_update` for the formulas).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: learning rate η (default 1e-2).
        lr_decay: d in η / (1 + (t − 1)d) (default 0).
        weight_decay: L2 penalty λ, added to the gradient as λw (default 0).
        initial_accumulator_value: the starting value of the sum of squares G (default 0).
        eps: ε added to √G (default 1e-10).
        maximize: climb the objective instead of descending it.

    State per parameter, made at construction as PyTorch does: ``step`` and ``sum``.

    Differs from PyTorch 2.13 in one corner: a parameter group's own ``initial_accumulator_value`` is
    honoured; PyTorch starts every group's ``sum`` from the constructor's value.

    Example:
        >>> import shenjing
        >>> w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0]))
        >>> opt = shenjing.optim.Adagrad([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()                            # first step: g/√(g²) = ±1, times η
        >>> [round(x, 4) for x in w.array.tolist()]
        [0.9, -1.9]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p].update(self._init_state(p, group))  # at construction, as PyTorch

    _nonnegative = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        # NOTE: made at construction; _params_with_grad makes it for a parameter added with add_param_group
        return {"step": 0.0, "sum": backend_of(p.array).xp.full_like(p.array, group["initial_accumulator_value"])}

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adagrad step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group, p, state in self._params_with_grad():
            adagrad_update(
                p.array,
                p.grad.array,
                state["sum"],
                state["step"],
                lr=group["lr"],
                lr_decay=group["lr_decay"],
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=group["maximize"],
            )
        return loss
