"""``shenjing diagnose CONFIG``: a short training run with the Diagnostics report after each epoch."""

from __future__ import annotations

import pytest

from shenjing.cli import main

pytest.importorskip("sklearn", reason="the digits data set comes with scikit-learn")

CONFIG = """
seed = 0
loss = "cross_entropy"
[data]
dataset = "digits"
val = 0.1
[model]
layers = [{ type = "Linear", in_features = 64, out_features = 16 }, "Sigmoid",
          { type = "Linear", in_features = 16, out_features = 10 }]
[optimizer]
type = "sgd"
lr = 1e5
[train]
batch_size = 64
"""


def test_diagnose_reports_every_layer_and_warns_on_explosion(tmp_path, capsys) -> None:
    path = tmp_path / "run.toml"
    path.write_text(CONFIG)
    assert main(["diagnose", str(path), "--epochs", "1", "--every", "5", "--explode", "1e-3"]) == 0
    captured = capsys.readouterr()
    out, err = captured.out, captured.err
    assert "epoch 1: loss" in out and "diagnostics, epoch 1 step 20" in out
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "1 (Sigmoid)"):
        assert name in out
    assert "saturated" in out
    assert "4 steps diagnosed" in out  # 1257 training images (val 10 %, test 20 %) / 64 = 20 steps: 5, 10, 15, 20
    assert "warning: exploding gradient in layer 0 (Linear): ‖∂L/∂0.weight‖" in err  # η = 1e5 saturates it all


def test_diagnose_needs_a_configuration(capsys) -> None:
    assert main(["diagnose", "nope.toml"]) == 2
    assert "no such configuration" in capsys.readouterr().err
