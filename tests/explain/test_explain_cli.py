"""``shenjing explain MODEL --input ... --target ...`` on a saved model file."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing
import shenjing.io
from shenjing import nn
from shenjing.cli import main

f64 = shenjing.float64


@pytest.fixture
def two_layer_file(tmp_path):
    layer1, layer2 = nn.Linear(2, 2, dtype=f64), nn.Linear(2, 1, dtype=f64)
    layer1.load_state_dict({"weight": [[0.1, 0.2], [0.3, 0.4]], "bias": [0.1, 0.2]})
    layer2.load_state_dict({"weight": [[0.5, 0.6]], "bias": [0.3]})
    path = tmp_path / "two.safetensors"
    shenjing.io.save_model(nn.Sequential(layer1, nn.Sigmoid(), layer2, nn.Sigmoid()), path)
    return path


def test_cli_prints_the_textbook_table(two_layer_file, capsys) -> None:
    assert main(["explain", str(two_layer_file), "--input", "0.5,0.1", "--target", "1", "--lr", "0.1"]) == 0
    out = capsys.readouterr().out
    for line in ("z⁽¹⁾ = W⁽¹⁾a⁽⁰⁾ + b⁽¹⁾ = [0.170000, 0.390000]", "L = ½ Σ (a⁽²⁾ − y)² = 0.040082",
                 "δ⁽¹⁾ = ∂L/∂z⁽¹⁾ = (W⁽²⁾ᵀδ⁽²⁾) ⊙ σ′(z⁽¹⁾) = [-0.007132, -0.008300]",
                 "W⁽²⁾ = new value = [[0.503117, 0.603427]]"):
        assert line in out


def test_cli_markdown_to_a_file_and_adam_view(two_layer_file, tmp_path, capsys) -> None:
    out = tmp_path / "e.md"
    assert main(["explain", str(two_layer_file), "--input", "0.5,0.1", "--target", "1", "--optimizer", "adam",
                 "--lr", "0.01", "--watch", "2.weight", "--format", "markdown", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "### Optimizer view — 2.weight (Adam)" in text
    assert "| m̂ | m/(1 − β₁^1) | [[-0.031170, -0.034267]] |" in text


def test_cli_npy_input_and_class_targets(tmp_path, capsys) -> None:
    shenjing.manual_seed(0)
    path = tmp_path / "c.safetensors"
    shenjing.io.save_model(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 3)), path)
    np.save(tmp_path / "x.npy", np.ones((2, 3), dtype=np.float32))
    assert main(["explain", str(path), "--input", str(tmp_path / "x.npy"), "--target", "0,2"]) == 0
    assert "Loss — CrossEntropyLoss" in capsys.readouterr().out


def test_cli_errors_are_one_line(two_layer_file, capsys) -> None:
    assert main(["explain", str(two_layer_file), "--input", "0.5,0.1,3", "--target", "1"]) == 2
    err = capsys.readouterr().err
    assert "input of shape (1, 3) does not fit the model" in err and "\n" == err[-1] and err.count("\n") == 1
    assert main(["explain", str(two_layer_file), "--input", "a,b"]) == 2
    assert "expected numbers separated by commas" in capsys.readouterr().err
    assert main(["explain", "nope.safetensors", "--input", "1"]) == 2
