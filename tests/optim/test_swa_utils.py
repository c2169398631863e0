"""optim.swa_utils against torch.optim.swa_utils: AveragedModel (SWA and EMA), SWALR's learning rates, update_bn."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import shenjing


def _pair() -> tuple:
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)).double()
    ours = shenjing.nn.Sequential(shenjing.nn.Linear(3, 4), shenjing.nn.BatchNorm1d(4), shenjing.nn.Linear(4, 2))
    ours.double().load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("kind", ["swa", "ema", "ema_multi", "swa_buffers"])
def test_averaged_model_follows_torch(kind: str) -> None:
    ours, theirs = _pair()
    options = {"swa": ({}, {}), "ema": ({"avg_fn": shenjing.optim.swa_utils.get_ema_avg_fn(0.9)},
                                        {"avg_fn": torch.optim.swa_utils.get_ema_avg_fn(0.9)}),
               "ema_multi": ({"multi_avg_fn": shenjing.optim.swa_utils.get_ema_multi_avg_fn(0.8)},
                             {"multi_avg_fn": torch.optim.swa_utils.get_ema_multi_avg_fn(0.8)}),
               "swa_buffers": ({"use_buffers": True}, {"use_buffers": True})}[kind]
    avg_ours = shenjing.optim.swa_utils.AveragedModel(ours, **options[0])
    avg_theirs = torch.optim.swa_utils.AveragedModel(theirs, **options[1])
    opt_ours = shenjing.optim.SGD(ours.parameters(), lr=0.1)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((8, 3))
    for step in range(4):
        for model, opt, lib in ((ours, opt_ours, shenjing), (theirs, opt_theirs, torch)):
            opt.zero_grad()
            model(lib.tensor(x * (step + 1))).square().mean().backward()
            opt.step()
        avg_ours.update_parameters(ours)
        avg_theirs.update_parameters(theirs)
        assert list(avg_ours.state_dict()) == list(avg_theirs.state_dict())
        for key, value in avg_theirs.state_dict().items():
            np.testing.assert_allclose(avg_ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{kind} step {step} {key}")


@pytest.mark.parametrize("strategy, epochs", [("cos", 3), ("linear", 4), ("cos", 0)])
def test_swalr_learning_rates_match_torch(strategy: str, epochs: int) -> None:
    rates = []
    for lib in (shenjing, torch):
        w = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([w], lr=0.5)
        sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=epochs, anneal_strategy=strategy)
        seen = []
        for _ in range(7):
            opt.step()
            sched.step()
            seen.append(opt.param_groups[0]["lr"])
        rates.append(seen)
    np.testing.assert_allclose(rates[0], rates[1], rtol=1e-12)
    with pytest.raises(ValueError, match="anneal_strategy must by one of 'cos' or 'linear'"):
        shenjing.optim.swa_utils.SWALR(shenjing.optim.SGD([shenjing.nn.Parameter(shenjing.ones(1))], lr=0.1), 0.1,
                                       anneal_strategy="step")


def test_update_bn_recomputes_statistics_as_torch() -> None:
    ours, theirs = _pair()
    data = [np.random.default_rng(k).standard_normal((5, 3)) * (k + 1) for k in range(3)]
    shenjing.optim.swa_utils.update_bn([(shenjing.tensor(d), 0) for d in data], ours)
    torch.optim.swa_utils.update_bn([(torch.tensor(d), 0) for d in data], theirs)
    for key in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), theirs.state_dict()[key].numpy(), rtol=1e-10)
    assert ours[1].momentum == theirs[1].momentum == 0.1
