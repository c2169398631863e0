"""The training loop: Trainer.fit runs forward pass → loss → backward pass → update, epoch after epoch.

    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3))
    history = trainer.fit((X_train, y_train), val_data=(X_val, y_val), epochs=10, batch_size=128)
    trainer.evaluate((X_test, y_test))          # {"loss": 0.21, "accuracy": 0.94}

Reliability: a nan/inf loss, or nan/inf weights after any update, stops training and puts back the last finite
weights (the message names the epoch, step, learning rate and first bad layer); Ctrl-C saves a checkpoint
of the last finished epoch and returns; ``fit(..., resume_from=path)`` continues a checkpoint so that the
weights come out bit for bit as in an uninterrupted run (model, optimizer, scheduler, RNG and the data
loader's shuffling state are all restored).
"""

from __future__ import annotations

import copy
import math
import os
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

from ..autograd import no_grad
from ..backend import backend_of, get_rng_state, manual_seed
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from ..tensor import Tensor
from .callbacks import Callback, LRSchedulerCallback, ProgressBar, check_monitors
from .metrics import MetricAccumulator, canonical_metric

__all__ = ["Trainer", "History", "fit", "as_loader", "predict"]


class History:
    """Per-epoch values: ``history["loss"]``, ``history["val_accuracy"]``, … (lists), ``history.epoch`` (1, 2, …).

    ``stop_reason`` says why training ended: "completed", "early_stopping", "nan", "interrupted".
    """

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}
        self.stop_reason = "completed"
        self.stop_message = ""

    def append(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, [None] * (len(self.epoch) - 1)).append(value)
        for values in self.history.values():
            if len(values) < len(self.epoch):
                values.append(None)

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def keys(self) -> Any:
        return self.history.keys()

    def last(self) -> dict:
        """The last epoch's logs."""
        return {k: v[-1] for k, v in self.history.items()} if self.epoch else {}

    def to_dict(self) -> dict:
        return {
            "epoch": list(self.epoch),
            **{k: list(v) for k, v in self.history.items()},
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, data: dict) -> History:
        history = cls()
        history.epoch = list(data.get("epoch", []))
        history.history = {k: list(v) for k, v in data.items() if k not in ("epoch", "stop_reason", "stop_message")}
        return history

    def __repr__(self) -> str:
        return f"History({len(self)} epochs: {', '.join(self.history)}; {self.stop_reason})"


def as_loader(data: Any, batch_size: int, shuffle: bool, drop_last: bool = False) -> Any:
    """A DataLoader for ``data``: a DataLoader (used as it is), a data set, or a tuple ``(X, y)`` of arrays."""
    from ..data import DataLoader, TensorDataset

    if isinstance(data, DataLoader) or (hasattr(data, "__iter__") and hasattr(data, "batch_size")):
        return data
    if isinstance(data, tuple | list) and len(data) == 2 and all(hasattr(a, "shape") for a in data):
        data = TensorDataset(*data)
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)


def _is_classification_loss(loss_fn: Any) -> bool:
    return type(loss_fn).__name__ in ("CrossEntropyLoss", "NLLLoss") or getattr(loss_fn, "__name__", "") in (
        "cross_entropy",
        "nll_loss",
    )


class Trainer:
    """Fits a model: forward pass → loss → backward pass → update, over mini-batches, epoch after epoch.

    Args:
        model: the network (a Module).
        loss_fn: the loss, called as ``loss_fn(output, target)`` (``nn.CrossEntropyLoss()``, ``nn.MSELoss()``, …).
        optimizer: a ``shenjing.optim`` optimizer over ``model.parameters()``.
        metrics: metric names (``"accuracy"``, ``"f1"``, ``"top5_accuracy"``, ``"mae"``, ``"r2"``, …); default
            ``["accuracy"]`` for cross-entropy / NLL losses, none otherwise.
        scheduler: a learning-rate scheduler, stepped after every epoch (``ReduceLROnPlateau`` gets
            ``val_loss``, or ``loss`` without validation data); ``scheduler_interval="step"`` steps it per batch.
        clip_grad_norm: rescale gradients so their total 2-norm is at most this (``nn.utils.clip_grad_norm_``).
        clip_grad_value: clamp every gradient element to ±this (``nn.utils.clip_grad_value_``).
        callbacks: :class:`~shenjing.train.callbacks.Callback` objects (EarlyStopping, ModelCheckpoint, …).
        verbose: ``None`` progress bars on a terminal and one line per epoch elsewhere; 0 silent; 1 bars;
            2 one line per epoch.
        seed: ``shenjing.manual_seed(seed)`` at the start of ``fit`` (shuffling, dropout).
        device: where to train ("cpu", "cuda"); the model and every batch are moved there.
        interrupt_checkpoint: where Ctrl-C saves the state after the last finished epoch (None: nowhere).
        metadata: saved with the model by :meth:`save_model` and ModelCheckpoint (``class_names``, ``input_shape``).
    """

    def __init__(
        self,
        model: Any,
        loss_fn: Any,
        optimizer: Any,
        *,
        metrics: Iterable[str] | None = None,
        scheduler: Any = None,
        scheduler_interval: str = "epoch",
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
        callbacks: Iterable[Callback] = (),
        verbose: int | None = None,
        seed: int | None = None,
        device: Any = None,
        interrupt_checkpoint: str | os.PathLike | None = "interrupted.safetensors",
        metadata: dict | None = None,
    ) -> None:
        self.model, self.loss_fn, self.optimizer, self.scheduler = model, loss_fn, optimizer, scheduler
        if metrics is None:
            metrics = ["accuracy"] if _is_classification_loss(loss_fn) else []
        self.metrics = [canonical_metric(m) for m in metrics]
        MetricAccumulator(self.metrics)  # validates the combination early
        self.clip_grad_norm, self.clip_grad_value = clip_grad_norm, clip_grad_value
        self.verbose, self.seed, self.device = verbose, seed, device
        self.interrupt_checkpoint = interrupt_checkpoint
        self.metadata = dict(metadata or {})
        self.callbacks = list(callbacks)
        if scheduler is not None:
            self.callbacks.insert(0, LRSchedulerCallback(scheduler, interval=scheduler_interval))
        self.progress = ProgressBar(enabled=None if verbose is None else verbose == 1, summary=verbose != 0)
        if verbose == 0:
            self.progress.enabled = False
        self.history = History()
        self.epoch = 0  # epochs finished
        self.weights_epoch = 0  # the epoch whose weights the model holds (0: the initial ones)
        self.resumed_epoch: int | None = None  # the checkpoint's epoch when fit resumed one
        self.epochs = 0
        self.loader: Any = None
        self.stop_training = False
        self._snapshot: dict | None = None
        self._writer: threading.Thread | None = None
        self._writer_error: BaseException | None = None
        if device is not None:
            model.to(device)

    # ---- messages and stopping -------------------------------------------------------------------------------------
    def say(self, message: str, always: bool = False) -> None:
        """Print a message to stderr (closing any progress bar first) unless ``verbose=0`` (``always``: even then)."""
        self.progress.close()
        if self.verbose != 0 or always:
            print(message, file=sys.stderr, flush=True)

    def stop(self, reason: str, message: str = "", always: bool = False) -> None:
        """Ask the loop to stop after this epoch (callbacks call this); ``always`` prints even at ``verbose=0``."""
        self.stop_training = True
        self.history.stop_reason, self.history.stop_message = reason, message
        if message:
            self.say(message, always=always)

    # ---- the loop --------------------------------------------------------------------------------------------------
    def fit(
        self,
        train_data: Any,
        val_data: Any = None,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        drop_last: bool = False,
        resume_from: str | os.PathLike | None = None,
    ) -> History:
        """Train for ``epochs`` epochs (counting those already done when resuming) and return the history.

        Args:
            train_data: a DataLoader, a data set, or ``(X, y)``; shuffled every epoch unless ``shuffle=False``.
            val_data: evaluated after every epoch (``val_loss``, ``val_<metric>``); same forms.
            epochs: the total number of epochs, counting those already done by an earlier ``fit`` on this trainer
                or in a resumed checkpoint (so ``fit(..., epochs=10)`` after 4 epochs trains 6 more).
            batch_size: samples per update (when ``train_data`` is not already a DataLoader).
            resume_from: a checkpoint from ``ModelCheckpoint(resumable=True)``, :meth:`save_checkpoint` or Ctrl-C.
        """
        self.loader = as_loader(train_data, batch_size, shuffle, drop_last)
        val_loader = None if val_data is None else as_loader(val_data, max(batch_size, 256), False)
        self.epochs, self.stop_training = int(epochs), False
        self.resumed_epoch = None
        if resume_from is not None:
            self.load_checkpoint(resume_from)
            self.resumed_epoch = self.epoch
        elif self.seed is not None:
            manual_seed(self.seed)
        self.history.stop_reason, self.history.stop_message = "completed", ""
        check_monitors(self.callbacks, self.metrics, val_loader is not None)
        batch_callbacks = [c for c in self.callbacks if type(c).on_batch_end is not Callback.on_batch_end]
        for callback in self.callbacks:
            callback.set_trainer(self)
            callback.on_train_begin()
        self._snapshot = self._capture()
        try:
            while self.epoch < self.epochs and not self.stop_training:
                epoch = self.epoch + 1
                for callback in self.callbacks:
                    callback.on_epoch_begin(epoch)
                start = time.perf_counter()
                logs = self.train_epoch(self.loader, epoch, batch_callbacks)
                if logs is None:  # nan / inf loss: the last good state is back in place
                    break
                if val_loader is not None:
                    logs.update({"val_" + k: v for k, v in self.evaluate(val_loader).items()})
                logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
                self.epoch = self.weights_epoch = epoch
                self.history.append(epoch, logs)
                self.progress.end_epoch(epoch, self.epochs, logs, time.perf_counter() - start)
                for callback in self.callbacks:
                    callback.on_epoch_end(epoch, logs)
                self._snapshot = self._capture()
        except KeyboardInterrupt:
            self._interrupted()
        finally:
            self.progress.close()
            self.wait_for_writes()
        for callback in self.callbacks:
            callback.on_train_end(self.history.last())
        return self.history

    def train_epoch(self, loader: Any, epoch: int = 1, batch_callbacks: list | None = None) -> dict | None:
        """One pass over ``loader``: for each mini-batch, forward → loss → backward → update. Returns the logs.

        Returns None when the loss became nan or inf (training stops; see :meth:`_diverged`).
        """
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        params = [p for group in optimizer.param_groups for p in group["params"]]
        metrics = MetricAccumulator(self.metrics)
        model.train()
        self.progress.start_epoch(epoch, self.epochs, len(loader))
        total_loss, seen = 0.0, 0

        def live() -> dict:  # for the progress bar, a few times a second at most
            return {"loss": total_loss / max(seen, 1), **metrics.result()}

        for step, (x, y) in enumerate(loader):
            if self.device is not None:
                x, y = x.to(self.device), y.to(self.device)
            output = model(x)  # 1. forward pass: the network's prediction for the batch
            loss = loss_fn(output, y)  # 2. loss: how wrong it is, one number
            loss_value = float(loss.array)  # NOTE: the one host sync per step
            if not math.isfinite(loss_value):
                self._diverged(loss_value, epoch, step + 1)
                return None
            optimizer.zero_grad()
            loss.backward()  # 3. backward pass: ∂loss/∂w for every weight (backpropagation)
            if self.clip_grad_norm is not None:
                clip_grad_norm_(params, self.clip_grad_norm)
            if self.clip_grad_value is not None:
                clip_grad_value_(params, self.clip_grad_value)
            optimizer.step()  # 4. update: w ← w − η·∂loss/∂w (or the optimizer's rule)
            if not self._weights_finite(params):  # every update, the last of the epoch and full-batch included
                self._diverged(None, epoch, step + 1)
                return None
            n = x.shape[0]
            total_loss += loss_value * n
            seen += n
            metrics.update(output.array, y.array)
            self.progress.advance(live)
            for callback in batch_callbacks or ():
                callback.on_batch_end(step + 1, {"loss": loss_value})
        return {"loss": total_loss / max(seen, 1), **metrics.result()}

    def evaluate(self, data: Any, batch_size: int = 256) -> dict:
        """Loss and metrics on ``data`` (a DataLoader, a data set or ``(X, y)``), in eval mode without gradients."""
        loader = as_loader(data, batch_size, shuffle=False)
        metrics = MetricAccumulator(self.metrics)
        was_training = self.model.training
        self.model.eval()
        total_loss, seen = 0.0, 0
        with no_grad():
            for x, y in loader:
                if self.device is not None:
                    x, y = x.to(self.device), y.to(self.device)
                output = self.model(x)
                n = x.shape[0]
                total_loss += float(self.loss_fn(output, y).array) * n
                seen += n
                metrics.update(output.array, y.array)
        self.model.train(was_training)
        return {"loss": total_loss / max(seen, 1), **metrics.result()}

    def predict(self, x: Any, batch_size: int = 1024) -> Tensor:
        """The model's outputs for inputs ``x`` (an array, a Tensor or a data set of inputs), in eval mode."""
        return predict(self.model, x, batch_size, self.device)

    # ---- reliability -----------------------------------------------------------------------------------------------
    def _capture(self) -> dict:
        """A copy of everything needed to restart from this point: weights, optimizer, scheduler, RNG, loader."""
        return {
            "epoch": self.epoch,
            "model": {k: v.array.copy() for k, v in self.model.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "scheduler": copy.deepcopy(self.scheduler.state_dict()) if self.scheduler is not None else None,
            "rng": copy.deepcopy(get_rng_state()),
            "extra": self._extra_state(),
        }

    def _extra_state(self) -> dict:
        generator = getattr(self.loader, "generator", None)
        return {
            "history": copy.deepcopy(self.history.to_dict()),
            "loader_rng": copy.deepcopy(_numpy_rng(generator).bit_generator.state) if generator is not None else None,
            "callbacks": [copy.deepcopy(c.state_dict()) for c in self.callbacks],
            "metadata": self.metadata,
        }

    def _restore_snapshot(self) -> None:
        snap = self._snapshot
        self.model.load_state_dict(snap["model"])
        self.optimizer.load_state_dict(copy.deepcopy(snap["optimizer"]))
        if self.scheduler is not None and snap["scheduler"] is not None:
            self.scheduler.load_state_dict(copy.deepcopy(snap["scheduler"]))

    @staticmethod
    def _weights_finite(params: list) -> bool:
        """True when every weight is finite: one reduction per parameter on its device, one host sync in all."""
        ok = None
        for p in params:
            xp = backend_of(p.array).xp
            finite = xp.isfinite(p.array).all()
            ok = finite if ok is None else ok & finite
        return ok is None or bool(ok)

    def _first_non_finite(self) -> str | None:
        """The name of the first parameter (in the model's order) holding nan or inf, or None."""
        for name, p in self.model.named_parameters():
            if not bool(backend_of(p.array).xp.isfinite(p.array).all()):
                return name
        return None

    def _diverged(self, loss_value: float | None, epoch: int, step: int) -> None:
        """nan or inf loss or weights: stop, put back the weights of the last finished epoch, and say what to try.

        The message is printed at every verbosity (a failed run never ends silently)."""
        layer = self._first_non_finite()
        self._restore_snapshot()
        lr = self.optimizer.param_groups[0].get("lr")
        where = f"the end of epoch {self.epoch}" if self.epoch else "before training"
        if loss_value is None:
            what = f"the weights became non-finite (nan/inf) in the update at epoch {epoch}, step {step}"
        else:
            what = f"the loss became {loss_value} at epoch {epoch}, step {step}"
        first = f"; first non-finite layer: {layer}" if layer else ""
        finite_lr = isinstance(lr, int | float) and math.isfinite(lr) and lr > 0
        if finite_lr:
            advice = f"A loss that blows up usually means the learning rate is too high: try lr={lr / 10:g}"
        else:
            advice = "The learning rate is not a positive finite number: set it to a small value such as lr=1e-3"
        if self.clip_grad_norm is None:
            advice += " or gradient clipping (clip_grad_norm=1.0)"
        self.stop(
            "nan",
            f"Training stopped: {what} (learning rate {lr}{first}). The weights are back to the last finite ones, "
            f"from {where}. {advice}. Also check the inputs for nan/inf and that they are scaled (pixels to [0, 1]).",
            always=True,
        )
        self.weights_epoch = self.epoch

    def _interrupted(self) -> None:
        """Ctrl-C: save the state after the last finished epoch (resumable exactly) and return cleanly."""
        self.progress.close()
        message = f"Interrupted during epoch {self.epoch + 1}."
        try:
            self.wait_for_writes()
        except Exception as error:  # noqa: BLE001 - reported; the interrupt must still return cleanly
            message += f" The last background write failed: {type(error).__name__}: {error}."
        if self.interrupt_checkpoint is not None and self._snapshot is not None:
            path = os.fspath(self.interrupt_checkpoint)
            try:
                self._write_checkpoint(path, self._snapshot)
            except Exception as error:  # noqa: BLE001 - e.g. a missing extra or a full disk: say so, do not crash
                message += f" Could not save a checkpoint to {path}: {type(error).__name__}: {error}"
            else:
                message += (
                    f" Saved the state after epoch {self._snapshot['epoch']} to {path}; continue with "
                    f"fit(..., resume_from={path!r}) or `shenjing train CONFIG --resume {path}`."
                )
        self.stop("interrupted", message, always=True)

    # ---- checkpoints and model files -------------------------------------------------------------------------------
    def save_checkpoint(self, path: str | os.PathLike, background: bool = False) -> None:
        """A resumable checkpoint of the current state (call between epochs; ModelCheckpoint(resumable=True) does).

        ``background=True`` takes the copy now and writes it from a thread while training goes on; the next
        write, the end of ``fit`` and :meth:`wait_for_writes` wait for it (and raise its error, if any).
        """
        snapshot = self._capture()
        self._write(background, self._write_checkpoint, os.fspath(path), snapshot)

    def _write(self, background: bool, function: Any, *args: Any) -> None:
        self.wait_for_writes()
        if not background:
            function(*args)
            return

        def run() -> None:
            try:
                function(*args)
            except BaseException as error:  # handed to the training thread by wait_for_writes
                self._writer_error = error

        self._writer = threading.Thread(target=run, name="shenjing-checkpoint-writer")
        self._writer.start()

    def wait_for_writes(self) -> None:
        """Wait until a background checkpoint or model write has finished; raise its error if it failed."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.join()
        error, self._writer_error = self._writer_error, None
        if error is not None:
            raise error

    def _write_checkpoint(self, path: Any, snap: dict) -> None:
        from ..io import save_checkpoint

        save_checkpoint(
            path,
            self.model,
            optimizer=snap["optimizer"],
            scheduler=snap["scheduler"],
            epoch=snap["epoch"],
            rng_state=snap["rng"],
            model_state=snap["model"],
            **snap["extra"],
        )

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restore model, optimizer, scheduler, RNG, loader shuffling, history and callbacks from a checkpoint."""
        from ..io import load_checkpoint

        from ..io import ModelFileError

        state = load_checkpoint(path, self.model, self.optimizer, self.scheduler)
        try:
            extra = state.get("extra") or {}
            if not isinstance(extra, dict):
                raise TypeError(f"'extra' is a {type(extra).__name__}, expected a table")
            epoch = int(state["epoch"])
            history = History.from_dict(extra.get("history") or {})
            generator = getattr(self.loader, "generator", None)
            if generator is not None and extra.get("loader_rng") is not None:
                _numpy_rng(generator).bit_generator.state = extra["loader_rng"]
            callback_states = extra.get("callbacks") or []
            if not isinstance(callback_states, list):
                raise TypeError(f"'callbacks' is a {type(callback_states).__name__}, expected a list")
            for callback, callback_state in zip(self.callbacks, callback_states):
                if callback_state:
                    callback.load_state_dict(callback_state)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as error:
            # NOTE: the weights loaded and checked; what is malformed is the training state around them
            raise ModelFileError(f"{os.fspath(path)}: the checkpoint's training state is malformed "
                                 f"({type(error).__name__}: {error})") from None
        self.epoch = self.weights_epoch = epoch
        self.history = history

    def save_model(self, path: str | os.PathLike, background: bool = False) -> None:
        """Save the model file (weights + structure + ``metadata``) for ``shenjing.load``; see :meth:`save_checkpoint`
        for ``background``."""
        from ..io import _host, describe, save_model_state

        arrays = {k: _host(v.array).copy() for k, v in self.model.state_dict().items()}
        self._write(background, save_model_state, os.fspath(path), describe(self.model), arrays, dict(self.metadata))


def _numpy_rng(generator: Any) -> Any:
    """The NumPy Generator behind a DataLoader's ``generator`` (a shenjing.Generator keeps it in ``.rng``)."""
    return getattr(generator, "rng", generator)


def predict(model: Any, x: Any, batch_size: int = 1024, device: Any = None) -> Tensor:
    """Outputs of ``model`` for inputs ``x`` in batches, in eval mode without gradients (a Tensor on the host)."""
    from ..creation import as_tensor
    from ..functions import cat

    if isinstance(x, Tensor) or hasattr(x, "shape"):
        x = x if isinstance(x, Tensor) else as_tensor(x)
        batches: Iterable = (x[i : i + batch_size] for i in range(0, x.shape[0], batch_size))
    else:
        batches = (b[0] if isinstance(b, list | tuple) else b for b in as_loader(x, batch_size, shuffle=False))
    was_training = model.training
    model.eval()
    outputs = []
    with no_grad():
        for batch in batches:
            if device is not None:
                batch = batch.to(device)
            outputs.append(model(batch).cpu())
    model.train(was_training)
    return cat(outputs) if outputs else Tensor._wrap(None)


def fit(
    model: Any,
    train_data: Any,
    *,
    loss_fn: Any,
    optimizer: Any,
    val_data: Any = None,
    epochs: int = 1,
    batch_size: int = 32,
    **trainer_options: Any,
) -> History:
    """``Trainer(model, loss_fn, optimizer, **options).fit(train_data, val_data, epochs, batch_size)`` in one call."""
    trainer = Trainer(model, loss_fn, optimizer, **trainer_options)
    return trainer.fit(train_data, val_data=val_data, epochs=epochs, batch_size=batch_size)
