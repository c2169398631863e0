"""Stochastic weight averaging and EMA of a model's weights (Izmailov et al., 2018), as ``torch.optim.swa_utils``.

    w_SWA ← w_SWA + (w − w_SWA) / (n + 1)      the running equal average of the weights after n updates
    w_EMA ← β w_EMA + (1 − β) w                 an exponential moving average (get_ema_avg_fn(β))

``AveragedModel`` keeps the average in a copy of the model; ``SWALR`` anneals each group's learning rate to a
constant ``swa_lr``; ``update_bn`` recomputes BatchNorm statistics for the averaged weights with one pass over data.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd import no_grad
from ..nn.module import Module
from .lr_scheduler import LRScheduler

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_avg_fn", "get_swa_avg_fn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn"]


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """avg_fn(w_avg, w, n) = β w_avg + (1 − β) w."""
    def ema_update(ema_param: Any, current_param: Any, num_averaged: Any) -> Any:
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """avg_fn(w_avg, w, n) = w_avg + (w − w_avg) / (n + 1)."""
    def swa_update(averaged_param: Any, current_param: Any, num_averaged: Any) -> Any:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """The list form of :func:`get_ema_avg_fn`: updates every averaged parameter in place."""
    def ema_update(ema_param_list: list, current_param_list: list, _: Any) -> None:
        for p_ema, p in zip(ema_param_list, current_param_list):
            p_ema.mul_(decay).add_(p, alpha=1 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """The list form of :func:`get_swa_avg_fn`: updates every averaged parameter in place."""
    def swa_update(averaged_param_list: list, current_param_list: list, num_averaged: Any) -> None:
        n = int(num_averaged)
        for p_avg, p in zip(averaged_param_list, current_param_list):
            if p_avg.is_floating_point():
                p_avg.add_((p - p_avg) / (n + 1))
            else:  # an integer buffer (BatchNorm's num_batches_tracked): integer steps, as PyTorch's
                p_avg.add_((p - p_avg) // (n + 1))

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` (``.module``) whose weights are the running average of the model's, updated by
    ``update_parameters(model)``: an equal average (SWA) by default, or ``avg_fn`` / ``multi_avg_fn`` (EMA …).
    Buffers follow the model (copied), or are averaged too with ``use_buffers=True``. ``n_averaged`` counts the
    updates; it is a buffer, so it is in the state dict (as PyTorch's)."""

    def __init__(self, model: Module, device: Any = None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        from .. import tensor

        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype="int64"))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        ours = (itertools.chain(self.module.parameters(), self.module.buffers()) if self.use_buffers
                else self.parameters())
        theirs = itertools.chain(model.parameters(), model.buffers()) if self.use_buffers else model.parameters()
        pairs = [(a, b) for a, b in zip(ours, theirs) if a is not None and b is not None]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for p_avg, p in pairs:
                    p_avg.detach().copy_(p.detach())
            elif self.avg_fn is not None:
                for p_avg, p in pairs:
                    p_avg.detach().copy_(self.avg_fn(p_avg.detach(), p.detach(), self.n_averaged))
            else:
                average = self.multi_avg_fn or get_swa_multi_avg_fn()
                average([a.detach() for a, _ in pairs], [b.detach() for _, b in pairs], self.n_averaged)
            if not self.use_buffers:  # buffers (BatchNorm statistics) follow the model
                for b_avg, b in zip(self.module.buffers(), model.buffers()):
                    if b_avg is not None and b is not None:
                        b_avg.detach().copy_(b.detach())
        self.n_averaged.add_(1)


@no_grad()
def update_bn(loader: Iterable, model: Module, device: Any = None) -> None:
    """Recompute every BatchNorm's running mean and variance with one pass over ``loader`` (a cumulative average
    over its batches; the first element of a (input, target) pair is the input), then restore momenta and mode."""
    from ..nn.norm import _BatchNorm

    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for batch in loader:
        if isinstance(batch, list | tuple):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate from its current value to ``swa_lr`` over ``anneal_epochs`` steps
    (cosine, or linear with ``anneal_strategy="linear"``), then hold it there, as ``torch.optim.swa_utils.SWALR``:

        lr_t = α_t · swa_lr + (1 − α_t) · lr₀,   α_t = (1 − cos(π t / T)) / 2   (cosine) or t / T (linear)
    """

    def __init__(self, optimizer: Any, swa_lr: Any, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1) -> None:
        swa_lrs = list(swa_lr) if isinstance(swa_lr, list | tuple) else [swa_lr] * len(optimizer.param_groups)
        if len(swa_lrs) != len(optimizer.param_groups):
            raise ValueError(f"swa_lr must have the same length as optimizer.param_groups: swa_lr has "
                             f"{len(swa_lrs)}, optimizer.param_groups has {len(optimizer.param_groups)}")
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got {anneal_strategy}")
        self.anneal_func = _cosine_anneal if anneal_strategy == "cos" else _linear_anneal
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(self.optimizer.param_groups, prev_lrs)]


def _linear_anneal(t: float) -> float:
    return t


def _cosine_anneal(t: float) -> float:
    return (1 - math.cos(math.pi * t)) / 2
