"""Plots are written as PNG files of the expected kind; nothing is drawn when there is nothing to draw."""

import numpy as np
from PIL import Image

from shenjing.train import History
from shenjing.train.plots import plot_confusion_matrix, plot_history, plot_misclassified


def _png(path) -> tuple:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_history_curves(tmp_path) -> None:
    history = History()
    for epoch in range(1, 4):
        history.append(epoch, {"loss": 1.0 / epoch, "accuracy": 0.5 + epoch / 10, "val_loss": 1.2 / epoch})
    paths = plot_history(history, tmp_path)
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["loss.png", "accuracy.png"]
    assert _png(paths[0]) == (600, 400)
    assert plot_history({"epoch": [1], "loss": [0.3]}, tmp_path / "d", keys=("loss", "f1"))[0].endswith("loss.png")


def test_confusion_matrix_and_misclassified_grid(tmp_path) -> None:
    cm = np.array([[5, 1], [2, 7]])
    assert _png(plot_confusion_matrix(cm, tmp_path / "cm.png", ["cat", "dog"]))[0] > 300
    images = np.random.default_rng(0).random((6, 1, 8, 8))
    y_true = np.array([0, 1, 2, 3, 4, 5])
    scores = np.eye(6)[[0, 2, 2, 1, 4, 0]]
    assert _png(plot_misclassified(images, y_true, scores, tmp_path / "wrong.png"))[0] == 600
    assert plot_misclassified(images, y_true, y_true, tmp_path / "none.png") is None
    assert _png(plot_misclassified(images.reshape(6, 64), y_true, scores, tmp_path / "flat.png"))
