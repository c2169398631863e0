"""Matrix factorizations with autograd: cholesky, qr, eigh/eigvalsh, svd/svdvals, and matrix_rank built on them."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import backend_of
from ..return_types import return_type
from ..tensor import Tensor
from ._common import LinAlgError, batch_prefix, check_matrix, constant, mT, pack, split, unpack

__all__ = ["cholesky", "qr", "eigh", "eigvalsh", "svd", "svdvals", "matrix_rank"]

linalg_qr = return_type("linalg_qr", ("Q", "R"))
linalg_eigh = return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_svd = return_type("linalg_svd", ("U", "S", "Vh"))


def _safe_divide(xp: Any, numerator: Any, E: Any) -> Any:
    """numerator / E with E's diagonal (and any exact ties) taken as 1: a zero numerator stays 0.

    NOTE: with a degenerate spectrum (λ_i = λ_j) the gradient of a loss that depends on the eigenvectors is not
    defined; PyTorch returns inf/nan there, we return the undivided numerator.
    """
    return numerator / xp.where(E == 0, 1, E)


class Cholesky(Function):
    """L with A = L Lᵀ (lower triangle of A read).   With P = tril(Lᵀ G) and Φ = ½(P + tril(P, −1)ᵀ):
    ∂L/∂A = L⁻ᵀ Φ L⁻¹ (symmetric, as PyTorch's cholesky_backward).  ``upper``: U = Lᵀ, G taken as Gᵀ.
    """

    def forward(self, A: Any, upper: bool) -> Any:
        xp = self.xp
        try:
            self.L = xp.linalg.cholesky(A)
        except xp.linalg.LinAlgError:
            b, order = _failed_minor(xp, A)
            raise LinAlgError(f"linalg.cholesky: {batch_prefix(A.shape[:-2], b)}The factorization could not be "
                              f"completed because the input is not positive-definite (the leading minor of order "
                              f"{order} is not positive-definite). A has shape {tuple(A.shape)}.") from None
        self.upper = upper
        return mT(self.L) if upper else self.L

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        L = self.L
        gL = mT(grad) if self.upper else grad
        P = xp.tril(mT(L) @ gL)
        Phi = 0.5 * (P + mT(xp.tril(P, -1)))
        L_inv = xp.linalg.inv(L)
        return mT(L_inv) @ Phi @ L_inv


def _failed_minor(xp: Any, A: Any) -> tuple:
    """(flat batch index, order k) of the first leading k×k minor that is not positive-definite."""
    n = A.shape[-1]
    flat = A.reshape((-1, n, n))
    for b in range(flat.shape[0]):
        for k in range(1, n + 1):
            try:
                xp.linalg.cholesky(flat[b, :k, :k])
            except xp.linalg.LinAlgError:
                return b, k
    return 0, n


def _qr_backward_tall(xp: Any, gQ: Any, gR: Any, Q: Any, R: Any) -> Any:
    """m ≥ n, reduced: M = R gRᵀ − gQᵀ Q;  ∂L/∂A = (gQ + Q copyltu(M)) R⁻ᵀ,  copyltu(M) = tril(M) + tril(M, −1)ᵀ."""
    M = R @ mT(gR) - mT(gQ) @ Q
    b = gQ + Q @ (xp.tril(M) + mT(xp.tril(M, -1)))
    return mT(xp.linalg.solve(R, mT(b)))  # b R⁻ᵀ


class QR(Function):
    """A = QR, Q orthonormal columns, R upper triangular; Q and R packed as (..., m·k + k·n).

    ∂L/∂A for m ≥ n (reduced, or complete when square): (gQ + Q copyltu(M)) R⁻ᵀ with M = R gRᵀ − gQᵀ Q.
    For m < n, A = [X | Y] with X square: ∂L/∂Y = Q gR₂ and ∂L/∂X is the square rule at (gQ + Y gR₂ᵀ, gR₁).
    """

    def forward(self, A: Any, mode: str) -> Any:
        xp = self.xp
        Q, R = xp.linalg.qr(A, mode="complete" if mode == "complete" else "reduced")
        self.A, self.Q, self.R, self.mode = A, Q, R, mode
        return pack(xp, Q, R, batch=A.shape[:-2])

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        A, Q, R = self.A, self.Q, self.R
        m, n = A.shape[-2], A.shape[-1]
        if self.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        if self.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols. "
                               "Use mode='reduced' to differentiate.")
        gQ, gR = unpack(xp, grad, [Q.shape[-2:], R.shape[-2:]], A.shape[:-2])
        if m >= n:
            return _qr_backward_tall(xp, gQ, gR, Q, R)
        Y = A[..., m:]
        gR1, gR2 = gR[..., :m], gR[..., m:]
        gX = _qr_backward_tall(xp, gQ + Y @ mT(gR2), gR1, Q, R[..., :m])
        return xp.concatenate([gX, Q @ gR2], axis=-1)


class Eigh(Function):
    """A = V diag(λ) Vᵀ (symmetric A, one triangle read), λ ascending; λ and V packed as (..., n + n·n).

    ∂L/∂A = V (diag(Λ̄) + F ∘ skew(VᵀV̄)) Vᵀ with F_ij = 1/(λ_j − λ_i) (i ≠ j) and skew(X) = ½(X − Xᵀ), as
    PyTorch: skew/antisymmetric F is symmetric, so ∂L/∂A is symmetric (the tangent of symmetric matrices).
    ``values_only``: λ alone, ∂L/∂A = V diag(Λ̄) Vᵀ.
    """

    def forward(self, A: Any, UPLO: str, values_only: bool) -> Any:
        xp = self.xp
        self.L, self.V = L, V = xp.linalg.eigh(A, UPLO=UPLO)
        self.values_only = values_only
        return L if values_only else pack(xp, L, V, batch=A.shape[:-2])

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        L, V = self.L, self.V
        n = L.shape[-1]
        if self.values_only:
            return (V * grad[..., None, :]) @ mT(V)
        gL, gV = unpack(xp, grad, [(n,), (n, n)], L.shape[:-1])
        VtgV = mT(V) @ gV
        skew = 0.5 * (VtgV - mT(VtgV))
        E = L[..., None, :] - L[..., :, None]  # E_ij = λ_j − λ_i
        inner = _safe_divide(xp, skew, E)
        inner = xp.where(xp.eye(n, dtype=bool), gL[..., None, :], inner)  # diagonal: Λ̄
        return V @ inner @ mT(V)


class SVD(Function):
    """A = U diag(S) Vᵀ, S descending; U, S, Vh packed as (..., m·p + k + q·n). With E_ij = s_j² − s_i² (1 on
    the diagonal), skew(X) = X − Xᵀ, and the k leading columns of U, V (as PyTorch's svd_backward):

        ∂L/∂A = U [(skew(UᵀgU) S + S skew(VᵀgV)) / E + diag(gS)] Vᵀ
                + (I − UUᵀ) gU S⁻¹ Vᵀ   (m > k)   or   + U S⁻¹ gVᵀ (I − VVᵀ)   (n > k).

    ``values_only``: S alone, ∂L/∂A = U diag(gS) Vᵀ.
    """

    def forward(self, A: Any, full_matrices: bool, values_only: bool) -> Any:
        xp = self.xp
        self.U, self.S, self.Vh = U, S, Vh = xp.linalg.svd(A, full_matrices=full_matrices)
        self.values_only = values_only
        self.shapes = [U.shape[-2:], S.shape[-1:], Vh.shape[-2:]]
        return S if values_only else pack(xp, U, S, Vh, batch=A.shape[:-2])

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        S = self.S
        k = S.shape[-1]
        U, Vh = self.U[..., :k], self.Vh[..., :k, :]  # NOTE: full_matrices: the free columns get no gradient
        m, n = U.shape[-2], Vh.shape[-1]
        if self.values_only:
            return (U * grad[..., None, :]) @ Vh
        gU, gS, gVh = unpack(xp, grad, self.shapes, S.shape[:-1])
        gU, gV = gU[..., :k], mT(gVh[..., :k, :])
        V = mT(Vh)
        UtgU = mT(U) @ gU
        VtgV = mT(V) @ gV
        S2 = S * S
        E = S2[..., None, :] - S2[..., :, None]
        inner = _safe_divide(xp, (UtgU - mT(UtgU)) * S[..., None, :] + S[..., :, None] * (VtgV - mT(VtgV)), E)
        inner = inner + xp.eye(k, dtype=S.dtype) * gS[..., None, :]
        if m > k:
            gU_Sinv = gU / S[..., None, :]
            return (U @ inner + gU_Sinv - U @ (mT(U) @ gU_Sinv)) @ Vh
        if n > k:
            Sinv_gVh = mT(gV) / S[..., :, None]
            return U @ (inner @ Vh + Sinv_gVh - (Sinv_gVh @ V) @ Vh)
        return U @ inner @ Vh


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L lower triangular with A = L Lᵀ for a symmetric positive-definite A (``upper=True``: U = Lᵀ, A = UᵀU).

    Reads the lower triangle of A. ∂L/∂A = L⁻ᵀ Φ L⁻¹ (see :class:`Cholesky`). A matrix that is not
    positive-definite raises LinAlgError naming the failing leading minor, as PyTorch.

    Shape: A (*, n, n) → (*, n, n).
    """
    check_matrix("linalg.cholesky", A, square=True)
    return Cholesky.apply(A, upper=upper)


def qr(A: Tensor, mode: str = "reduced") -> Any:
    """A = QR. ``mode``: 'reduced' (Q (*, m, k), R (*, k, n), k = min(m, n)), 'complete' (Q (*, m, m),
    R (*, m, n)) or 'r' (R only, Q empty; not differentiable, as PyTorch).

    Signs as LAPACK's geqrf (R's diagonal may be negative), as PyTorch on CPU.
    """
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           f"or 'complete'")
    check_matrix("linalg.qr", A)
    m, n = A.shape[-2], A.shape[-1]
    k = m if mode == "complete" else min(m, n)
    batch = tuple(A.shape[:-2])
    Q, R = split(QR.apply(A, mode=mode), [(m, k), (k, n)], batch)
    if mode == "r":
        return linalg_qr(constant(A.array.reshape(-1)[:0].copy()), R)
    return linalg_qr(Q, R)


def _check_uplo(UPLO: str) -> None:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A: Tensor, UPLO: str = "L") -> Any:
    """Eigenvalues λ (ascending) and orthonormal eigenvectors V of a symmetric A: A = V diag(λ) Vᵀ.

    Reads the ``UPLO`` triangle. ∂L/∂A = V (diag(Λ̄) + skew(VᵀV̄) / E) Vᵀ, E_ij = λ_j − λ_i (see :class:`Eigh`);
    defined for distinct eigenvalues and losses invariant to each eigenvector's sign.

    Shape: A (*, n, n) → eigenvalues (*, n), eigenvectors (*, n, n).
    """
    _check_uplo(UPLO)
    check_matrix("linalg.eigh", A, square=True)
    n = A.shape[-1]
    L, V = split(Eigh.apply(A, UPLO=UPLO, values_only=False), [(n,), (n, n)], tuple(A.shape[:-2]))
    return linalg_eigh(L, V)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of a symmetric A.   ∂L/∂A = V diag(Λ̄) Vᵀ.   Shape: (*, n, n) → (*, n)."""
    _check_uplo(UPLO)
    check_matrix("linalg.eigh", A, square=True)  # NOTE: PyTorch's messages name linalg.eigh
    return Eigh.apply(A, UPLO=UPLO, values_only=True)


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None) -> Any:
    """A = U diag(S) Vh, S descending.   Gradient: PyTorch's svd_backward (see :class:`SVD`), defined for distinct
    singular values and losses invariant to the joint sign of each singular pair.

    Shape: A (*, m, n) → U (*, m, m), S (*, k), Vh (*, n, n); with ``full_matrices=False`` U (*, m, k), Vh (*, k, n).
    """
    check_matrix("linalg.svd", A)
    m, n = A.shape[-2], A.shape[-1]
    k = min(m, n)
    shapes = [(m, m), (k,), (n, n)] if full_matrices else [(m, k), (k,), (k, n)]
    U, S, Vh = split(SVD.apply(A, full_matrices=full_matrices, values_only=False), shapes, tuple(A.shape[:-2]))
    return linalg_svd(U, S, Vh)


def svdvals(A: Tensor, *, driver: str | None = None) -> Tensor:
    """The singular values (descending).   ∂L/∂A = U diag(gS) Vᵀ.   Shape: (*, m, n) → (*, min(m, n))."""
    check_matrix("linalg.svd", A)  # NOTE: PyTorch's messages name linalg.svd
    return SVD.apply(A, full_matrices=False, values_only=True)


def matrix_rank(A: Tensor, tol: Any = None, hermitian: bool = False, *, atol: Any = None,
                rtol: Any = None) -> Tensor:
    """The number of singular values (|eigenvalues| if ``hermitian``) above max(atol, rtol·σ_max), as int64.

    Defaults as PyTorch: rtol = ε·max(m, n) unless atol > 0 is given; ``tol`` is the old name of atol.

    Shape: A (*, m, n) → (*).
    """
    from .inverse import _tolerances

    check_matrix("linalg.matrix_rank", A)
    xp = backend_of(A.array).xp
    atol, rtol = _tolerances(A, tol if atol is None else atol, rtol)
    if hermitian:
        S = xp.abs(xp.linalg.eigvalsh(A.array))
        S = -xp.sort(-S, axis=-1)
    else:
        S = xp.linalg.svd(A.array, compute_uv=False)
    if S.shape[-1] == 0:
        return constant(xp.zeros(S.shape[:-1], dtype=xp.int64))
    threshold = xp.maximum(atol, rtol * S[..., :1])
    return constant((S > threshold).sum(axis=-1).astype(xp.int64))
