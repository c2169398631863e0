"""Adafactor against torch.optim.Adafactor: every option, end to end and on replayed gradients, float32 and float64;
the factored second moment (row / column state of PyTorch's shapes) on matrices, the whole one on vectors."""

from __future__ import annotations

import numpy as np
import pytest
from optim_parity import check_replay, check_state_dict, check_training

LR = 0.01
OPTIONS = [
    {},
    {"beta2_decay": -0.5},
    {"eps": (1e-20, 1e-2)},
    {"d": 2.0},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"beta2_decay": -0.6, "eps": (None, 1e-4), "d": 1.5, "weight_decay": 0.05, "maximize": True},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_training_matches_torch(options: dict, dtype: str) -> None:
    check_training("Adafactor", options, dtype, LR)


@pytest.mark.parametrize("lr", [LR, 1.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_replay_matches_torch(options: dict, dtype: str, lr: float) -> None:
    check_replay("Adafactor", options, dtype, lr)


def test_defaults_and_state_dict_match_torch() -> None:
    check_state_dict("Adafactor")


def test_a_three_d_weight_is_factored_over_its_last_two_axes() -> None:
    import torch

    import shenjing

    rng = np.random.default_rng(0)
    start = rng.standard_normal((2, 3, 4))
    ours, theirs = shenjing.nn.Parameter(shenjing.tensor(start)), torch.nn.Parameter(torch.tensor(start))
    opt_ours, opt_theirs = shenjing.optim.Adafactor([ours], lr=0.1), torch.optim.Adafactor([theirs], lr=0.1)
    for _ in range(4):
        g = rng.standard_normal((2, 3, 4))
        ours.grad, theirs.grad = shenjing.tensor(g), torch.tensor(g)
        opt_ours.step()
        opt_theirs.step()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    assert np.shape(opt_ours.state[ours]["row_var"]) == (2, 3, 1) and np.shape(opt_ours.state[ours]["col_var"]) == \
        (2, 1, 4)


@pytest.mark.parametrize("options, message", [
    ({"lr": -1.0}, "Learning rate should be >= 0 but is: -1.0"),
    ({"beta2_decay": 0.5}, "beta2_decay should be <= 0 but is: 0.5"),
    ({"d": 0.5}, "Clipping threshold d should be >= 1 but is: 0.5"),
    ({"weight_decay": -0.1}, "weight_decay should be >= 0 but is: -0.1"),
])
def test_invalid_hyperparameters_like_torch(options: dict, message: str) -> None:
    import torch

    import shenjing

    with pytest.raises(ValueError, match=message):
        shenjing.optim.Adafactor([shenjing.nn.Parameter(shenjing.zeros(2))], **options)
    with pytest.raises(ValueError, match=message):
        torch.optim.Adafactor([torch.nn.Parameter(torch.zeros(2))], **options)
