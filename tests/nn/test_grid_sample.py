"""F.affine_grid and F.grid_sample: PyTorch parity (every mode × padding × align_corners, float64 and float32),
central finite differences, the spatial transformer's identity, the fake-GPU seam, and PyTorch's errors."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing

F = shenjing.nn.functional
rng = np.random.default_rng(21)

COMBOS = list(itertools.product(["bilinear", "nearest", "bicubic"], ["zeros", "border", "reflection"], [False, True]))


def _pair(x: np.ndarray, g: np.ndarray, dtype: str) -> tuple:
    s = (shenjing.tensor(x.astype(dtype), requires_grad=True), shenjing.tensor(g.astype(dtype), requires_grad=True))
    t = (torch.tensor(x.astype(dtype), requires_grad=True), torch.tensor(g.astype(dtype), requires_grad=True))
    return s, t


@pytest.mark.parametrize("mode,padding_mode,align_corners", COMBOS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grid_sample_matches_torch_with_gradients(mode: str, padding_mode: str, align_corners: bool,
                                                  dtype: str) -> None:
    x = rng.standard_normal((2, 3, 5, 6))
    g = rng.uniform(-1.4, 1.4, (2, 4, 7, 2))  # some points outside the image: the padding modes differ there
    (sx, sg), (tx, tg) = _pair(x, g, dtype)
    out = F.grid_sample(sx, sg, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    want = torch.nn.functional.grid_sample(tx, tg, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 2e-5}
    assert out.shape == tuple(want.shape) and str(out.dtype) == f"shenjing.{dtype}"
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), **tol)
    weights = rng.standard_normal(tuple(want.shape)).astype(dtype)
    out.backward(shenjing.tensor(weights))
    want.backward(torch.tensor(weights))
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), **tol)
    np.testing.assert_allclose(sg.grad.numpy(), tg.grad.numpy(), **{k: v * 10 for k, v in tol.items()})


@pytest.mark.parametrize("mode,padding_mode,align_corners",
                         list(itertools.product(["bilinear", "nearest"], ["zeros", "border", "reflection"],
                                                [False, True])))
def test_volumetric_grid_sample_matches_torch(mode: str, padding_mode: str, align_corners: bool) -> None:
    """5-D input (N, C, D, H, W) with a grid (N, D_out, H_out, W_out, 3): trilinear and nearest, gradients too."""
    x, g = rng.standard_normal((2, 3, 4, 5, 6)), rng.uniform(-1.4, 1.4, (2, 3, 2, 4, 3))
    (sx, sg), (tx, tg) = _pair(x, g, "float64")
    out = F.grid_sample(sx, sg, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    want = torch.nn.functional.grid_sample(tx, tg, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    assert out.shape == tuple(want.shape)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    weights = rng.standard_normal(tuple(want.shape))
    out.backward(shenjing.tensor(weights))
    want.backward(torch.tensor(weights))
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sg.grad.numpy(), tg.grad.numpy(), rtol=1e-11, atol=1e-11)


def test_a_3d_spatial_transformer_identity_and_finite_differences() -> None:
    x = shenjing.tensor(rng.standard_normal((2, 2, 3, 4, 5)))
    identity = shenjing.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=shenjing.float64).expand(2, 3, 4)
    grid = F.affine_grid(identity, tuple(x.shape), align_corners=False)
    np.testing.assert_allclose(F.grid_sample(x, grid, align_corners=False).numpy(), x.numpy(), atol=1e-12)
    volume = rng.standard_normal((1, 2, 3, 4, 4))
    points = rng.uniform(-0.8, 0.8, (1, 2, 2, 2, 3))
    check_gradients(lambda a, b: F.grid_sample(a, b, align_corners=True), [volume, points])


def _off_the_pixel_lattice(shape: tuple, size: tuple, align_corners: bool) -> np.ndarray:
    """Grid points at least 0.1 pixel from every pixel centre and edge clip, so ±1e-6 never crosses a kink."""
    H, W = size
    pixels = np.stack([rng.integers(0, W - 1, shape), rng.integers(0, H - 1, shape)], axis=-1)
    pixels = pixels + rng.uniform(0.1, 0.9, shape + (2,))
    extent = np.array([W, H])
    if align_corners:
        return pixels / (extent - 1) * 2 - 1
    return (2 * pixels + 1) / extent - 1


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_finite_differences(mode: str, padding_mode: str) -> None:
    x = rng.standard_normal((2, 2, 4, 5))
    g = _off_the_pixel_lattice((2, 3, 3), (4, 5), align_corners=False)

    def fn(a, b):
        return F.grid_sample(a, b, mode=mode, padding_mode=padding_mode, align_corners=False)

    check_gradients(fn, [x, g], rtol=1e-6)


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch_and_finite_differences(align_corners: bool) -> None:
    theta = rng.standard_normal((3, 2, 3))
    for size in [(3, 2, 5, 4), (3, 1, 1, 6), (3, 4, 7, 1)]:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            got = F.affine_grid(shenjing.tensor(theta), size, align_corners=align_corners)
            want = torch.nn.functional.affine_grid(torch.tensor(theta), size, align_corners=align_corners)
        assert sum("unit-size grids" in str(w.message) for w in seen) == (2 if align_corners and 1 in size[2:] else 0)
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-13, atol=1e-15)
    theta3 = rng.standard_normal((2, 3, 4))
    got = F.affine_grid(shenjing.tensor(theta3), (2, 1, 3, 4, 5), align_corners=align_corners)
    want = torch.nn.functional.affine_grid(torch.tensor(theta3), (2, 1, 3, 4, 5), align_corners=align_corners)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-13, atol=1e-15)
    check_gradients(lambda t: F.affine_grid(t, (3, 2, 5, 4), align_corners=align_corners), [theta])


def test_the_spatial_transformer_identity_and_a_shift() -> None:
    """θ = [[1, 0, 0], [0, 1, 0]] reproduces the image; a shift by 2/W moves it one pixel left, zeros coming in."""
    x = shenjing.tensor(rng.standard_normal((2, 3, 6, 8)).astype("float32"))
    identity = shenjing.tensor([[1.0, 0, 0], [0, 1, 0]]).expand(2, 2, 3)
    grid = F.affine_grid(identity, x.size(), align_corners=False)
    np.testing.assert_allclose(F.grid_sample(x, grid, align_corners=False).numpy(), x.numpy(), atol=1e-6)
    shift = shenjing.tensor([[1.0, 0, 2 / 8], [0, 1, 0]]).expand(2, 2, 3)
    moved = F.grid_sample(x, F.affine_grid(shift, x.size(), align_corners=False), align_corners=False).numpy()
    np.testing.assert_allclose(moved[..., :-1], x.numpy()[..., 1:], atol=1e-6)
    np.testing.assert_array_equal(moved[..., -1], 0)


def test_gradients_reach_theta_through_both() -> None:
    """The STN's path: θ → affine_grid → grid_sample → loss; ∂L/∂θ by finite differences."""
    x = rng.standard_normal((2, 1, 5, 5))
    theta = np.array([[[0.9, 0.1, 0.05], [-0.1, 0.8, 0.02]]] * 2) + rng.normal(0, 0.01, (2, 2, 3))

    def fn(t):
        grid = F.affine_grid(t, (2, 1, 5, 5), align_corners=False)
        return F.grid_sample(shenjing.tensor(x), grid, align_corners=False)

    check_gradients(fn, [theta], rtol=1e-6)


def test_align_corners_default_warns_as_torch() -> None:
    x, g = shenjing.zeros(1, 1, 3, 3), shenjing.zeros(1, 2, 2, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(x, g)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(shenjing.zeros(1, 2, 3), (1, 1, 3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(x, g, align_corners=False)


def test_errors_name_both_shapes() -> None:
    x = shenjing.zeros(2, 1, 4, 4)
    with pytest.raises(RuntimeError, match=r"same batch size.*\(2, 1, 4, 4\).*\(3, 2, 2, 2\)"):
        F.grid_sample(x, shenjing.zeros(3, 2, 2, 2), align_corners=False)
    with pytest.raises(RuntimeError, match=r"grid of shape \(N, H_out, W_out, 2\).*\(2, 2, 2, 3\)"):
        F.grid_sample(x, shenjing.zeros(2, 2, 2, 3), align_corners=False)
    with pytest.raises(ValueError, match="expected mode"):
        F.grid_sample(x, shenjing.zeros(2, 2, 2, 2), mode="area", align_corners=False)
    with pytest.raises(ValueError, match="expected padding_mode"):
        F.grid_sample(x, shenjing.zeros(2, 2, 2, 2), padding_mode="wrap", align_corners=False)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.grid_sample(x, shenjing.zeros(2, 2, 2, 2, dtype=shenjing.float64), align_corners=False)
    with pytest.raises(ValueError, match=r"Nx2x3 for size \(2, 1, 4, 4\). Got \(2, 3, 3\)"):
        F.affine_grid(shenjing.zeros(2, 3, 3), (2, 1, 4, 4), align_corners=False)
    with pytest.raises(ValueError, match="floating point"):
        F.affine_grid(shenjing.zeros(2, 2, 3, dtype=shenjing.int64), (2, 1, 4, 4), align_corners=False)
    with pytest.raises(RuntimeError, match=r"expected 5D input .* grid of shape \(N, D_out, H_out, W_out, 3\)"):
        F.grid_sample(shenjing.zeros(1, 1, 2, 2, 2), shenjing.zeros(1, 2, 2, 2, 2), align_corners=False)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(shenjing.zeros(1, 1, 2, 2, 2), shenjing.zeros(1, 2, 2, 2, 3), mode="bicubic",
                      align_corners=False)


def test_grid_sample_runs_through_the_seam() -> None:
    """On the fake-CuPy device (NumPy math on its arrays raises): the same numbers and gradients as the CPU."""
    from fake_cupy import FakeGPUBackend

    from shenjing import backend

    x, g = rng.standard_normal((2, 3, 5, 6)), rng.uniform(-1.2, 1.2, (2, 4, 3, 2))
    theta = rng.standard_normal((2, 2, 3))

    def run(device: str) -> list:
        sx, sg, st = (shenjing.tensor(a, device=device, requires_grad=True) for a in (x, g, theta))
        outs = [F.grid_sample(sx, sg, mode=m, padding_mode=p, align_corners=False)
                for m, p in [("bilinear", "zeros"), ("bicubic", "reflection"), ("nearest", "border")]]
        outs.append(F.grid_sample(sx, F.affine_grid(st, (2, 3, 4, 4), align_corners=True), align_corners=True))
        sum(o.sum() for o in outs).backward()
        return [backend.backend_of(t.array).to_host(t.array) for t in outs + [sx.grad, sg.grad, st.grad]]

    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    backend.register_backend(FakeGPUBackend())
    try:
        cpu, gpu = run("cpu"), run("cuda")
    finally:
        backend._backends.clear()
        backend._backends.update(saved_backends)
        backend._by_array_type.clear()
        backend._by_array_type.update(saved_types)
    for a, b in zip(cpu, gpu):
        np.testing.assert_array_equal(a, b)
