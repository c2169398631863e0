"""Dropout: inverted scaling, statistics, identity in eval, gradient through the same mask."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing
from shenjing import nn


def test_inverted_dropout_statistics() -> None:
    x = shenjing.ones(1000, 100)
    out = nn.Dropout(0.3)(x).numpy()
    kept = out != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    assert out.mean() == pytest.approx(1.0, abs=0.02)  # E[a] = z


def test_gradient_uses_the_same_mask() -> None:
    x = shenjing.ones(50, 20, requires_grad=True)
    out = nn.Dropout(0.5)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())


def test_eval_mode_and_p_zero_are_identity() -> None:
    x = shenjing.randn(4, 4)
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert not nn.Dropout(1.0)(x).numpy().any()


def test_bad_p() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_seeded_masks_repeat() -> None:
    shenjing.manual_seed(3)
    a = nn.Dropout(0.5)(shenjing.ones(10)).numpy()
    shenjing.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Dropout(0.5)(shenjing.ones(10)).numpy())
