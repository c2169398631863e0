"""Initialisation: the Xavier/Kaiming bounds and standard deviations, gains as torch, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import torch

import shenjing
from shenjing.nn import init


def empty(*shape: int) -> shenjing.Tensor:
    return shenjing.zeros(*shape, requires_grad=True)


@pytest.mark.parametrize("name,param", [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_gains_match_torch(name: str, param: float | None) -> None:
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_xavier_uniform_bound_and_std() -> None:
    w = init.xavier_uniform_(empty(300, 500)).detach().numpy()
    bound = math.sqrt(6 / 800)
    assert np.abs(w).max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_xavier_normal_std() -> None:
    w = init.xavier_normal_(empty(300, 500), gain=2.0).detach().numpy()
    assert w.std() == pytest.approx(2.0 * math.sqrt(2 / 800), rel=0.02)


def test_kaiming_uniform_and_normal() -> None:
    w = init.kaiming_uniform_(empty(256, 400), nonlinearity="relu").detach().numpy()
    assert np.abs(w).max() <= math.sqrt(6 / 400) and w.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    w = init.kaiming_normal_(empty(256, 400), mode="fan_out", nonlinearity="relu").detach().numpy()
    assert w.std() == pytest.approx(math.sqrt(2 / 256), rel=0.02)


def test_conv_shaped_fans() -> None:
    w = init.kaiming_uniform_(empty(64, 32, 3, 3), a=math.sqrt(5)).detach().numpy()
    assert np.abs(w).max() <= 1 / math.sqrt(32 * 9)  # PyTorch's conv default: U(±1/√fan_in)


def test_seeded_and_generator() -> None:
    shenjing.manual_seed(1)
    a = init.normal_(empty(5)).detach().numpy().copy()
    shenjing.manual_seed(1)
    np.testing.assert_array_equal(a, init.normal_(empty(5)).detach().numpy())
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(init.uniform_(empty(4), generator=g1).detach().numpy(),
                                  init.uniform_(empty(4), generator=g2).detach().numpy())


def test_constants_and_orthogonal() -> None:
    assert init.ones_(empty(3)).detach().numpy().sum() == 3 and not init.zeros_(empty(3)).detach().numpy().any()
    q = init.orthogonal_(empty(4, 6)).detach().numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(empty(3))


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((5, 3, 3, 5), 1), ((4, 2, 3, 3, 3), 2)])
def test_dirac_equals_torch(shape: tuple, groups: int) -> None:
    got = init.dirac_(empty(*shape), groups=groups).detach().numpy()
    want = torch.nn.init.dirac_(torch.empty(*shape), groups=groups).numpy()
    np.testing.assert_array_equal(got, want)


def test_dirac_conv_passes_its_input_through() -> None:
    conv = shenjing.nn.Conv2d(3, 3, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    x = shenjing.randn(2, 3, 5, 5)
    np.testing.assert_array_equal(conv(x).detach().numpy(), x.numpy())
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(empty(3, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        init.dirac_(empty(5, 3, 3, 3), groups=2)


def test_sparse_zeros_per_column_and_std() -> None:
    w = init.sparse_(empty(200, 300), sparsity=0.1, std=0.02).detach().numpy()
    assert ((w == 0).sum(axis=0) == 20).all()  # ⌈0.1 · 200⌉ zeros in every column, as torch
    assert w[w != 0].std() == pytest.approx(0.02, rel=0.03)
    with pytest.raises(ValueError, match="2 dimensions"):
        init.sparse_(empty(3, 3, 3), sparsity=0.5)


@pytest.mark.parametrize("old", ["uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
                                 "kaiming_normal", "orthogonal"])
def test_deprecated_names_warn_as_torch_and_fill(old: str) -> None:
    w = empty(8, 6)
    with pytest.warns(FutureWarning, match=f"`nn.init.{old}` is now deprecated in favor of `nn.init.{old}_`"):
        getattr(init, old)(w)
    assert np.abs(w.detach().numpy()).sum() > 0
    with pytest.warns(FutureWarning, match="nn.init.constant"):
        init.constant(w, 0.5)
    assert (w.detach().numpy() == 0.5).all()
