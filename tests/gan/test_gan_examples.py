"""examples/gan_mnist.py and examples/dcgan_mnist.py on a few hundred real MNIST images: grids, curves, checkpoint,
resumption from it, and the score in metrics.json."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import pytest
from conftest import MNIST_HINT, mnist_dir

import shenjing
from shenjing.gan.quality import scorer_model

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data() -> str:
    folder = mnist_dir()
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(MNIST_HINT)
    return str(folder)


@pytest.mark.filterwarnings("ignore:epoch .*mode collapse")
def test_mlp_gan_example_trains_resumes_and_scores(tmp_path, data, capsys):
    pytest.importorskip("scipy", reason="the score's Fréchet distance needs scipy")
    scorer = tmp_path / "scorer.safetensors"
    shenjing.io.save_model(scorer_model(), scorer)  # an untrained scorer: the numbers are not the point here
    out = tmp_path / "run"
    common = [
        "--data",
        data,
        "--out",
        str(out),
        "--limit",
        "256",
        "--batch-size",
        "64",
        "--scorer",
        str(scorer),
        "--score-n",
        "200",
        "--on-problem",
        "warn",
    ]
    main = _example("gan_mnist").main
    first = main(common + ["--epochs", "1"])
    assert first["epochs"] == 1
    second = main(common + ["--epochs", "2", "--resume"])
    assert "resumed from" in capsys.readouterr().out
    assert second["epochs"] == 2 and len(second["epoch_seconds"]) == 1  # only epoch 2 ran the second time
    names = {p.name for p in out.iterdir()}
    assert {
        "samples_epoch001.png",
        "samples_epoch002.png",
        "curves.png",
        "checkpoint.safetensors",
        "metrics.json",
    } <= names
    metrics = json.loads((out / "metrics.json").read_text())
    score = metrics["score"]
    assert score["n"] == 200 and 0 <= score["confident_share"] <= 1 and score["fid"] >= 0
    assert 0 <= score["class_entropy"] <= 2.303 and sum(score["class_histogram"]) == pytest.approx(1)


@pytest.mark.filterwarnings("ignore:epoch .*mode collapse")
def test_dcgan_example_runs(tmp_path, data):
    out = tmp_path / "dc"
    metrics = _example("dcgan_mnist").main(
        [
            "--data",
            data,
            "--out",
            str(out),
            "--limit",
            "128",
            "--width",
            "8",
            "--epochs",
            "1",
            "--score-n",
            "0",
            "--on-problem",
            "warn",
        ]
    )
    assert metrics["epochs"] == 1 and "score" not in metrics
    assert (out / "samples_epoch001.png").exists() and (out / "checkpoint.safetensors").exists()
