"""Activations a = f(z), each beside its derivative f′(z): the ⊙ f′(z⁽ˡ⁾) half of backpropagation.

Each backward receives ∂L/∂a and returns ∂L/∂z = ∂L/∂a ⊙ f′(z): that product, applied to the
W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾ handed down by the Linear layer above, is the textbook's δ⁽ˡ⁾.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..autograd import Function
from ..ops.reduce import normalize_axis
from ..tensor import Tensor
from . import _onednn
from .module import Module

__all__ = [
    "Step", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "LogSoftmax", "SiLU", "ELU", "Softplus",
    "step", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "log_softmax", "silu", "elu", "softplus",
]


# ---- the functions and their derivatives ---------------------------------------------------------------------
class StepFunction(Function):
    """a = 1 if z > threshold else 0 (the textbook's threshold unit).   f′(z) = 0 wherever it exists.

    NOTE: the derivative is zero everywhere (and undefined at the threshold), so no gradient flows back
    through a step and gradient descent cannot train what lies below it. The sigmoid
    1/(1 + e^(−k(z − threshold))) is a smooth stand-in that tends to the step as k → ∞; with a
    non-zero derivative everywhere, it is what makes training by backpropagation possible.
    """

    def forward(self, z: Any, threshold: float = 0.0) -> Any:
        return (z > threshold).astype(z.dtype)

    def backward(self, grad_a: Any) -> Any:
        return grad_a * 0


class SigmoidFunction(Function):
    """a = σ(z) = 1 / (1 + e^(−z)).   f′(z) = σ(z)(1 − σ(z)) = a(1 − a).

    Computed from e^(−|z|), which never overflows: σ(z) = 1/(1 + e^(−|z|)) for z ≥ 0 and
    e^(−|z|)/(1 + e^(−|z|)) for z < 0, so logits of ±1e4 give exactly 1 and 0 (no warnings, no nan).
    """

    def forward(self, z: Any) -> Any:
        xp = self.xp
        e = xp.exp(-xp.abs(z))  # in (0, 1]
        a = xp.where(z >= 0, 1, e) / (1 + e)
        self.a = a
        return a

    def backward(self, grad_a: Any) -> Any:
        a = self.a
        return grad_a * a * (1 - a)


class TanhFunction(Function):
    """a = tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)).   f′(z) = 1 − a²."""

    def forward(self, z: Any) -> Any:
        self.a = self.xp.tanh(z)
        return self.a

    def backward(self, grad_a: Any) -> Any:
        return grad_a * (1 - self.a * self.a)


class ReLUFunction(Function):
    """a = max(0, z).   f′(z) = 1 for z > 0, 0 for z ≤ 0.

    ReLU′ is read off the output, 1[a > 0] = 1[z > 0], so a is all the backward keeps (no mask pass in the
    forward). Large float32 arrays go through oneDNN's ReLU backward on both cores (``_onednn.relu_backward``).
    NOTE: ReLU′(0) = 0, as PyTorch; a ReLU built from ``maximum(z, 0)`` would split the tie and give ½.
    """

    def forward(self, z: Any) -> Any:
        a = self.xp.maximum(z, 0)  # NOTE: not z * mask, which gives −0.0 for negative z; NaN stays NaN
        if getattr(self, "recording", True):  # (nothing to keep where no backward follows: eval, no_grad)
            self.a = a
        return a

    def backward(self, grad_a: Any) -> Any:
        grad_z = _onednn.relu_backward(self.xp, self.a, grad_a)
        return grad_a * (self.a > 0) if grad_z is None else grad_z


class LeakyReLUFunction(Function):
    """a = z for z > 0, α·z otherwise.   f′(z) = 1 for z > 0, α for z ≤ 0 (α = negative_slope)."""

    def forward(self, z: Any, negative_slope: float = 0.01) -> Any:
        self.positive, self.slope = z > 0, negative_slope
        if 0 < negative_slope <= 1:  # then a = max(z, α·z), the same values (α = 0 would turn z = ∞ into nan)
            a = self.xp.multiply(z, negative_slope)
            return self.xp.maximum(a, z, out=a)
        return self.xp.where(self.positive, z, z * negative_slope)

    def backward(self, grad_a: Any) -> Any:
        xp, slope = self.xp, self.slope
        if 0 <= slope <= 1:  # f′(z) = max(1[z > 0], α) ∈ {1, α} exactly, so ∂L/∂a · f′(z) has where's values
            local = self.positive.astype(grad_a.dtype)
            xp.maximum(local, grad_a.dtype.type(slope), out=local)
            local *= grad_a
            return local
        return xp.where(self.positive, grad_a, grad_a * slope)


# NOTE: NumPy's ``where`` is about 20–60× slower than a multiply on arrays that are not C-contiguous (an NCHW
# view of channels-last memory, which every convolution outputs): the hot activations above use ufuncs only.


class SoftmaxFunction(Function):
    """aᵢ = e^(zᵢ − m) / Σⱼ e^(zⱼ − m) along ``axis``, m = max z (subtracting it keeps e^· finite).

    ∂L/∂zᵢ = aᵢ (∂L/∂aᵢ − Σⱼ aⱼ ∂L/∂aⱼ)   (the Jacobian diag(a) − a aᵀ applied to ∂L/∂a).
    """

    def forward(self, z: Any, axis: int = -1) -> Any:
        xp = self.xp
        e = xp.exp(z - z.max(axis=axis, keepdims=True))
        self.a, self.axis = e / e.sum(axis=axis, keepdims=True), axis
        return self.a

    def backward(self, grad_a: Any) -> Any:
        a = self.a
        return a * (grad_a - (grad_a * a).sum(axis=self.axis, keepdims=True))


class LogSoftmaxFunction(Function):
    """log aᵢ = zᵢ − log Σⱼ e^zⱼ, computed as (zᵢ − m) − log Σⱼ e^(zⱼ − m) (finite for logits of ±1e4).

    ∂L/∂zᵢ = ∂L/∂(log a)ᵢ − aᵢ Σⱼ ∂L/∂(log a)ⱼ.
    NOTE: log(softmax(z)) is −inf once a softmax entry underflows to 0; use this instead.
    """

    def forward(self, z: Any, axis: int = -1) -> Any:
        xp = self.xp
        shifted = z - z.max(axis=axis, keepdims=True)
        self.log_a = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        self.axis = axis
        return self.log_a

    def backward(self, grad: Any) -> Any:
        return grad - self.xp.exp(self.log_a) * grad.sum(axis=self.axis, keepdims=True)


class SiLUFunction(Function):
    """a = z·σ(z) (swish).   f′(z) = σ(z)(1 + z(1 − σ(z)))."""

    def forward(self, z: Any) -> Any:
        xp = self.xp
        e = xp.exp(-xp.abs(z))
        self.s, self.z = xp.where(z >= 0, 1, e) / (1 + e), z
        return z * self.s

    def backward(self, grad_a: Any) -> Any:
        s = self.s
        return grad_a * s * (1 + self.z * (1 - s))


class ELUFunction(Function):
    """a = z for z > 0, α(e^z − 1) otherwise.   f′(z) = 1 for z > 0, α e^z = a + α otherwise."""

    def forward(self, z: Any, alpha: float = 1.0) -> Any:
        xp = self.xp
        self.positive, self.alpha = z > 0, alpha
        self.a = xp.where(self.positive, z, alpha * xp.expm1(xp.minimum(z, 0)))
        return self.a

    def backward(self, grad_a: Any) -> Any:
        return self.xp.where(self.positive, grad_a, grad_a * (self.a + self.alpha))


class SoftplusFunction(Function):
    """a = (1/β) log(1 + e^(βz)), linear above ``threshold``.   f′(z) = σ(βz)."""

    def forward(self, z: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
        xp = self.xp
        bz = beta * z
        self.bz, self.beta, self.threshold = bz, beta, threshold
        soft = (xp.maximum(bz, 0) + xp.log1p(xp.exp(-xp.abs(bz)))) / beta
        return xp.where(bz > threshold, z, soft)

    def backward(self, grad_a: Any) -> Any:
        xp = self.xp
        e = xp.exp(-xp.abs(self.bz))
        s = xp.where(self.bz >= 0, 1, e) / (1 + e)
        return xp.where(self.bz > self.threshold, grad_a, grad_a * s)


# ---- functional forms ------------------------------------------------------------------------------------------
def step(input: Tensor, threshold: float = 0.0) -> Tensor:  # noqa: A002 - PyTorch's name
    return StepFunction.apply(input, threshold=threshold)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return SigmoidFunction.apply(input)


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return TanhFunction.apply(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return ReLUFunction.apply(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    return LeakyReLUFunction.apply(input, negative_slope=negative_slope)


def _softmax_axis(name: str, input: Tensor, dim: int | None, stacklevel: int) -> int:  # noqa: A002
    if dim is None:  # PyTorch's legacy implicit choice, with its deprecation warning
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an "
            "argument.",
            UserWarning,
            stacklevel=stacklevel,
        )
        dim = 0 if input.ndim in (0, 1, 3) else 1
    (axis,) = normalize_axis(dim, input.ndim) or (0,)
    return axis if input.ndim else 0


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:  # noqa: A002
    source = input if dtype is None else input.to(dtype)
    return SoftmaxFunction.apply(source, axis=_softmax_axis("softmax", input, dim, _stacklevel))


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None  # noqa: A002
) -> Tensor:
    source = input if dtype is None else input.to(dtype)
    return LogSoftmaxFunction.apply(source, axis=_softmax_axis("log_softmax", input, dim, _stacklevel))


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return SiLUFunction.apply(input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    return ELUFunction.apply(input, alpha=alpha)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    return SoftplusFunction.apply(input, beta=beta, threshold=threshold)


# ---- modules ---------------------------------------------------------------------------------------------------
class _Activation(Module):
    """A module applying one activation; its config is its keyword arguments."""

    _options: tuple = ()

    def get_config(self) -> dict:
        return {name: getattr(self, name) for name in self._options}

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)}" for name in self._options)


class Step(_Activation):
    """a = 1 if z > threshold else 0: the textbook's threshold neuron. Not trainable by gradient descent:
    f′ = 0 everywhere, so use :class:`Sigmoid` to train (see :class:`StepFunction`)."""

    _options = ("threshold",)

    def __init__(self, threshold: float = 0.0) -> None:
        super().__init__()
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return step(input, self.threshold)


class Sigmoid(_Activation):
    """a = 1/(1 + e^(−z)), f′ = a(1 − a). Squashes to (0, 1); the textbook's smooth step."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return SigmoidFunction.apply(input)


class Tanh(_Activation):
    """a = tanh(z), f′ = 1 − a². Squashes to (−1, 1), centred on 0."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return TanhFunction.apply(input)


class ReLU(_Activation):
    """a = max(0, z), f′ = 1 for z > 0 else 0. The default hidden activation.

    Example:
        >>> import shenjing
        >>> shenjing.nn.ReLU()(shenjing.tensor([-2.0, 0.0, 3.0]))
        tensor([0., 0., 3.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return ReLUFunction.apply(input)


class LeakyReLU(_Activation):
    """a = z for z > 0 else negative_slope·z, f′ = 1 or negative_slope (default 0.01, as PyTorch)."""

    _options = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return LeakyReLUFunction.apply(input, negative_slope=self.negative_slope)


class Softmax(_Activation):
    """aᵢ = e^zᵢ / Σⱼ e^zⱼ along ``dim``: turns logits into probabilities.

    NOTE: do not put it before ``CrossEntropyLoss``, which applies log-softmax itself.
    """

    _options = ("dim",)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return softmax(input, self.dim, _stacklevel=5)


class Softmax2d(_Activation):
    """Softmax over the channels at every position of an image: along dim −3 of (N, C, H, W) or (C, H, W)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return softmax(input, -3)


class LogSoftmax(_Activation):
    """log aᵢ = zᵢ − log Σⱼ e^zⱼ along ``dim``; pair it with ``NLLLoss``."""

    _options = ("dim",)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return log_softmax(input, self.dim, _stacklevel=5)


class SiLU(_Activation):
    """a = z·σ(z) (swish)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return SiLUFunction.apply(input)


class ELU(_Activation):
    """a = z for z > 0 else α(e^z − 1)."""

    _options = ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return elu(input, self.alpha)


class Softplus(_Activation):
    """a = (1/β) log(1 + e^(βz)), a smooth ReLU."""

    _options = ("beta", "threshold")

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return softplus(input, self.beta, self.threshold)
