"""Element-wise arithmetic and math: each op's forward value and its derivative side by side."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from .broadcast import promote, shape_of, unbroadcast


class Add(Function):
    """out = a + b.   ∂out/∂a = 1,  ∂out/∂b = 1 (summed over broadcast axes)."""

    def forward(self, a: Any, b: Any) -> Any:
        a, b = promote(a, b)
        self.a_shape, self.b_shape = shape_of(a), shape_of(b)
        return a + b

    def backward(self, grad: Any) -> tuple:
        need_a, need_b = self.needs_input_grad
        return (
            unbroadcast(grad, self.a_shape) if need_a else None,
            unbroadcast(grad, self.b_shape) if need_b else None,
        )


class Sub(Function):
    """out = a − b.   ∂out/∂a = 1,  ∂out/∂b = −1."""

    def forward(self, a: Any, b: Any) -> Any:
        a, b = promote(a, b)
        self.a_shape, self.b_shape = shape_of(a), shape_of(b)
        return a - b

    def backward(self, grad: Any) -> tuple:
        need_a, need_b = self.needs_input_grad
        return (
            unbroadcast(grad, self.a_shape) if need_a else None,
            unbroadcast(-grad, self.b_shape) if need_b else None,
        )


class Mul(Function):
    """out = a ⊙ b.   ∂out/∂a = b,  ∂out/∂b = a."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b)
        return a * b

    def backward(self, grad: Any) -> tuple:
        need_a, need_b = self.needs_input_grad
        a, b = self.a, self.b
        return (
            unbroadcast(grad * b, shape_of(a)) if need_a else None,
            unbroadcast(grad * a, shape_of(b)) if need_b else None,
        )


class Div(Function):
    """out = a / b.   ∂out/∂a = 1/b,  ∂out/∂b = −a/b²."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b, true_division=True)  # NOTE: int / int: the default float
        return a / b

    def backward(self, grad: Any) -> tuple:
        need_a, need_b = self.needs_input_grad
        a, b = self.a, self.b
        return (
            unbroadcast(grad / b, shape_of(a)) if need_a else None,
            unbroadcast(-grad * a / (b * b), shape_of(b)) if need_b else None,
        )


class Pow(Function):
    """out = aᵇ.   ∂out/∂a = b·aᵇ⁻¹,  ∂out/∂b = aᵇ·ln a."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b)
        if b.__class__ in (int, float) and b in (2, 3) and getattr(a, "dtype", None) is not None and a.dtype.kind == "f":
            # NOTE: x² and x³ as products, as PyTorch's kernel does: NumPy's float ** 3 measured 100x slower
            self.out = a * a if b == 2 else a * a * a
            return self.out
        self.out = a**b
        if self.out.dtype.kind != getattr(a, "dtype", getattr(b, "dtype", self.out.dtype)).kind:
            self.out = self.out.astype(bool)  # NOTE: NumPy gives int8 for bool ** bool, PyTorch bool
        return self.out

    def backward(self, grad: Any) -> tuple:
        need_a, need_b = self.needs_input_grad
        a, b, xp = self.a, self.b, self.xp
        grad_a = grad_b = None
        if need_a:
            if isinstance(b, (int, float)):
                derivative = b * a ** (b - 1) if b != 2 else 2 * a
            else:
                derivative = b * a ** (b - 1)
            grad_a = unbroadcast(grad * derivative, shape_of(a))
        if need_b:
            # NOTE: where a = 0 the term aᵇ·ln a is taken as 0 (its limit for b > 0), as PyTorch
            safe_log = xp.log(xp.where(a == 0, 1, a))
            grad_b = unbroadcast(grad * self.out * safe_log, shape_of(b))
        return grad_a, grad_b


class Neg(Function):
    """out = −a.   ∂out/∂a = −1."""

    def forward(self, a: Any) -> Any:
        return -a

    def backward(self, grad: Any) -> Any:
        return -grad


class Exp(Function):
    """out = eᵃ.   ∂out/∂a = eᵃ = out."""

    def forward(self, a: Any) -> Any:
        self.out = self.xp.exp(a)
        return self.out

    def backward(self, grad: Any) -> Any:
        return grad * self.out


class Log(Function):
    """out = ln a.   ∂out/∂a = 1/a."""

    def forward(self, a: Any) -> Any:
        self.a = a
        return self.xp.log(a)

    def backward(self, grad: Any) -> Any:
        return grad / self.a


class Sqrt(Function):
    """out = √a.   ∂out/∂a = 1/(2√a) = 1/(2·out)."""

    def forward(self, a: Any) -> Any:
        self.out = self.xp.sqrt(a)
        return self.out

    def backward(self, grad: Any) -> Any:
        return grad / (2 * self.out)


class Abs(Function):
    """out = |a|.   ∂out/∂a = sign(a)  (0 at a = 0, as PyTorch)."""

    def forward(self, a: Any) -> Any:
        self.a = a
        return self.xp.abs(a)

    def backward(self, grad: Any) -> Any:
        return grad * self.xp.sign(self.a)


class Sin(Function):
    """out = sin a.   ∂out/∂a = cos a."""

    def forward(self, a: Any) -> Any:
        self.a = a
        return self.xp.sin(a)

    def backward(self, grad: Any) -> Any:
        return grad * self.xp.cos(self.a)


class Cos(Function):
    """out = cos a.   ∂out/∂a = −sin a."""

    def forward(self, a: Any) -> Any:
        self.a = a
        return self.xp.cos(a)

    def backward(self, grad: Any) -> Any:
        return -grad * self.xp.sin(self.a)


class Clamp(Function):
    """out = min(max(a, low), high).   ∂out/∂a = 1 where low ≤ a ≤ high, else 0.

    NOTE: at the boundary itself (a = low or a = high) the gradient is 1, as PyTorch 2.13 computes it.
    """

    def forward(self, a: Any, low: Any = None, high: Any = None) -> Any:
        self.a, self.low, self.high = a, low, high = promote(a, low, high)
        return self.xp.clip(a, low, high)

    def backward(self, grad: Any) -> Any:
        a = self.a
        mask = None
        if self.low is not None:
            mask = a >= self.low
        if self.high is not None:
            mask = a <= self.high if mask is None else mask & (a <= self.high)
        return grad if mask is None else grad * mask


class Where(Function):
    """out = a where cond else b.   ∂out/∂a = cond,  ∂out/∂b = ¬cond."""

    def forward(self, cond: Any, a: Any, b: Any) -> Any:
        a, b = promote(a, b)
        self.cond, self.a_shape, self.b_shape = cond, shape_of(a), shape_of(b)
        return self.xp.where(cond, a, b)

    def backward(self, grad: Any) -> tuple:
        _, need_a, need_b = self.needs_input_grad
        zero = grad.dtype.type(0)
        return (
            None,
            unbroadcast(self.xp.where(self.cond, grad, zero), self.a_shape) if need_a else None,
            unbroadcast(self.xp.where(self.cond, zero, grad), self.b_shape) if need_b else None,
        )


class Maximum(Function):
    """out = max(a, b) element-wise.   ∂out/∂a = 1 where a > b, ½ where a = b, else 0 (as PyTorch)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b)
        return self.xp.maximum(a, b)

    def backward(self, grad: Any) -> tuple:
        return _split_ties(self, grad, self.a > self.b)


class Minimum(Function):
    """out = min(a, b) element-wise.   ∂out/∂a = 1 where a < b, ½ where a = b, else 0 (as PyTorch)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b = promote(a, b)
        return self.xp.minimum(a, b)

    def backward(self, grad: Any) -> tuple:
        return _split_ties(self, grad, self.a < self.b)


def _split_ties(ctx: Function, grad: Any, a_wins: Any) -> tuple:
    need_a, need_b = ctx.needs_input_grad
    a, b = ctx.a, ctx.b
    share_a = a_wins + 0.5 * (a == b)  # 1 where a wins, ½ on ties, 0 where b wins
    share_a = share_a.astype(grad.dtype)
    return (
        unbroadcast(grad * share_a, shape_of(a)) if need_a else None,
        unbroadcast(grad * (1 - share_a), shape_of(b)) if need_b else None,
    )


class Rounding(Function):
    """out = ⌊a⌋, ⌈a⌉, round(a) (half to even, as PyTorch) or trunc(a) (``kind``).

    A step function: ∂out/∂a = 0 wherever it is defined, which is the gradient PyTorch gives too. An integer
    input is returned unchanged (a copy), in its own dtype, as PyTorch.
    """

    def forward(self, a: Any, kind: str = "floor", decimals: int = 0) -> Any:
        xp = self.xp
        if a.dtype.kind in "iub":
            return a.copy()
        if kind == "round":
            return xp.round(a, decimals)
        return getattr(xp, kind)(a)

    def backward(self, grad: Any) -> Any:
        return self.xp.zeros_like(grad)


class Erf(Function):
    """out = erf(a) = 2/√π ∫₀ᵃ e^(−t²) dt.   ∂out/∂a = 2/√π · e^(−a²).

    With SciPy present its erf (or cupyx's on a GPU); otherwise 2Φ(a√2) − 1 from the normal CDF series.
    """

    def forward(self, a: Any) -> Any:
        self.a = a
        erf = _special(a, "erf")
        if erf is not None:
            return erf(a).astype(a.dtype, copy=False)
        from ..nn.activation_extra import normal_cdf

        return (2 * normal_cdf(self.xp, a * math.sqrt(2)) - 1).astype(a.dtype, copy=False)

    def backward(self, grad: Any) -> Any:
        return grad * (2 / math.sqrt(math.pi)) * self.xp.exp(-self.a * self.a)


class Erfinv(Function):
    """out = erf⁻¹(a) on (−1, 1).   ∂out/∂a = √π/2 · e^(out²)."""

    def forward(self, a: Any) -> Any:
        erfinv = _special(a, "erfinv")
        if erfinv is None:
            raise RuntimeError("erfinv needs SciPy (pip install scipy): there is no series for it in shenjing")
        self.out = erfinv(a).astype(a.dtype, copy=False)
        return self.out

    def backward(self, grad: Any) -> Any:
        return grad * (math.sqrt(math.pi) / 2) * self.xp.exp(self.out * self.out)


def _special(a: Any, name: str) -> Any:
    from ..backend import backend_of

    return backend_of(a).special(name)
