"""Rprop against torch.optim.Rprop: every option, end to end and on replayed gradients, float32 and float64."""

from __future__ import annotations

import pytest
from optim_parity import check_invalid_hyperparameters, check_replay, check_state_dict, check_training

LR = 0.01
OPTIONS = [
    {},
    {"etas": (0.3, 1.5)},
    {"step_sizes": (1e-3, 0.02)},
    {"maximize": True},
    {"etas": (0.4, 1.1), "step_sizes": (1e-4, 1.0), "maximize": True},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_training_matches_torch(options: dict, dtype: str) -> None:
    check_training("Rprop", options, dtype, LR)


@pytest.mark.parametrize("lr", [LR, 1.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_replay_matches_torch(options: dict, dtype: str, lr: float) -> None:
    check_replay("Rprop", options, dtype, lr)


def test_defaults_and_state_dict_match_torch() -> None:
    check_state_dict("Rprop")


@pytest.mark.parametrize("options, message", [
    ({"lr": -1.0}, "Invalid learning rate: -1.0"),
    ({"etas": (1.5, 1.2)}, "Invalid eta values: 1.5, 1.2"),
])
def test_invalid_hyperparameters_like_torch(options: dict, message: str) -> None:
    check_invalid_hyperparameters("Rprop", options, message)
