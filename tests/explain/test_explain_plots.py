"""``shenjing plot activations|model`` and the functions behind them: PNG and SVG files, curves from autograd."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing
import shenjing.io
from shenjing import nn
from shenjing.cli import main

pytest.importorskip("matplotlib", reason="plots need matplotlib (the train extra)")

from shenjing.explain.plots import activation_curves, model_layers, plot_activations, plot_model  # noqa: E402


def test_activation_curves_are_the_functions_and_their_derivatives() -> None:
    curves = activation_curves(points=11, low=-5, high=5)
    z, a, da = curves["sigmoid(z), k = 1"]
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(a, s, rtol=1e-12)
    np.testing.assert_allclose(da, s * (1 - s), rtol=1e-12)
    z, a, da = curves["sigmoid(100·z), k = 100"]
    s = 1 / (1 + np.exp(-100 * z))
    np.testing.assert_allclose(da, 100 * s * (1 - s), atol=1e-12)
    z, a, da = curves["step"]
    np.testing.assert_array_equal(a, (z > 0).astype(float))
    np.testing.assert_array_equal(da, np.zeros_like(z))
    z, a, da = curves["ReLU"]
    np.testing.assert_array_equal(da, (z > 0).astype(float))
    np.testing.assert_allclose(curves["tanh"][2], 1 - np.tanh(z) ** 2, rtol=1e-12)


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_plot_files(tmp_path, suffix) -> None:
    path = plot_activations(tmp_path / f"a.{suffix}", points=51)
    head = open(path, "rb").read(200)
    assert head.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in open(path, "rb").read()
    model = nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))
    path = plot_model(model, tmp_path / f"m.{suffix}", input_shape=(784,))
    data = open(path, "rb").read()
    assert data.startswith(b"\x89PNG") if suffix == "png" else (b"<svg" in data and data.rstrip().endswith(b"</svg>"))
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        plot_model(model, tmp_path / "m.pdf")


def test_model_layers_shapes_and_counts() -> None:
    model = nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 10))
    layers = model_layers(model, (784,))
    assert [(l["name"], l["type"], l["output_shape"], l["parameters"]) for l in layers] == [
        ("0", "Linear", (None, 16), 12_560), ("1", "Sigmoid", (None, 16), 0), ("2", "Linear", (None, 10), 170)]


def test_cli_plot(tmp_path, capsys) -> None:
    out = tmp_path / "act.svg"
    assert main(["plot", "activations", "-o", str(out)]) == 0 and out.exists()
    model_file = tmp_path / "m.safetensors"
    shenjing.io.save_model(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)), model_file)
    out = tmp_path / "model.png"
    assert main(["plot", "model", str(model_file), "-o", str(out), "--input-shape", "2"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    assert main(["plot", "model", "-o", str(out)]) == 2
    assert "needs a MODEL" in capsys.readouterr().err
