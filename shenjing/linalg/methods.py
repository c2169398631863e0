"""The tensor-method forms PyTorch keeps beside torch.linalg (``A.det()``, ``torch.svd``'s old API), as functions."""

from __future__ import annotations

from typing import Any

from ..return_types import return_type
from ..tensor import Tensor
from ._common import check_matrix, constant
from .decompositions import cholesky as _cholesky
from .decompositions import qr as _qr
from .decompositions import svd as _svd
from .inverse import det, inv, matrix_exp, matrix_power, pinv
from .inverse import slogdet as _linalg_slogdet

__all__ = ["det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "matrix_exp", "cholesky", "qr",
           "svd", "TENSOR_METHODS"]

slogdet_type = return_type("slogdet", ("sign", "logabsdet"))
qr_type = return_type("qr", ("Q", "R"))
svd_type = return_type("svd", ("U", "S", "V"))


def slogdet(A: Tensor) -> Any:
    """``torch.slogdet``: as linalg.slogdet, named ``torch.return_types.slogdet``."""
    sign, logabsdet = _linalg_slogdet(A)
    return slogdet_type(sign, logabsdet)


def logdet(A: Tensor) -> Tensor:
    """log det A: NaN where det A < 0, −∞ where it is 0 (as PyTorch).   ∂L/∂A = G · A⁻ᵀ."""
    from ..backend import backend_of

    sign, logabsdet = _linalg_slogdet(A)
    xp = backend_of(sign.array).xp
    offset = xp.where(sign.array > 0, 0, xp.where(sign.array == 0, -xp.inf, xp.nan)).astype(sign.array.dtype)
    return logabsdet + constant(offset)


def inverse(A: Tensor) -> Tensor:
    """``torch.inverse``: linalg.inv."""
    return inv(A)


def pinverse(A: Tensor, rcond: float = 1e-15, hermitian: bool = False) -> Tensor:
    """``torch.pinverse``: linalg.pinv with the relative tolerance ``rcond``."""
    return pinv(A, rtol=rcond, hermitian=hermitian)


def cholesky(A: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky`` (the old API): linalg.cholesky with ``upper`` positional."""
    return _cholesky(A, upper=upper)


def qr(A: Tensor, some: bool = True) -> Any:
    """``torch.qr`` (the old API): reduced QR when ``some``, complete otherwise, named ``return_types.qr``."""
    Q, R = _qr(A, "reduced" if some else "complete")
    return qr_type(Q, R)


def svd(A: Tensor, some: bool = True, compute_uv: bool = True) -> Any:
    """``torch.svd`` (the old API): A = U diag(S) Vᵀ returning V itself (not Vᵀ); ``some``: the reduced factors.

    ``compute_uv=False``: U and V are zero-filled (of the full shapes), S as linalg.svdvals, as PyTorch.
    """
    from ..backend import backend_of
    from .decompositions import svdvals

    check_matrix("svd", A)
    if not compute_uv:
        xp = backend_of(A.array).xp
        m, n = A.shape[-2], A.shape[-1]
        batch = tuple(A.shape[:-2])
        zeros = lambda r, c: constant(xp.zeros(batch + (r, c), dtype=A.array.dtype))  # noqa: E731
        return svd_type(zeros(m, m), svdvals(A), zeros(n, n))
    U, S, Vh = _svd(A, full_matrices=not some)
    return svd_type(U, S, Vh.mT)


TENSOR_METHODS = {
    "det": det,
    "logdet": logdet,
    "slogdet": slogdet,
    "inverse": inverse,
    "pinverse": pinverse,
    "matrix_power": matrix_power,
    "matrix_exp": matrix_exp,
    "cholesky": cholesky,
    "qr": qr,
    "svd": svd,
}
