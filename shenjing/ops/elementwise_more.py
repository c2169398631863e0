"""More element-wise math (inverse and hyperbolic trig, logs, gamma functions, atan2, logaddexp, ...), each op's
forward value beside its derivative.

Float-valued ops compute integers and bools in the default float dtype, as PyTorch (``torch.acos(int_tensor)`` is
float32). The gamma functions use SciPy's (or cupyx's) kernels through ``Backend.special`` when present, and the
series of ``ops/gamma.py`` otherwise; the running max / min and log-sum-exp scans are in ``ops/scans.py``.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from .broadcast import promote, shape_of, unbroadcast
from .gamma import _quiet, _special, gammaln, polygamma


def _floating(a: Any) -> Any:
    """``a`` in a floating dtype: integers and bools become the default float (torch's rule for float functions)."""
    return promote(a, true_division=True)[0]


# ---- inverse and hyperbolic trigonometry ------------------------------------------------------------------------
class Acos(Function):
    """out = arccos a on [−1, 1].   ∂out/∂a = −1/√(1 − a²)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        with _quiet(self.xp):
            return self.xp.arccos(a)

    def backward(self, grad: Any) -> Any:
        with _quiet(self.xp):
            return -grad / self.xp.sqrt(1 - self.a * self.a)


class Asin(Function):
    """out = arcsin a on [−1, 1].   ∂out/∂a = 1/√(1 − a²)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        with _quiet(self.xp):
            return self.xp.arcsin(a)

    def backward(self, grad: Any) -> Any:
        with _quiet(self.xp):
            return grad / self.xp.sqrt(1 - self.a * self.a)


class Atan(Function):
    """out = arctan a.   ∂out/∂a = 1/(1 + a²)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        return self.xp.arctan(a)

    def backward(self, grad: Any) -> Any:
        return grad / (1 + self.a * self.a)


class Tan(Function):
    """out = tan a.   ∂out/∂a = 1 + tan² a = 1 + out²."""

    def forward(self, a: Any) -> Any:
        self.out = self.xp.tan(_floating(a))
        return self.out

    def backward(self, grad: Any) -> Any:
        return grad * (1 + self.out * self.out)


class Sinh(Function):
    """out = sinh a = (eᵃ − e⁻ᵃ)/2.   ∂out/∂a = cosh a."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        with _quiet(self.xp):
            return self.xp.sinh(a)

    def backward(self, grad: Any) -> Any:
        with _quiet(self.xp):
            return grad * self.xp.cosh(self.a)


class Cosh(Function):
    """out = cosh a = (eᵃ + e⁻ᵃ)/2.   ∂out/∂a = sinh a."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        with _quiet(self.xp):
            return self.xp.cosh(a)

    def backward(self, grad: Any) -> Any:
        with _quiet(self.xp):
            return grad * self.xp.sinh(self.a)


class Asinh(Function):
    """out = arsinh a = ln(a + √(a² + 1)).   ∂out/∂a = 1/√(a² + 1)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        return self.xp.arcsinh(a)

    def backward(self, grad: Any) -> Any:
        return grad / self.xp.sqrt(self.a * self.a + 1)


class Acosh(Function):
    """out = arcosh a = ln(a + √(a² − 1)) on [1, ∞).   ∂out/∂a = 1/√(a² − 1)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        with _quiet(self.xp):
            return self.xp.arccosh(a)

    def backward(self, grad: Any) -> Any:
        with _quiet(self.xp):
            return grad / self.xp.sqrt(self.a * self.a - 1)


class Atanh(Function):
    """out = artanh a = ½ ln((1 + a)/(1 − a)) on (−1, 1).   ∂out/∂a = 1/(1 − a²)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        with _quiet(self.xp):
            return self.xp.arctanh(a)

    def backward(self, grad: Any) -> Any:
        with _quiet(self.xp):
            return grad / (1 - self.a * self.a)


class Deg2rad(Function):
    """out = a · π/180.   ∂out/∂a = π/180."""

    def forward(self, a: Any) -> Any:
        return _floating(a) * (math.pi / 180)

    def backward(self, grad: Any) -> Any:
        return grad * (math.pi / 180)


class Rad2deg(Function):
    """out = a · 180/π.   ∂out/∂a = 180/π."""

    def forward(self, a: Any) -> Any:
        return _floating(a) * (180 / math.pi)

    def backward(self, grad: Any) -> Any:
        return grad * (180 / math.pi)


# ---- exponentials and logarithms --------------------------------------------------------------------------------
class Log2(Function):
    """out = log₂ a.   ∂out/∂a = 1/(a ln 2)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        with _quiet(self.xp):
            return self.xp.log2(a)

    def backward(self, grad: Any) -> Any:
        return grad / (self.a * math.log(2))


class Log10(Function):
    """out = log₁₀ a.   ∂out/∂a = 1/(a ln 10)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        with _quiet(self.xp):
            return self.xp.log10(a)

    def backward(self, grad: Any) -> Any:
        return grad / (self.a * math.log(10))


class Log1p(Function):
    """out = ln(1 + a), accurate for small a.   ∂out/∂a = 1/(1 + a)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        with _quiet(self.xp):
            return self.xp.log1p(a)

    def backward(self, grad: Any) -> Any:
        return grad / (1 + self.a)


class Expm1(Function):
    """out = eᵃ − 1, accurate for small a.   ∂out/∂a = eᵃ = out + 1."""

    def forward(self, a: Any) -> Any:
        with _quiet(self.xp):
            self.out = self.xp.expm1(_floating(a))
        return self.out

    def backward(self, grad: Any) -> Any:
        return grad * (self.out + 1)


class Exp2(Function):
    """out = 2ᵃ.   ∂out/∂a = 2ᵃ ln 2 = out · ln 2."""

    def forward(self, a: Any) -> Any:
        with _quiet(self.xp):
            self.out = self.xp.exp2(_floating(a))
        return self.out

    def backward(self, grad: Any) -> Any:
        return grad * self.out * math.log(2)


class Logit(Function):
    """out = ln(a/(1 − a)), a first clamped to [ε, 1 − ε] when ``eps`` is given.

    ∂out/∂a = 1/(a(1 − a)); 0 where the clamp bites (a < ε or a > 1 − ε), as PyTorch.
    """

    def forward(self, a: Any, eps: float | None = None) -> Any:
        xp = self.xp
        self.a = a = _floating(a)
        self.eps = eps
        if eps is not None:
            a = xp.clip(a, eps, 1 - eps)
        with _quiet(xp):
            return xp.log(a / (1 - a))

    def backward(self, grad: Any) -> Any:
        a, eps = self.a, self.eps
        with _quiet(self.xp):
            grad_a = grad / (a * (1 - a))
        if eps is not None:
            grad_a = self.xp.where((a < eps) | (a > 1 - eps), 0, grad_a).astype(grad.dtype, copy=False)
        return grad_a


class Sinc(Function):
    """out = sin(πa)/(πa), 1 at a = 0.   ∂out/∂a = (cos(πa) − out)/a, 0 at a = 0."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        self.out = self.xp.sinc(a)
        return self.out

    def backward(self, grad: Any) -> Any:
        xp, a = self.xp, self.a
        zero = a == 0
        safe = xp.where(zero, 1, a)  # NOTE: the limit at 0 is 0: no 0/0 evaluated
        derivative = (xp.cos(math.pi * a) - self.out) / safe
        return grad * xp.where(zero, 0, derivative).astype(grad.dtype, copy=False)


class Sgn(Function):
    """out = sign(a) (−1, 0, 1; the dtype of a).   ∂out/∂a = 0 (a step function), as PyTorch."""

    def forward(self, a: Any) -> Any:
        return self.xp.sign(a)

    def backward(self, grad: Any) -> Any:
        return self.xp.zeros_like(grad)


# ---- error and gamma functions ------------------------------------------------------------------------------
class Erfc(Function):
    """out = erfc(a) = 1 − erf(a), accurate in the upper tail.   ∂out/∂a = −2/√π · e^(−a²)."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        erfc = _special(a, "erfc")
        if erfc is not None:
            return erfc(a).astype(a.dtype, copy=False)
        from ..nn.activation_extra import normal_cdf

        return (2 * normal_cdf(self.xp, a * -math.sqrt(2))).astype(a.dtype, copy=False)  # erfc(a) = 2Φ(−a√2)

    def backward(self, grad: Any) -> Any:
        return grad * (-2 / math.sqrt(math.pi)) * self.xp.exp(-self.a * self.a)


class Lgamma(Function):
    """out = ln |Γ(a)|.   ∂out/∂a = ψ(a), the digamma function."""

    def forward(self, a: Any) -> Any:
        self.a = a = _floating(a)
        return gammaln(self.xp, a)

    def backward(self, grad: Any) -> Any:
        return grad * polygamma(self.xp, 0, self.a)


class Polygamma(Function):
    """out = ψ⁽ⁿ⁾(a) = dⁿ⁺¹/daⁿ⁺¹ ln Γ(a) (n = 0: the digamma function ψ).   ∂out/∂a = ψ⁽ⁿ⁺¹⁾(a)."""

    def forward(self, a: Any, n: int = 0) -> Any:
        self.a, self.n = a, n = _floating(a), n
        return polygamma(self.xp, n, a)

    def backward(self, grad: Any) -> Any:
        return grad * polygamma(self.xp, self.n + 1, self.a)


# ---- binary ----------------------------------------------------------------------------------------------------
def _binary_grads(ctx: Function, grad: Any, d_a: Any, d_b: Any) -> tuple:
    """(∂L/∂a, ∂L/∂b) from the local derivatives (callables, evaluated only when wanted), summed to each shape."""
    need_a, need_b = ctx.needs_input_grad
    return (
        unbroadcast(grad * d_a(), shape_of(ctx.a)) if need_a else None,
        unbroadcast(grad * d_b(), shape_of(ctx.b)) if need_b else None,
    )


class Atan2(Function):
    """out = atan2(a, b), the angle of the point (b, a) in (−π, π].   ∂out/∂a = b/(a² + b²),  ∂out/∂b = −a/(a² + b²)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b, true_division=True)
        return self.xp.arctan2(a, b)

    def backward(self, grad: Any) -> tuple:
        with _quiet(self.xp):
            r2 = self.a * self.a + self.b * self.b
            return _binary_grads(self, grad, lambda: self.b / r2, lambda: -self.a / r2)


class Hypot(Function):
    """out = √(a² + b²).   ∂out/∂a = a/out,  ∂out/∂b = b/out."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b)
        self.out = self.xp.hypot(a, b)
        return self.out

    def backward(self, grad: Any) -> tuple:
        with _quiet(self.xp):
            return _binary_grads(self, grad, lambda: self.a / self.out, lambda: self.b / self.out)


class LogAddExp(Function):
    """out = ln(eᵃ + eᵇ) = max(a, b) + ln(1 + e^(−|a − b|)).   ∂out/∂a = σ(a − b),  ∂out/∂b = σ(b − a)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b)
        self.out = self.xp.logaddexp(a, b)
        return self.out

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        with _quiet(xp):  # NOTE: e^(a − out) ≤ 1: no overflow, whatever the size of a and b
            return _binary_grads(self, grad, lambda: xp.exp(self.a - self.out), lambda: xp.exp(self.b - self.out))


class LogAddExp2(Function):
    """out = log₂(2ᵃ + 2ᵇ).   ∂out/∂a = 2ᵃ/(2ᵃ + 2ᵇ) = 2^(a − out),  ∂out/∂b = 2^(b − out)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b)
        self.out = self.xp.logaddexp2(a, b)
        return self.out

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        with _quiet(xp):
            return _binary_grads(self, grad, lambda: xp.exp2(self.a - self.out), lambda: xp.exp2(self.b - self.out))


class Xlogy(Function):
    """out = a · ln b, and 0 where a = 0 (unless b is nan).

    ∂out/∂a = ln b (0 where a = 0 and b ≤ 0, as PyTorch),  ∂out/∂b = a/b.
    """

    def forward(self, a: Any, b: Any) -> Any:
        xp = self.xp
        self.a, self.b = a, b = promote(a, b, true_division=True)
        with _quiet(xp):
            product = a * xp.log(b)
        return xp.where((a == 0) & ~xp.isnan(b), 0, product).astype(product.dtype, copy=False)

    def backward(self, grad: Any) -> tuple:
        xp, a, b = self.xp, self.a, self.b

        def d_a() -> Any:
            with _quiet(xp):
                log_b = xp.log(b)
            return xp.where((a == 0) & (b <= 0), 0, log_b).astype(log_b.dtype, copy=False)

        with _quiet(xp):
            return _binary_grads(self, grad, d_a, lambda: a / b)


class Copysign(Function):
    """out = |a| with the sign (bit) of b.   ∂out/∂a = out/a (±1; 0 at a = 0, as PyTorch),  ∂out/∂b = 0."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b, true_division=True)
        self.out = self.xp.copysign(a, b)
        return self.out

    def backward(self, grad: Any) -> tuple:
        xp, a = self.xp, self.a

        def d_a() -> Any:
            safe = xp.where(a == 0, 1, a)
            return xp.where(a == 0, 0, self.out / safe).astype(self.out.dtype, copy=False)

        return _binary_grads(self, grad, d_a, lambda: xp.zeros_like(self.out))


class Fmax(Function):
    """out = max(a, b), ignoring a nan (nan only where both are).   ∂out/∂a = 1 where a ≥ b or b is nan, else 0;
    ∂out/∂b = the rest. NOTE: a tie sends the whole gradient to a, as PyTorch (``maximum`` splits it)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b)
        return self.xp.fmax(a, b)

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        with _quiet(xp):
            a_wins = (self.a >= self.b) | xp.isnan(self.b)
        return _split(self, grad, a_wins)


class Fmin(Function):
    """out = min(a, b), ignoring a nan.   ∂out/∂a = 1 where a ≤ b or b is nan, else 0;  ∂out/∂b = the rest."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b)
        return self.xp.fmin(a, b)

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        with _quiet(xp):
            a_wins = (self.a <= self.b) | xp.isnan(self.b)
        return _split(self, grad, a_wins)


def _split(ctx: Function, grad: Any, a_wins: Any) -> tuple:
    zero = grad.dtype.type(0)
    return _binary_grads(ctx, grad, lambda: ctx.xp.where(a_wins, 1, zero), lambda: ctx.xp.where(a_wins, zero, 1))


class Compared(Function):
    """out = op(a, b) (a comparison or logical op: 0 or 1) in a's dtype, for ``a.eq_(b)``, ``a.logical_and_(b)``, ….

    ∂out/∂a = ∂out/∂b = 0 (a step function), as PyTorch records these in-place ops.
    """

    def forward(self, a: Any, b: Any = None, op: Any = None) -> Any:
        self.a_shape, self.b_shape, self.b_dtype = shape_of(a), shape_of(b), getattr(b, "dtype", a.dtype)
        left, right = promote(a, b) if b is not None else (a, None)
        return self.xp.asarray(op(left) if b is None else op(left, right)).astype(a.dtype)

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        like = ((self.a_shape, grad.dtype), (self.b_shape, self.b_dtype))
        zeros = [xp.zeros(shape, dtype=dtype) if need else None for need, (shape, dtype) in zip(self.needs_input_grad, like)]
        return tuple(zeros) if len(zeros) > 1 else zeros[0]
