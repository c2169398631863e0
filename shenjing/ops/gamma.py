"""The gamma family for ``lgamma``, ``digamma`` and ``polygamma``: SciPy's (or cupyx's) kernels through
``Backend.special`` when present, else the series below; and the quiet floating-point context they share."""

from __future__ import annotations

import math
from typing import Any

from ..backend import quiet

_quiet = quiet  # (the shared quiet floating-point context of backend.py)


def _special(a: Any, name: str) -> Any:
    from ..backend import backend_of

    return backend_of(a).special(name)


# ---- the gamma family: SciPy's (cupyx's) kernels, or these series -------------------------------------------------
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)  # B₂, B₄, …, B₁₄


def gammaln(xp: Any, a: Any) -> Any:
    """ln |Γ(a)|: SciPy's ``gammaln`` when the backend has it, else Stirling's series after shifting a ≥ 10, with the
    reflection ln |Γ(a)| = ln(π/|sin πa|) − ln Γ(1 − a) for a < ½ (∞ at 0, −1, −2, …, as PyTorch)."""
    kernel = _special(a, "gammaln")
    if kernel is not None:
        return kernel(a).astype(a.dtype, copy=False)
    with _quiet(xp):
        z = a.astype("float64")
        reflect = z < 0.5
        y = xp.where(reflect, 1 - z, z)  # y ≥ ½
        shift = xp.zeros_like(y)
        for _ in range(10):  # ln Γ(y) = ln Γ(y + 1) − ln y until y ≥ 10
            small = y < 10
            shift = shift + xp.where(small, xp.log(xp.where(small, y, 1)), 0)
            y = xp.where(small, y + 1, y)
        inv, inv2 = 1 / y, 1 / (y * y)
        series = inv * (1 / 12 + inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 / 1188))))
        value = (y - 0.5) * xp.log(y) - y + 0.5 * math.log(2 * math.pi) + series - shift
        # NOTE: |sin πz| = |sin πr| with r = z − round(z), exact: π·z itself loses the digits that matter near a pole
        reflected = math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * (z - xp.round(z))))) - value
        pole = (z <= 0) & (z == xp.floor(z))  # sin(πz) in floating point is ~1e-16, not 0, at −1, −2, …
        out = xp.where(reflect, xp.where(pole, xp.inf, reflected), value)
    return out.astype(a.dtype)


def polygamma(xp: Any, n: int, a: Any) -> Any:
    """ψ⁽ⁿ⁾(a) (n = 0: digamma ψ = Γ′/Γ). SciPy's kernels when present, else the recurrence
    ψ⁽ⁿ⁾(a) = ψ⁽ⁿ⁾(a + 1) − (−1)ⁿ n!/aⁿ⁺¹ up to a ≥ 15 and the asymptotic series there; ψ(a) for a < ½ by the
    reflection ψ(a) = ψ(1 − a) − π/tan(πa). At the poles 0, −1, −2, …: ψ gives nan (±∞ at ±0) and ψ⁽ⁿ⁾
    (−1)ⁿ⁺¹·∞, as SciPy and PyTorch."""
    kernel = _special(a, "digamma" if n == 0 else "polygamma")
    if kernel is not None:
        out = kernel(a) if n == 0 else kernel(n, a)
        return out.astype(a.dtype, copy=False)
    with _quiet(xp):
        z = a.astype("float64")
        pole = (z <= 0) & (z == xp.floor(z))
        reflect = (z < 0.5) if n == 0 else xp.zeros(z.shape, dtype=bool)
        y = xp.where(reflect, 1 - z, z)
        finite = y[xp.isfinite(y)]
        steps = int(min(max(0.0, math.ceil(15 - float(finite.min()))), 10_000)) if finite.size else 0
        sign = -1.0 if n % 2 == 0 else 1.0  # (−1)ⁿ⁺¹
        total = xp.zeros_like(y)
        for _ in range(steps):
            small = y < 15
            term = 1 / xp.where(small, y, 1) if n == 0 else math.factorial(n) / xp.where(small, y, 1) ** (n + 1)
            total = total + xp.where(small, term, 0)
            y = xp.where(small, y + 1, y)
        inv = 1 / y
        if n == 0:
            value = xp.log(y) - 0.5 * inv
            for k, b in enumerate(_BERNOULLI, 1):
                value = value - b / (2 * k) * inv ** (2 * k)
            value = value - total
            out = xp.where(reflect, value - math.pi / xp.tan(math.pi * (z - xp.round(z))), value)  # tan: period π
            out = xp.where(z == 0, xp.where(xp.signbit(z), xp.inf, -xp.inf), xp.where(pole, xp.nan, out))
        else:
            value = math.factorial(n - 1) * inv**n + math.factorial(n) / 2 * inv ** (n + 1)
            for k, b in enumerate(_BERNOULLI, 1):
                value = value + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) * inv ** (2 * k + n)
            out = xp.where(pole, sign * xp.inf, sign * value + sign * total)
    return out.astype(a.dtype)
