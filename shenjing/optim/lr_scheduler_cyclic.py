"""Cyclic schedules, stepped once per batch: CyclicLR, OneCycleLR, and CosineAnnealingWarmRestarts (SGDR).

Part of :mod:`shenjing.optim.lr_scheduler` (import them from there). CyclicLR and OneCycleLR also cycle the
momentum opposite to the lr: ``group["momentum"]`` for SGD/RMSprop, β₁ of ``group["betas"]`` for Adam/AdamW,
as PyTorch does. All three are closed-form in the step count, so ``step(epoch)`` is exact.
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Callable
from typing import Any

from .lr_scheduler import LRScheduler, _format_param, _lrs
from .optimizer import Optimizer

__all__ = ["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]


def _momentum_option(optimizer: Optimizer) -> bool:
    """Whether the optimizer's momentum is β₁ of ``betas`` (True) or ``momentum`` (False); raises if it has none."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    return "betas" in optimizer.defaults


def _set_momentum(group: dict, momentum: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


class CyclicLR(LRScheduler):
    """Cycle the lr between ``base_lr`` and ``max_lr`` along a triangle (Smith's cyclical learning rates).

    One cycle is S = step_size_up + step_size_down steps (stepped once per batch); at step t

        cycle = ⌊1 + t / S⌋,   x = 1 + t / S − cycle ∈ [0, 1),   r = step_size_up / S
        h = x / r while x ≤ r (rising),   h = (x − 1) / (r − 1) after (falling)
        lr = base_lr + (max_lr − base_lr) · h · scale(cycle or t)
        momentum = max_momentum − (max_momentum − base_momentum) · h · scale(cycle or t)

    with scale = 1 ('triangular'), 1 / 2^(cycle − 1) ('triangular2', the height halves each cycle),
    γ^t ('exp_range', by step t), or ``scale_fn`` of the cycle or of t (``scale_mode``).

    Args:
        optimizer: the optimizer to schedule; with ``cycle_momentum`` it needs ``momentum`` or ``betas``.
        base_lr: the lowest lr, one for all groups or a list with one per group (also the starting lr).
        max_lr: the highest lr, likewise.
        step_size_up: steps from base_lr up to max_lr (default 2000).
        step_size_down: steps back down (default: step_size_up).
        mode: 'triangular', 'triangular2' or 'exp_range' (ignored when scale_fn is given).
        gamma: γ of 'exp_range' (default 1).
        scale_fn: a custom scale of one argument, with values in [0, 1].
        scale_mode: 'cycle' or 'iterations', what scale_fn is a function of.
        cycle_momentum: cycle the momentum inversely to the lr (default True).
        base_momentum: the lowest momentum, reached at max_lr (default 0.8).
        max_momentum: the highest momentum, at base_lr (default 0.9).
        last_epoch: the index of the last batch; -1 to start fresh.

    Example:
        >>> import shenjing
        >>> opt = shenjing.optim.SGD(shenjing.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
        >>> sched = CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2)
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for _ in range(4):
        ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
        >>> lrs
        [0.1, 0.3, 0.5, 0.3, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.8,
        max_momentum: float | list[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        base_lrs = _format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                group["lr"] = lr
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_option(optimizer)
            self.base_momentums = _format_param("base_momentum", optimizer, base_momentum)
            self.max_momentums = _format_param("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m_momentum, b_momentum, group in zip(
                    self.max_momentums, self.base_momentums, optimizer.param_groups, strict=True
                ):
                    _set_momentum(group, m_momentum, self.use_beta1)
                    group["max_momentum"] = m_momentum
                    group["base_momentum"] = b_momentum
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        if self._scale_fn_custom is not None:
            return
        # NOTE: the built-in modes fix scale_mode, whatever was passed (as PyTorch)
        if self.mode == "triangular":
            self._scale_fn_ref = self._triangular_scale_fn
            self.scale_mode = "cycle"
        elif self.mode == "triangular2":
            self._scale_fn_ref = self._triangular2_scale_fn
            self.scale_mode = "cycle"
        elif self.mode == "exp_range":
            self._scale_fn_ref = functools.partial(self._exp_range_scale_fn, self.gamma)  # picklable, unlike a lambda
            self.scale_mode = "iterations"

    def scale_fn(self, x: float) -> float:
        """The height factor at cycle (or step) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        return self._scale_fn_ref(x)

    @staticmethod
    def _triangular_scale_fn(x: float) -> float:
        return 1.0

    @staticmethod
    def _triangular2_scale_fn(x: float) -> float:
        return 1 / (2.0 ** (x - 1))

    @staticmethod
    def _exp_range_scale_fn(gamma: float, x: float) -> float:
        return gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [
            base_lr + (max_lr - base_lr) * scale_factor * scale
            for base_lr, max_lr in zip(self.base_lrs, self.max_lrs, strict=True)
        ]
        if self.cycle_momentum:
            for base_m, max_m, group in zip(
                self.base_momentums, self.max_momentums, self.optimizer.param_groups, strict=True
            ):
                _set_momentum(group, max_m - (max_m - base_m) * scale_factor * scale, self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """As PyTorch: the attributes, without the built-in scale function; a custom one as its ``__dict__``."""
        state = super().state_dict()
        state.pop("_scale_fn_ref", None)
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = None
        if fn is not None and not isinstance(fn, types.FunctionType):
            state["_scale_fn_custom"] = fn.__dict__.copy()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        fn = state_dict.pop("_scale_fn_custom")
        super().load_state_dict(state_dict)
        if fn is not None:
            self._scale_fn_custom.__dict__.update(fn)
        self._init_scale_fn()


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from base_lr to η_min, restarting every Tᵢ epochs, each period T_mult times the last (SGDR).

        ηₜ = η_min + ½(base_lr − η_min)(1 + cos(π T_cur / Tᵢ))

    T_cur counts the epochs since the last restart; T₀ = ``T_0``, Tᵢ₊₁ = T_mult · Tᵢ. ``step(epoch)`` takes a
    fractional epoch (``epoch + i / iters_per_epoch`` inside an epoch), where T_cur is found in closed form:
    with T_mult = 1, T_cur = epoch mod T₀; otherwise n = ⌊log_T_mult(epoch (T_mult − 1) / T₀ + 1)⌋ restarts have
    passed, T_cur = epoch − T₀ (T_multⁿ − 1) / (T_mult − 1) and Tᵢ = T₀ T_multⁿ.

    Args:
        optimizer: the optimizer to schedule.
        T_0: the first period, in epochs (a positive int).
        T_mult: the growth of the period at each restart (an int ≥ 1, default 1).
        eta_min: the lowest lr η_min (default 0).
        last_epoch: -1 to start fresh.

    Example:
        >>> import shenjing
        >>> opt = shenjing.optim.SGD(shenjing.nn.Linear(2, 1).parameters(), lr=1.0)
        >>> sched = CosineAnnealingWarmRestarts(opt, T_0=2)
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for _ in range(4):
        ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
        >>> lrs
        [1.0, 0.5, 1.0, 0.5, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,  # noqa: N803
        T_mult: int = 1,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, float | int):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
            for base_lr in self.base_lrs
        ]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or jump to ``epoch`` (fractional allowed: epoch + batch / batches_per_epoch)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** (n)
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
                group["lr"] = lr
        finally:
            self._get_lr_called_within_step = False
        self._last_lr = _lrs(self.optimizer)


class OneCycleLR(LRScheduler):
    """The 1cycle policy: the lr rises from max_lr / div_factor to max_lr, then anneals far below the start.

    Over ``total_steps`` steps (stepped once per batch), in phases that each anneal from a start to an end value
    by the fraction p of the phase done, cos: end + (start − end)(1 + cos πp)/2, or linear: start + (end − start)p:

        two phases:    initial_lr → max_lr for the first pct_start · total_steps − 1 steps, then max_lr → min_lr
        three_phase:   initial_lr → max_lr → initial_lr (each pct_start · total_steps), then initial_lr → min_lr

    where initial_lr = max_lr / div_factor and min_lr = initial_lr / final_div_factor. The momentum (β₁ for Adam)
    runs opposite: max_momentum → base_momentum while the lr rises, back while it falls.

    Args:
        optimizer: the optimizer to schedule; with ``cycle_momentum`` it needs ``momentum`` or ``betas``.
        max_lr: the peak lr, one for all groups or a list with one per group.
        total_steps: the length of the cycle; or give ``epochs`` and ``steps_per_epoch``.
        epochs, steps_per_epoch: total_steps = epochs · steps_per_epoch.
        pct_start: the fraction of the cycle spent rising (a float, default 0.3).
        anneal_strategy: 'cos' (default) or 'linear'.
        cycle_momentum: cycle the momentum inversely to the lr (default True).
        base_momentum: the momentum at the peak lr (default 0.85).
        max_momentum: the momentum at the start and end (default 0.95).
        div_factor: initial_lr = max_lr / div_factor (default 25).
        final_div_factor: min_lr = initial_lr / final_div_factor (default 1e4).
        three_phase: come back down to initial_lr symmetrically before the final anneal (default False).
        last_epoch: the index of the last batch; -1 to start fresh.

    Example:
        >>> import shenjing
        >>> opt = shenjing.optim.SGD(shenjing.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
        >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear")
        >>> sched.get_last_lr(), opt.param_groups[0]["momentum"]
        ([0.04], 0.95)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        rise_end = float(pct_start * self.total_steps) - 1
        fall_end = float(2 * pct_start * self.total_steps) - 2
        if three_phase:
            self._schedule_phases = [
                _phase(rise_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(fall_end, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                _phase(self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                _phase(rise_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        max_lrs = _format_param("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs, strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_option(optimizer)
            max_momentums = _format_param("max_momentum", optimizer, max_momentum)
            base_momentums = _format_param("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for m_momentum, b_momentum, group in zip(
                    max_momentums, base_momentums, optimizer.param_groups, strict=True
                ):
                    _set_momentum(group, m_momentum, self.use_beta1)
                    group["max_momentum"] = m_momentum
                    group["base_momentum"] = b_momentum
        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(
                f"Tried to step {step_num} times. The specified number of total steps is {self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step_num <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step_num - start_step) / (end_step - start_step)
                    lrs.append(self._anneal_func(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal_func(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct
                        )
                        _set_momentum(group, momentum, self.use_beta1)
                    break
                start_step = phase["end_step"]
        return lrs


def _phase(end_step: float, start_lr: str, end_lr: str, start_momentum: str, end_momentum: str) -> dict[str, Any]:
    """One phase of OneCycleLR: its last step and the group keys it anneals between (PyTorch's _schedule_phases)."""
    return {
        "end_step": end_step,
        "start_lr": start_lr,
        "end_lr": end_lr,
        "start_momentum": start_momentum,
        "end_momentum": end_momentum,
    }
