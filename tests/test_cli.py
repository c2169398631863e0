"""The `shenjing` command end to end: train (digits, offline), evaluate, predict, summary, and its error messages."""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import numpy as np
import pytest

from shenjing.cli import main

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"


def _mnist_root() -> str | None:
    """$SHENJING_DATA, else shared/datasets/mnist above the checkout (as tests/conftest.py's mnist_dir)."""
    here = pathlib.Path(__file__).resolve()
    candidates = [os.environ.get("SHENJING_DATA")] + [p / "shared/datasets/mnist" for p in here.parents[1:4]]
    for candidate in candidates:
        if candidate and (pathlib.Path(candidate) / "t10k-images-idx3-ubyte.gz").exists():
            return str(candidate)
    return None


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("digits")
    config = (EXAMPLES / "digits.toml").read_text().replace("epochs = 40", "epochs = 12")
    (out / "digits.toml").write_text(config)
    assert main(["train", str(out / "digits.toml"), "--out", str(out / "run"), "--verbose", "0"]) == 0
    return out / "run"


def test_train_writes_the_model_history_metrics_and_plots(digits_run, capsys) -> None:
    names = set(os.listdir(digits_run))
    assert names >= {
        "model.safetensors",
        "history.csv",
        "history.json",
        "metrics.json",
        "checkpoint.safetensors",
        "loss.png",
        "accuracy.png",
        "confusion_matrix.png",
        "misclassified.png",
    }
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.93 and metrics["epochs"] == 12
    history = json.loads((digits_run / "history.json").read_text())
    assert history["epoch"] == list(range(1, 13)) and len(history["val_loss"]) == 12
    from PIL import Image

    for name in ("loss.png", "accuracy.png", "confusion_matrix.png", "misclassified.png"):
        with Image.open(digits_run / name) as image:
            assert image.format == "PNG" and image.size[0] > 300


def test_evaluate_prints_metrics_and_the_confusion_matrix(digits_run, capsys) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(digits_run / "model.safetensors"), "--data", "digits:test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    expected = json.loads((digits_run / "metrics.json").read_text())["test"]
    assert result["samples"] == 360 and result["accuracy"] == pytest.approx(expected["accuracy"])
    cm = np.array(result["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 360 and np.trace(cm) / 360 == pytest.approx(result["accuracy"])
    assert main(["evaluate", str(digits_run / "model.safetensors"), "--data", "digits:test"]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "Confusion matrix (rows: true class, columns: predicted)" in text


def test_predict_reads_images_on_white_or_black_and_prints_json(digits_run, tmp_path, capsys) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    picks = [i for i in range(60) if bunch.target[i] in (0, 1, 4)][:3]
    paths = []
    for k, i in enumerate(picks):
        ink = (bunch.images[i] / 16 * 255).astype(np.uint8)
        pixels = 255 - ink if k % 2 == 0 else ink  # paper-like white background, or MNIST-like black
        path = tmp_path / f"digit{k}.png"
        Image.fromarray(pixels).resize((56, 56), Image.Resampling.NEAREST).save(path)
        paths.append(str(path))
    capsys.readouterr()
    assert main(["predict", str(digits_run / "model.safetensors"), *paths, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in results] == [str(bunch.target[i]) for i in picks]
    assert all(abs(sum(r["probabilities"]) - 1) < 1e-5 and len(r["top"]) == 3 for r in results)
    assert main(["predict", str(digits_run / "model.safetensors"), paths[0]]) == 0
    assert f"{paths[0]}: {bunch.target[picks[0]]} (" in capsys.readouterr().out


def test_predict_reads_csv_rows(digits_run, tmp_path, capsys) -> None:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    np.savetxt(tmp_path / "rows.csv", bunch.data[:4] / 16, delimiter=",")
    capsys.readouterr()
    assert main(["predict", str(digits_run / "model.safetensors"), str(tmp_path / "rows.csv"), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["input"] for r in results] == [f"{tmp_path / 'rows.csv'}:{i}" for i in range(1, 5)]
    assert sum(r["class"] == t for r, t in zip(results, bunch.target[:4])) >= 3


def test_resume_continues_from_the_checkpoint(digits_run, tmp_path) -> None:
    config = (EXAMPLES / "digits.toml").read_text().replace("epochs = 40", "epochs = 13")
    (tmp_path / "c.toml").write_text(config)
    out = tmp_path / "run"
    shutil.copytree(digits_run, out)
    assert (
        main(
            [
                "train",
                str(tmp_path / "c.toml"),
                "--out",
                str(out),
                "--verbose",
                "0",
                "--resume",
                str(out / "checkpoint.safetensors"),
            ]
        )
        == 0
    )
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == list(range(1, 14))


def test_summary_of_a_config_and_of_a_model_file(digits_run, capsys) -> None:
    assert main(["summary", str(EXAMPLES / "mnist_mlp_textbook.toml")]) == 0
    text = capsys.readouterr().out
    assert "Total params: 13,002" in text and "(None, 16)" in text and "4 (Linear)" in text and "12,560" in text
    assert main(["summary", str(digits_run / "model.safetensors")]) == 0
    text = capsys.readouterr().out
    assert "input (None, 64)" in text and "Total params: 9,610" in text


def test_errors_are_one_clear_line_and_exit_code_2(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # output.dir in a config file must stay inside the working folder
    (tmp_path / "bad.toml").write_text('[train]\nepoch = 3\n[model]\nlayers = ["ReLU"]\n')
    assert main(["train", str(tmp_path / "bad.toml")]) == 2
    assert "train.epoch: unknown key. Did you mean 'epochs'?" in capsys.readouterr().err
    (tmp_path / "shape.toml").write_text(
        '[model]\nlayers = [{ type = "Linear", in_features = 10, '
        'out_features = 3 }]\n[output]\ndir = "' + str(tmp_path / "o") + '"\n'
    )
    assert main(["train", str(tmp_path / "shape.toml")]) == 2
    assert "model.layers: the layers do not fit the data's input shape (64,)" in capsys.readouterr().err
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    assert main(["evaluate", str(tmp_path / "junk.safetensors"), "--data", "digits"]) == 2
    assert "not a safetensors file" in capsys.readouterr().err
    assert main(["summary", str(tmp_path / "missing.safetensors")]) == 2
    with pytest.raises(SystemExit):
        main(["train", "x.toml", "--device", "tpu"] + ["--no-such-flag"])
    assert main(["summary", str(EXAMPLES / "digits.toml"), "--device", "tpu"]) == 2
    assert "expected one of 'cpu', 'cuda'" in capsys.readouterr().err


@pytest.mark.skipif(
    _mnist_root() is None, reason="MNIST not found: set SHENJING_DATA=/path/to/folder holding the four MNIST IDX files"
)
def test_mnist_textbook_mlp_one_epoch(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SHENJING_DATA", _mnist_root())
    config = (EXAMPLES / "mnist_mlp_textbook.toml").read_text().replace("epochs = 10", "epochs = 1")
    config = config.replace('dir = "runs/mnist_mlp_textbook"', "plots = false")
    (tmp_path / "t.toml").write_text(config)
    assert main(["train", str(tmp_path / "t.toml"), "--out", str(tmp_path / "run"), "--verbose", "0"]) == 0
    assert main(["evaluate", str(tmp_path / "run" / "model.safetensors"), "--data", "mnist:test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["samples"] == 10000 and result["accuracy"] > 0.5


def test_csv_classification_end_to_end(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # output.dir in a config file must stay inside the working folder
    from sklearn.datasets import load_iris

    iris = load_iris()
    rows = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    rows += [",".join(f"{v:.1f}" for v in x) + f",{iris.target_names[t]}" for x, t in zip(iris.data, iris.target)]
    (tmp_path / "iris.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "iris.toml").write_text(
        f'seed = 0\n[data]\ndataset = "csv:{tmp_path / "iris.csv"}"\ntarget = "species"\nval = 0.2\ntest = 0.2\n'
        '[model]\nlayers = [{ type = "Linear", in_features = 4, out_features = 16 }, "Tanh", '
        '{ type = "Linear", in_features = 16, out_features = 3 }]\n'
        '[optimizer]\ntype = "adam"\nlr = 0.02\n[train]\nepochs = 30\nbatch_size = 16\n'
        f'[output]\ndir = "{tmp_path / "run"}"\nplots = false\n'
    )
    assert main(["train", str(tmp_path / "iris.toml"), "--verbose", "0"]) == 0
    model = str(tmp_path / "run" / "model.safetensors")
    capsys.readouterr()
    assert main(["evaluate", model, "--data", f"csv:{tmp_path / 'iris.csv'}", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["samples"] == 150 and result["accuracy"] > 0.85 and result["class_names"][0] == "setosa"
    (tmp_path / "new.csv").write_text("petal_width,petal_length,sepal_width,sepal_length\n0.2,1.4,3.5,5.1\n")
    assert main(["predict", model, str(tmp_path / "new.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "setosa"  # columns picked by name, any order


def test_the_readme_predict_example_works_as_written(digits_run, tmp_path, monkeypatch, capsys) -> None:
    """The README's `shenjing predict` names a run that an earlier README command writes and an image that exists."""
    import re
    import shlex

    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    commands = [line.split("#")[0].strip() for block in re.findall(r"```bash\n(.*?)```", readme, re.S)
                for line in block.splitlines()]
    predict = next(c for c in commands if c.startswith("shenjing predict "))
    argv = shlex.split(predict)[1:]
    model, image = argv[1], argv[2]
    earlier = commands[: commands.index(predict)]
    trained = {}
    for command in earlier:
        match = re.search(r"shenjing train (\S+\.toml)", command)
        if match:
            config = (EXAMPLES.parent / match.group(1)).read_text()
            out = re.search(r'^dir = "(.*)"', config, re.M).group(1)
            trained[os.path.join(out, "model.safetensors")] = match.group(1)
    assert model in trained, f"{model} is written by none of the earlier README commands {earlier}"
    assert (EXAMPLES.parent / image).is_file()
    monkeypatch.chdir(tmp_path)  # run it as written, with the digits run where the README's first command puts it
    os.makedirs(os.path.dirname(model))
    shutil.copy(digits_run / "model.safetensors", model)
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    capsys.readouterr()
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["input"] == image and result["label"] == "4"  # examples/digit.png is a 4 on white paper
