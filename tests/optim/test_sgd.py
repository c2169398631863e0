"""SGD against torch.optim.SGD: every option, end to end and on replayed gradients, float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
from optim_parity import NORMAL_LR, check_invalid_hyperparameters, check_replay, check_training, torch

import shenjing
from shenjing.optim import SGD

OPTIONS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.5},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"momentum": 0.9, "weight_decay": 0.1},
    {"momentum": 0.5, "nesterov": True, "weight_decay": 0.1, "maximize": True},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_training_matches_torch(options: dict, dtype: str) -> None:
    check_training("SGD", options, dtype, NORMAL_LR["SGD"])


@pytest.mark.parametrize("lr", [NORMAL_LR["SGD"], 10.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_replay_matches_torch(options: dict, dtype: str, lr: float) -> None:
    check_replay("SGD", options, dtype, lr)


def test_textbook_step() -> None:
    # w ← w − η ∂L/∂w with L = Σ w², ∂L/∂w = 2w
    w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0], dtype=shenjing.float64))
    opt = SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(w.array, [0.8, -1.6])
    assert len(opt.state) == 0  # plain SGD keeps no state, as torch


def test_momentum_buffer_starts_as_the_gradient_and_is_updated_in_place() -> None:
    w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0], dtype=shenjing.float64))
    opt = SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    w.grad = shenjing.tensor([1.0, 1.0], dtype=shenjing.float64)
    opt.step()
    buffer = opt.state[w]["momentum_buffer"]
    np.testing.assert_array_equal(buffer, [1.0, 1.0])  # v₁ = g, no dampening on the first step
    opt.step()
    assert opt.state[w]["momentum_buffer"] is buffer
    np.testing.assert_array_equal(buffer, [1.4, 1.4])  # 0.9·1 + (1 − 0.5)·1


@pytest.mark.parametrize(
    "options, message",
    [
        ({"lr": -1}, "Invalid learning rate: -1"),
        ({"momentum": -0.5}, "Invalid momentum value: -0.5"),
        ({"weight_decay": -1e-3}, "Invalid weight_decay value: -0.001"),
        ({"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov momentum requires"),
    ],
)
def test_bad_hyperparameters_raise_value_error_like_torch(options: dict, message: str) -> None:
    check_invalid_hyperparameters("SGD", options, message)


def test_per_group_options_are_checked_too() -> None:
    w, b = shenjing.nn.Parameter(shenjing.zeros(2)), shenjing.nn.Parameter(shenjing.zeros(1))
    with pytest.raises(ValueError, match="Invalid learning rate: -0.5"):
        SGD([{"params": [w]}, {"params": [b], "lr": -0.5}], lr=0.1)


def test_default_lr_is_torch_2s() -> None:
    assert SGD([shenjing.nn.Parameter(shenjing.zeros(2))]).defaults["lr"] == 1e-3
