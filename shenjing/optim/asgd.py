"""ASGD: stochastic gradient descent with a decaying step size and Polyak–Ruppert averaging of the iterates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of, get_default_dtype
from .optimizer import Optimizer, _gradient

__all__ = ["ASGD", "asgd_update"]


def asgd_update(
    param: Any,
    grad: Any,
    ax: Any,
    eta: Any,
    mu: Any,
    step: float,
    *,
    lr: float,
    lambd: float,
    alpha: float,
    t0: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One ASGD step on one parameter array, in place (and on ``ax``, ``eta``, ``mu``).

    With g = ∂L/∂w (−∂L/∂w when ``maximize``), step t (1 on the first step), η₀ = lr, decay λ (``lambd``),
    power α, averaging start t₀, weight decay λ_w:

        g ← g + λ_w w                          L2 weight decay
        w ← w(1 − λη) − ηg                     SGD step with the current step size η (``eta``)
        x̄ ← x̄ + μ(w − x̄)   (x̄ ← w while μ = 1)  the running average of the iterates (``ax``)
        η ← η₀ / (1 + λη₀t)^α,   μ ← 1 / max(1, t − t₀)

    NOTE: ``eta`` and ``mu`` are 0-d arrays of the default dtype (float32), as PyTorch keeps them; their
    rounding enters the step as in PyTorch. The average x̄ is what the method returns as its estimate: read
    it from ``optimizer.state[p]["ax"]``.
    """
    xp = backend_of(param).xp
    grad, _ = _gradient(param, grad, weight_decay, maximize)
    eta_value = float(eta)
    param *= 1 - lambd * eta_value  # decay term
    param += grad * -eta_value  # − ηg
    if float(mu) != 1:
        ax += (param - ax) * mu
    else:
        xp.copyto(ax, param)
    eta[...] = lr / ((1 + lambd * lr * step) ** alpha)
    mu[...] = 1 / max(1, step - t0)


class ASGD(Optimizer):
    """Averaged SGD, as ``torch.optim.ASGD`` (see :func:`asgd_update` for the formulas).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: initial step size η₀ (default 1e-2).
        lambd: decay term λ (default 1e-4).
        alpha: power α of the step-size decay (default 0.75).
        t0: the step from which the iterates are averaged (default 1e6).
        weight_decay: L2 penalty, added to the gradient (default 0).
        maximize: climb the objective instead of descending it.

    State per parameter: ``step``, ``eta`` (η), ``mu`` (μ) and ``ax`` (x̄).

    Example:
        >>> import shenjing
        >>> w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0]))
        >>> opt = shenjing.optim.ASGD([w], lr=0.1, lambd=0.0)
        >>> (w * w).sum().backward()
        >>> opt.step()                            # plain SGD: w − 0.1 · 2w
        >>> [round(x, 4) for x in w.array.tolist()]
        [0.8, -1.6]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    _nonnegative = ("lr", "weight_decay")

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        xp = backend_of(p.array).xp
        return {
            "step": 0.0,
            "eta": xp.asarray(group["lr"], dtype=get_default_dtype()),
            "mu": xp.ones((), dtype=get_default_dtype()),
            "ax": xp.zeros_like(p.array),
        }

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One ASGD step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group, p, state in self._params_with_grad():
            asgd_update(p.array, p.grad.array, state["ax"], state["eta"], state["mu"], state["step"],
                        lr=group["lr"], lambd=group["lambd"], alpha=group["alpha"], t0=group["t0"],
                        weight_decay=group["weight_decay"], maximize=group["maximize"])
        return loss
