"""Norms and products: vector_norm, matrix_norm, norm, cond, cross, vecdot, multi_dot, diagonal."""

from __future__ import annotations

import math
from functools import reduce
from typing import Any

from ..autograd import Function
from ..tensor import Tensor
from ._common import check_float, check_matrix

__all__ = ["vector_norm", "matrix_norm", "norm", "cond", "cross", "vecdot", "multi_dot", "diagonal"]


class VectorNorm(Function):
    """‖x‖_p = (Σ|xᵢ|ᵖ)^(1/p) over ``dim``; p = ∞: max|xᵢ|, −∞: min|xᵢ|, 0: the count of non-zeros.

    ∂‖x‖_p/∂xᵢ = sign(xᵢ)|xᵢ|ᵖ⁻¹ / ‖x‖_pᵖ⁻¹ (p = 2: xᵢ/‖x‖; p = 1: sign(xᵢ)); p = ±∞: sign(xᵢ) split evenly
    among the entries attaining the max (min); p = 0: 0.
    NOTE: at ‖x‖ = 0 the gradient is 0, not NaN, as PyTorch.
    """

    def forward(self, x: Any, ord: float, dim: tuple | None, keepdim: bool) -> Any:
        xp = self.xp
        axes = tuple(range(x.ndim)) if dim is None else dim
        a = xp.abs(x)
        if ord == math.inf:
            out = a.max(axis=axes, keepdims=True) if x.size else xp.zeros_like(a.sum(axis=axes, keepdims=True))
        elif ord == -math.inf:
            out = a.min(axis=axes, keepdims=True)
        elif ord == 0:
            out = (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif ord == 1:
            out = a.sum(axis=axes, keepdims=True)
        elif ord == 2:
            out = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            out = (a**ord).sum(axis=axes, keepdims=True) ** (1.0 / ord)
        self.x, self.norm, self.ord, self.axes, self.keepdim = x, out, ord, axes, keepdim
        return out if keepdim else out.reshape(tuple(s for i, s in enumerate(x.shape) if i not in axes))

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        x, norm, p = self.x, self.norm, self.ord
        grad = grad.reshape(norm.shape)  # the reduced axes back, as size 1
        if p == 0:
            return xp.zeros_like(x)
        if p == 1:
            return xp.sign(x) * grad
        if p in (math.inf, -math.inf):
            mask = (xp.abs(x) == norm) | xp.isnan(x)
            return xp.sign(x) * (grad / mask.sum(axis=self.axes, keepdims=True)) * mask
        if p == 2:
            return x * xp.where(norm == 0, 0, grad / xp.where(norm == 0, 1, norm))
        a = xp.abs(x)
        if p < 1:
            scaled = xp.where(x == 0, 0, xp.sign(x) * xp.where(x == 0, 1, a) ** (p - 1))
            return scaled * grad * norm ** (1 - p)
        scaled = xp.sign(x) * a ** (p - 1)
        safe = xp.where(norm == 0, 1, norm)
        return scaled * xp.where(norm == 0, 0, grad / safe ** (p - 1))


def _dims(dim: Any, ndim: int) -> tuple | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(sorted(d % ndim if ndim else 0 for d in dims))


def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The vector p-norm (Σ|xᵢ|ᵖ)^(1/p) over ``dim`` (all elements when None); ord ∈ ℝ ∪ {±∞}.

    Gradient: see :class:`VectorNorm` (0 at the zero vector, as PyTorch).

    Shape: x (*) → the shape of x without ``dim`` (kept as size 1 with ``keepdim``).
    """
    if isinstance(ord, str) or isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}. For the "
                        f"Frobenius or nuclear norm use linalg.matrix_norm.")
    if dtype is not None:
        x = x.to(dtype)
    check_float("linalg.vector_norm", x)
    return VectorNorm.apply(x, ord=float(ord), dim=_dims(dim, x.ndim), keepdim=keepdim)


def _reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(shape) if keepdim or i not in dims)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """A matrix norm over the two axes ``dim``: 'fro' √Σaᵢⱼ², 'nuc' Σσᵢ, 2 / −2 σ_max / σ_min,
    1 / −1 max / min column sum of |aᵢⱼ|, ∞ / −∞ max / min row sum.

    Gradients through vector_norm, svdvals (U diag(gS) Vᵀ), sum and amax / amin (ties split evenly, as PyTorch).
    """
    from .decompositions import svdvals

    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got shape "
                           f"{tuple(A.shape)}.")
    if dtype is not None:
        A = A.to(dtype)
    check_float("linalg.matrix_norm", A)
    dims = tuple(d % A.ndim for d in dim)
    if len(dims) != 2 or dims[0] == dims[1]:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple of different dimensions, got {dim}.")
    row, col = dims
    out_shape = _reduced_shape(tuple(A.shape), dims, keepdim)
    if ord == "fro":
        return vector_norm(A, 2, dim=dims, keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        S = svdvals(A.movedim((row, col), (-2, -1)))  # (*, k)
        value = S.sum(-1) if ord == "nuc" else S.amax(-1) if ord == 2 else S.amin(-1)
        return value.reshape(out_shape)
    if ord in (1, -1, math.inf, -math.inf):
        summed, reduced = (row, col) if ord in (1, -1) else (col, row)  # 1: column sums; ∞: row sums
        sums = A.abs().sum(dim=summed, keepdim=True)
        value = sums.amax(dim=reduced, keepdim=True) if ord > 0 else sums.amin(dim=reduced, keepdim=True)
        return value.reshape(out_shape)
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported. Use 'fro', 'nuc', 2, -2, 1, -1, inf or "
                       f"-inf.")


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """``torch.linalg.norm``: a vector norm over one axis (or all, flattened, when ord and dim are None), a matrix
    norm over two; with ``ord`` and no ``dim``, A must be 1-D (vector norm) or 2-D (matrix norm).
    """
    if dim is not None:
        dim = (dim,) if isinstance(dim, int) else tuple(dim)
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A.ndim}D (shape {tuple(A.shape)}).")
        dim = (0,) if A.ndim == 1 else (-2, -1)
    if len(dim) == 1:
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.norm: ord '{ord}' is a matrix norm but dim={dim} names one dimension.")
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}.")


def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number κ_p(A) = ‖A‖_p ‖A⁻¹‖_p; p = None or 2: σ_max/σ_min, −2: σ_min/σ_max (any shape);
    other p ('fro', 'nuc', ±1, ±∞) need square A. Gradients through svdvals / matrix_norm and inv.
    """
    from .decompositions import svdvals
    from .inverse import inv

    check_matrix("linalg.cond", A)
    if p in (None, 2, -2):
        S = svdvals(A)
        return S[..., 0] / S[..., -1] if p != -2 else S[..., -1] / S[..., 0]
    check_matrix("linalg.cond", A, square=True)
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """a × b along ``dim`` (size 3), batch axes broadcast: (a₂b₃ − a₃b₂, a₃b₁ − a₁b₃, a₁b₂ − a₂b₁)."""
    from .. import cat

    if input.ndim != other.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions, got shapes "
                           f"{tuple(input.shape)} and {tuple(other.shape)}. Unsqueeze the smaller one.")
    d = dim % input.ndim if input.ndim else dim
    if input.ndim == 0 or input.shape[d] != 3 or other.shape[d] != 3:
        sizes = [x.shape[d] if x.ndim else None for x in (input, other)]
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {sizes[0]} and {sizes[1]} "
                           f"(shapes {tuple(input.shape)} and {tuple(other.shape)}).")
    a = [input.narrow(d, i, 1) for i in range(3)]
    b = [other.narrow(d, i, 1) for i in range(3)]
    return cat([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]], dim=d)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Σᵢ xᵢ yᵢ along ``dim``, batch axes broadcast (real tensors: no conjugation needed)."""
    return (x * y).sum(dim)


def multi_dot(tensors: Any) -> Tensor:
    """A₁ A₂ ⋯ A_N; the first may be 1-D (a row vector) and the last 1-D (a column vector), as torch's.

    Differs from PyTorch: multiplied left to right (PyTorch picks the cheapest order; the values agree up to
    rounding).
    """
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            where = "the first tensor" if i == 0 else "the last tensor" if i == len(tensors) - 1 else f"tensor {i}"
            raise RuntimeError(f"multi_dot(): {where} must be {' or '.join(f'{a}D' for a in allowed)} but "
                               f"got {t.ndim}D (shape {tuple(t.shape)})")
    return reduce(lambda a, b: a @ b, tensors)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal of each matrix (``offset`` > 0 above the main one), as ``A.diagonal``."""
    return A.diagonal(offset=offset, dim1=dim1, dim2=dim2)
