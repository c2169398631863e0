"""Winograd F(2×2, 3×3) (shenjing/nn/_winograd.py): where it is chosen, PyTorch parity (f32 + f64) and the float32
error bound against the float64 result, forward, ∂x and ∂W. The path is off by default; these tests switch it on."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
from shenjing import nn
from shenjing.nn import _winograd

F = nn.functional
rng = np.random.default_rng(11)


@pytest.fixture
def winograd():
    """The Winograd path on for forward, ∂x and ∂W, counting its calls; restored afterwards."""
    saved = dict(_winograd.ENABLED)
    _winograd.ENABLED.update(forward=True, input=True, weight=True)
    calls = {"forward": 0, "grad_weight": 0}
    originals = {name: getattr(_winograd, name) for name in calls}

    def counted(name):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return originals[name](*args, **kwargs)

        return wrapper

    for name in calls:
        setattr(_winograd, name, counted(name))
    try:
        yield calls
    finally:
        _winograd.ENABLED.clear()
        _winograd.ENABLED.update(saved)
        for name, fn in originals.items():
            setattr(_winograd, name, fn)


# (input shape, weight shape, bias, options): even and odd output sizes, non-square images, padding, unbatched
CASES = {
    "even": ((2, 16, 8, 10), (16, 16, 3, 3), True, {}),
    "odd_height": ((2, 16, 7, 8), (18, 16, 3, 3), True, {}),
    "odd_both_no_bias": ((1, 17, 9, 7), (16, 17, 3, 3), False, {}),
    "padding_1": ((2, 16, 6, 6), (20, 16, 3, 3), True, {"padding": 1}),
    "padding_same_odd": ((2, 16, 5, 7), (16, 16, 3, 3), True, {"padding": "same"}),
    "padding_tuple": ((2, 16, 6, 5), (16, 16, 3, 3), True, {"padding": (2, 0)}),
    "unbatched": ((16, 6, 6), (16, 16, 3, 3), True, {"padding": 1}),
    "textbook_conv2": ((2, 32, 26, 26), (64, 32, 3, 3), True, {}),
}


def _inputs(case: str) -> tuple:
    # NOTE: each case draws from its own seed: with the shared generator a case's numbers depended on which tests
    # ran before it in the same pytest-xdist worker (one float32 draw of textbook_conv2 cancelled past atol)
    rng = np.random.default_rng(list(CASES).index(case))
    x_shape, w_shape, bias, options = CASES[case]
    inputs = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)] + (
        [rng.standard_normal(w_shape[0])] if bias else []
    )
    return inputs, options


@pytest.mark.parametrize("case", list(CASES))
def test_winograd_matches_torch(case: str, winograd: dict) -> None:
    inputs, options = _inputs(case)
    check_torch(
        lambda *a: F.conv2d(*a, **options),
        lambda *a: torch.nn.functional.conv2d(*a, **options),
        inputs,
        tol={"float64": dict(fwd_rtol=1e-10, grad_rtol=1e-10), "float32": dict(fwd_atol=1e-5, grad_atol=1e-4)},
    )
    assert winograd["forward"] >= 4  # forward and ∂x, in float32 and float64
    assert winograd["grad_weight"] == 2


def test_winograd_finite_differences(winograd: dict) -> None:
    inputs, options = _inputs("odd_height")
    inputs[0] = inputs[0][:1, :, :5, :6]
    check_gradients(lambda *a: F.conv2d(*a, **options), inputs)
    assert winograd["forward"] and winograd["grad_weight"]


@pytest.mark.parametrize("C", [16, 64, 256])
def test_winograd_float32_error_bound(C: int) -> None:
    # against the exact (float64) result: ≤ 5e-6 · max |z| for z, ∂x and ∂W (the docstring: ≤ 6e-7 measured)
    x = rng.standard_normal((2, 10, 12, C))
    W = rng.standard_normal((24, C, 3, 3))
    D = rng.standard_normal((2, 8, 10, 24))
    exact = (
        _winograd.forward(np, x, W),
        _winograd.grad_input(np, D, W, x.shape),
        _winograd.grad_weight(np, x, D, W.shape),
    )
    x32, W32, D32 = x.astype(np.float32), W.astype(np.float32), D.astype(np.float32)
    single = (
        _winograd.forward(np, x32, W32),
        _winograd.grad_input(np, D32, W32, x.shape),
        _winograd.grad_weight(np, x32, D32, W.shape),
    )
    for name, got, want in zip(("z", "grad_x", "grad_W"), single, exact):
        assert got.dtype == np.float32, name
        assert np.abs(got - want).max() <= 5e-6 * np.abs(want).max(), name


def test_winograd_equals_the_direct_sum() -> None:
    # z[n, y, x, o] = Σ_{i,j,c} W[o, c, i, j] x[n, y + i, x + j, c], written out with einsum (no library)
    x = rng.standard_normal((2, 7, 6, 16))
    W = rng.standard_normal((16, 16, 3, 3))
    direct = sum(np.einsum("nyxc,oc->nyxo", x[:, i : i + 5, j : j + 4], W[:, :, i, j]) for i in range(3) for j in range(3))
    np.testing.assert_allclose(_winograd.forward(np, x, W), direct, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "w_shape, options, chosen",
    [
        ((16, 16, 3, 3), {}, True),
        ((16, 16, 3, 3), {"padding": 1}, True),
        ((16, 16, 3, 3), {"stride": 2}, False),
        ((16, 16, 3, 3), {"dilation": 2}, False),
        ((16, 8, 3, 3), {"groups": 2}, False),
        ((16, 16, 5, 5), {}, False),
        ((16, 16, 3, 1), {}, False),
        ((8, 16, 3, 3), {}, False),  # too few output channels
        ((16, 16, 3, 3), {"padding": (0, 1)}, True),
    ],
)
def test_chosen_only_for_3x3_stride_1_wide_enough(w_shape: tuple, options: dict, chosen: bool, winograd: dict) -> None:
    x = shenjing.tensor(rng.standard_normal((2, 16, 9, 9)), requires_grad=True)
    W = shenjing.tensor(rng.standard_normal(w_shape), requires_grad=True)
    F.conv2d(x, W, **options).sum().backward()
    assert (winograd["forward"] > 0) == chosen
    assert (winograd["grad_weight"] > 0) == chosen


def test_tiny_images_take_the_im2col_path(winograd: dict) -> None:
    x = shenjing.tensor(rng.standard_normal((2, 16, 3, 5)))
    W = shenjing.tensor(rng.standard_normal((16, 16, 3, 3)))
    out = F.conv2d(x, W)  # a 1-row output: no 2×2 tile
    assert tuple(out.shape) == (2, 16, 1, 3) and winograd["forward"] == 0
