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


# ---- the warm-up, composing and cyclic schedulers (lr_scheduler_warmup.py, lr_scheduler_cyclic.py) ---------------
def make_optimizers(kind: str, lrs: tuple[float, ...] = (0.1, 0.02)):
    """(ours, torch's) optimizer of one kind with one group per lr: SGD with momentum, Adam (betas) or Adagrad."""

    def build(lib, param):
        groups = [{"params": [param()], "lr": lr} for lr in lrs]
        if kind == "sgd":
            return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
        if kind == "adam":
            return lib.optim.Adam(groups, lr=0.1)
        return lib.optim.Adagrad(groups, lr=0.1)

    ours = build(shenjing, lambda: shenjing.nn.Parameter(shenjing.zeros(1)))
    theirs = build(torch, lambda: torch.zeros(1, requires_grad=True))
    return ours, theirs


def hyper_sequence(optimizer, scheduler, steps: int = STEPS, epochs: list | None = None) -> list:
    """Every group's (lr, momentum, betas) after construction and after each step (step(epoch) with ``epochs``)."""

    def record():
        groups = optimizer.param_groups
        return [(g["lr"], g.get("momentum"), tuple(g["betas"]) if "betas" in g else None) for g in groups]

    sequence = [record()]
    for i in range(steps):
        optimizer.step()
        if epochs is None:
            scheduler.step()
        else:
            scheduler.step(epochs[i])
        assert scheduler.get_last_lr() == [group["lr"] for group in optimizer.param_groups]
        sequence.append(record())
    return sequence


def assert_close_sequences(ours: list, theirs: list) -> None:
    assert len(ours) == len(theirs)
    for step, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        for (lr, momentum, betas), (lr_t, momentum_t, betas_t) in zip(mine, reference, strict=True):
            assert lr == pytest.approx(lr_t, rel=1e-12, abs=1e-15), f"lr at step {step}"
            assert (momentum is None) == (momentum_t is None)
            if momentum is not None:
                assert momentum == pytest.approx(momentum_t, rel=1e-12, abs=1e-15), f"momentum at step {step}"
            assert (betas is None) == (betas_t is None)
            if betas is not None:
                assert betas == pytest.approx(betas_t, rel=1e-12, abs=1e-15), f"betas at step {step}"


def halving(epoch: int) -> float:
    return 0.5 if epoch % 3 == 0 else 1.0


def decay(epoch: int) -> float:
    return 0.95


def sequential_warmup_then_exponential(lib, opt):
    return lib.SequentialLR(opt, [lib.LinearLR(opt, 0.1, total_iters=5), lib.ExponentialLR(opt, 0.9)], [5])


def sequential_three(lib, opt):
    schedulers = [lib.ConstantLR(opt, 0.5, 3), lib.CosineAnnealingLR(opt, T_max=6), lib.StepLR(opt, 4, 0.5)]
    return lib.SequentialLR(opt, schedulers, milestones=[3, 12])


def sequential_of_lambda_and_polynomial(lib, opt):
    schedulers = [lib.LambdaLR(opt, poly), lib.PolynomialLR(opt, total_iters=10, power=2.0)]
    return lib.SequentialLR(opt, schedulers, milestones=[7])


def chained_constant_exponential(lib, opt):
    return lib.ChainedScheduler([lib.ConstantLR(opt, 0.5, 4), lib.ExponentialLR(opt, 0.9)])


def chained_linear_cosine(lib, opt):
    return lib.ChainedScheduler([lib.LinearLR(opt, 0.2, total_iters=6), lib.CosineAnnealingLR(opt, 8, 0.001)], opt)


def cyclic_custom_scale(lib, opt):
    return lib.CyclicLR(opt, 0.01, 0.1, step_size_up=3, scale_fn=poly, scale_mode="iterations")


def named(name: str, **options):
    def build(lib, opt):
        return getattr(lib, name)(opt, **options)

    build.__name__ = f"{name}({case_id(options)})"
    return build


NEW_SCHEDULES = [
    ("sgd", named("MultiplicativeLR", lr_lambda=decay)),
    ("sgd", named("MultiplicativeLR", lr_lambda=[decay, halving])),
    ("sgd", named("ConstantLR")),
    ("sgd", named("ConstantLR", factor=0.5, total_iters=3)),
    ("sgd", named("LinearLR")),
    ("sgd", named("LinearLR", start_factor=0.25, end_factor=0.75, total_iters=4)),
    ("sgd", named("PolynomialLR")),
    ("sgd", named("PolynomialLR", total_iters=12, power=2.0)),
    ("sgd", named("CosineAnnealingWarmRestarts", T_0=5)),  # 6 cycles
    ("sgd", named("CosineAnnealingWarmRestarts", T_0=3, T_mult=2, eta_min=0.001)),  # 3, 6, 12: 3 cycles
    ("sgd", named("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=4)),  # a cycle of 8: ~4 cycles
    ("sgd", named("CyclicLR", base_lr=[0.01, 0.002], max_lr=[0.1, 0.05], step_size_up=3, step_size_down=5,
                  mode="triangular2")),
    ("sgd", named("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=4, mode="exp_range",
                  gamma=0.95, base_momentum=0.7, max_momentum=0.95)),
    ("sgd", named("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=4, cycle_momentum=False)),
    ("sgd", cyclic_custom_scale),
    ("adam", named("CyclicLR", base_lr=0.001, max_lr=0.01, step_size_up=3, mode="triangular2")),
    ("adagrad", named("CyclicLR", base_lr=0.001, max_lr=0.01, step_size_up=3, cycle_momentum=False)),
    ("sgd", named("OneCycleLR", max_lr=0.5, total_steps=STEPS)),
    ("sgd", named("OneCycleLR", max_lr=[0.5, 0.1], epochs=3, steps_per_epoch=10, anneal_strategy="linear")),
    ("sgd", named("OneCycleLR", max_lr=0.5, total_steps=STEPS, three_phase=True, pct_start=0.25)),
    ("sgd", named("OneCycleLR", max_lr=1.0, total_steps=STEPS + 5, div_factor=10.0, final_div_factor=100.0,
                  base_momentum=0.8, max_momentum=0.9)),
    ("adam", named("OneCycleLR", max_lr=0.01, total_steps=STEPS)),
    ("adam", named("OneCycleLR", max_lr=0.01, total_steps=STEPS, three_phase=True, anneal_strategy="linear")),
    ("adagrad", named("OneCycleLR", max_lr=0.01, total_steps=STEPS, cycle_momentum=False)),
    ("sgd", sequential_warmup_then_exponential),
    ("sgd", sequential_three),
    ("sgd", sequential_of_lambda_and_polynomial),
    ("sgd", chained_constant_exponential),
    ("sgd", chained_linear_cosine),
]


@pytest.mark.parametrize("kind, build", NEW_SCHEDULES, ids=case_id)
def test_new_schedulers_lr_and_momentum_sequences_match_torch(kind: str, build) -> None:
    ours, theirs = make_optimizers(kind)
    scheduler, reference = build(lr_scheduler, ours), build(torch.optim.lr_scheduler, theirs)
    assert_close_sequences(hyper_sequence(ours, scheduler), hyper_sequence(theirs, reference))
    assert sorted(scheduler.state_dict()) == sorted(reference.state_dict())  # PyTorch's state-dict keys


@pytest.mark.parametrize("kind, build", NEW_SCHEDULES, ids=case_id)
def test_new_schedulers_state_dict_round_trip_resumes_the_same_sequence(kind: str, build) -> None:
    ours, _ = make_optimizers(kind)
    full = hyper_sequence(ours, build(lr_scheduler, ours), 20)

    first, _ = make_optimizers(kind)
    scheduler = build(lr_scheduler, first)
    hyper_sequence(first, scheduler, 10)
    saved_optimizer, saved_scheduler = copy.deepcopy(first.state_dict()), copy.deepcopy(scheduler.state_dict())

    second, _ = make_optimizers(kind)
    resumed = build(lr_scheduler, second)
    second.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved_scheduler)
    assert hyper_sequence(second, resumed, 10)[1:] == full[11:]


def test_cosine_warm_restarts_with_fractional_epochs_matches_torch() -> None:
    epochs = [e + i / 4 for e in range(12) for i in range(4)]  # 4 batches per epoch: epoch + batch / 4
    for options in ({"T_0": 3}, {"T_0": 2, "T_mult": 2, "eta_min": 0.01}):
        ours, theirs = make_optimizers("sgd")
        scheduler = lr_scheduler.CosineAnnealingWarmRestarts(ours, **options)
        reference = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs, **options)
        sequence = hyper_sequence(ours, scheduler, len(epochs), epochs)
        assert_close_sequences(sequence, hyper_sequence(theirs, reference, len(epochs), epochs))
        assert scheduler.last_epoch == reference.last_epoch == 11


@pytest.mark.parametrize(
    "name, options",
    [
        ("StepLR", {"step_size": 3, "gamma": 0.5}),
        ("MultiStepLR", {"milestones": [2, 5, 5]}),
        ("ExponentialLR", {"gamma": 0.9}),
        ("CosineAnnealingLR", {"T_max": 5}),
        ("ConstantLR", {"factor": 0.5, "total_iters": 4}),
        ("LinearLR", {"total_iters": 4}),
        ("PolynomialLR", {"total_iters": 6, "power": 0.5}),
        ("LambdaLR", {"lr_lambda": poly}),
    ],
    ids=case_id,
)
def test_step_with_an_epoch_uses_the_closed_form_like_torch(name: str, options: dict) -> None:
    epochs = [3, 1, 7, 7, 0, 12, 4]
    ours, theirs = make_optimizers("sgd")
    scheduler = getattr(lr_scheduler, name)(ours, **options)
    reference = getattr(torch.optim.lr_scheduler, name)(theirs, **options)
    with pytest.warns(UserWarning, match="epoch parameter"):
        sequence = hyper_sequence(ours, scheduler, len(epochs), epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = hyper_sequence(theirs, reference, len(epochs), epochs)
    assert_close_sequences(sequence, expected)


def test_one_cycle_past_total_steps_raises_like_torch() -> None:
    ours, theirs = make_optimizers("sgd")
    scheduler = lr_scheduler.OneCycleLR(ours, max_lr=0.1, total_steps=3)
    reference = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=0.1, total_steps=3)
    hyper_sequence(ours, scheduler, 3)
    hyper_sequence(theirs, reference, 3)
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        reference.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        scheduler.step()


def test_cyclic_schedulers_work_per_batch_in_the_trainer() -> None:
    import numpy as np

    from shenjing.data import DataLoader, TensorDataset
    from shenjing.train import Trainer

    model = shenjing.nn.Linear(3, 1)
    optimizer = shenjing.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=2, steps_per_epoch=4)
    data = TensorDataset(np.ones((16, 3), np.float32), np.zeros((16, 1), np.float32))
    trainer = Trainer(model, shenjing.nn.MSELoss(), optimizer, scheduler=scheduler, scheduler_interval="step")
    trainer.fit(DataLoader(data, batch_size=4), epochs=2)
    assert scheduler.last_epoch == 8  # stepped once per batch: the whole cycle, with no error at its end
    _, theirs = make_optimizers("sgd", (0.1,))
    reference = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=0.1, epochs=2, steps_per_epoch=4)
    hyper_sequence(theirs, reference, 8)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-12)
    assert optimizer.param_groups[0]["momentum"] == pytest.approx(theirs.param_groups[0]["momentum"], rel=1e-12)


@pytest.mark.parametrize(
    "kind, make, error",
    [
        ("adagrad", lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1), ValueError),  # cycle_momentum needs momentum
        ("adagrad", lambda lib, opt: lib.OneCycleLR(opt, 0.1, total_steps=10), ValueError),
        ("sgd", lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1, mode="sine"), ValueError),
        ("sgd", lambda lib, opt: lib.CyclicLR(opt, [0.01], 0.1), ValueError),
        ("sgd", lambda lib, opt: lib.OneCycleLR(opt, 0.1), ValueError),
        ("sgd", lambda lib, opt: lib.OneCycleLR(opt, 0.1, total_steps=0), ValueError),
        ("sgd", lambda lib, opt: lib.OneCycleLR(opt, 0.1, total_steps=10, pct_start=1), ValueError),
        ("sgd", lambda lib, opt: lib.OneCycleLR(opt, 0.1, total_steps=10, anneal_strategy="exp"), ValueError),
        ("sgd", lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=0), ValueError),
        ("sgd", lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5), ValueError),
        ("sgd", lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=2).step(-1), ValueError),
        ("sgd", lambda lib, opt: lib.ConstantLR(opt, factor=2.0), ValueError),
        ("sgd", lambda lib, opt: lib.LinearLR(opt, start_factor=0), ValueError),
        ("sgd", lambda lib, opt: lib.LinearLR(opt, end_factor=1.5), ValueError),
        ("sgd", lambda lib, opt: lib.MultiplicativeLR(opt, 0.5), TypeError),
        ("sgd", lambda lib, opt: lib.SequentialLR(opt, [], []), ValueError),
        ("sgd", lambda lib, opt: lib.SequentialLR(opt, [lib.StepLR(opt, 2)], [3]), ValueError),
        ("sgd", lambda lib, opt: lib.SequentialLR(opt, [lib.ReduceLROnPlateau(opt)], []), ValueError),
        ("sgd", lambda lib, opt: lib.ChainedScheduler([]), ValueError),
        ("sgd", lambda lib, opt: lib.ChainedScheduler([object()], opt), TypeError),
    ],
)
def test_new_scheduler_errors_match_torchs_exception_classes(kind: str, make, error: type) -> None:
    ours, theirs = make_optimizers(kind)
    with pytest.raises(error):
        make(torch.optim.lr_scheduler, theirs)
    with pytest.raises(error):
        make(lr_scheduler, ours)
