"""The TensorBoard callback: its event files read back with TensorBoard's own reader, values checked."""

from __future__ import annotations

import os

import numpy as np
import pytest

import shenjing
from shenjing import nn
from shenjing.train import Trainer
from shenjing.train.diagnostics import Diagnostics

pytest.importorskip("tensorboardX", reason="the TensorBoard callback writes with tensorboardX (shenjing[tensorboard])")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                        reason="the test reads event files with TensorBoard's own reader")

from shenjing.train.tensorboard import TensorBoard  # noqa: E402


def _reader(folder: str) -> object:
    acc = event_accumulator.EventAccumulator(folder, size_guidance={"images": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_scalars_histograms_images_text_and_hparams(tmp_path) -> None:
    shenjing.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 16)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
    tb = TensorBoard(tmp_path / "tb", images=(x, y), max_images=4, hparams={"hidden": 8})
    trainer = Trainer(model, nn.CrossEntropyLoss(), shenjing.optim.SGD(model.parameters(), lr=0.05),
                      callbacks=[Diagnostics(every=2), tb], verbose=0)
    history = trainer.fit((x, y), (x, y), epochs=2, batch_size=8, shuffle=False)
    acc = _reader(str(tmp_path / "tb"))
    tags = acc.Tags()
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        events = acc.Scalars(f"epoch/{key}")
        assert [e.step for e in events] == [1, 2]
        np.testing.assert_allclose([e.value for e in events], history.history[key], rtol=1e-6)
    assert acc.Scalars("epoch/lr")[0].value == pytest.approx(0.05)
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f"weights/{name}" in tags["histograms"] and f"gradients/{name}" in tags["histograms"]
    hist = acc.Histograms("weights/0.weight")[-1].histogram_value
    assert hist.num == 16 * 8
    np.testing.assert_allclose(hist.sum, float(model[0].weight.array.sum()), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hist.min, float(model[0].weight.array.min()), rtol=1e-6)
    # misclassified: the count matches a prediction with the final weights at epoch 2
    predicted = np.asarray(shenjing.train.predict(model, x).array).argmax(axis=1)
    assert acc.Scalars("epoch/misclassified")[-1].value == float((predicted != y).sum())
    assert (predicted != y).sum() > 0  # after 2 epochs at this lr some are still wrong: the image grid exists
    assert "misclassified" in tags["images"]
    assert acc.Images("misclassified")[-1].width > 0  # 4×4 inputs (16 features), tiled
    diag = [t for t in tags["scalars"] if t.startswith("diagnostics/")]
    assert "diagnostics/grad_norm/0.weight" in diag and "diagnostics/dead_share/1_ReLU" in diag
    texts = [t for t in tags["tensors"]]
    assert any(t.startswith("model") for t in texts)
    hparam_dirs = [d for d in os.listdir(tmp_path / "tb") if (tmp_path / "tb" / d).is_dir()]
    assert hparam_dirs  # tensorboardX writes the HParams run into a sub-folder
    sub = _reader(str(tmp_path / "tb" / hparam_dirs[0]))
    assert sub.Scalars("hparam/loss")[0].value == pytest.approx(history.history["loss"][-1], rel=1e-6)
