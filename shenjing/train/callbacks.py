"""Callbacks: code the Trainer calls at the start and end of training, of each epoch and (rarely) of each step.

    EarlyStopping       stop when the monitored value stops improving; optionally restore the best weights
    ModelCheckpoint     save the model (or a resumable checkpoint) every epoch or when it improves, atomically
    LRSchedulerCallback step a learning-rate scheduler each epoch (ReduceLROnPlateau gets the monitored value)
    CSVLogger           one CSV row per epoch, flushed as it goes
    JSONLogger          the whole history as JSON, rewritten atomically each epoch
    ProgressBar         a tqdm bar per epoch with the running loss and accuracy (quiet when not on a terminal)

A callback sees ``self.trainer`` (model, optimizer, scheduler, history, ``stop_training``) and the epoch's
``logs``: ``{"loss": …, "accuracy": …, "val_loss": …, "val_accuracy": …, "lr": …}``. Epochs are counted from 1.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from typing import Any

from .metrics import metric_direction

__all__ = [
    "Callback",
    "EarlyStopping",
    "ModelCheckpoint",
    "LRSchedulerCallback",
    "CSVLogger",
    "JSONLogger",
    "ProgressBar",
    "check_monitors",
]


class Callback:
    """Base class: override the hooks you need. ``on_batch_end`` is only called when overridden (it costs time)."""

    trainer: Any = None

    def set_trainer(self, trainer: Any) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: dict | None = None) -> None: ...

    def on_train_end(self, logs: dict | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...

    def on_batch_end(self, step: int, logs: dict) -> None: ...

    def state_dict(self) -> dict:
        """What this callback needs to continue after a resume (saved in checkpoints)."""
        return {}

    def load_state_dict(self, state: dict) -> None: ...


def _better(mode: str, current: float, best: float, min_delta: float) -> bool:
    if mode == "min":
        return current < best - min_delta
    return current > best + min_delta


def _mode(mode: str, monitor: str) -> str:
    if mode == "auto":
        return metric_direction(monitor)
    if mode not in ("min", "max"):
        raise ValueError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _monitored(logs: dict, monitor: str, who: str) -> float | None:
    value = logs.get(monitor)
    if value is None:
        raise KeyError(
            f"{who}: the monitored value {monitor!r} is not in the epoch's logs; available: "
            f"{', '.join(sorted(logs))}. (val_* values need validation data.)"
        )
    return float(value)


def logged_names(metrics: list[str], validation: bool) -> list[str]:
    """The keys of an epoch's logs: loss, the metrics, lr, and their ``val_`` versions with validation data."""
    names = ["loss", *metrics]
    return names + (["val_" + n for n in names] if validation else []) + ["lr"]


def check_monitors(callbacks: list, metrics: list[str], validation: bool) -> None:
    """Before the first epoch: every monitored name (EarlyStopping, ModelCheckpoint(save_best_only),
    ReduceLROnPlateau's) is one the epochs will log; a ValueError naming the nearest one otherwise."""
    import difflib

    available = logged_names(list(metrics), validation)
    for callback in callbacks:
        monitor = getattr(callback, "monitor", None)
        if isinstance(callback, ModelCheckpoint) and not callback.save_best_only:
            continue
        if monitor is None or not isinstance(callback, EarlyStopping | ModelCheckpoint | LRSchedulerCallback):
            continue
        if monitor not in available:
            close = difflib.get_close_matches(monitor, available, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            need_val = " (val_* values need validation data.)" if monitor.startswith("val_") and not validation else ""
            raise ValueError(
                f"{type(callback).__name__}: monitor {monitor!r} is not among the values each epoch logs: "
                f"{', '.join(available)}.{hint}{need_val}"
            )


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: a key of the epoch logs ("val_loss" by default; "val_accuracy", "loss", …).
        patience: epochs without improvement before stopping.
        min_delta: the smallest change that counts as an improvement.
        mode: "min", "max" or "auto" (max for accuracy-like names, min for losses and errors).
        restore_best_weights: at the end of training, put back the weights of the best epoch.
        baseline: a value the monitored metric must beat to count as an improvement at all.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        baseline: float | None = None,
        verbose: int = 1,
    ) -> None:
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(float(min_delta))
        self.mode = _mode(mode, monitor)
        self.restore_best_weights, self.baseline, self.verbose = restore_best_weights, baseline, verbose
        self.best = math.inf if self.mode == "min" else -math.inf
        if baseline is not None:
            self.best = float(baseline)
        self.best_epoch, self.wait, self.stopped_epoch = 0, 0, 0
        self.best_weights: dict | None = None

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if _better(self.mode, current, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.array.copy() for k, v in self.trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop(
                "early_stopping",
                f"Early stopping after epoch {epoch}: {self.monitor} has not improved for {self.patience} epochs "
                f"(best {self.best:.6g} at epoch {self.best_epoch}).",
            )

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None and self.best_epoch != self.trainer.epoch:
            self.trainer.model.load_state_dict(self.best_weights)
            self.trainer.weights_epoch = self.best_epoch
            self.trainer.say(f"Restored the weights of epoch {self.best_epoch} ({self.monitor} = {self.best:.6g}).")

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.best_weights = state.get("best_weights")


class ModelCheckpoint(Callback):
    """Save the model after every epoch, or only when ``monitor`` improves; every write is atomic.

    Args:
        filepath: where to write; may hold ``{epoch}`` and log names: ``"ckpt-{epoch:02d}.safetensors"``.
        monitor, mode: as in :class:`EarlyStopping`; used with ``save_best_only``.
        save_best_only: write only when the monitored value improved.
        resumable: write a full checkpoint (model, optimizer, scheduler, epoch, RNG, history) that
            ``Trainer.fit(..., resume_from=path)`` continues exactly; otherwise a model file for ``shenjing.load``.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        resumable: bool = False,
    ) -> None:
        self.filepath, self.monitor, self.save_best_only = os.fspath(filepath), monitor, save_best_only
        self.mode = _mode(mode, monitor)
        self.resumable = resumable
        self.best = math.inf if self.mode == "min" else -math.inf
        self.last_path: str | None = None

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not _better(self.mode, current, self.best, 0.0):
                return
            self.best = current
        path = self.filepath.format(epoch=epoch, **logs)
        # NOTE: written by a background thread from a copy taken now, so the next epoch need not wait for the disk
        if self.resumable:
            self.trainer.save_checkpoint(path, background=True)
        else:
            self.trainer.save_model(path, background=True)
        self.last_path = path

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler at the end of each epoch (or each step with ``interval="step"``).

    ``ReduceLROnPlateau`` is stepped with the monitored value (``val_loss`` when there is validation data,
    else ``loss``); every other scheduler with no argument, as in PyTorch.
    """

    def __init__(self, scheduler: Any, monitor: str | None = None, interval: str = "epoch") -> None:
        if interval not in ("epoch", "step"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'step', got {interval!r}")
        self.scheduler, self.monitor, self.interval = scheduler, monitor, interval
        self.plateau = hasattr(scheduler, "num_bad_epochs") or type(scheduler).__name__ == "ReduceLROnPlateau"

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        if self.interval != "epoch":
            return
        if self.plateau:
            monitor = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
            self.scheduler.step(_monitored(logs, monitor, "ReduceLROnPlateau"))
        else:
            self.scheduler.step()

    def on_batch_end(self, step: int, logs: dict) -> None:
        if self.interval == "step":
            self.scheduler.step()


class CSVLogger(Callback):
    """Append one row per epoch (epoch, loss, metrics, val_*, lr) to a CSV file, flushed after each row."""

    def __init__(self, filename: str | os.PathLike, append: bool = False, separator: str = ",") -> None:
        self.filename, self.append, self.separator = os.fspath(filename), append, separator
        self.keys: list[str] | None = None
        self.file: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.filename)), exist_ok=True)
        appending = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        if appending:
            with open(self.filename, newline="") as f:
                rows = list(csv.reader(f, delimiter=self.separator))
            header = rows[0] if rows else None
            self.keys = header[1:] if header else None
            done = getattr(self.trainer, "resumed_epoch", None)
            if done is not None:  # a resumed run: rows after the checkpoint's epoch are redone, so drop them now
                kept = [r for r in rows[1:] if r and _epoch_of(r) is not None and _epoch_of(r) <= done]
                if len(kept) != len(rows) - 1:
                    from ..io import atomic_write_bytes

                    text = _csv_text([header, *kept], self.separator)
                    atomic_write_bytes(self.filename, text.encode(), durable=False)
        self.file = open(self.filename, "a" if appending else "w", newline="")  # noqa: SIM115 - kept open while training

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        writer = csv.writer(self.file, delimiter=self.separator)
        if self.keys is None:
            self.keys = sorted(logs)
            writer.writerow(["epoch", *self.keys])
        writer.writerow([epoch, *(_csv_value(logs.get(k, "")) for k in self.keys)])
        self.file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _epoch_of(row: list) -> int | None:
    try:
        return int(row[0])
    except (ValueError, IndexError):
        return None


def _csv_text(rows: list, separator: str) -> str:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator).writerows(rows)
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    return repr(value) if isinstance(value, float) else value


class JSONLogger(Callback):
    """Rewrite the whole history (``{"epoch": [...], "loss": [...], ...}``) as JSON after every epoch, atomically."""

    def __init__(self, filename: str | os.PathLike) -> None:
        self.filename = os.fspath(filename)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.write()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.write()

    def write(self) -> None:
        from ..io import atomic_write_bytes

        history = self.trainer.history
        text = json.dumps(history.to_dict(), indent=2)
        atomic_write_bytes(self.filename, text.encode(), durable=False)  # rewritten every epoch: no fsync wait


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss (and accuracy), refreshed at most ``refresh`` times a second.

    ``enabled=None`` shows it only on a terminal (tqdm's ``disable=None``); elsewhere one summary line per
    epoch is printed instead (unless ``summary=False``).
    """

    def __init__(
        self, enabled: bool | None = None, refresh: float = 4.0, summary: bool = True, file: Any = None
    ) -> None:
        self.file = file if file is not None else sys.stderr
        self.enabled = self.file.isatty() if enabled is None and hasattr(self.file, "isatty") else bool(enabled)
        self.interval = 1.0 / refresh
        self.summary = summary
        self.bar: Any = None
        self.next_refresh = 0.0
        self.pending = 0
        self.seconds: list[float] = []  # each epoch's duration, for the ETA of the summary lines

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=steps,
            desc=f"Epoch {epoch}/{epochs}",
            file=self.file,
            leave=True,
            dynamic_ncols=True,
            unit="step",
            mininterval=self.interval,
        )
        self.next_refresh = time.monotonic() + self.interval
        self.pending = 0

    def advance(self, live: Any) -> None:
        """One step done; ``live()`` (the running loss and metrics) is called only when the bar is redrawn."""
        self.pending += 1
        now = time.monotonic()
        if now >= self.next_refresh and self.bar is not None:
            self.bar.set_postfix(_postfix(live()), refresh=False)
            self.bar.update(self.pending)
            self.pending = 0
            self.next_refresh = now + self.interval

    def end_epoch(self, epoch: int, epochs: int, logs: dict, seconds: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix(_postfix(logs), refresh=False)
            self.bar.update(self.pending)
            self.bar.close()
            self.bar = None
        elif self.summary:
            values = "  ".join(f"{k} {_fmt(v)}" for k, v in logs.items())
            self.seconds.append(seconds)
            left = epochs - epoch
            eta = f"  ETA {_duration(left * sum(self.seconds) / len(self.seconds))}" if left > 0 else ""
            print(f"Epoch {epoch}/{epochs}  {seconds:.2f}s{eta}  {values}", file=self.file, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _duration(seconds: float) -> str:
    """``"42s"``, ``"3m05s"``, ``"1h02m"``: how long the remaining epochs should take."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _postfix(values: dict) -> dict:
    """The bar's live values: loss and accuracy (or the first metric), for training and validation; short."""
    keys = [k for k in values if k != "lr" and not k.startswith("val_")]
    shown = keys[:2] if "accuracy" not in keys else ["loss", "accuracy"]
    shown += ["val_" + k for k in shown if "val_" + k in values]
    return {k: _fmt(values[k]) for k in shown if k in values}
