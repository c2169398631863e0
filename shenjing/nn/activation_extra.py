"""More activations a = f(z), each beside its derivative f′(z): PyTorch's SELU … Softmin (functional + Module).

As in activation.py, each backward returns ∂L/∂z = ∂L/∂a ⊙ f′(z). At a kink f′ takes PyTorch's value, noted
where it is not the obvious one.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import backend_of
from ..tensor import Tensor
from .activation import ELUFunction, _Activation, sigmoid, softmax
from .module import Module, Parameter

__all__ = [
    "SELU", "CELU", "GELU", "Mish", "Softsign", "Hardtanh", "ReLU6", "LogSigmoid", "Hardsigmoid", "Hardswish",
    "Tanhshrink", "Softshrink", "Hardshrink", "Threshold", "GLU", "PReLU", "Softmin",
    "selu", "celu", "gelu", "mish", "softsign", "hardtanh", "relu6", "logsigmoid", "hardsigmoid", "hardswish",
    "tanhshrink", "softshrink", "hardshrink", "threshold", "glu", "prelu", "softmin", "RReLU", "rrelu",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(xp: Any, z: Any) -> Any:
    e = xp.exp(-xp.abs(z))  # in (0, 1]: never overflows
    return xp.where(z >= 0, 1, e) / (1 + e)


def _erfc_of_nonnegative(xp: Any, u: Any) -> Any:
    """erfc(u) for u ≥ 0 with xp only (any backend; SciPy's erfc is used instead when present), to about 1e-10
    relative at worst (near the switch at u = 2.5): the Maclaurin series of erf below 2.5, Laplace's continued
    fraction erfc(u) = e^(−u²)/√π · 1/(u + ½/(u + 1/(u + 3⁄2/(u + …)))) above."""
    small = xp.minimum(u, 2.5)
    u2 = small * small
    term, total = small, small
    for n in range(1, 45):  # erf(u) = 2/√π Σ (−1)ⁿ u^(2n+1) / (n! (2n + 1))
        term = term * (-u2 / n)
        total = total + term / (2 * n + 1)
    series = 1 - total * (2 / math.sqrt(math.pi))
    large = xp.maximum(u, 2.5)
    fraction = large
    for k in range(80, 0, -1):
        fraction = large + (k / 2) / fraction
    tail = xp.exp(-large * large) / (math.sqrt(math.pi) * fraction)
    return xp.where(u < 2.5, series, tail)


def normal_cdf(xp: Any, z: Any) -> Any:
    """Φ(z) = ½ erfc(−z/√2), accurate in both tails (evaluated in float64: the series cancels in float32)."""
    erfc = backend_of(z).special("erfc")  # NOTE: SciPy's (or cupyx's) when present: about 20x faster than the series
    if erfc is not None:  # SciPy's erfc is accurate for either sign: Φ(z) = ½ erfc(−z/√2) in four passes
        u = z.astype("float64")  # a fresh float64 array, written in place from here
        u *= -1 / math.sqrt(2)
        cdf = erfc(u, out=u)
        cdf *= 0.5
        return cdf.astype(z.dtype, copy=False)
    u = xp.abs(z).astype("float64") * (1 / math.sqrt(2))
    half_tail = 0.5 * _erfc_of_nonnegative(xp, u)  # the series is written for u ≥ 0: the upper tail by symmetry
    return xp.where(z >= 0, 1 - half_tail, half_tail).astype(z.dtype)


# ---- the functions and their derivatives ---------------------------------------------------------------------
class CELUFunction(Function):
    """a = max(0, z) + min(0, α(e^(z/α) − 1)).   f′(z) = 1 for z > 0, e^(z/α) otherwise."""

    def forward(self, z: Any, alpha: float = 1.0) -> Any:
        xp = self.xp
        self.positive = z > 0
        self.exp = xp.exp(xp.minimum(z, 0) / alpha)
        return xp.where(self.positive, z, alpha * (self.exp - 1))

    def backward(self, grad_a: Any) -> Any:
        return self.xp.where(self.positive, grad_a, grad_a * self.exp)


class GELUFunction(Function):
    """a = z·Φ(z), Φ the standard normal CDF.   f′(z) = Φ(z) + z·φ(z), φ(z) = e^(−z²/2)/√(2π).

    approximate='tanh': a = ½z(1 + tanh(u)), u = √(2/π)(z + 0.044715z³);
    f′(z) = ½(1 + tanh u) + ½z(1 − tanh² u)·√(2/π)(1 + 3·0.044715z²).
    """

    def forward(self, z: Any, approximate: str = "none") -> Any:
        xp = self.xp
        self.z, self.approximate = z, approximate
        if approximate == "tanh":
            self.t = xp.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z * z * z))
            return 0.5 * z * (1 + self.t)
        self.cdf = normal_cdf(xp, z)
        return z * self.cdf

    def backward(self, grad_a: Any) -> Any:
        xp, z = self.xp, self.z
        if self.approximate == "tanh":
            t = self.t
            du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * z * z)
            return grad_a * (0.5 * (1 + t) + 0.5 * z * (1 - t * t) * du)
        pdf = xp.exp(-0.5 * z * z) * (1 / math.sqrt(2 * math.pi))
        return grad_a * (self.cdf + z * pdf)


class MishFunction(Function):
    """a = z·tanh(softplus(z)).   f′(z) = tanh(s) + z(1 − tanh² s)σ(z), s = log(1 + e^z)."""

    def forward(self, z: Any) -> Any:
        xp = self.xp
        s = xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))  # softplus, stably
        self.t, self.z = xp.tanh(s), z
        return z * self.t

    def backward(self, grad_a: Any) -> Any:
        t, z = self.t, self.z
        return grad_a * (t + z * (1 - t * t) * _sigmoid(self.xp, z))


class SoftsignFunction(Function):
    """a = z / (1 + |z|).   f′(z) = 1 / (1 + |z|)²."""

    def forward(self, z: Any) -> Any:
        self.denominator = 1 + self.xp.abs(z)
        return z / self.denominator

    def backward(self, grad_a: Any) -> Any:
        return grad_a / (self.denominator * self.denominator)


class HardtanhFunction(Function):
    """a = clamp(z, min_val, max_val).   f′(z) = 1 for min_val < z < max_val, else 0.

    NOTE: 0 at the bounds themselves, as PyTorch's hardtanh (its clamp gives 1 there).
    """

    def forward(self, z: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
        self.inside = (z > min_val) & (z < max_val)
        return self.xp.clip(z, min_val, max_val)

    def backward(self, grad_a: Any) -> Any:
        return grad_a * self.inside


class LogSigmoidFunction(Function):
    """a = log σ(z) = min(z, 0) − log(1 + e^(−|z|)) (finite for z = −1e4).   f′(z) = 1 − σ(z) = σ(−z)."""

    def forward(self, z: Any) -> Any:
        xp = self.xp
        self.z = z
        return xp.minimum(z, 0) - xp.log1p(xp.exp(-xp.abs(z)))

    def backward(self, grad_a: Any) -> Any:
        return grad_a * _sigmoid(self.xp, -self.z)


class HardsigmoidFunction(Function):
    """a = clamp(z/6 + ½, 0, 1) = ReLU6(z + 3)/6.   f′(z) = 1/6 for −3 < z < 3, else 0."""

    def forward(self, z: Any) -> Any:
        self.inside = (z > -3) & (z < 3)
        return self.xp.clip(z / 6 + 0.5, 0, 1)

    def backward(self, grad_a: Any) -> Any:
        return grad_a * self.inside / 6


class HardswishFunction(Function):
    """a = z·ReLU6(z + 3)/6.   f′(z) = 0 for z ≤ −3, z/3 + ½ for −3 < z < 3, 1 for z ≥ 3 (PyTorch's sides)."""

    def forward(self, z: Any) -> Any:
        self.z = z
        return z * self.xp.clip(z + 3, 0, 6) / 6

    def backward(self, grad_a: Any) -> Any:
        xp, z = self.xp, self.z
        return grad_a * xp.where(z <= -3, 0, xp.where(z < 3, z / 3 + 0.5, 1)).astype(z.dtype)


class TanhshrinkFunction(Function):
    """a = z − tanh(z).   f′(z) = tanh²(z)."""

    def forward(self, z: Any) -> Any:
        self.t = self.xp.tanh(z)
        return z - self.t

    def backward(self, grad_a: Any) -> Any:
        return grad_a * self.t * self.t


class ShrinkFunction(Function):
    """Soft: a = z − λ·sign(z) where |z| > λ, else 0.   Hard: a = z where |z| > λ, else 0.

    f′(z) = 1 where |z| > λ, else 0 (both).
    """

    def forward(self, z: Any, lambd: float = 0.5, soft: bool = True) -> Any:
        xp = self.xp
        self.outside = (z > lambd) | (z < -lambd)
        shrunk = z - xp.sign(z) * lambd if soft else z
        return xp.where(self.outside, shrunk, 0 * z)

    def backward(self, grad_a: Any) -> Any:
        return grad_a * self.outside


class ThresholdFunction(Function):
    """a = z where z > threshold, else value.   f′(z) = 1 where z > threshold, else 0."""

    def forward(self, z: Any, threshold: float = 0.0, value: float = 0.0) -> Any:
        self.above = z > threshold
        return self.xp.where(self.above, z, self.xp.asarray(value, dtype=z.dtype))

    def backward(self, grad_a: Any) -> Any:
        return grad_a * self.above


class RReLUFunction(Function):
    """a = z for z ≥ 0, s·z otherwise, with a random slope s ~ U(lower, upper) drawn per element (training).

    f′(z) = 1 for z > 0, s otherwise. In evaluation s = (lower + upper)/2 for every element (a leaky ReLU).
    """

    def forward(self, z: Any, lower: float = 1 / 8, upper: float = 1 / 3, training: bool = False) -> Any:
        xp = self.xp
        if training:
            from ..backend import backend_of

            noise = backend_of(z).generator.random(z.shape, dtype=z.dtype)
            slope = lower + (upper - lower) * noise
        else:
            slope = z.dtype.type((lower + upper) / 2)
        self.local = xp.where(z > 0, z.dtype.type(1), slope)  # f′(z), kept for backward
        return z * self.local

    def backward(self, grad_a: Any) -> Any:
        return grad_a * self.local


class PReLUFunction(Function):
    """a = z for z > 0, w·z otherwise, with one learnable slope w per channel (dim 1) or one for all.

    ∂L/∂z = ∂L/∂a where z > 0, w·∂L/∂a otherwise;  ∂L/∂w = Σ over all but the channel of z·∂L/∂a where z ≤ 0.
    """

    def forward(self, z: Any, w: Any) -> Any:
        xp = self.xp
        self.w_shape = w.shape
        view = w.reshape((1, -1) + (1,) * (z.ndim - 2)) if z.ndim >= 2 and w.size > 1 else w.reshape(-1)[0]
        self.positive, self.z, self.view = z > 0, z, view
        return xp.where(self.positive, z, view * z)

    def backward(self, grad_a: Any) -> tuple:
        xp = self.xp
        need_z, need_w = self.needs_input_grad
        grad_z = xp.where(self.positive, grad_a, self.view * grad_a) if need_z else None
        grad_w = None
        if need_w:
            local = xp.where(self.positive, 0 * grad_a, self.z * grad_a)
            if len(self.w_shape) and self.w_shape[0] > 1:
                axes = tuple(i for i in range(local.ndim) if i != 1)
                grad_w = local.sum(axis=axes).reshape(self.w_shape)
            else:
                grad_w = local.sum().reshape(self.w_shape)
        return grad_z, grad_w


# ---- functional forms ------------------------------------------------------------------------------------------
def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """a = scale·ELU(z, α) with PyTorch's α ≈ 1.6733 and scale ≈ 1.0507 (self-normalising)."""
    return ELUFunction.apply(input, alpha=SELU_ALPHA) * SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides z)")
    return CELUFunction.apply(input, alpha=alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELUFunction.apply(input, approximate=approximate)


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return MishFunction.apply(input)


def softsign(input: Tensor) -> Tensor:  # noqa: A002
    return SoftsignFunction.apply(input)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return HardtanhFunction.apply(input, min_val=min_val, max_val=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return HardtanhFunction.apply(input, min_val=0.0, max_val=6.0)


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return LogSigmoidFunction.apply(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return HardsigmoidFunction.apply(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    return HardswishFunction.apply(input)


def tanhshrink(input: Tensor) -> Tensor:  # noqa: A002
    return TanhshrinkFunction.apply(input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}.")
    return ShrinkFunction.apply(input, lambd=lambd, soft=True)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    return ShrinkFunction.apply(input, lambd=lambd, soft=False)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:  # noqa: A002
    return ThresholdFunction.apply(input, threshold=threshold, value=value)


def glu(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """a = x₁ ⊙ σ(x₂), x₁ and x₂ the two halves of ``input`` along ``dim`` (its size must be even)."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if input.shape[dim] % 2:
        raise RuntimeError(
            f"glu: Halving dimension must be even, but dimension {dim % input.ndim} is size {input.shape[dim]} "
            f"(input shape {tuple(input.shape)})")
    first, second = input.chunk(2, dim)
    return first * sigmoid(second)


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() not in (1, channels):
        raise RuntimeError(
            f"prelu: mismatch of parameter numbers and input channel size: found {weight.numel()} weights for "
            f"input of shape {tuple(input.shape)} ({channels} channels on dim 1). Use num_parameters={channels} "
            "or 1.")
    return PReLUFunction.apply(input, weight)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,  # noqa: A002
          inplace: bool = False) -> Tensor:
    """Randomised leaky ReLU (Xu et al., 2015): slopes ~ U(lower, upper) in training, their mean in evaluation."""
    return RReLUFunction.apply(input, lower=lower, upper=upper, training=training)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:  # noqa: A002
    """aᵢ = e^(−zᵢ) / Σⱼ e^(−zⱼ) along ``dim``: softmax of −z."""
    if dim is None:
        from .activation import _softmax_axis

        dim = _softmax_axis("softmin", input, None, _stacklevel)
    return softmax(-input, dim, dtype=dtype)


# ---- modules ---------------------------------------------------------------------------------------------------
class SELU(_Activation):
    """a = scale·(max(0, z) + min(0, α(e^z − 1))), α ≈ 1.6733, scale ≈ 1.0507."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return selu(input)


class CELU(_Activation):
    """a = max(0, z) + min(0, α(e^(z/α) − 1))."""

    _options = ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return celu(input, self.alpha)


class GELU(_Activation):
    """a = z·Φ(z) (or its tanh approximation with approximate='tanh')."""

    _options = ("approximate",)

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return gelu(input, self.approximate)


class _Plain(_Activation):
    """An activation without options, applying ``_fn``."""

    _fn: Any = None

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return type(self)._fn(input)


class Mish(_Plain):
    """a = z·tanh(log(1 + e^z))."""

    _fn = staticmethod(mish)


class Softsign(_Plain):
    """a = z / (1 + |z|)."""

    _fn = staticmethod(softsign)


class ReLU6(_Plain):
    """a = min(max(0, z), 6)."""

    _fn = staticmethod(relu6)


class LogSigmoid(_Plain):
    """a = log σ(z)."""

    _fn = staticmethod(logsigmoid)


class Hardsigmoid(_Plain):
    """a = clamp(z/6 + ½, 0, 1)."""

    _fn = staticmethod(hardsigmoid)


class Hardswish(_Plain):
    """a = z·clamp(z + 3, 0, 6)/6."""

    _fn = staticmethod(hardswish)


class Tanhshrink(_Plain):
    """a = z − tanh(z)."""

    _fn = staticmethod(tanhshrink)


class Hardtanh(_Activation):
    """a = clamp(z, min_val, max_val)."""

    _options = ("min_val", "max_val")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return hardtanh(input, self.min_val, self.max_val)


class Softshrink(_Activation):
    """a = z − λ·sign(z) where |z| > λ, else 0."""

    _options = ("lambd",)

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return softshrink(input, self.lambd)


class Hardshrink(Softshrink):
    """a = z where |z| > λ, else 0."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return hardshrink(input, self.lambd)


class Threshold(_Activation):
    """a = z where z > threshold, else value."""

    _options = ("threshold", "value")

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value = threshold, value

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return threshold(input, self.threshold, self.value)


class GLU(_Activation):
    """a = x₁ ⊙ σ(x₂) for the two halves of the input along ``dim``."""

    _options = ("dim",)

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return glu(input, self.dim)


class Softmin(_Activation):
    """Softmax of −z along ``dim``."""

    _options = ("dim",)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return softmin(input, self.dim, _stacklevel=5)


class PReLU(Module):
    """a = z for z > 0, w·z otherwise, w learnt: one slope for all (``num_parameters=1``) or one per channel.

    The parameter ``weight`` (num_parameters,) starts at ``init`` (0.25), as PyTorch.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        from ..creation import full

        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(full((num_parameters,), init, dtype=dtype, device=device))

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"

    def get_config(self) -> dict:
        return {"num_parameters": self.num_parameters, "init": self.init}


class RReLU(_Activation):
    """a = z for z ≥ 0, s·z otherwise; s ~ U(lower, upper) per element in training, (lower + upper)/2 in eval()."""

    _options = ("lower", "upper")

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper = lower, upper

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return rrelu(input, self.lower, self.upper, self.training)
