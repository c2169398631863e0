"""Adagrad against torch.optim.Adagrad: every option, end to end and on replayed gradients, float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
from optim_parity import NORMAL_LR, check_invalid_hyperparameters, check_replay, check_training, torch

import shenjing
from shenjing.optim import Adagrad

OPTIONS = [
    {},
    {"lr_decay": 0.1},
    {"weight_decay": 0.1},
    {"initial_accumulator_value": 0.5},
    {"maximize": True},
    {"eps": 1e-3},
    {"lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.1, "maximize": True},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_training_matches_torch(options: dict, dtype: str) -> None:
    check_training("Adagrad", options, dtype, NORMAL_LR["Adagrad"])


@pytest.mark.parametrize("lr", [NORMAL_LR["Adagrad"], 10.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_replay_matches_torch(options: dict, dtype: str, lr: float) -> None:
    check_replay("Adagrad", options, dtype, lr)


def test_state_is_made_at_construction_like_torch() -> None:
    w = shenjing.nn.Parameter(shenjing.zeros(3))
    opt = Adagrad([w], initial_accumulator_value=0.25)
    tw = torch.zeros(3, requires_grad=True)
    theirs = torch.optim.Adagrad([tw], initial_accumulator_value=0.25)
    assert set(opt.state[w]) == set(theirs.state[tw]) == {"step", "sum"}
    assert opt.state[w]["step"] == 0.0
    np.testing.assert_array_equal(opt.state[w]["sum"], [0.25, 0.25, 0.25])


def test_lr_decay_and_accumulated_squares() -> None:
    # t = 2: η̃ = η/(1 + d), G = g₁² + g₂², step = η̃ g₂/√G
    w = shenjing.nn.Parameter(shenjing.tensor([0.0], dtype=shenjing.float64))
    opt = Adagrad([w], lr=1.0, lr_decay=0.5, eps=0.0)
    for g in (3.0, 4.0):
        w.grad = shenjing.tensor([g], dtype=shenjing.float64)
        opt.step()
    np.testing.assert_allclose(w.array, [-1.0 - (1 / 1.5) * 4 / 5], rtol=1e-15)


def test_a_groups_own_initial_accumulator_value_is_honoured() -> None:
    # NOTE: a documented difference: PyTorch 2.13 starts every group from the constructor's value
    w, b = shenjing.nn.Parameter(shenjing.zeros(2)), shenjing.nn.Parameter(shenjing.zeros(1))
    opt = Adagrad([{"params": [w]}, {"params": [b], "initial_accumulator_value": 2.0}], initial_accumulator_value=1.0)
    np.testing.assert_array_equal(opt.state[w]["sum"], [1.0, 1.0])
    np.testing.assert_array_equal(opt.state[b]["sum"], [2.0])


def test_parameter_added_later_gets_its_state() -> None:
    w, b = shenjing.nn.Parameter(shenjing.zeros(2)), shenjing.nn.Parameter(shenjing.zeros(1))
    opt = Adagrad([w], initial_accumulator_value=1.0)
    opt.add_param_group({"params": [b], "lr": 0.5})
    b.grad = shenjing.ones(1)
    opt.step()
    assert opt.state[b]["step"] == 1.0
    np.testing.assert_allclose(opt.state[b]["sum"], [2.0])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"lr": -1}, "Invalid learning rate: -1"),
        ({"lr_decay": -0.1}, "Invalid lr_decay value: -0.1"),
        ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
        ({"initial_accumulator_value": -1.0}, "Invalid initial_accumulator_value value: -1.0"),
        ({"eps": -1.0}, "Invalid epsilon value: -1.0"),
    ],
)
def test_bad_hyperparameters_raise_value_error_like_torch(options: dict, message: str) -> None:
    check_invalid_hyperparameters("Adagrad", options, message)
