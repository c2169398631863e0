"""Inverses and determinants: inv, det, slogdet, solve, pinv, lstsq, matrix_power, matrix_exp — with autograd."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..ops.broadcast import unbroadcast
from ..return_types import return_type
from ..tensor import Tensor
from ._common import LinAlgError, batch_prefix, check_float, check_matrix, constant, mT, type_name

__all__ = ["inv", "det", "slogdet", "solve", "pinv", "lstsq", "matrix_power", "matrix_exp"]

linalg_slogdet = return_type("linalg_slogdet", ("sign", "logabsdet"))
linalg_lstsq = return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))


# ---- error paths: which batch element and which pivot failed, as LAPACK's getrf reports it -----------------
def first_zero_pivot(xp: Any, A: Any) -> tuple | None:
    """(flat batch index, 1-based diagonal index) of the first exactly-zero pivot of LU with partial pivoting.

    Only run once the factorization has failed, to word the error as PyTorch does; ``None`` if none is zero.
    """
    n = A.shape[-1]
    U = A.reshape((-1, n, n)).astype(xp.float64)  # a copy, eliminated in place
    rows = xp.arange(U.shape[0])
    info = xp.zeros(U.shape[0], dtype=xp.int64)
    for k in range(n):
        p = xp.argmax(xp.abs(U[:, k:, k]), axis=1) + k
        row_k = U[rows, k].copy()
        U[rows, k] = U[rows, p]
        U[rows, p] = row_k
        pivot = U[:, k, k]
        zero = pivot == 0
        info = xp.where((info == 0) & zero, k + 1, info)
        factors = U[:, k + 1:, k] / xp.where(zero, 1, pivot)[:, None]
        U[:, k + 1:, :] -= factors[:, :, None] * U[:, k, None, :]
    failed = xp.nonzero(info)[0]
    if failed.size == 0:
        return None
    b = int(failed[0])
    return b, int(info[b])


def _inv(xp: Any, A: Any, name: str = "linalg.inv") -> Any:
    try:
        return xp.linalg.inv(A)
    except xp.linalg.LinAlgError:
        found = first_zero_pivot(xp, A)
        b, k = found if found is not None else (0, A.shape[-1])
        raise LinAlgError(f"{name}: {batch_prefix(A.shape[:-2], b)}The diagonal element {k} is zero, the inversion "
                          f"could not be completed because the input matrix is singular (shape "
                          f"{tuple(A.shape)}).") from None


def cofactor(xp: Any, A: Any) -> Any:
    """C = det(A)·A⁻ᵀ, also where A is singular: C = det(U)·det(Vᵀ)·U diag(∏_{j≠i} s_j) Vᵀ for A = U S Vᵀ."""
    U, S, Vh = xp.linalg.svd(A)
    n = A.shape[-1]
    others = xp.prod(xp.where(xp.eye(n, dtype=bool), 1, S[..., None, :]), axis=-1)  # (..., n): ∏_{j≠i} s_j
    sign = xp.linalg.det(U) * xp.linalg.det(Vh)
    return sign[..., None, None] * (U * others[..., None, :]) @ Vh


# ---- the differentiable ops ---------------------------------------------------------------------------------
class Inv(Function):
    """X = A⁻¹.   ∂L/∂A = −A⁻ᵀ G A⁻ᵀ = −Xᵀ G Xᵀ  (G = ∂L/∂X)."""

    def forward(self, A: Any) -> Any:
        self.X = _inv(self.xp, A)
        return self.X

    def backward(self, grad: Any) -> Any:
        Xt = mT(self.X)
        return -(Xt @ grad @ Xt)


class Det(Function):
    """d = det A.   ∂L/∂A = G·det(A)·A⁻ᵀ (the cofactor matrix; from the SVD where A is singular).

    Differs from PyTorch 2.13: at an exactly singular A (where the LU has a zero pivot) PyTorch's gradient can be
    0; ours is the cofactor matrix, the true derivative.
    """

    def forward(self, A: Any) -> Any:
        self.A = A
        self.d = self.xp.linalg.det(A)
        return self.d

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        try:
            C = self.d[..., None, None] * mT(xp.linalg.inv(self.A))
        except xp.linalg.LinAlgError:
            C = cofactor(xp, self.A)
        return grad[..., None, None] * C


class Slogdet(Function):
    """(sign, log|det A|), packed as (..., 2).   ∂L/∂A = G_logabsdet · A⁻ᵀ  (the sign is piecewise constant)."""

    def forward(self, A: Any) -> Any:
        self.A = A
        sign, logabsdet = self.xp.linalg.slogdet(A)
        return self.xp.stack([sign, logabsdet], axis=-1)

    def backward(self, grad: Any) -> Any:
        return grad[..., 1, None, None] * mT(_inv(self.xp, self.A, "linalg.slogdet"))


class Solve(Function):
    """X = A⁻¹B (AX = B), batch axes broadcast.   ∂L/∂B = A⁻ᵀ G,  ∂L/∂A = −∂L/∂B · Xᵀ."""

    def forward(self, A: Any, B: Any) -> Any:
        xp = self.xp
        batch = xp.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        self.A_shape, self.B_shape = A.shape, B.shape
        self.A = xp.broadcast_to(A, batch + A.shape[-2:])
        try:
            self.X = xp.linalg.solve(self.A, xp.broadcast_to(B, batch + B.shape[-2:]))
        except xp.linalg.LinAlgError:
            found = first_zero_pivot(xp, self.A)
            b = found[0] if found is not None else 0
            raise LinAlgError(f"torch.linalg.solve: {batch_prefix(batch, b)}The solver failed because the input "
                              f"matrix is singular (A of shape {tuple(A.shape)}).") from None
        return self.X

    def backward(self, grad: Any) -> tuple:
        need_A, need_B = self.needs_input_grad
        grad_B = self.xp.linalg.solve(mT(self.A), grad)
        grad_A = unbroadcast(-grad_B @ mT(self.X), self.A_shape) if need_A else None
        return grad_A, unbroadcast(grad_B, self.B_shape) if need_B else None


class Pinv(Function):
    """A⁺ from the SVD A = U S Vᵀ: V S⁺ Uᵀ, S⁺ inverting the singular values above max(atol, rtol·σ_max).

    ∂L/∂A (Golub–Pereyra, constant rank; G = ∂L/∂A⁺, for m ≤ n with K = Gᵀ A⁺):
        −(A⁺ K)ᵀ + K A⁺ᵀ − A A⁺ K A⁺ᵀ + A⁺ᵀ A⁺ (Gᵀ − K A),
    and the transposed arrangement for m > n, as PyTorch's pinv_backward.
    """

    def forward(self, A: Any, atol: Any, rtol: Any, hermitian: bool) -> Any:
        xp = self.xp
        if hermitian:
            L, V = xp.linalg.eigh(A)
            size = xp.abs(L)
            threshold = xp.maximum(atol, rtol * size.max(axis=-1, keepdims=True)) if L.shape[-1] else 0
            keep = size > threshold
            inv_L = xp.where(keep, 1 / xp.where(keep, L, 1), 0)
            self.P = (V * inv_L[..., None, :]) @ mT(V)
        else:
            U, S, Vh = xp.linalg.svd(A, full_matrices=False)
            threshold = xp.maximum(atol, rtol * S[..., :1]) if S.shape[-1] else 0
            keep = S > threshold
            inv_S = xp.where(keep, 1 / xp.where(keep, S, 1), 0)
            self.P = (mT(Vh) * inv_S[..., None, :]) @ mT(U)
        self.A = A
        return self.P

    def backward(self, grad: Any) -> Any:
        A, P = self.A, self.P
        Pt, Gt = mT(P), mT(grad)
        if A.shape[-2] <= A.shape[-1]:
            K = Gt @ P
            K_Pt = K @ Pt
            return -mT(P @ K) + K_Pt - (A @ P) @ K_Pt + (Pt @ P) @ (Gt - K @ A)
        K = P @ Gt
        Pt_K = Pt @ K
        return -mT(K @ P) + (Gt - A @ K) @ P @ Pt + Pt_K - Pt_K @ P @ A


# Padé [13/13] coefficients and the 1-norm bound θ₁₃ below which it is accurate to unit roundoff (Higham 2005)
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def expm(xp: Any, A: Any) -> Any:
    """e^A by scaling and squaring: r₁₃(A/2ˢ)^(2ˢ), s = max(0, ⌈log₂(‖A‖₁/θ₁₃)⌉) per matrix of the batch."""
    b = _PADE13
    n = A.shape[-1]
    norm1 = xp.abs(A).sum(axis=-2).max(axis=-1) if n else xp.zeros(A.shape[:-2], dtype=A.dtype)
    s = xp.ceil(xp.log2(xp.where(norm1 > 0, norm1, 1) / _THETA13))
    s = xp.maximum(s, 0).astype(xp.int64)  # (...)
    A = A / (2.0 ** s)[..., None, None].astype(A.dtype)
    eye = xp.eye(n, dtype=A.dtype)
    A2 = A @ A
    A4 = A2 @ A2
    A6 = A4 @ A2
    U = A @ (A6 @ (b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * eye)
    V = A6 @ (b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * eye
    R = xp.linalg.solve(V - U, V + U)
    squarings = int(s.max()) if s.size else 0
    for k in range(squarings):
        R = xp.where((s > k)[..., None, None], R @ R, R)  # each matrix squared its own s times
    return R


class MatrixExp(Function):
    """E = e^A = Σ Aᵏ/k!.   ∂L/∂A = the upper-right block of exp([[Aᵀ, G], [0, Aᵀ]]) (Fréchet derivative)."""

    def forward(self, A: Any) -> Any:
        self.A = A
        return expm(self.xp, A)

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        n = self.A.shape[-1]
        At = mT(self.A)
        top = xp.concatenate([At, grad], axis=-1)
        bottom = xp.concatenate([xp.zeros_like(At), At], axis=-1)
        return expm(xp, xp.concatenate([top, bottom], axis=-2))[..., :n, n:]


# ---- the public functions ------------------------------------------------------------------------------------
def inv(A: Tensor) -> Tensor:
    """A⁻¹ of a (batch of) square matrices.   ∂L/∂A = −A⁻ᵀ G A⁻ᵀ.

    Raises LinAlgError (a RuntimeError) naming the zero pivot when A is singular, as PyTorch.

    Shape: A (*, n, n) → (*, n, n).
    """
    check_matrix("linalg.inv", A, square=True)
    return Inv.apply(A)


def det(A: Tensor) -> Tensor:
    """det A.   ∂L/∂A = G·det(A)·A⁻ᵀ.   Shape: A (*, n, n) → (*)."""
    check_matrix("linalg.det", A, square=True)
    return Det.apply(A)


def slogdet(A: Tensor) -> Any:
    """(sign, logabsdet) with det A = sign·e^logabsdet.   ∂L/∂A = G_logabsdet · A⁻ᵀ; the sign has no gradient.

    Shape: A (*, n, n) → two tensors (*).
    """
    check_matrix("linalg.slogdet", A, square=True)
    sign_logabsdet = Slogdet.apply(A)  # (*, 2)
    return linalg_slogdet(sign_logabsdet[..., 0].detach(), sign_logabsdet[..., 1])


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    # NOTE: PyTorch's rule: B is a vector if 1-D, or if it has A's batch shape and one axis fewer than A
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with AX = B (``left=False``: XA = B).   ∂L/∂B = A⁻ᵀ G,  ∂L/∂A = −∂L/∂B · Xᵀ.

    Batch axes of A and B broadcast. B is a vector when 1-D or shaped as A without its last axis.

    Shape: A (*, n, n), B (*, n, k) or (*, n) → X like B.
    """
    check_matrix("linalg.solve", A, square=True)
    check_float("linalg.solve", B)
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{type_name(A.array.dtype)} and B of type {type_name(B.array.dtype)} instead. Cast one, "
                           f"e.g. B.to(A.dtype).")
    vector = _is_vector_rhs(A, B)
    if not left:
        return solve(A.mT, B) if vector else solve(A.mT, B.mT).mT  # XA = B ⇔ AᵀXᵀ = Bᵀ
    B_matrix = B.unsqueeze(-1) if vector else B
    n = A.shape[-1]
    if B_matrix.shape[-2] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({n}x{n} and "
                           f"{B_matrix.shape[-2]}x{B_matrix.shape[-1]}); A has shape {tuple(A.shape)}, B "
                           f"{tuple(B.shape)}.")
    _broadcast_batch(A, B_matrix, "linalg.solve")
    X = Solve.apply(A, B_matrix)
    return X.squeeze(-1) if vector else X


def _broadcast_batch(A: Tensor, B: Tensor, name: str) -> tuple:
    batch_A, batch_B = tuple(A.shape[:-2]), tuple(B.shape[:-2])
    out = []
    for i in range(1, max(len(batch_A), len(batch_B)) + 1):
        a = batch_A[-i] if i <= len(batch_A) else 1
        b = batch_B[-i] if i <= len(batch_B) else 1
        if a != b and a != 1 and b != 1:
            raise RuntimeError(f"{name}: the batch dimensions of A {tuple(A.shape)} and B {tuple(B.shape)} do "
                               f"not broadcast ({a} vs {b}).")
        out.append(max(a, b))
    return tuple(reversed(out))


def _tolerances(A: Tensor, atol: Any, rtol: Any) -> tuple:
    """PyTorch's defaults: rtol = ε·max(m, n) unless atol > 0 is given (then rtol = 0); atol = 0."""
    eps = _finfo_eps(A)
    if rtol is None:
        given = atol is not None and (not isinstance(atol, (int, float)) or atol > 0)
        rtol = 0.0 if given else eps * max(A.shape[-2], A.shape[-1])
    atol = 0.0 if atol is None else atol
    return _as_threshold(atol), _as_threshold(rtol)


def _as_threshold(value: Any) -> Any:
    """A tolerance as an array broadcastable against the singular values (*, k): a tensor (*) gains an axis."""
    return value.array[..., None] if isinstance(value, Tensor) else value


def _finfo_eps(A: Tensor) -> float:
    from ..backend import backend_of

    return float(backend_of(A.array).xp.finfo(A.array.dtype).eps)  # a Python float: NumPy scalars reach no device


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """The Moore–Penrose pseudo-inverse A⁺ = V S⁺ Uᵀ (singular values ≤ max(atol, rtol·σ_max) treated as zero).

    Gradient: PyTorch's pinv_backward (Golub–Pereyra), exact where the rank does not change.
    ``hermitian=True`` uses the eigendecomposition of the (symmetric) A, reading its lower triangle.

    Shape: A (*, m, n) → (*, n, m).
    """
    check_matrix("linalg.pinv", A)
    atol, rtol = _tolerances(A, atol, rtol)
    return Pinv.apply(A, atol, rtol, hermitian)


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> Any:
    """The least-squares solution X = argmin ‖AX − B‖_F, as PyTorch's default CPU driver 'gelsy'.

    Full column rank and m ≥ n: X = R⁻¹ Qᵀ B from A = QR (differentiable through qr and solve); otherwise the
    minimum-norm X = A⁺ B. The other fields are as 'gelsy' gives them: ``residuals`` and ``singular_values``
    empty, ``rank`` the numerical rank (int64) with the threshold rcond·σ_max (rcond = ε·max(m, n) by default).

    Shape: A (*, m, n), B (*, m, k) or (*, m) → solution (*, n, k) or (*, n).
    Differs from PyTorch: every driver returns the fields as 'gelsy' does.
    """
    from .decompositions import matrix_rank, qr

    check_matrix("torch.linalg.lstsq", A)
    check_float("torch.linalg.lstsq", B)
    if driver not in (None, "gelsy", "gels", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), "
                           f"got {driver!r}.")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape[:-1]) == tuple(A.shape[:-2]))
    B_matrix = B.unsqueeze(-1) if vector else B
    if B_matrix.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2); A has shape "
                           f"{tuple(A.shape)}, B {tuple(B.shape)}.")
    _broadcast_batch(A, B_matrix, "torch.linalg.lstsq")
    m, n = A.shape[-2], A.shape[-1]
    rtol = _finfo_eps(A) * max(m, n) if rcond is None or rcond < 0 else rcond
    rank = matrix_rank(A.detach(), rtol=rtol)
    if m >= n and bool((rank.array == n).all()):
        Q, R = qr(A)
        X = solve(R, Q.mT @ B_matrix)
    else:
        X = pinv(A, rtol=rtol) @ B_matrix
    empty = constant(A.array.reshape(-1)[:0].copy())
    return linalg_lstsq(X.squeeze(-1) if vector else X, empty, rank, constant(empty.array.copy()))


def matrix_power(A: Tensor, n: int) -> Tensor:
    """Aⁿ by repeated squaring (n < 0: (A⁻¹)^|n|; n = 0: I). Gradient through the matmuls (and inv).

    Shape: A (*, m, m) → (*, m, m).
    """
    check_matrix("linalg.matrix_power", A, square=True)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"linalg.matrix_power: expected an integer exponent n, got {n!r}.")
    if n == 0:
        from ..backend import backend_of

        eye = backend_of(A.array).xp.eye(A.shape[-1], dtype=A.array.dtype)
        return A * 0 + constant(eye)
    if n == 1:
        return A.clone()  # a new tensor, as PyTorch's
    if n < 0:
        A, n = inv(A), -n
    result = None
    square = A
    while n:
        if n & 1:
            result = square if result is None else result @ square
        n >>= 1
        if n:
            square = square @ square
    return result


def matrix_exp(A: Tensor) -> Tensor:
    """e^A by scaling and squaring with the [13/13] Padé approximant (Higham 2005).

    ∂L/∂A = the upper-right n×n block of exp([[Aᵀ, G], [0, Aᵀ]]).

    Shape: A (*, n, n) → (*, n, n).
    """
    check_matrix("linalg.matrix_exp", A, square=True)
    return MatrixExp.apply(A)
