"""Adam and AdamW against torch.optim: every option, end to end and on replayed gradients, float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
from optim_parity import NORMAL_LR, check_invalid_hyperparameters, check_replay, check_training, torch

import shenjing
from shenjing.optim import Adam, AdamW

CASES = [
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"weight_decay": 0.1}),
    ("Adam", {"maximize": True}),
    ("Adam", {"betas": (0.3, 0.9), "eps": 1e-3}),  # 1 − β₁ = 0.7 ≥ 0.5: the other branch of lerp
    ("Adam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"weight_decay": 0.1}),
    ("AdamW", {"weight_decay": 0.1, "amsgrad": True, "maximize": True}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, options", CASES, ids=str)
def test_training_matches_torch(name: str, options: dict, dtype: str) -> None:
    check_training(name, options, dtype, NORMAL_LR[name])


@pytest.mark.parametrize("lr", [0.01, 10.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, options", CASES, ids=str)
def test_replay_matches_torch(name: str, options: dict, dtype: str, lr: float) -> None:
    check_replay(name, options, dtype, lr)


def test_replay_detects_a_different_epsilon() -> None:
    """The check is sharp enough to see ε = 1e-7 (Keras's) instead of 1e-8 at lr = 10."""
    with pytest.raises(AssertionError, match="relative error"):
        check_replay("Adam", {"eps": 1e-7}, "float64", 10.0, steps=1, torch_options={"eps": 1e-8})


def test_first_step_moves_each_weight_by_lr() -> None:
    # m̂₁ = g, v̂₁ = g², so the first step is η·g/(|g| + ε) ≈ ±η whatever the gradient's size
    w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0, 300.0], dtype=shenjing.float64))
    opt = Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.array, [0.9, -1.9, 299.9], rtol=1e-9)
    assert opt.state[w]["step"] == 1.0
    assert sorted(opt.state[w]) == ["exp_avg", "exp_avg_sq", "step"]


def test_adamw_decays_before_the_adam_step() -> None:
    w = shenjing.nn.Parameter(shenjing.tensor([1.0, -2.0], dtype=shenjing.float64))
    opt = AdamW([w], lr=0.1, weight_decay=0.5)
    w.grad = shenjing.zeros(2, dtype=shenjing.float64)  # only the decay moves w: m = v = 0
    opt.step()
    np.testing.assert_allclose(w.array, [0.95, -1.9], rtol=1e-15)


def test_adamw_defaults_and_decoupled_flag_survives_loading_an_adam_state_dict() -> None:
    w = shenjing.nn.Parameter(shenjing.zeros(2))
    adamw = AdamW([w])
    assert adamw.defaults["weight_decay"] == 1e-2
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True
    adamw.load_state_dict(Adam([w]).state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


def test_state_arrays_are_updated_in_place_not_reallocated() -> None:
    w = shenjing.nn.Parameter(shenjing.randn(3, 4))
    data = w.array
    opt = Adam([w], lr=0.1, amsgrad=True)
    w.grad = shenjing.randn(3, 4)
    opt.step()
    arrays = {key: value for key, value in opt.state[w].items() if key != "step"}
    for _ in range(3):
        w.grad = shenjing.randn(3, 4)
        opt.step()
    assert w.array is data
    assert all(opt.state[w][key] is value for key, value in arrays.items())


@pytest.mark.parametrize(
    "options, message",
    [
        ({"lr": -1}, "Invalid learning rate: -1"),
        ({"eps": -1e-8}, "Invalid epsilon value"),
        ({"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
        ({"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
        ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ],
)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_bad_hyperparameters_raise_value_error_like_torch(name: str, options: dict, message: str) -> None:
    check_invalid_hyperparameters(name, options, message)
