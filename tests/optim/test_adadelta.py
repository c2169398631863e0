"""Adadelta against torch.optim.Adadelta: every option, end to end and on replayed gradients, float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
from optim_parity import check_replay, check_training, torch

import shenjing
from shenjing.optim import Adadelta

LR = 1.0
OPTIONS = [
    {},
    {"rho": 0.5},
    {"eps": 1e-3},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"rho": 0.95, "eps": 1e-4, "weight_decay": 0.05, "maximize": True},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_training_matches_torch(options: dict, dtype: str) -> None:
    check_training("Adadelta", options, dtype, LR)


@pytest.mark.parametrize("lr", [LR, 10.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_replay_matches_torch(options: dict, dtype: str, lr: float) -> None:
    check_replay("Adadelta", options, dtype, lr)


def test_defaults_and_state_dict_match_torch() -> None:
    w = shenjing.nn.Parameter(shenjing.ones(3))
    tw = torch.ones(3, requires_grad=True)
    opt, theirs = Adadelta([w]), torch.optim.Adadelta([tw])
    w.grad, tw.grad = shenjing.ones(3), torch.ones(3)
    opt.step()
    theirs.step()
    ours_sd, theirs_sd = opt.state_dict(), theirs.state_dict()
    assert ours_sd["param_groups"] == theirs_sd["param_groups"]
    assert set(ours_sd["state"][0]) == set(theirs_sd["state"][0])
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-6)
    # a torch state dict loads into ours and the next steps agree
    again = Adadelta([shenjing.nn.Parameter(shenjing.tensor(tw.detach().numpy()))])
    again.load_state_dict(theirs_sd)
    for k, v in theirs_sd["state"][0].items():
        np.testing.assert_allclose(np.asarray(again.state[again.param_groups[0]["params"][0]][k]), np.asarray(v))


@pytest.mark.parametrize("options, message", [
    ({"lr": -1.0}, "Invalid learning rate: -1.0"),
    ({"rho": 1.5}, "Invalid rho value: 1.5"),
    ({"eps": -1e-6}, "Invalid epsilon value: -1e-06"),
    ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
])
def test_invalid_hyperparameters_like_torch(options: dict, message: str) -> None:
    w = shenjing.nn.Parameter(shenjing.zeros(2))
    with pytest.raises(ValueError, match=message):
        Adadelta([w], **options)
    with pytest.raises(ValueError, match=message):
        torch.optim.Adadelta([torch.zeros(2, requires_grad=True)], **options)
