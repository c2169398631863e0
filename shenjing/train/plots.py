"""Plots as PNG files: loss and accuracy curves, a confusion matrix, a grid of misclassified examples.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global backend change, no display needed).
"""

from __future__ import annotations

import os
from typing import Any

from ..backend import NUMPY, backend_of
from ..tensor import Tensor

__all__ = ["plot_history", "plot_curves", "plot_confusion_matrix", "plot_misclassified"]


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib: pip install matplotlib (or pip install 'shenjing[train]')") from None
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: str | os.PathLike) -> str:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def _history_dict(history: Any) -> dict:
    if hasattr(history, "to_dict"):
        return history.to_dict()
    return dict(history)


def plot_curves(history: Any, key: str, path: str | os.PathLike, title: str | None = None) -> str | None:
    """One metric per epoch, training and validation (``key`` and ``val_<key>``); None if ``key`` was not logged."""
    data = _history_dict(history)
    if key not in data and "val_" + key not in data:
        return None
    epochs = data.get("epoch") or list(range(1, len(data.get(key) or data["val_" + key]) + 1))
    figure = _figure(6, 4)
    axes = figure.add_subplot()
    for name, label, style in ((key, "training", "-o"), ("val_" + key, "validation", "-s")):
        values = data.get(name)
        if values:
            points = [(e, v) for e, v in zip(epochs, values) if v is not None]
            axes.plot([e for e, _ in points], [v for _, v in points], style, label=label, markersize=3)
    axes.set_xlabel("epoch")
    axes.set_ylabel(key)
    axes.set_title(title or key.replace("_", " "))
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _save(figure, path)


def plot_history(history: Any, out_dir: str | os.PathLike, keys: tuple = ("loss", "accuracy")) -> list[str]:
    """``<key>.png`` in ``out_dir`` for each logged key (loss and accuracy curves by default); returns the paths."""
    paths = []
    for key in keys:
        path = plot_curves(history, key, os.path.join(os.fspath(out_dir), f"{key}.png"))
        if path:
            paths.append(path)
    return paths


def _host(array: Any) -> Any:
    if isinstance(array, Tensor):
        array = array.array
    if hasattr(array, "shape") and hasattr(array, "dtype"):
        return backend_of(array).to_host(array)
    return NUMPY.xp.asarray(array)


def plot_confusion_matrix(
    cm: Any,
    path: str | os.PathLike,
    class_names: list[str] | None = None,
    title: str = "confusion matrix",
    normalize: bool = False,
) -> str:
    """The confusion matrix as a heat map with counts in the cells (rows: true class, columns: predicted)."""
    cm = _host(cm)
    C = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(C)]
    values = cm / cm.sum(1, keepdims=True).clip(1) if normalize else cm
    size = max(4.0, 0.45 * C + 2)
    figure = _figure(size + 1, size)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_xticks(range(C), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    axes.set_yticks(range(C), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if C <= 30:
        threshold = values.max() / 2 if values.size else 0
        for i in range(C):
            for j in range(C):
                text = f"{values[i, j]:.2f}" if normalize else str(int(cm[i, j]))
                axes.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7 if C > 12 else 9,
                    color="white" if values[i, j] > threshold else "black",
                )
    return _save(figure, path)


def plot_misclassified(
    images: Any,
    y_true: Any,
    y_pred: Any,
    path: str | os.PathLike,
    class_names: list[str] | None = None,
    max_images: int = 25,
) -> str | None:
    """A grid of up to ``max_images`` misclassified images titled "true → predicted"; None if there are none.

    ``images`` (N, H, W), (N, 1, H, W) or (N, H·W) for square images; ``y_pred`` labels or scores (N, C).
    """
    images, y_true, y_pred = _host(images), _host(y_true).reshape(-1), _host(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(1)
    wrong = (y_true != y_pred).nonzero()[0][:max_images]
    if len(wrong) == 0:
        return None
    if images.ndim == 4:
        images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    elif images.ndim == 2:
        side = int(round(images.shape[1] ** 0.5))
        if side * side != images.shape[1]:
            return None
        images = images.reshape(-1, side, side)
    names = list(class_names) if class_names is not None else None
    label = (lambda c: names[int(c)]) if names else (lambda c: str(int(c)))
    cols = min(5, len(wrong))
    rows = (len(wrong) + cols - 1) // cols
    figure = _figure(2 * cols, 2.2 * rows)
    for k, i in enumerate(wrong):
        axes = figure.add_subplot(rows, cols, k + 1)
        axes.imshow(images[i], cmap="gray_r" if images[i].ndim == 2 else None)
        axes.set_title(f"{label(y_true[i])} → {label(y_pred[i])}", fontsize=9, color="darkred")
        axes.axis("off")
    figure.suptitle("misclassified (true → predicted)")
    return _save(figure, path)
