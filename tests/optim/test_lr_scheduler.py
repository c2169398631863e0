"""Every scheduler's learning-rate sequence against torch.optim.lr_scheduler, step for step, and its state dict."""

from __future__ import annotations

import copy
import math
import warnings

import pytest
from optim_parity import torch

import shenjing
from shenjing.optim import lr_scheduler

STEPS = 30


def optimizers(lrs: tuple[float, ...] = (0.1, 0.02)):
    """(ours, torch's) SGD with one group per lr."""
    ours = shenjing.optim.SGD([{"params": [shenjing.nn.Parameter(shenjing.zeros(1))], "lr": lr} for lr in lrs])
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs])
    return ours, theirs


def lr_sequence(optimizer, scheduler, steps: int = STEPS, metrics: list[float] | None = None) -> list[list[float]]:
    """get_last_lr() after construction and after each of ``steps`` epochs (optimizer.step() first)."""
    sequence = [[group["lr"] for group in optimizer.param_groups]]
    for epoch in range(steps):
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        assert scheduler.get_last_lr() == [group["lr"] for group in optimizer.param_groups]
        sequence.append(scheduler.get_last_lr())
    return sequence


def case_id(value) -> str:
    """A test id without memory addresses (pytest-xdist needs the same ids in every worker)."""
    if callable(value):
        return value.__name__
    if isinstance(value, dict):
        return ",".join(f"{key}={case_id(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return "[" + ",".join(case_id(item) for item in value) + "]"
    return str(value)


def poly(epoch: int) -> float:
    return 1 / (1 + epoch)


def wave(epoch: int) -> float:
    return 1 + 0.5 * math.sin(epoch)


SCHEDULES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("MultiStepLR", {"milestones": [5, 12, 12, 20], "gamma": 0.3}),
    ("MultiStepLR", {"milestones": [0, 3]}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}),  # 30 epochs: down, back up, down again
    ("CosineAnnealingLR", {"T_max": 7}),
    ("LambdaLR", {"lr_lambda": poly}),
    ("LambdaLR", {"lr_lambda": [poly, wave]}),
]


@pytest.mark.parametrize("name, options", SCHEDULES, ids=case_id)
def test_lr_sequence_matches_torch(name: str, options: dict) -> None:
    ours, theirs = optimizers()
    sequence = lr_sequence(ours, getattr(lr_scheduler, name)(ours, **options))
    expected = lr_sequence(theirs, getattr(torch.optim.lr_scheduler, name)(theirs, **options))
    assert sequence == expected  # the same float operations in the same order: equal, not just close
    assert [g["initial_lr"] for g in ours.param_groups] == [g["initial_lr"] for g in theirs.param_groups]


def test_two_schedulers_on_one_optimizer_compose_like_torch() -> None:
    ours, theirs = optimizers()
    ours_schedulers = [lr_scheduler.ExponentialLR(ours, 0.95), lr_scheduler.StepLR(ours, 5, 0.5)]
    theirs_schedulers = [
        torch.optim.lr_scheduler.ExponentialLR(theirs, 0.95),
        torch.optim.lr_scheduler.StepLR(theirs, 5, 0.5),
    ]
    for _ in range(STEPS):
        ours.step()
        theirs.step()
        for ours_scheduler, theirs_scheduler in zip(ours_schedulers, theirs_schedulers, strict=True):
            ours_scheduler.step()
            theirs_scheduler.step()
        assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in theirs.param_groups]


LOSSES = [1.0, 0.9, 0.85, 0.85, 0.8500001, 0.86, 0.84, 0.84, 0.84, 0.84, 0.9, 0.7] + [0.7] * 10 + [0.69999] * 8

PLATEAUS = [
    {},
    {"patience": 2, "factor": 0.5},
    {"patience": 1, "cooldown": 2, "factor": 0.5, "min_lr": 0.01},
    {"patience": 0, "factor": 0.5, "min_lr": [0.05, 0.001]},
    {"mode": "max", "patience": 1, "threshold": 0.05, "threshold_mode": "abs"},
    {"mode": "min", "patience": 1, "threshold": 0.05, "threshold_mode": "abs"},
    {"mode": "max", "patience": 2, "threshold": 0.01},
    {"patience": 0, "factor": 0.9, "eps": 0.05},  # steps smaller than eps are skipped
]


@pytest.mark.parametrize("options", PLATEAUS, ids=case_id)
def test_reduce_on_plateau_matches_torch(options: dict) -> None:
    ours, theirs = optimizers()
    scheduler = lr_scheduler.ReduceLROnPlateau(ours, **options)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **options)
    assert lr_sequence(ours, scheduler, metrics=LOSSES) == lr_sequence(theirs, reference, metrics=LOSSES)
    for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
        assert getattr(scheduler, key) == getattr(reference, key)


def test_reduce_on_plateau_reads_zero_dim_tensors() -> None:
    ours, _ = optimizers((1.0,))
    scheduler = lr_scheduler.ReduceLROnPlateau(ours, patience=0)
    for loss in (2.0, 3.0):
        scheduler.step(shenjing.tensor(loss))
    assert scheduler.get_last_lr() == [0.1]


@pytest.mark.parametrize("name, options", SCHEDULES[:-2] + [("ReduceLROnPlateau", {"patience": 1})], ids=case_id)
def test_state_dict_round_trip_resumes_the_same_sequence(name: str, options: dict) -> None:
    metrics = LOSSES if name == "ReduceLROnPlateau" else None
    ours, _ = optimizers()
    scheduler = getattr(lr_scheduler, name)(ours, **options)
    full = lr_sequence(ours, scheduler, 20, metrics)

    first, _ = optimizers()
    scheduler = getattr(lr_scheduler, name)(first, **options)
    lr_sequence(first, scheduler, 10, metrics)
    saved_optimizer, saved_scheduler = copy.deepcopy(first.state_dict()), copy.deepcopy(scheduler.state_dict())
    assert "optimizer" not in saved_scheduler

    second, _ = optimizers()
    resumed = getattr(lr_scheduler, name)(second, **options)
    second.load_state_dict(saved_optimizer)  # after constructing the scheduler, as PyTorch advises
    resumed.load_state_dict(saved_scheduler)
    rest = lr_sequence(second, resumed, 10, metrics[10:] if metrics else None)
    assert rest == full[10:]


def test_lambda_scheduler_state_dict_keeps_callable_objects_state() -> None:
    class Warmup:
        def __init__(self) -> None:
            self.warmup = 5

        def __call__(self, epoch: int) -> float:
            return min(1.0, (epoch + 1) / self.warmup)

    ours, _ = optimizers((0.1,))
    scheduler = lr_scheduler.LambdaLR(ours, Warmup())
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"warmup": 5}]
    state["lr_lambdas"] = [{"warmup": 10}]
    scheduler.load_state_dict(state)
    assert scheduler.lr_lambdas[0].warmup == 10


def test_initial_lr_base_lrs_and_last_epoch() -> None:
    ours, _ = optimizers()
    scheduler = lr_scheduler.StepLR(ours, step_size=2)
    assert scheduler.base_lrs == [0.1, 0.02] and scheduler.last_epoch == 0
    assert [g["initial_lr"] for g in ours.param_groups] == [0.1, 0.02]
    ours.step()
    scheduler.step()
    assert scheduler.last_epoch == 1


def test_resuming_without_initial_lr_raises_key_error_like_torch() -> None:
    ours, theirs = optimizers()
    with pytest.raises(KeyError):
        torch.optim.lr_scheduler.StepLR(theirs, step_size=2, last_epoch=3)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(ours, step_size=2, last_epoch=3)


def test_warns_when_scheduler_steps_before_optimizer_like_torch() -> None:
    ours, theirs = optimizers()
    reference = torch.optim.lr_scheduler.StepLR(theirs, step_size=2)
    scheduler = lr_scheduler.StepLR(ours, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        reference.step()
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    ours, _ = optimizers()
    scheduler = lr_scheduler.StepLR(ours, step_size=2)
    ours.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda lib, opt: lib.ReduceLROnPlateau(opt, factor=1.0), ValueError),
        (lambda lib, opt: lib.ReduceLROnPlateau(opt, mode="up"), ValueError),
        (lambda lib, opt: lib.ReduceLROnPlateau(opt, threshold_mode="ratio"), ValueError),
        (lambda lib, opt: lib.ReduceLROnPlateau(opt, min_lr=[0.1]), ValueError),
        (lambda lib, opt: lib.LambdaLR(opt, [poly]), ValueError),
        (lambda lib, opt: lib.StepLR(object(), step_size=1), TypeError),
    ],
)
def test_errors_match_torchs_exception_classes(make, error: type) -> None:
    ours, theirs = optimizers()
    with pytest.raises(error):
        make(torch.optim.lr_scheduler, theirs)
    with pytest.raises(error):
        make(lr_scheduler, ours)
