"""TensorBoard logging as a Trainer callback, written with ``tensorboardX`` (``pip install 'shenjing[tensorboard]'``).

    tb = TensorBoard("runs/tb", images=(X_val[:500], y_val[:500]), hparams={"hidden": 16})
    Trainer(model, loss, optimizer, callbacks=[tb]).fit(data, val_data, epochs=10)
    # then: tensorboard --logdir runs/tb

Each epoch: every logged value as a scalar (``epoch/loss``, ``epoch/val_accuracy``, …, the learning rate as
``epoch/lr``); every ``histogram_every`` epochs a histogram of each parameter (``weights/0.weight``) and of its
last gradient (``gradients/0.weight``); with ``images`` and a classifier, a grid of up to ``max_images``
misclassified inputs (``misclassified``) and their predictions as text. With ``Diagnostics`` among the callbacks,
its last gradient norms, update ratios and dead/saturated shares are scalars too. At the start, the model's layer
table as text (``model``: TensorBoard's graph format is a TensorFlow/PyTorch graph, which a NumPy model has not);
at the end, the hyperparameters (``hparams``, with the optimizer's lr and the final metrics) for the HParams tab.
The writer library is imported only when training starts.
"""

from __future__ import annotations

import os
from typing import Any

from ..backend import backend_of
from .callbacks import Callback

__all__ = ["TensorBoard"]


def _host(array: Any) -> Any:
    return backend_of(array).to_host(array)


class TensorBoard(Callback):
    """Write scalars, histograms, misclassified images, the model table and hyperparameters for TensorBoard.

    Args:
        log_dir: the folder for the event files.
        histogram_every: epochs between weight/gradient histograms (0: none).
        images: ``(X, y)`` to look for misclassified examples in after each epoch (a classifier's inputs;
            flat inputs of a square size, e.g. 784, are shown as square images).
        max_images: at most this many misclassified examples per epoch.
        hparams: extra hyperparameters for the HParams tab (the optimizer's name and lr are added).
    """

    def __init__(self, log_dir: str | os.PathLike = "runs/tensorboard", histogram_every: int = 1,
                 images: Any = None, max_images: int = 16, hparams: dict | None = None) -> None:
        self.log_dir, self.histogram_every = os.fspath(log_dir), int(histogram_every)
        self.images, self.max_images, self.hparams = images, int(max_images), dict(hparams or {})
        self.writer: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoard logging needs tensorboardX: pip install tensorboardX "
                              "(or pip install 'shenjing[tensorboard]')") from None
        self.writer = SummaryWriter(self.log_dir)
        from .summary import summary

        self.writer.add_text("model", "    " + summary(self.trainer.model).replace("\n", "\n    "), 0)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        w = self.writer
        for key, value in logs.items():
            if isinstance(value, int | float):
                w.add_scalar(f"epoch/{key}", float(value), epoch)
        if self.histogram_every and epoch % self.histogram_every == 0:
            for name, p in self.trainer.model.named_parameters():
                w.add_histogram(f"weights/{name}", _host(p.array), epoch)
                if p.grad is not None:
                    w.add_histogram(f"gradients/{name}", _host(p.grad.array), epoch)
        self._diagnostics(epoch)
        if self.images is not None:
            self._misclassified(epoch)
        w.flush()

    def _diagnostics(self, epoch: int) -> None:
        from .diagnostics import Diagnostics

        for callback in self.trainer.callbacks:
            if isinstance(callback, Diagnostics) and callback.history:
                record = callback.history[-1]
                for name, values in record["parameters"].items():
                    for key, value in values.items():
                        if value is not None:
                            self.writer.add_scalar(f"diagnostics/{key}/{name}", value, epoch)
                for name, values in record["activations"].items():
                    tag = name.replace(" (", "_").replace(")", "")  # "1 (ReLU)" → "1_ReLU"
                    for key, value in values.items():
                        self.writer.add_scalar(f"diagnostics/{key}/{tag}", value, epoch)

    def _misclassified(self, epoch: int) -> None:
        import numpy

        from .trainer import predict

        x, y = self.images
        x_host = numpy.asarray(_host(x.array) if hasattr(x, "array") else x)
        y_host = numpy.asarray(_host(y.array) if hasattr(y, "array") else y).reshape(-1)
        out = predict(self.trainer.model, x_host)
        scores = numpy.asarray(_host(out.array) if hasattr(out, "array") else out)
        if scores.ndim != 2 or scores.shape[1] < 2:
            return  # not a classifier
        predicted = scores.argmax(axis=1)
        wrong = numpy.flatnonzero(predicted != y_host)[: self.max_images]
        self.writer.add_scalar("epoch/misclassified", float((predicted != y_host).sum()), epoch)
        if wrong.size == 0:
            return
        images = x_host[wrong].astype(numpy.float32)
        if images.ndim == 2:
            side = int(round(images.shape[1] ** 0.5))
            if side * side != images.shape[1]:
                return
            images = images.reshape(-1, 1, side, side)
        low, high = images.min(), images.max()
        images = (images - low) / (high - low) if high > low else images * 0
        self.writer.add_images("misclassified", images, epoch, dataformats="NCHW")
        lines = [f"{int(i)}: true {int(y_host[i])}, predicted {int(predicted[i])}" for i in wrong]
        self.writer.add_text("misclassified", "\n\n".join(lines), epoch)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.writer is None:
            return
        optimizer = self.trainer.optimizer
        hparams = {"optimizer": type(optimizer).__name__, "lr": float(optimizer.param_groups[0]["lr"])}
        hparams.update({k: (v if isinstance(v, int | float | str | bool) else str(v)) for k, v in self.hparams.items()})
        metrics = {f"hparam/{k}": float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
        self.writer.add_hparams(hparams, metrics, name="hparams")
        self.writer.close()
        self.writer = None
