"""Warm-up and decay-to-zero schedulers (ConstantLR, LinearLR, PolynomialLR) and the two that compose schedulers.

Part of :mod:`shenjing.optim.lr_scheduler` (import them from there). As there, each ``get_lr()`` is PyTorch's
recursive form, from the current ``group["lr"]``, and ``_get_closed_form_lr()`` the direct one that
``step(epoch)`` and ``SequentialLR`` use.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from .lr_scheduler import LRScheduler, ReduceLROnPlateau, _lrs
from .optimizer import Optimizer

__all__ = ["ConstantLR", "LinearLR", "PolynomialLR", "SequentialLR", "ChainedScheduler"]


class ConstantLR(LRScheduler):
    """Hold the lr at base_lr · factor for the first ``total_iters`` epochs, then at base_lr.

        lrₜ = base_lr · factor   for t < total_iters,      lrₜ = base_lr   for t ≥ total_iters

    Args:
        optimizer: the optimizer to schedule.
        factor: the factor, in [0, 1] (default 1/3).
        total_iters: the number of epochs at the lowered lr (default 5).
        last_epoch: -1 to start fresh.

    Example:
        >>> import shenjing
        >>> opt = shenjing.optim.SGD(shenjing.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> sched = ConstantLR(opt, factor=0.5, total_iters=2)
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for _ in range(3):
        ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
        >>> lrs
        [0.05, 0.05, 0.1, 0.1]
    """

    def __init__(
        self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in _lrs(self.optimizer)]
        if self.last_epoch != self.total_iters:
            return _lrs(self.optimizer)
        return [lr * (1.0 / self.factor) for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
            for base_lr in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """Ramp the lr's factor linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs (warm-up).

        lrₜ = base_lr · (s + (e − s) · min(t, T) / T),   s = start_factor, e = end_factor, T = total_iters

    computed recursively, as PyTorch: lrₜ = lrₜ₋₁ · (1 + (e − s) / (T s + (t − 1)(e − s))) for 1 ≤ t ≤ T.

    Args:
        optimizer: the optimizer to schedule.
        start_factor: the factor at epoch 0, in (0, 1] (default 1/3).
        end_factor: the factor from epoch T on, in [0, 1] (default 1).
        total_iters: T, the length of the ramp in epochs (default 5).
        last_epoch: -1 to start fresh.

    Example:
        >>> import shenjing
        >>> opt = shenjing.optim.SGD(shenjing.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> sched = LinearLR(opt, start_factor=0.5, total_iters=2)
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for _ in range(3):
        ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
        >>> lrs
        [0.05, 0.075, 0.1, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        s, e, T, t = self.start_factor, self.end_factor, self.total_iters, self.last_epoch
        if t == 0:
            return [lr * s for lr in _lrs(self.optimizer)]
        if self._is_initial or t > T:
            return _lrs(self.optimizer)
        return [lr * (1.0 + (e - s) / (T * s + (t - 1) * (e - s))) for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self) -> list[float]:
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        return [base_lr * (s + (e - s) * min(T, self.last_epoch) / T) for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr to zero along a polynomial over ``total_iters`` epochs, then hold it there.

        lrₜ = base_lr · (1 − min(t, T) / T)^p,   T = total_iters, p = power

    computed recursively, as PyTorch: lrₜ = lrₜ₋₁ · ((1 − t/T) / (1 − (t − 1)/T))^p for 1 ≤ t ≤ T.

    Args:
        optimizer: the optimizer to schedule.
        total_iters: T, the epochs until the lr reaches zero (default 5).
        power: p (default 1: linear decay).
        last_epoch: -1 to start fresh.

    Example:
        >>> import shenjing
        >>> opt = shenjing.optim.SGD(shenjing.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> sched = PolynomialLR(opt, total_iters=2)
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for _ in range(3):
        ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
        >>> lrs
        [0.1, 0.05, 0.0, 0.0]
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        t, T = self.last_epoch, self.total_iters
        decay = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return [lr * decay for lr in _lrs(self.optimizer)]

    def _get_closed_form_lr(self) -> list[float]:
        T = self.total_iters
        return [base_lr * (1.0 - min(T, self.last_epoch) / T) ** self.power for base_lr in self.base_lrs]


def _check_members(kind: str, optimizer: Optimizer, schedulers: Sequence[Any]) -> None:
    """The schedulers a SequentialLR or ChainedScheduler holds: stepped without arguments, on one optimizer."""
    for index, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{kind} at index {index} should have `optimizer` as its attribute.")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(
                f"{kind} does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs to be "
                f"specified when calling `step`, but got one at index {index} in the given schedulers sequence."
            )
        if optimizer != scheduler.optimizer:
            raise ValueError(
                f"{kind} expects all schedulers to belong to the same optimizer, but got scheduler "
                f"{type(scheduler).__name__} at index {index} has {scheduler.optimizer}, which is different from "
                f"{type(optimizer).__name__}."
            )


class SequentialLR(LRScheduler):
    """Run one scheduler after another, switching at the milestone epochs (a warm-up, then a decay, say).

    Scheduler k runs for milestones[k − 1] ≤ t < milestones[k]; when it takes over it restarts from its own
    epoch 0 (its closed form at 0), so that each scheduler sees its own epochs 0, 1, 2, …

    Args:
        optimizer: the optimizer all the schedulers belong to.
        schedulers: the schedulers, in order (not ReduceLROnPlateau).
        milestones: the epochs at which the next scheduler takes over, one fewer than the schedulers.
        last_epoch: -1 to start fresh.

    Example:
        >>> import shenjing
        >>> from shenjing.optim.lr_scheduler import ExponentialLR, LinearLR
        >>> opt = shenjing.optim.SGD(shenjing.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> warmup, decay = LinearLR(opt, start_factor=0.5, total_iters=2), ExponentialLR(opt, gamma=0.5)
        >>> sched = SequentialLR(opt, [warmup, decay], milestones=[2])
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for _ in range(4):
        ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
        >>> lrs
        [0.05, 0.075, 0.1, 0.05, 0.025]
    """

    def __init__(
        self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int], last_epoch: int = -1
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler, but got no scheduler.")
        _check_members(type(self).__name__, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than the number of "
                f"milestone points, but got number of schedulers {len(schedulers)} and the number of milestones "
                f"to be equal to {len(milestones)}"
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # NOTE: every scheduler already took its step 0 when it was built; undo that and restart the first one
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        index = bisect.bisect_right(self._milestones, 0)
        self._schedulers[index]._initial_step()
        self._last_lr = schedulers[index].get_last_lr()

    def recursive_undo(self, sched: Any = None) -> None:
        """Take one epoch back from every scheduler inside (nested SequentialLRs included)."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for inner in scheds._schedulers:
                self.recursive_undo(inner)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)  # the next scheduler starts at its own epoch 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """As PyTorch: its own attributes, with ``_schedulers`` the list of the inner schedulers' state dicts."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        inner = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for scheduler, saved in zip(self._schedulers, inner, strict=True):
            scheduler.load_state_dict(saved)


class ChainedScheduler(LRScheduler):
    """Step several schedulers together, each one after the other every epoch, so that their factors multiply.

    With chainable schedulers (each computes the new lr from the current one) the lr at epoch t is base_lr times
    the product of each scheduler's factor at t.

    Args:
        schedulers: the schedulers (not ReduceLROnPlateau), all on one optimizer.
        optimizer: that optimizer (default: the first scheduler's).

    Example:
        >>> import shenjing
        >>> from shenjing.optim.lr_scheduler import ConstantLR, ExponentialLR
        >>> opt = shenjing.optim.SGD(shenjing.nn.Linear(2, 1).parameters(), lr=1.0)
        >>> sched = ChainedScheduler([ConstantLR(opt, factor=0.5, total_iters=2), ExponentialLR(opt, gamma=0.5)])
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for _ in range(3):
        ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
        >>> lrs
        [0.5, 0.25, 0.25, 0.125]
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                f"{type(self).__name__} expects at least one scheduler to be chained, but got no scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        _check_members(type(self).__name__, optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _lrs(self._schedulers[-1].optimizer)

    def step(self) -> None:  # type: ignore[override]
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _lrs(self._schedulers[-1].optimizer)

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict
