"""RAdam against torch.optim.RAdam: every option, end to end and on replayed gradients, float32 and float64."""

from __future__ import annotations

import pytest
from optim_parity import check_invalid_hyperparameters, check_replay, check_state_dict, check_training

LR = 0.01
OPTIONS = [
    {},
    {"betas": (0.5, 0.9)},
    {"eps": 1e-3},
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "decoupled_weight_decay": True},
    {"maximize": True},
    {"betas": (0.8, 0.99), "eps": 1e-4, "weight_decay": 0.05, "maximize": True},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_training_matches_torch(options: dict, dtype: str) -> None:
    check_training("RAdam", options, dtype, LR)


@pytest.mark.parametrize("lr", [LR, 10.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_replay_matches_torch(options: dict, dtype: str, lr: float) -> None:
    check_replay("RAdam", options, dtype, lr)


def test_defaults_and_state_dict_match_torch() -> None:
    check_state_dict("RAdam")


@pytest.mark.parametrize("options, message", [
    ({"lr": -1.0}, "Invalid learning rate: -1.0"),
    ({"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0: 1.0"),
    ({"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
])
def test_invalid_hyperparameters_like_torch(options: dict, message: str) -> None:
    check_invalid_hyperparameters("RAdam", options, message)
