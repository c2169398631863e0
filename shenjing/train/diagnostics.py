"""Training diagnostics as a Trainer callback: is every layer learning?

Every ``every`` steps, for each parameter: its gradient norm ‖∂L/∂W‖, its weight norm ‖W‖ and the update-to-weight
ratio ‖ΔW‖/‖W‖ of that step (about 1e-3 is healthy; far below, the layer barely moves; far above, it jumps);
for each ReLU the share of dead units (units whose output is 0 for every example of the batch: no gradient
flows through them), and for each Sigmoid/Tanh the share of saturated outputs (σ within ``saturation`` of 0 or 1,
|tanh| within it of 1: the derivative is then almost 0). A ``RuntimeWarning`` names the layer when its gradient
vanishes (norm below ``vanish``) or explodes (above ``explode``, or not finite), once per layer and kind per epoch.

    diag = Diagnostics(every=10)
    Trainer(model, loss, optimizer, callbacks=[diag]).fit(data)
    print(diag.report())            # the last diagnosed step, one row per parameter and per activation
    diag.history[-1]["parameters"]["0.weight"]["grad_norm"]

All reductions run on the parameters' own array module (``backend_of(...).xp``); only the scalars come to the host.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..backend import backend_of
from .callbacks import Callback

__all__ = ["Diagnostics", "activation_stats"]

_WATCHED = ("ReLU", "Sigmoid", "Tanh")


def _norm(array: Any) -> float:
    xp = backend_of(array).xp
    return float(xp.sqrt(xp.sum(xp.square(array.astype(xp.float64)))))


def activation_stats(kind: str, output: Any, saturation: float = 0.01) -> dict:
    """``{"dead_share": …, "zero_share": …}`` for a ReLU's output; ``{"saturated_share": …}`` for Sigmoid/Tanh.

    A unit is one feature (dim 1; for images a channel, all positions together); dead means 0 for the whole batch.
    """
    xp = backend_of(output).xp
    if kind == "ReLU":
        a = output if output.ndim >= 2 else output.reshape(-1, 1)
        zero = a == 0
        axes = tuple(i for i in range(a.ndim) if i != 1)
        dead = xp.all(zero, axis=axes)
        return {"dead_share": float(xp.mean(dead)), "zero_share": float(xp.mean(zero))}
    if kind == "Sigmoid":
        saturated = (output < saturation) | (output > 1 - saturation)
    else:
        saturated = xp.abs(output) > 1 - saturation
    return {"saturated_share": float(xp.mean(saturated))}


class Diagnostics(Callback):
    """Per-layer gradient and weight norms, update-to-weight ratios, dead-ReLU and saturation shares.

    Args:
        every: diagnose every ``every``-th training step (counted across epochs, from 1).
        vanish: a gradient norm below this warns "vanishing" (biases excluded: they may legitimately be ~0).
        explode: a gradient norm above this (or nan/inf) warns "exploding".
        saturation: how close to its bounds a sigmoid/tanh output counts as saturated.
        verbose: print :meth:`report` at the end of every epoch (through the Trainer, so ``verbose=0`` silences).
    """

    def __init__(self, every: int = 1, vanish: float = 1e-7, explode: float = 1e3, saturation: float = 0.01,
                 verbose: bool = False) -> None:
        if int(every) < 1:
            raise ValueError(f"every: expected a positive number of steps, got {every}")
        self.every, self.vanish, self.explode = int(every), float(vanish), float(explode)
        self.saturation, self.verbose = float(saturation), verbose
        self.history: list[dict] = []
        self.warnings: list[str] = []
        self._handles: list = []
        self._activations: dict = {}
        self._snapshot: dict | None = None
        self._step, self._epoch, self._armed = 0, 0, False
        self._warned: set = set()

    # ---- hooks --------------------------------------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        model = self.trainer.model
        self._names = {name: type(module).__name__ for name, module in model.named_modules()}
        for name, module in model.named_modules():
            kind = type(module).__name__
            if kind in _WATCHED:
                self._handles.append(module.register_forward_hook(self._hook(name or kind, kind)))
        self._arm()

    def _hook(self, name: str, kind: str) -> Any:
        def hook(module: Any, inputs: tuple, output: Any) -> None:
            if self._armed and module.training and hasattr(output, "array"):
                self._activations[f"{name} ({kind})"] = activation_stats(kind, output.array, self.saturation)
        return hook

    def _arm(self) -> None:
        """Before step ``_step + 1``: watch activations and keep the weights if that step is diagnosed."""
        self._armed = (self._step + 1) % self.every == 0
        self._activations = {}
        self._snapshot = None
        if self._armed:
            self._snapshot = {n: p.array.copy() for n, p in self.trainer.model.named_parameters()}

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        self._warned = set()

    def on_batch_end(self, step: int, logs: dict) -> None:
        self._step += 1
        if self._armed:
            self.history.append(self._measure(step, logs))
        self._arm()

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        if self.verbose and self.history:
            self.trainer.say(self.report())

    def on_train_end(self, logs: dict | None = None) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._armed = False

    # ---- measurement --------------------------------------------------------------------------------------------
    def _layer_of(self, parameter: str) -> str:
        layer = parameter.rsplit(".", 1)[0] if "." in parameter else ""
        return f"{layer or '(model)'} ({self._names.get(layer, '?')})"

    def _measure(self, step: int, logs: dict) -> dict:
        parameters = {}
        for name, p in self.trainer.model.named_parameters():
            weight_norm = _norm(p.array)
            grad_norm = _norm(p.grad.array) if p.grad is not None else None
            before = self._snapshot.get(name) if self._snapshot else None
            ratio = None
            if before is not None:
                base = _norm(before)
                ratio = _norm(p.array - before) / base if base > 0 else math.inf
            parameters[name] = {"grad_norm": grad_norm, "weight_norm": weight_norm, "update_ratio": ratio}
            self._check(name, grad_norm)
        return {"epoch": self._epoch, "step": self._step, "epoch_step": step, "loss": logs.get("loss"),
                "parameters": parameters, "activations": dict(self._activations)}

    def _check(self, name: str, grad_norm: float | None) -> None:
        if grad_norm is None:
            return
        layer = self._layer_of(name)
        if not math.isfinite(grad_norm) or grad_norm > self.explode:
            kind, message = "exploding", (f"exploding gradient in layer {layer}: ‖∂L/∂{name}‖ = {grad_norm:.3g} "
                                          f"> {self.explode:g} at step {self._step} (epoch {self._epoch}); "
                                          "try a smaller learning rate, gradient clipping or normalisation")
        elif grad_norm < self.vanish and not name.endswith("bias"):
            kind, message = "vanishing", (f"vanishing gradient in layer {layer}: ‖∂L/∂{name}‖ = {grad_norm:.3g} "
                                          f"< {self.vanish:g} at step {self._step} (epoch {self._epoch}); "
                                          "saturated sigmoids/tanhs or dead ReLUs upstream? try ReLU, "
                                          "another initialisation or normalisation")
        else:
            return
        if (name, kind) in self._warned:
            return
        self._warned.add((name, kind))
        self.warnings.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)

    # ---- output -------------------------------------------------------------------------------------------------
    def report(self, record: dict | None = None) -> str:
        """A table of one diagnosed step (the last by default)."""
        record = record if record is not None else (self.history[-1] if self.history else None)
        if record is None:
            return "diagnostics: no step diagnosed yet"
        fmt = lambda v: "—" if v is None else f"{v:.3e}"  # noqa: E731
        lines = [f"diagnostics, epoch {record['epoch']} step {record['step']}:",
                 f"  {'parameter':24s} {'‖grad‖':>10s} {'‖W‖':>10s} {'‖ΔW‖/‖W‖':>10s}"]
        for name, v in record["parameters"].items():
            lines.append(f"  {name:24s} {fmt(v['grad_norm']):>10s} {fmt(v['weight_norm']):>10s} "
                         f"{fmt(v['update_ratio']):>10s}")
        for name, v in record["activations"].items():
            parts = [f"{key.replace('_share', '')} {100 * value:.1f}%" for key, value in v.items()]
            lines.append(f"  {name:24s} " + ", ".join(parts))
        return "\n".join(lines)

    def state_dict(self) -> dict:
        return {"step": self._step}

    def load_state_dict(self, state: dict) -> None:
        self._step = int(state.get("step", 0))
