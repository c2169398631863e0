"""Dropout2d: whole channels dropped with probability p, scaling 1/(1 − p), identity in eval, same-mask gradient."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import shenjing
from shenjing import nn


def test_whole_channels_dropped_at_rate_p_and_scaled() -> None:
    p = 0.25
    x = shenjing.ones(200, 64, 3, 4)
    out = nn.Dropout2d(p)(x).numpy()
    per_channel = out.reshape(200, 64, -1)
    zero = (per_channel == 0).all(axis=2)
    kept = (per_channel == per_channel[:, :, :1]).all(axis=2) & ~zero
    assert (zero | kept).all()  # every channel is either all zero or all kept
    assert zero.mean() == pytest.approx(p, abs=0.015)  # 12 800 channels: ± 4 standard deviations
    np.testing.assert_allclose(per_channel[kept], 1 / (1 - p), rtol=1e-6)
    assert out.mean() == pytest.approx(1.0, abs=0.03)  # E[a] = x


def test_gradient_uses_the_same_channel_mask() -> None:
    x = shenjing.randn(8, 6, 5, 5, requires_grad=True)
    out = nn.Dropout2d(0.5)(x)
    w = shenjing.randn(8, 6, 5, 5)
    (out * w).sum().backward()
    mask = out.detach().numpy() / x.detach().numpy()  # 0 or 2 per channel
    np.testing.assert_allclose(x.grad.numpy(), w.numpy() * mask, rtol=1e-5, atol=1e-6)
    assert set(np.unique(np.round(mask, 4))) <= {0.0, 2.0}


def test_eval_mode_p0_and_p1() -> None:
    x = shenjing.randn(2, 3, 4, 4)
    layer = nn.Dropout2d(0.5).eval()
    assert layer(x) is x
    assert nn.Dropout2d(0.0)(x) is x
    assert not nn.Dropout2d(1.0)(x).numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(-0.1)


def test_three_dimensional_input_warns_as_torch_and_drops_channels_of_n_c_l() -> None:
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        out = nn.Dropout2d(0.5)(shenjing.ones(10, 8, 6)).numpy()
    assert ((out == 0).all(axis=2) | (out != 0).all(axis=2)).all()
    with pytest.raises(RuntimeError, match=r"dropout2d: expected a 4-D input.*\(4,\)"):
        nn.functional.dropout2d(shenjing.ones(4))  # 2-D input warns and drops elements, as torch (test_api_gaps.py)


def test_repr_and_config_as_torch() -> None:
    assert repr(nn.Dropout2d(0.25)) == repr(torch.nn.Dropout2d(0.25))
    assert nn.Dropout2d(**nn.Dropout2d(0.25).get_config()).p == 0.25


def test_channels_last_input_from_a_convolution() -> None:
    conv = nn.Conv2d(1, 4, 3)
    out = nn.Dropout2d(0.5)(conv(shenjing.randn(6, 1, 7, 7)))
    per_channel = out.detach().numpy().reshape(6, 4, -1)
    zero = (per_channel == 0).all(axis=2)
    assert zero.any() and (~zero).any()
