"""SGD: stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of
from .optimizer import Optimizer, _gradient

__all__ = ["SGD", "sgd_update"]


def sgd_update(
    param: Any,
    grad: Any,
    momentum_buffer: Any,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> Any:
    """One SGD step on one parameter array, in place; returns the momentum buffer (``None`` without momentum).

    With g = ∂L/∂w (−∂L/∂w when ``maximize``), learning rate η, momentum μ, dampening τ, weight decay λ:

        g ← g + λw                          L2 weight decay, added to the gradient
        v ← μv + (1 − τ)g                   momentum buffer; on the first step v ← g (no dampening)
        g ← g + μv   (nesterov)   or   g ← v
        w ← w − ηg

    Plain SGD (μ = 0) is the textbook's w ← w − η ∂L/∂w.

    Differs from the Sutskever et al. / Keras form v ← μv − ηg, w ← w + v: PyTorch (and we) keep η outside
    the buffer, so changing η mid-training scales the whole step at once. scikit-learn's ``alpha`` adds
    ½α‖W‖²/n to the loss instead of λw to the gradient.
    """
    xp = backend_of(param).xp
    grad, owned = _gradient(param, grad, weight_decay, maximize)
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = grad.copy()  # v₁ = g
        else:
            momentum_buffer *= momentum
            if dampening != 0:
                momentum_buffer += grad * (1 - dampening)
            else:
                momentum_buffer += grad
        if nesterov:
            grad = momentum_buffer * momentum + grad  # g + μv
            owned = True
        else:
            grad, owned = momentum_buffer, False
    if owned:
        step = xp.multiply(grad, lr, out=grad)
    else:
        step = grad * lr  # ηg
    param -= step
    return momentum_buffer


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, as ``torch.optim.SGD`` (see :func:`sgd_update`).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: learning rate η (default 1e-3, as PyTorch 2.x).
        momentum: momentum factor μ (default 0).
        dampening: dampening τ of the momentum (default 0).
        weight_decay: L2 penalty λ, added to the gradient as λw (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: climb the objective instead of descending it.

    State per parameter: ``momentum_buffer`` (only when momentum ≠ 0).

    Example:
        >>> import shenjing
        >>> w = shenjing.nn.Parameter(shenjing.tensor([1.0, 2.0]))
        >>> opt = shenjing.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward()             # ∂L/∂w = 2w = [2, 4]
        >>> opt.step()                           # w ← w − 0.1 · [2, 4]
        >>> w.array.tolist()
        [0.800000011920929, 1.600000023841858]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    _nonnegative = ("lr", "momentum", "weight_decay")

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        super()._check_hyperparameters(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"Nesterov momentum requires a momentum and zero dampening, got momentum={group['momentum']}, "
                f"dampening={group['dampening']}"
            )

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One SGD step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p] if momentum != 0 else None
                buffer = sgd_update(
                    p.array,
                    p.grad.array,
                    state.get("momentum_buffer") if state is not None else None,
                    lr=lr,
                    momentum=momentum,
                    dampening=dampening,
                    weight_decay=weight_decay,
                    nesterov=nesterov,
                    maximize=maximize,
                )
                if state is not None:
                    state["momentum_buffer"] = buffer
        return loss
