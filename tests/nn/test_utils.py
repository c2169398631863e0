"""Gradient clipping against torch.nn.utils."""

import numpy as np
import pytest

import shenjing
from shenjing import nn

torch = pytest.importorskip("torch")


def _pair(seed: int = 0, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((5, 4)) * scale, rng.standard_normal(4) * scale, rng.standard_normal((3, 3))]
    ours = [shenjing.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for o, t, a in zip(ours, theirs, arrays):
        o.grad = shenjing.tensor(a * 3.0)
        t.grad = torch.tensor(a * 3.0)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float) -> None:
    ours, theirs = _pair()
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert float(total) == pytest.approx(float(expected), rel=1e-12)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.array, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_float32_and_parameters_without_gradients() -> None:
    layer = nn.Linear(4, 3)
    layer(shenjing.ones(2, 4) * 100).sum().backward()
    layer.bias.grad = None
    before = float(np.linalg.norm(layer.weight.grad.array))
    total = nn.utils.clip_grad_norm_(layer.parameters(), 1.0)
    assert float(total) == pytest.approx(before, rel=1e-6)
    assert float(np.linalg.norm(layer.weight.grad.array)) == pytest.approx(1.0, rel=1e-5)
    assert layer.weight.grad.dtype == shenjing.float32
    with pytest.raises(RuntimeError, match="non-finite"):
        layer.weight.grad.array[0, 0] = np.nan
        nn.utils.clip_grad_norm_(layer.parameters(), 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch() -> None:
    ours, theirs = _pair(scale=2.0)
    nn.utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.grad.array, t.grad.numpy())
