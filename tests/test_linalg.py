"""shenjing.linalg against torch.linalg: values and gradients (float32, float64, batched), central finite
differences, the tensor-method forms, the fake-GPU seam, and PyTorch's errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
from shenjing import linalg

rng = np.random.default_rng(7)


def _well_conditioned(*shape: int) -> np.ndarray:
    """random + n·I: far from singular."""
    return rng.standard_normal(shape) + shape[-1] * np.eye(shape[-1])


def spd(ns: Any, M: Any) -> Any:
    """M Mᵀ + n·I, symmetric positive-definite, built inside the graph (so finite differences see a symmetric A)."""
    n = M.shape[-1]
    return M @ M.mT + n * ns.eye(n, dtype=M.dtype, device=M.device)


def sym(M: Any) -> Any:
    return 0.5 * (M + M.mT)


def _k(r: Any) -> int:
    return r.S.shape[-1]


A44 = _well_conditioned(2, 4, 4)
A33 = _well_conditioned(3, 3)
M44 = rng.standard_normal((2, 4, 4))
TALL = rng.standard_normal((2, 5, 3))
WIDE = rng.standard_normal((2, 3, 5))
B43 = rng.standard_normal((2, 4, 3))
V3 = rng.standard_normal((2, 4, 3))

# name -> (fn(ns, *tensors) with ns = shenjing or torch, inputs, float32 tolerance override)
LOOSE32 = {"float32": dict(fwd_atol=1e-5, fwd_rtol=1e-4, grad_atol=1e-3, grad_rtol=1e-3)}
CASES: dict[str, tuple[Callable, list, dict | None]] = {
    "inv": (lambda ns, A: ns.linalg.inv(A), [A44], None),
    "inv_2d": (lambda ns, A: ns.linalg.inv(A), [A33], None),
    "inv_transposed_view": (lambda ns, A: ns.linalg.inv(A.mT), [A44], None),
    "inv_1x1": (lambda ns, A: ns.linalg.inv(A), [A44[:, :1, :1]], None),
    "solve_strided_view": (lambda ns, A, B: ns.linalg.solve(A[:, ::2, ::2], B[:, ::2]), [A44, B43], None),
    "det": (lambda ns, A: ns.linalg.det(A), [A44], LOOSE32),
    "det_2d": (lambda ns, A: ns.linalg.det(A), [A33], LOOSE32),
    "slogdet": (lambda ns, A: tuple(ns.linalg.slogdet(A - 5 * ns.eye(4, dtype=A.dtype))), [A44], None),
    "solve": (lambda ns, A, B: ns.linalg.solve(A, B), [A44, B43], None),
    "solve_vector": (lambda ns, A, b: ns.linalg.solve(A, b), [A44, B43[..., 0]], None),
    "solve_1d_rhs": (lambda ns, A, b: ns.linalg.solve(A, b), [A44, B43[0, :, 0]], None),
    "solve_broadcast": (lambda ns, A, B: ns.linalg.solve(A, B), [A44[0], rng.standard_normal((3, 1, 4, 2))], None),
    "solve_right": (lambda ns, A, B: ns.linalg.solve(A, B, left=False), [A44, np.ascontiguousarray(B43.swapaxes(-1, -2))], None),
    "cholesky": (lambda ns, M: ns.linalg.cholesky(spd(ns, M)), [M44], LOOSE32),
    "cholesky_upper": (lambda ns, M: ns.linalg.cholesky(spd(ns, M), upper=True), [M44], LOOSE32),
    "qr_tall": (lambda ns, A: tuple(ns.linalg.qr(A)), [TALL], LOOSE32),
    "qr_wide": (lambda ns, A: tuple(ns.linalg.qr(A)), [WIDE], LOOSE32),
    "qr_square_complete": (lambda ns, A: tuple(ns.linalg.qr(A, mode="complete")), [A44], LOOSE32),
    "qr_wide_complete": (lambda ns, A: tuple(ns.linalg.qr(A, mode="complete")), [WIDE], LOOSE32),
    "eigh_values": (lambda ns, M: ns.linalg.eigh(spd(ns, M)).eigenvalues, [M44], LOOSE32),
    # V ⊙ V and V diag(λ) Vᵀ do not depend on the eigenvectors' signs (the gauge)
    "eigh_vectors": (lambda ns, M: ns.linalg.eigh(sym(M)).eigenvectors ** 2, [M44], LOOSE32),
    "eigh_reconstruct": (lambda ns, M: (lambda r: (r.eigenvectors * r.eigenvalues.unsqueeze(-2)) @ r.eigenvectors.mT)(
        ns.linalg.eigh(sym(M))), [M44], LOOSE32),
    # the lower triangle read, the upper ignored: torch's (symmetric) gradient; no finite differences (see below)
    "eigh_raw_lower": (lambda ns, M: ns.linalg.eigh(M).eigenvalues, [M44], LOOSE32),
    "eigh_upper": (lambda ns, M: ns.linalg.eigh(sym(M), UPLO="U").eigenvectors ** 2, [M44], LOOSE32),
    "eigvalsh": (lambda ns, M: ns.linalg.eigvalsh(sym(M)), [M44], LOOSE32),
    "svdvals_tall": (lambda ns, A: ns.linalg.svdvals(A), [TALL], LOOSE32),
    "svdvals_wide": (lambda ns, A: ns.linalg.svdvals(A), [WIDE], LOOSE32),
    "svd_S": (lambda ns, A: ns.linalg.svd(A).S, [A44], LOOSE32),
    "svd_reconstruct_full": (lambda ns, A: (lambda r: (r.U[..., :_k(r)] * r.S.unsqueeze(-2)) @ r.Vh[..., :_k(r), :])(
        ns.linalg.svd(A)), [TALL], LOOSE32),
    "svd_U_squared_tall": (lambda ns, A: ns.linalg.svd(A, full_matrices=False).U ** 2, [TALL], LOOSE32),
    "svd_Vh_squared_wide": (lambda ns, A: ns.linalg.svd(A, full_matrices=False).Vh ** 2, [WIDE], LOOSE32),
    "svd_U_Vh_square": (lambda ns, A: (lambda r: r.U @ r.Vh)(ns.linalg.svd(A, full_matrices=False)), [A44], LOOSE32),
    "svd_U_Vh_wide": (lambda ns, A: (lambda r: r.U @ r.Vh)(ns.linalg.svd(A, full_matrices=False)), [WIDE], LOOSE32),
    "pinv_tall": (lambda ns, A: ns.linalg.pinv(A), [TALL], LOOSE32),
    "pinv_wide": (lambda ns, A: ns.linalg.pinv(A), [WIDE], LOOSE32),
    "pinv_hermitian": (lambda ns, M: ns.linalg.pinv(spd(ns, M), hermitian=True), [M44], LOOSE32),
    "lstsq_tall": (lambda ns, A, B: ns.linalg.lstsq(A, B).solution, [TALL, rng.standard_normal((2, 5, 2))], LOOSE32),
    "lstsq_wide": (lambda ns, A, B: ns.linalg.lstsq(A, B).solution, [WIDE, rng.standard_normal((2, 3, 2))], LOOSE32),
    "lstsq_vector": (lambda ns, A, b: ns.linalg.lstsq(A, b).solution, [TALL[0], rng.standard_normal(5)], LOOSE32),
    "matrix_power_3": (lambda ns, A: ns.linalg.matrix_power(A, 3), [A44 / 4], None),
    "matrix_power_1": (lambda ns, A: ns.linalg.matrix_power(A, 1), [A44], None),
    "matrix_power_neg2": (lambda ns, A: ns.linalg.matrix_power(A, -2), [A44], None),
    "matrix_exp": (lambda ns, A: ns.linalg.matrix_exp(A), [M44], LOOSE32),
    "matrix_exp_scaled": (lambda ns, A: ns.linalg.matrix_exp(A), [3 * M44], {
        "float32": dict(fwd_atol=1e-3, fwd_rtol=1e-4, grad_atol=1e-2, grad_rtol=1e-3),
        "float64": dict(fwd_rtol=1e-9, grad_rtol=1e-9)}),
    "cond": (lambda ns, A: ns.linalg.cond(A), [A44], LOOSE32),
    "cond_neg2_tall": (lambda ns, A: ns.linalg.cond(A, -2), [TALL], LOOSE32),
    "cross": (lambda ns, a, b: ns.linalg.cross(a, b), [V3, rng.standard_normal((1, 4, 3))], None),
    "cross_dim0": (lambda ns, a, b: ns.linalg.cross(a, b, dim=0), [np.ascontiguousarray(V3[0].T), np.ascontiguousarray(V3[1].T)], None),
    "vecdot": (lambda ns, x, y: ns.linalg.vecdot(x, y, dim=1), [B43, rng.standard_normal((4, 3))], None),
    "multi_dot": (lambda ns, a, b, c, d: ns.linalg.multi_dot([a, b, c, d]),
                  [rng.standard_normal(3), rng.standard_normal((3, 4)), rng.standard_normal((4, 5)),
                   rng.standard_normal(5)], None),
    "multi_dot_matrices": (lambda ns, a, b, c: ns.linalg.multi_dot((a, b, c)),
                           [rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))],
                           None),
    "diagonal": (lambda ns, A: ns.linalg.diagonal(A, offset=1, dim1=0, dim2=2), [TALL], None),
    "norm_default": (lambda ns, x: ns.linalg.norm(x), [M44], None),
    "norm_ord_matrix": (lambda ns, x: ns.linalg.norm(x[0], ord=-1), [M44], None),
    "norm_ord_vector": (lambda ns, x: ns.linalg.norm(x[0, 0], ord=3), [M44], None),
    "norm_dim_1": (lambda ns, x: ns.linalg.norm(x, ord=math.inf, dim=1, keepdim=True), [M44], None),
    "norm_dim_2_nuc": (lambda ns, x: ns.linalg.norm(x, ord="nuc", dim=(0, 2)), [TALL], LOOSE32),
    "norm_dim_2_default": (lambda ns, x: ns.linalg.norm(x, dim=(1, 2)), [TALL], None),
}
VECTOR_ORDS = [2, 1, 3, 0.5, 1.5, math.inf, -math.inf, 0, -1]
for _ord in VECTOR_ORDS:
    for _dim, _keep in [(None, False), ((0, 2), False), (-1, True)]:
        CASES[f"vector_norm_{_ord}_{_dim}_{_keep}"] = (
            lambda ns, x, o=_ord, d=_dim, k=_keep: ns.linalg.vector_norm(x, o, dim=d, keepdim=k), [M44], LOOSE32)
for _ord in ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]:
    for _dim, _keep in [((-2, -1), False), ((2, 0), True)]:
        CASES[f"matrix_norm_{_ord}_{_dim}_{_keep}"] = (
            lambda ns, x, o=_ord, d=_dim, k=_keep: ns.linalg.matrix_norm(x, o, dim=d, keepdim=k), [TALL], LOOSE32)

# ops whose outputs are not differentiable everywhere, or whose torch gradient is absent: forward-only against torch
NO_GRAD_VS_TORCH = {"vector_norm_0_None_False", "vector_norm_0_(0, 2)_False", "vector_norm_0_-1_True"}
# functions with kinks (max/min ties) or a discrete part: no central differences across them
NO_FINITE_DIFFERENCES = NO_GRAD_VS_TORCH | {
    # eigh reads one triangle, so perturbing the other changes nothing, while its gradient (as PyTorch's) is the
    # symmetric matrix: element-wise differences cannot agree; the symmetric cases above check it
    "eigh_raw_lower",
}


def _pair(fn: Callable) -> tuple:
    return (lambda *xs: fn(shenjing, *xs)), (lambda *xs: fn(torch, *xs))


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name: str) -> None:
    fn, inputs, tol = CASES[name]
    sj_fn, t_fn = _pair(fn)
    check_torch(sj_fn, t_fn, inputs, grad=name not in NO_GRAD_VS_TORCH, tol=tol)


@pytest.mark.parametrize("name", [n for n in CASES if n not in NO_FINITE_DIFFERENCES])
def test_gradients_match_finite_differences(name: str) -> None:
    fn, inputs, _ = CASES[name]
    check_gradients(lambda *xs: fn(shenjing, *xs), inputs, rtol=1e-6)


def test_vector_norm_zero_has_zero_gradient_as_torch() -> None:
    for ord in (2, 1, 3, 0.5):
        x = shenjing.zeros(2, 3, dtype=shenjing.float64, requires_grad=True)
        t = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
        linalg.vector_norm(x, ord, dim=1).sum().backward()
        torch.linalg.vector_norm(t, ord, dim=1).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
        assert not np.isnan(x.grad.numpy()).any()


def test_vector_norm_inf_splits_ties_as_torch() -> None:
    data = np.array([[1.0, -3.0, 3.0], [2.0, 2.0, 0.5]])
    x = shenjing.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    linalg.vector_norm(x, math.inf, dim=1).sum().backward()
    torch.linalg.vector_norm(t, math.inf, dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), [[0, -0.5, 0.5], [0.5, 0.5, 0]])


def test_vector_norm_dtype_and_int_input() -> None:
    x = shenjing.tensor([[3, 4]])
    out = linalg.vector_norm(x, dtype=shenjing.float64)
    assert out.dtype == shenjing.float64 and out.item() == 5.0
    with pytest.raises(RuntimeError, match="linalg.vector_norm: Expected a floating point .* Got Long"):
        linalg.vector_norm(x)


def test_slogdet_sign_and_logabsdet() -> None:
    A = np.array([[[0.0, 2.0], [3.0, 0.0]], [[2.0, 0.0], [0.0, 0.5]]])
    sign, logabsdet = linalg.slogdet(shenjing.tensor(A))
    np.testing.assert_array_equal(sign.numpy(), [-1.0, 1.0])
    np.testing.assert_allclose(logabsdet.numpy(), [math.log(6.0), 0.0], atol=1e-15)
    assert type(linalg.slogdet(shenjing.tensor(A))).__name__ == "linalg_slogdet"


def test_det_gradient_at_a_nearly_singular_matrix_matches_torch() -> None:
    singular = rng.standard_normal((4, 3)) @ rng.standard_normal((3, 4))  # rank 3 up to rounding
    check_torch(linalg.det, torch.linalg.det, [singular], dtypes=("float64",),
                tol={"float64": dict(fwd_atol=1e-12, grad_atol=1e-10, grad_rtol=1e-8)})


def test_det_gradient_at_an_exactly_singular_matrix_is_the_cofactor() -> None:
    """NOTE: PyTorch 2.13 returns a zero gradient here; the derivative is the cofactor matrix, non-zero."""
    A = rng.standard_normal((2, 4, 4))
    A[1, :, 2] = 0  # exactly singular: inv fails, the cofactor comes from the SVD
    check_gradients(linalg.det, [A], rtol=1e-7)
    x = shenjing.tensor(A, requires_grad=True)
    linalg.det(x).sum().backward()
    grad = x.grad.numpy()[1]
    minor = np.delete(np.delete(A[1], 0, axis=0), 2, axis=1)
    assert grad[0, 2] == pytest.approx(np.linalg.det(minor), rel=1e-10)  # (−1)^(0+2) det(minor₀₂)
    np.testing.assert_allclose(np.delete(grad, 2, axis=1), 0, atol=1e-14)


def test_lstsq_fields_as_torch_gelsy() -> None:
    A, B = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 2))
    ours = linalg.lstsq(shenjing.tensor(A), shenjing.tensor(B))
    theirs = torch.linalg.lstsq(torch.tensor(A), torch.tensor(B))
    assert type(ours).__name__ == type(theirs).__name__ == "linalg_lstsq"
    assert ours._fields == ("solution", "residuals", "rank", "singular_values")
    np.testing.assert_allclose(ours.solution.numpy(), theirs.solution.numpy(), rtol=1e-10, atol=1e-12)
    for field in ("residuals", "singular_values"):
        assert tuple(getattr(ours, field).shape) == tuple(getattr(theirs, field).shape) == (0,)
        assert getattr(ours, field).dtype == shenjing.float64
    np.testing.assert_array_equal(ours.rank.numpy(), theirs.rank.numpy())
    assert ours.rank.dtype == shenjing.int64


def test_lstsq_rank_deficient_gives_minimum_norm_solution() -> None:
    A = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 4))  # rank 2
    B = rng.standard_normal((6, 3))
    ours = linalg.lstsq(shenjing.tensor(A), shenjing.tensor(B))
    theirs = torch.linalg.lstsq(torch.tensor(A), torch.tensor(B))
    assert int(ours.rank) == int(theirs.rank) == 2
    np.testing.assert_allclose(ours.solution.numpy(), np.linalg.pinv(A) @ B, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("hermitian", [False, True])
def test_matrix_rank_as_torch(hermitian: bool) -> None:
    low = rng.standard_normal((3, 5, 2))
    A = low @ low.swapaxes(-1, -2)  # rank 2, symmetric
    A[1] = np.eye(5)
    for kwargs in ({}, {"atol": 0.5}, {"rtol": 0.3}, {"atol": 1.0, "rtol": 0.0}):
        ours = linalg.matrix_rank(shenjing.tensor(A), hermitian=hermitian, **kwargs)
        theirs = torch.linalg.matrix_rank(torch.tensor(A), hermitian=hermitian, **kwargs)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.dtype == shenjing.int64


def test_pinv_tolerances_as_torch() -> None:
    A = rng.standard_normal((2, 4, 3)) * np.array([1.0, 1e-3, 1e-9])
    for kwargs in ({}, {"rtol": 1e-2}, {"atol": 1e-5}, {"atol": 1e-5, "rtol": 1e-1}):
        ours = linalg.pinv(shenjing.tensor(A), **kwargs).numpy()
        theirs = torch.linalg.pinv(torch.tensor(A), **kwargs).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)


def test_matrix_power_zero_is_the_identity() -> None:
    A = shenjing.tensor(A44, requires_grad=True)
    out = linalg.matrix_power(A, 0)
    np.testing.assert_array_equal(out.detach().numpy(), np.broadcast_to(np.eye(4), (2, 4, 4)))
    out.sum().backward()
    np.testing.assert_array_equal(A.grad.numpy(), np.zeros((2, 4, 4)))


def test_matrix_exp_known_values() -> None:
    rotation = linalg.matrix_exp(shenjing.tensor([[0.0, -math.pi / 2], [math.pi / 2, 0.0]], dtype=shenjing.float64))
    np.testing.assert_allclose(rotation.numpy(), [[0.0, -1.0], [1.0, 0.0]], atol=1e-15)
    nilpotent = linalg.matrix_exp(shenjing.tensor([[0.0, 3.0], [0.0, 0.0]], dtype=shenjing.float64))
    np.testing.assert_allclose(nilpotent.numpy(), [[1.0, 3.0], [0.0, 1.0]], atol=1e-15)
    big = 40 * M44  # needs many squarings, differently many per matrix of the batch
    big[1] /= 40
    ours = linalg.matrix_exp(shenjing.tensor(big)).numpy()
    theirs = torch.linalg.matrix_exp(torch.tensor(big)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * np.abs(theirs).max())


@pytest.mark.parametrize("name,fn,shape", [
    ("inv", lambda ns, A: ns.linalg.inv(A), (0, 3, 3)),
    ("det", lambda ns, A: ns.linalg.det(A), (0, 2, 2)),
    ("svd", lambda ns, A: ns.linalg.svd(A, full_matrices=False).U, (0, 3, 2)),
    ("eigh", lambda ns, A: ns.linalg.eigh(A).eigenvectors, (0, 3, 3)),
    ("qr", lambda ns, A: ns.linalg.qr(A).R, (0, 3, 2)),
    ("matrix_exp", lambda ns, A: ns.linalg.matrix_exp(A), (0, 2, 2)),
    ("eigvalsh_0x0", lambda ns, A: ns.linalg.eigvalsh(A), (3, 0, 0)),
])
def test_empty_batches_as_torch(name: str, fn: Callable, shape: tuple) -> None:
    A = shenjing.zeros(*shape, dtype=shenjing.float64, requires_grad=True)
    out = fn(shenjing, A)
    want = fn(torch, torch.zeros(*shape, dtype=torch.float64))
    assert tuple(out.shape) == tuple(want.shape)
    out.sum().backward()
    assert tuple(A.grad.shape) == shape


def test_float32_stays_float32() -> None:
    A = shenjing.tensor(A44.astype(np.float32), requires_grad=True)
    outs = [linalg.inv(A), linalg.det(A), linalg.cholesky(spd(shenjing, A)), *linalg.qr(A), *linalg.eigh(sym(A)),
            *linalg.svd(A), linalg.pinv(A), linalg.matrix_exp(A / 4), linalg.vector_norm(A), linalg.matrix_norm(A, 2),
            linalg.solve(A, A[..., 0]), linalg.lstsq(A, A).solution]
    for out in outs:
        assert out.dtype == shenjing.float32
    sum(o.sum() for o in outs).backward()
    assert A.grad.dtype == shenjing.float32 and np.isfinite(A.grad.numpy()).all()


# ---- the tensor-method forms --------------------------------------------------------------------------------
METHOD_CASES = {
    "det": (lambda f, A: f(A), [A44]),
    "logdet": (lambda f, M: f(spd(shenjing if f.__module__.startswith("shenjing") else torch, M)), [M44]),
    "slogdet": (lambda f, A: tuple(f(A)), [A44]),
    "inverse": (lambda f, A: f(A), [A44]),
    "pinverse": (lambda f, A: f(A), [TALL]),
    "matrix_power": (lambda f, A: f(A, -3), [A44]),
    "matrix_exp": (lambda f, A: f(A), [M44]),
    "cholesky": (lambda f, M: f(spd(shenjing if f.__module__.startswith("shenjing") else torch, M), True), [M44]),
    "qr": (lambda f, A: tuple(f(A, False)), [A44]),
    "svd": (lambda f, A: (lambda r: (r.U * r.S.unsqueeze(-2)) @ r.V.mT)(f(A)), [TALL]),
}


def test_tensor_methods_cover_the_brief() -> None:
    assert sorted(linalg.TENSOR_METHODS) == sorted(METHOD_CASES)


@pytest.mark.filterwarnings("ignore:torch.(cholesky|qr) is deprecated")
@pytest.mark.parametrize("name", list(METHOD_CASES))
def test_tensor_methods_match_torch(name: str) -> None:
    fn, inputs = METHOD_CASES[name]
    ours = linalg.TENSOR_METHODS[name]
    check_torch(lambda *xs: fn(ours, *xs), lambda *xs: fn(getattr(torch, name), *xs), inputs, tol=LOOSE32)


def test_old_svd_returns_V_and_zero_factors_without_uv() -> None:
    A = shenjing.tensor(TALL[0])
    U, S, V = linalg.TENSOR_METHODS["svd"](A)
    assert tuple(U.shape) == (5, 3) and tuple(V.shape) == (3, 3)
    np.testing.assert_allclose(((U * S.unsqueeze(-2)) @ V.mT).numpy(), TALL[0], atol=1e-12)
    U, S, V = linalg.TENSOR_METHODS["svd"](A, some=False)
    assert tuple(U.shape) == (5, 5) and tuple(V.shape) == (3, 3)
    theirs = torch.svd(torch.tensor(TALL[0]), compute_uv=False)
    U, S, V = linalg.TENSOR_METHODS["svd"](A, compute_uv=False)
    assert tuple(U.shape) == tuple(theirs.U.shape) and not U.numpy().any() and not V.numpy().any()
    np.testing.assert_allclose(S.numpy(), theirs.S.numpy(), rtol=1e-12)


def test_logdet_negative_and_zero_determinant_as_torch() -> None:
    A = np.stack([-np.eye(3), np.diag([1.0, 0.0, 2.0]), 2 * np.eye(3)])
    ours = linalg.TENSOR_METHODS["logdet"](shenjing.tensor(A)).numpy()
    theirs = torch.logdet(torch.tensor(A)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert np.isnan(ours[0]) and ours[1] == -np.inf and ours[2] == pytest.approx(3 * math.log(2))


# ---- the fake-GPU seam --------------------------------------------------------------------------------------
def test_runs_through_the_seam() -> None:
    """On the fake-CuPy device (NumPy math on its arrays raises): the same numbers and gradients as the CPU."""
    from fake_cupy import FakeGPUBackend

    from shenjing import backend

    def run(device: str) -> list:
        A, M, B = (shenjing.tensor(a, device=device, requires_grad=True) for a in (A44, M44, B43))
        r_qr, r_eigh, r_svd = linalg.qr(A), linalg.eigh(sym(M)), linalg.svd(A, full_matrices=False)
        outs = [linalg.inv(A), linalg.det(A), linalg.slogdet(A).logabsdet, linalg.solve(A, B),
                linalg.cholesky(spd(shenjing, M)), r_qr.Q, r_qr.R, r_eigh.eigenvalues, r_eigh.eigenvectors ** 2,
                r_svd.S, r_svd.U @ r_svd.Vh, linalg.svdvals(M), linalg.pinv(B), linalg.matrix_exp(M),
                linalg.vector_norm(M, 3, dim=1), linalg.matrix_norm(A, "nuc"), linalg.matrix_norm(A, math.inf),
                linalg.norm(B), linalg.lstsq(B.mT, A[..., :3, :]).solution, linalg.cross(B, B.flip(-1)),
                linalg.matrix_power(A, -2)]
        sum((o * (1 + i)).sum() for i, o in enumerate(outs)).backward()
        rank = linalg.matrix_rank(M)
        return [backend.backend_of(t.array).to_host(t.array) for t in outs + [rank, A.grad, M.grad, B.grad]]

    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    backend.register_backend(FakeGPUBackend())
    try:
        cpu, gpu = run("cpu"), run("cuda")
        with pytest.raises(linalg.LinAlgError, match="The diagonal element 2 is zero"):
            linalg.inv(shenjing.tensor(np.array([[1.0, 2.0], [2.0, 4.0]]), device="cuda"))
        with pytest.raises(linalg.LinAlgError, match="leading minor of order 2"):
            linalg.cholesky(shenjing.tensor(np.array([[1.0, 2.0], [2.0, 1.0]]), device="cuda"))
    finally:
        backend._backends.clear()
        backend._backends.update(saved_backends)
        backend._by_array_type.clear()
        backend._by_array_type.update(saved_types)
    for a, b in zip(cpu, gpu, strict=True):
        np.testing.assert_array_equal(a, b)


# ---- errors -------------------------------------------------------------------------------------------------
SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 0.0, 1.0]])
NOT_PD = np.array([[1.0, 2.0], [2.0, 1.0]])


def _torch_message(fn: Callable) -> str:
    with pytest.raises(RuntimeError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("name,call,bad", [
    ("inv", lambda ns, A: ns.linalg.inv(A), SINGULAR),
    ("solve", lambda ns, A: ns.linalg.solve(A, ns.ones(A.shape[:-1], dtype=A.dtype)), SINGULAR),
    ("cholesky", lambda ns, A: ns.linalg.cholesky(A), NOT_PD),
])
def test_singular_and_not_positive_definite_as_torch(name: str, call: Callable, bad: np.ndarray,
                                                     batched: bool) -> None:
    A = np.stack([np.eye(len(bad)), bad]) if batched else bad
    expected = _torch_message(lambda: call(torch, torch.tensor(A)))
    with pytest.raises(linalg.LinAlgError) as info:
        call(shenjing, shenjing.tensor(A))
    assert isinstance(info.value, RuntimeError)
    assert str(info.value).startswith(expected.rstrip(".")), (str(info.value), expected)
    assert ("(Batch element 1)" in str(info.value)) == batched


SQUARE_ONLY = ["inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "matrix_exp"]


@pytest.mark.parametrize("name", SQUARE_ONLY + ["matrix_power"])
def test_non_square_refused_as_torch(name: str) -> None:
    args = (2,) if name == "matrix_power" else ()
    expected = _torch_message(lambda: getattr(torch.linalg, name)(torch.ones(2, 3, 4), *args))
    with pytest.raises(RuntimeError) as info:
        getattr(linalg, name)(shenjing.ones(2, 3, 4), *args)
    assert str(info.value).startswith(expected), (str(info.value), expected)
    assert "(2, 3, 4)" in str(info.value)


@pytest.mark.parametrize("name", SQUARE_ONLY + ["svd", "svdvals", "qr", "pinv"])
def test_integer_and_1d_inputs_refused_as_torch(name: str) -> None:
    expected = _torch_message(lambda: getattr(torch.linalg, name)(torch.ones(3, 3, dtype=torch.long)))
    with pytest.raises(RuntimeError) as info:
        getattr(linalg, name)(shenjing.ones(3, 3, dtype=shenjing.int64))
    if name in ("eigh", "eigvalsh", "pinv"):  # PyTorch's own wording is a kernel name here: ours is the common one
        reported = {"eigvalsh": "eigh"}.get(name, name)
        assert str(info.value).startswith(f"linalg.{reported}: Expected a floating point or complex tensor as input. "
                                          f"Got Long"), str(info.value)
    else:
        assert str(info.value).startswith(expected.rstrip(".")), (str(info.value), expected)
    reported = {"eigvalsh": "eigh", "svdvals": "svd"}.get(name, name)
    with pytest.raises(RuntimeError, match=f"linalg.{reported}: The input tensor A must have at least 2 dimensions"):
        getattr(linalg, name)(shenjing.ones(3))


def test_solve_shape_and_dtype_errors() -> None:
    A = shenjing.eye(3, dtype=shenjing.float64)
    with pytest.raises(RuntimeError, match=r"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                                           r"\(3x3 and 4x1\)"):
        linalg.solve(A, shenjing.ones(4, dtype=shenjing.float64))
    with pytest.raises(RuntimeError, match="batch dimensions of A .* do not broadcast"):
        linalg.solve(A.expand(2, 3, 3), shenjing.ones(3, 3, 2, dtype=shenjing.float64))
    with pytest.raises(RuntimeError, match="linalg.solve: Expected A and B to have the same dtype, but found A of "
                                           "type Double and B of type Float instead"):
        linalg.solve(A, shenjing.ones(3, 2))
    with pytest.raises(RuntimeError, match="torch.linalg.lstsq: input.size\\(-2\\) should match other.size\\(-2\\)"):
        linalg.lstsq(shenjing.ones(5, 3), shenjing.ones(4, 2))


def test_qr_errors_as_torch() -> None:
    with pytest.raises(RuntimeError, match="qr received unrecognized mode 'x'"):
        linalg.qr(shenjing.ones(3, 4), mode="x")
    A = shenjing.tensor(TALL[0], requires_grad=True)
    Q, R = linalg.qr(A, mode="r")
    assert tuple(Q.shape) == (0,)
    np.testing.assert_allclose(R.detach().numpy(), torch.linalg.qr(torch.tensor(TALL[0]), mode="r").R.numpy(),
                               atol=1e-14)
    with pytest.raises(RuntimeError, match="The derivative of linalg.qr depends on Q, which is not computed when "
                                           "mode='r'"):
        R.sum().backward()
    Q, _ = linalg.qr(A, mode="complete")
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        Q.sum().backward()


def test_misc_errors_as_torch() -> None:
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U', but got X"):
        linalg.eigh(shenjing.eye(2), UPLO="X")
    with pytest.raises(RuntimeError, match="linalg.cross: inputs dimension -1 must have length 3. Got 4 and 4"):
        linalg.cross(shenjing.ones(3, 4), shenjing.ones(3, 4))
    with pytest.raises(RuntimeError, match="linalg.cross: inputs must have the same number of dimensions"):
        linalg.cross(shenjing.ones(3), shenjing.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"multi_dot\(\): expected at least 2 tensors but got 1"):
        linalg.multi_dot([shenjing.ones(2, 2)])
    with pytest.raises(RuntimeError, match=r"multi_dot\(\): tensor 1 must be 2D but got 3D"):
        linalg.multi_dot([shenjing.ones(2, 2), shenjing.ones(2, 2, 2), shenjing.ones(2, 2)])
    with pytest.raises(RuntimeError, match="linalg.norm: If dim is not specified but ord is, the input must be 1D or "
                                           "2D. Got 3D"):
        linalg.norm(shenjing.ones(2, 3, 4), ord=2)
    with pytest.raises(TypeError, match="argument 'ord' must be Number, not str"):
        linalg.vector_norm(shenjing.ones(3), ord="fro")
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order 3 not supported"):
        linalg.matrix_norm(shenjing.ones(3, 4), ord=3)
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: The input tensor A must have at least 2 dimensions"):
        linalg.matrix_norm(shenjing.ones(4))
    with pytest.raises(TypeError, match="linalg.matrix_power: expected an integer exponent"):
        linalg.matrix_power(shenjing.eye(2), 2.0)
