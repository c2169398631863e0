"""examples/mnist_cnn.py writes what `shenjing train` writes (model file, history, metrics, plots), with progress."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import pytest

from shenjing.cli import main as cli

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "mnist_cnn.py"


def _mnist() -> pathlib.Path | None:
    import os

    here = pathlib.Path(__file__).resolve()
    candidates = [os.environ.get("SHENJING_DATA")] + [p / "shared/datasets/mnist" for p in here.parents[2:5]]
    for candidate in candidates:
        if candidate and (pathlib.Path(candidate) / "t10k-images-idx3-ubyte.gz").exists():
            return pathlib.Path(candidate)
    return None


@pytest.mark.skipif(
    _mnist() is None, reason="MNIST not found: set SHENJING_DATA=/path/to/folder holding the four MNIST IDX files"
)
def test_mnist_cnn_example_saves_its_model_and_plots_like_shenjing_train(tmp_path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("mnist_cnn", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "run"
    argv = ["--epochs", "2", "--limit", "200", "--batch-size", "50", "--data", str(_mnist()), "--out", str(out)]
    result = module.main([*argv, "--verbose", "2"])
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "ETA" in err  # progress with the time left
    assert result["history"].epoch == [1, 2]
    names = {p.name for p in out.iterdir()}
    assert names >= {"model.safetensors", "history.csv", "history.json", "metrics.json", "loss.png", "accuracy.png",
                     "confusion_matrix.png", "misclassified.png"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["weights_epoch"] == 2 and metrics["test"]["accuracy"] == pytest.approx(result["test"]["accuracy"])
    digit = pathlib.Path(__file__).resolve().parents[2] / "examples" / "digit.png"
    capsys.readouterr()
    assert cli(["predict", str(out / "model.safetensors"), str(digit), "--json"]) == 0  # usable by predict
    assert abs(sum(json.loads(capsys.readouterr().out)["probabilities"]) - 1) < 1e-5
