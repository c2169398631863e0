"""RMSprop against torch.optim.RMSprop: every option, end to end and on replayed gradients, float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
from optim_parity import NORMAL_LR, check_invalid_hyperparameters, check_replay, check_training, torch

import shenjing
from shenjing.optim import RMSprop

OPTIONS = [
    {},
    {"momentum": 0.9},
    {"centered": True},
    {"centered": True, "momentum": 0.9},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"momentum": 0.5, "centered": True, "weight_decay": 0.1, "maximize": True},
]
# 1 − α = 0.6 ≥ 0.5 takes the other branch of lerp. With α this small, v and ḡ² both follow the last
# few gradients and √(v − ḡ²) is the root of a near-cancellation: in float32 the last-bit differences
# from PyTorch's fused multiply-adds (NumPy has none) grow to 1e-3 over 20 steps. (Emulating each fused
# multiply-add through float64 reproduces PyTorch's bits exactly, at three times the cost of the step;
# we keep the step fast.) So this one is checked in float64 only.
ILL_CONDITIONED = [{"alpha": 0.4, "eps": 1e-4, "centered": True}]
CASES = [(options, dtype) for options in OPTIONS for dtype in ("float64", "float32")]
CASES += [(options, "float64") for options in ILL_CONDITIONED]


@pytest.mark.parametrize("options, dtype", CASES, ids=str)
def test_training_matches_torch(options: dict, dtype: str) -> None:
    check_training("RMSprop", options, dtype, NORMAL_LR["RMSprop"])


@pytest.mark.parametrize("lr", [NORMAL_LR["RMSprop"], 10.0])
@pytest.mark.parametrize("options, dtype", CASES, ids=str)
def test_replay_matches_torch(options: dict, dtype: str, lr: float) -> None:
    check_replay("RMSprop", options, dtype, lr)


def test_first_step_is_lr_over_root_of_one_minus_alpha() -> None:
    # v₁ = (1 − α)g², so g/√v₁ = ±1/√0.01 = ±10
    w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0], dtype=shenjing.float64))
    opt = RMSprop([w], lr=0.01)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.array, [0.9, -1.9], rtol=1e-8)
    assert sorted(opt.state[w]) == ["square_avg", "step"]


def test_state_keys_follow_the_options() -> None:
    w = shenjing.nn.Parameter(shenjing.zeros(2))
    opt = RMSprop([w], momentum=0.9, centered=True)
    w.grad = shenjing.ones(2)
    opt.step()
    assert sorted(opt.state[w]) == ["grad_avg", "momentum_buffer", "square_avg", "step"]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"lr": -1}, "Invalid learning rate: -1"),
        ({"eps": -1.0}, "Invalid epsilon value: -1.0"),
        ({"momentum": -0.1}, "Invalid momentum value: -0.1"),
        ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
        ({"alpha": -0.5}, "Invalid alpha value: -0.5"),
    ],
)
def test_bad_hyperparameters_raise_value_error_like_torch(options: dict, message: str) -> None:
    check_invalid_hyperparameters("RMSprop", options, message)
