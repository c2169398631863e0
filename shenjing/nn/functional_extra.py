"""More of ``torch.nn.functional``: the in-place activations (``F.relu_`` …) and ``gumbel_softmax``.

The in-place forms compute the activation out of place and write it into the input (``Tensor._inplace_op``):
inside a graph the input moves onto the new node, version-counted, as PyTorch's in-place ops do.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import activation, activation_extra

__all__ = ["relu_", "leaky_relu_", "elu_", "celu_", "selu_", "hardtanh_", "rrelu_", "threshold_",
           "gumbel_softmax"]


def _in_place(function: Any, name: str) -> Any:
    def apply(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A002
        return input._inplace_op(lambda t: function(t, *args, **kwargs))

    apply.__name__ = name
    apply.__doc__ = f"``F.{name}(x, …)``: :func:`{function.__name__}` written into ``x`` in place; returns ``x``."
    return apply


relu_ = _in_place(activation.relu, "relu_")
leaky_relu_ = _in_place(activation.leaky_relu, "leaky_relu_")
elu_ = _in_place(activation.elu, "elu_")
celu_ = _in_place(activation_extra.celu, "celu_")
selu_ = _in_place(activation_extra.selu, "selu_")
hardtanh_ = _in_place(activation_extra.hardtanh, "hardtanh_")
rrelu_ = _in_place(activation_extra.rrelu, "rrelu_")
threshold_ = _in_place(activation_extra.threshold, "threshold_")


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A sample of the Gumbel-softmax (Concrete) distribution: softmax((logits + g) / τ) along ``dim`` with
    g = −log E, E ~ Exponential(1) (Gumbel noise). With ``hard`` the result is the one-hot of its argmax in the
    forward pass and the soft sample's gradient in the backward pass (y_hard − sg(y) + y, straight-through)."""
    gumbels = -logits.new_empty(tuple(logits.shape)).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = logits.new_zeros(tuple(logits.shape)).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
