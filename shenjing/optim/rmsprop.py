"""RMSprop: divide the gradient by a running root mean square of recent gradients (Hinton's lecture 6e)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import backend_of
from .optimizer import Optimizer, _gradient, _lerp_

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(
    param: Any,
    grad: Any,
    square_avg: Any,
    grad_avg: Any,
    momentum_buffer: Any,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
) -> None:
    """One RMSprop step on one parameter array, in place (and on its running averages).

    With g = ∂L/∂w (−∂L/∂w when ``maximize``), learning rate η, smoothing α, ε, weight decay λ, momentum μ:

        g ← g + λw                          L2 weight decay
        v ← αv + (1 − α)g²                  running mean square (``square_avg``)
        ḡ ← αḡ + (1 − α)g                   running mean (``grad_avg``), centered only
        s = √(v − ḡ²) + ε   (centered)   or   s = √v + ε
        b ← μb + g / s,  w ← w − ηb         with momentum (``momentum_buffer``)
        w ← w − η g / s                     without

    The centered variant divides by an estimate of the gradient's standard deviation instead of its
    root mean square.

    Differs from Keras, which puts ε inside the root, √(v + ε), and defaults to rho = α = 0.9 with
    ε = 1e-7; PyTorch (and we) use √v + ε with α = 0.99, ε = 1e-8.
    """
    xp = backend_of(param).xp
    grad, owned = _gradient(param, grad, weight_decay, maximize)
    scratch = xp.empty_like(param)
    square_avg *= alpha
    xp.multiply(grad, 1 - alpha, out=scratch)
    scratch *= grad
    square_avg += scratch  # αv + (1 − α)g²
    if centered:
        _lerp_(grad_avg, grad, 1 - alpha, scratch, xp)  # ḡ ← ḡ + (1 − α)(g − ḡ)
        xp.multiply(grad_avg, grad_avg, out=scratch)
        xp.subtract(square_avg, scratch, out=scratch)  # v − ḡ²
        avg = xp.sqrt(scratch, out=scratch)  # √(v − ḡ²)
    else:
        avg = xp.sqrt(square_avg, out=scratch)
    avg += eps
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += xp.divide(grad, avg, out=avg)  # μb + g/s
        param -= xp.multiply(momentum_buffer, lr, out=avg)
    else:
        update = xp.multiply(grad, -lr, out=grad) if owned else grad * -lr
        update /= avg
        param += update  # w − η g/s


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (see :func:`rmsprop_update` for the formulas).

    Args:
        params: parameters, or dicts of parameter groups with per-group options.
        lr: learning rate η (default 1e-2).
        alpha: smoothing constant α of the running averages (default 0.99).
        eps: ε added to the root (default 1e-8).
        weight_decay: L2 penalty λ, added to the gradient as λw (default 0).
        momentum: momentum factor μ (default 0).
        centered: normalise by the estimated variance of the gradient instead of its mean square.
        maximize: climb the objective instead of descending it.

    State per parameter: ``step``, ``square_avg``, and ``momentum_buffer`` (momentum > 0) and
    ``grad_avg`` (centered).

    Example:
        >>> import shenjing
        >>> w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0]))
        >>> opt = shenjing.optim.RMSprop([w], lr=0.01)
        >>> (w * w).sum().backward()
        >>> opt.step()                            # first step: g/√(0.01 g²) = ±10, times η
        >>> [round(x, 4) for x in w.array.tolist()]
        [0.9, -1.9]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    _nonnegative = ("lr", "eps", "momentum", "weight_decay", "alpha")

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        xp = backend_of(p.array).xp
        state = {"step": 0.0, "square_avg": xp.zeros_like(p.array)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(p.array)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(p.array)
        return state

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RMSprop step for every parameter with a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group, p, state in self._params_with_grad():
            rmsprop_update(
                p.array,
                p.grad.array,
                state["square_avg"],
                state.get("grad_avg"),
                state.get("momentum_buffer"),
                lr=group["lr"],
                alpha=group["alpha"],
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                momentum=group["momentum"],
                centered=group["centered"],
                maximize=group["maximize"],
            )
        return loss
