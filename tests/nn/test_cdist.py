"""cdist and pdist: PyTorch parity with gradients for every p and compute mode (batched and broadcast),
finite differences, coincident points (zero distance, zero gradient as PyTorch), the seam, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing

rng = np.random.default_rng(17)
MODES = ["use_mm_for_euclid_dist_if_necessary", "donot_use_mm_for_euclid_dist", "use_mm_for_euclid_dist"]


@pytest.mark.parametrize("shapes", [((5, 3), (4, 3)), ((2, 30, 4), (2, 7, 4)), ((2, 1, 6, 3), (3, 5, 3))], ids=str)
@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, 0.5, math.inf])
@pytest.mark.parametrize("mode", MODES)
def test_cdist_matches_torch(shapes, p: float, mode: str) -> None:
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    sa, sb = shenjing.tensor(a, requires_grad=True), shenjing.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, want = shenjing.cdist(sa, sb, p, mode), torch.cdist(ta, tb, p, compute_mode=mode)
    assert out.shape == tuple(want.shape)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-9)
    g = rng.standard_normal(tuple(want.shape))
    out.backward(shenjing.tensor(g))
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(sa.grad.numpy(), ta.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sb.grad.numpy(), tb.grad.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_cdist_finite_differences(p: float) -> None:
    check_gradients(lambda a, b: shenjing.cdist(a, b, p), [rng.standard_normal((4, 3)), rng.standard_normal((5, 3))])


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
def test_pdist_matches_torch_with_coincident_rows(p: float) -> None:
    x = rng.standard_normal((6, 3))
    x[3] = x[1]  # a zero distance: PyTorch's gradient there is 0, not nan
    sx, tx = shenjing.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, want = shenjing.nn.functional.pdist(sx, p), torch.nn.functional.pdist(tx, p)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert np.isfinite(sx.grad.numpy()).all()


def test_cdist_runs_through_the_seam() -> None:
    from fake_cupy import FakeGPUBackend

    from shenjing import backend

    a, b = rng.standard_normal((2, 30, 4)), rng.standard_normal((2, 6, 4))

    def run(device: str) -> list:
        sa, sb = (shenjing.tensor(v, device=device, requires_grad=True) for v in (a, b))
        outs = [shenjing.cdist(sa, sb), shenjing.cdist(sa, sb, 1.0), shenjing.cdist(sa, sb, math.inf)]
        sum(o.sum() for o in outs).backward()
        return [backend.backend_of(t.array).to_host(t.array) for t in outs + [sa.grad, sb.grad]]

    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    backend.register_backend(FakeGPUBackend())
    try:
        cpu, gpu = run("cpu"), run("cuda")
    finally:
        backend._backends.clear()
        backend._backends.update(saved_backends)
        backend._by_array_type.clear()
        backend._by_array_type.update(saved_types)
    for x, y in zip(cpu, gpu):
        np.testing.assert_array_equal(x, y)


def test_errors_as_torch() -> None:
    with pytest.raises(RuntimeError, match="X1 and X2 must have the same number of columns. X1: 3 X2: 4"):
        shenjing.cdist(shenjing.zeros(2, 3), shenjing.zeros(2, 4))
    with pytest.raises(RuntimeError, match="cdist only supports at least 2D tensors"):
        shenjing.cdist(shenjing.zeros(3), shenjing.zeros(2, 3))
    with pytest.raises(RuntimeError, match="non-negative p"):
        shenjing.cdist(shenjing.zeros(2, 3), shenjing.zeros(2, 3), -1.0)
    with pytest.raises(RuntimeError, match="floating-point"):
        shenjing.cdist(shenjing.zeros(2, 3, dtype=shenjing.int64), shenjing.zeros(2, 3, dtype=shenjing.int64))
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors"):
        shenjing.pdist(shenjing.zeros(2, 3, 4))
