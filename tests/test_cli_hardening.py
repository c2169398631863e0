"""The `shenjing` command facing mistakes and hostile inputs: one line `shenjing <cmd>: error: ...`, exit code 2,
no traceback, nothing created by accident; and a diverging run that keeps its last finite weights."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import shenjing
from shenjing.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]

SMALL = """seed = 0
[data]
dataset = "digits"
[model]
layers = [{ type = "Linear", in_features = 64, out_features = 10 }]
[optimizer]
type = "adam"
lr = 0.01
[train]
epochs = 2
[output]
plots = false
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """A digits model (64 inputs) and an iris-like CSV model (4 inputs)."""
    base = tmp_path_factory.mktemp("cli")
    (base / "small.toml").write_text(SMALL)
    assert main(["train", str(base / "small.toml"), "--out", str(base / "digits"), "--verbose", "0"]) == 0
    rng = np.random.default_rng(0)
    rows = ["a,b,c,d,label"] + [
        ",".join(f"{v:.3f}" for v in x) + f",{'yes' if x[0] > 0 else 'no'}" for x in rng.standard_normal((60, 4))
    ]
    (base / "t.csv").write_text("\n".join(rows) + "\n")
    (base / "csv.toml").write_text(
        SMALL.replace('dataset = "digits"', f'dataset = "csv:{base / "t.csv"}"\ntarget = "label"').replace(
            "in_features = 64, out_features = 10", "in_features = 4, out_features = 2"
        )
    )
    assert main(["train", str(base / "csv.toml"), "--out", str(base / "csvrun"), "--verbose", "0"]) == 0
    return {
        "base": base,
        "digits": str(base / "digits" / "model.safetensors"),
        "csv": str(base / "csvrun" / "model.safetensors"),
    }


def one_error_line(capsys, command: str) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"shenjing {command}: error: ") and "Traceback" not in captured.err
    return lines[0]


def png(path: pathlib.Path, size: tuple, mode: str = "L", fmt: str = "PNG") -> str:
    from PIL import Image

    Image.new(mode, size).save(path, format=fmt)
    return str(path)


# ---- missing files and folders ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, command, fragment",
    [
        (["train", "{base}/nope.toml"], "train", "no such configuration file"),
        (
            ["train", "{base}/small.toml", "--out", "{base}/r", "--resume", "{base}/nope.safetensors"],
            "train",
            "no such checkpoint file",
        ),
        (["evaluate", "{base}/nope.safetensors", "--data", "digits"], "evaluate", "no such model file"),
        (["predict", "{base}/nope.safetensors", "{base}/x.png"], "predict", "no such model file"),
        (["predict", "{digits}", "{base}/nope.png"], "predict", "no such input file"),
        (["predict", "{digits}", "{base}"], "predict", "got a folder"),
        (["summary", "{base}/nope.safetensors"], "summary", "no such model file or configuration"),
        (["evaluate", "{digits}", "--data", "mnist:test", "--root", "{base}/no-data"], "evaluate", "no such data"),
        (["evaluate", "{digits}", "--data", "digits:wrong"], "evaluate", "expected a split among"),
        (["evaluate", "{digits}", "--data", "imagenet"], "evaluate", "unknown data"),
    ],
)
def test_missing_files_and_folders_are_one_line(runs, capsys, argv, command, fragment) -> None:
    argv = [a.format(base=runs["base"], digits=runs["digits"]) for a in argv]
    assert main(argv) == 2
    assert fragment in one_error_line(capsys, command)
    assert not (runs["base"] / "no-data").exists()  # a missing data folder is never created


@pytest.mark.parametrize("where", ["config", "env"])
def test_a_missing_mnist_folder_is_reported_and_not_created(tmp_path, monkeypatch, capsys, where) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "data" / "mnist-here"
    config = SMALL.replace('dataset = "digits"', 'dataset = "mnist"').replace("in_features = 64", "in_features = 784")
    if where == "config":
        config = config.replace('dataset = "mnist"', f'dataset = "mnist"\nroot = "{missing}"')
    else:
        monkeypatch.setenv("SHENJING_DATA", str(missing))
    (tmp_path / "m.toml").write_text(config)
    assert main(["train", "m.toml", "--verbose", "0"]) == 2
    line = one_error_line(capsys, "train")
    assert ("data.root: no such data folder" if where == "config" else "SHENJING_DATA=") in line
    assert not missing.exists() and not (tmp_path / "data").exists() and not (tmp_path / "runs").exists()


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"shenjing {shenjing.__version__}"


def test_device_cuda_without_cupy_is_one_line(runs, capsys) -> None:
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    for argv, command in [
        (["train", str(runs["base"] / "small.toml"), "--out", str(runs["base"] / "gpu"), "--device", "cuda"], "train"),
        (["evaluate", runs["digits"], "--data", "digits", "--device", "cuda:0"], "evaluate"),
        (["summary", runs["digits"], "--device", "cuda"], "summary"),
    ]:
        assert main(argv) == 2
        line = one_error_line(capsys, command)
        assert "needs CuPy" in line and "pip install" in line
    assert not (runs["base"] / "gpu").exists()


# ---- a model applied to data of the wrong width ----------------------------------------------------------------
def test_wrong_width_in_evaluate_and_predict(runs, tmp_path, capsys) -> None:
    assert main(["evaluate", runs["csv"], "--data", "digits:test"]) == 2
    line = one_error_line(capsys, "evaluate")
    assert "the model expects one sample of shape (4,)" in line and "(64,)" in line
    np.savetxt(tmp_path / "ten.csv", np.zeros((2, 10)), delimiter=",")
    assert main(["predict", runs["digits"], str(tmp_path / "ten.csv")]) == 2
    line = one_error_line(capsys, "predict")
    assert "expects one sample of shape (64,)" in line and "(10,)" in line
    assert main(["predict", runs["csv"], png(tmp_path / "a.png", (28, 28))]) == 2
    assert "expects one sample of shape (4,)" in one_error_line(capsys, "predict")
    (tmp_path / "five.csv").write_text("a,b,c,e\n1,2,3,4\n")
    assert main(["predict", runs["csv"], str(tmp_path / "five.csv")]) == 2
    assert "missing ['d']" in one_error_line(capsys, "predict")


# ---- hostile and non-image inputs to predict -------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, make, fragment",
    [
        ("bomb.png", lambda p: png(p, (10000, 10000)), "pixels"),
        ("wide.png", lambda p: png(p, (200000, 300)), "pixels"),
        ("bomb.gif", lambda p: png(p, (9000, 9000), "P", "GIF"), "pixels"),
        ("text.png", lambda p: p.write_text("hello, not an image"), "not an image"),
        ("empty.jpg", lambda p: p.write_bytes(b""), "not an image"),
        ("truncated.png", lambda p: p.write_bytes(open(png(p, (64, 64)), "rb").read()[:60]), "not an image"),
        ("binary.bin", lambda p: p.write_bytes(bytes(range(256)) * 4), "not an image"),
        ("notes.txt", lambda p: p.write_text("hello world\n"), "no rows of numbers"),
        ("header.csv", lambda p: p.write_text("a,b,c\n"), "no rows of numbers"),
        ("empty.csv", lambda p: p.write_text(""), "the file is empty"),
        ("words.csv", lambda p: p.write_text("1,2\nx,y\n"), "expected rows of numbers"),
        ("ragged.csv", lambda p: p.write_text("1,2,3\n4,5\n"), "expected rows of numbers"),
        ("latin1.csv", lambda p: p.write_bytes(b"\xff\xfe\x00garbage\x81\n"), "not a text file"),
    ],
)
def test_predict_refuses_hostile_and_non_image_files(runs, tmp_path, capsys, name, make, fragment) -> None:
    path = tmp_path / name
    make(path)
    assert main(["predict", runs["digits"], str(path)]) == 2
    line = one_error_line(capsys, "predict")
    assert str(path) in line and fragment in line


def test_a_decompression_bomb_costs_no_memory(runs, tmp_path) -> None:
    """A small PNG of 10000×10000 pixels is refused from its header: the process stays far below the 2 GB that
    decoding it (and its float64 copy) would take."""
    from PIL import Image

    Image.new("L", (10000, 10000)).save(tmp_path / "bomb.png", optimize=True)
    assert os.path.getsize(tmp_path / "bomb.png") < 200_000
    # VmHWM: this process's own peak resident memory (ru_maxrss would include the forking parent's, on Linux)
    code = (
        "import resource, sys\n"
        "from shenjing.cli import main\n"
        f"rc = main(['predict', {runs['digits']!r}, {str(tmp_path / 'bomb.png')!r}])\n"
        "status = open('/proc/self/status').read() if sys.platform == 'linux' else ''\n"
        "peak = [int(l.split()[1]) for l in status.splitlines() if l.startswith('VmHWM:')]\n"
        "print(rc, peak[0] if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    rc, peak_kb = result.stdout.split()
    assert rc == "2" and "pixels" in result.stderr
    assert int(peak_kb) < 400_000, f"peak memory {int(peak_kb) / 1024:.0f} MiB"


def test_a_large_but_sane_photo_is_reduced_and_predicted(runs, tmp_path, capsys) -> None:
    from PIL import Image

    image = Image.new("L", (3000, 2400), 255)
    image.paste(0, (1200, 700, 1700, 1700))  # a dark bar on paper
    image.save(tmp_path / "photo.jpg", quality=80)
    assert main(["predict", runs["digits"], str(tmp_path / "photo.jpg"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert abs(sum(result["probabilities"]) - 1) < 1e-5


# ---- configuration mistakes name the key -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, fragment",
    [
        (("seed = 0", "seed = -1"), "seed: expected an integer from 0"),
        (("seed = 0", "seed = 1.5"), "seed: expected an integer, got 1.5"),
        (("seed = 0", 'seed = "x"'), "seed: expected an integer"),
        (('type = "adam"', 'type = "adamw2"'), "optimizer.type: unknown optimizer 'adamw2'. Did you mean 'AdamW'?"),
        (('type = "adam"', 'type = "sgdd"'), "Did you mean 'SGD'?"),
        (('type = "adam"', 'type = "rms_prop2"'), "Did you mean 'RMSprop'?"),
        (('{ type = "Linear"', '{ type = "Linaer"'), "model.layers[0].type: unknown layer type 'Linaer'. Did you mean"),
        (('{ type = "Linear"', '{ type = "linear2"'), "Did you mean 'Linear'?"),
        (('{ type = "Linear"', '{ type = "Lineer"'), "Did you mean 'Linear'?"),
        (("epochs = 2", "epochs = 0"), "train.epochs: expected a value ≥ 1"),
        (("lr = 0.01", "lr = -1.0"), "optimizer.lr: Adam(lr=-1.0): Invalid learning rate"),
        (("lr = 0.01", 'lr = "fast"'), "optimizer.lr: expected a number, got 'fast'"),
        (("out_features = 10 }", "out_features = -10 }"), "model.layers[0].out_features: Linear(in_features=64, out_features=-10)"),
        (("plots = false", "plots = 3"), "output.plots: expected true or false, got 3"),
        (("epochs = 2", "epoch = 2"), "train.epoch: unknown key. Did you mean 'epochs'?"),
        (("[data]", "[data]\nsplit_seed = -3"), "data.split_seed: expected a value ≥ 0"),
        (("lr = 0.01", "lr = 0.01\nbetas2 = [0.9, 0.99]"), "optimizer.betas2: unknown argument of Adam. Did you mean"),
        (("epochs = 2", 'epochs = 2\nearly_stopping = { monitor = "val_acc" }'),
         "train.early_stopping.monitor: EarlyStopping: monitor 'val_acc' is not among"),
        (("plots = false", 'plots = false\ndir = "../outside"'), "output.dir: '../outside' is outside the working"),
        (("plots = false", 'plots = false\ndir = "/tmp/elsewhere-shenjing"'), "pass --out DIR"),
    ],
)
def test_config_errors_name_the_key_before_training(tmp_path, monkeypatch, capsys, change, fragment) -> None:
    monkeypatch.chdir(tmp_path)
    old, new = change
    assert old in SMALL
    (tmp_path / "c.toml").write_text(SMALL.replace(old, new, 1))
    assert main(["train", "c.toml", "--verbose", "0"]) == 2
    assert fragment in one_error_line(capsys, "train")
    assert not (tmp_path / "runs").exists()  # caught before anything was trained or written


def test_monitor_suggestion_and_explicit_out_outside(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    config = SMALL.replace("epochs = 2", 'epochs = 2\nearly_stopping = { monitor = "val_acc" }')
    (tmp_path / "c.toml").write_text(config)
    assert main(["train", "c.toml"]) == 2
    assert "Did you mean 'val_accuracy'?" in one_error_line(capsys, "train")
    outside = tmp_path.parent / f"{tmp_path.name}-explicit"
    (tmp_path / "d.toml").write_text(SMALL.replace("plots = false", 'plots = false\ndir = "../x"'))
    assert main(["train", "d.toml", "--out", str(outside), "--verbose", "0"]) == 0  # explicit: accepted
    assert (outside / "model.safetensors").exists() and not (tmp_path.parent / "x").exists()


# ---- a run that diverges ---------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("batch_size", [32, 2000])  # mini-batches, and full-batch (one update per epoch)
def test_a_diverging_run_keeps_the_last_finite_weights_everywhere(tmp_path, monkeypatch, capsys, batch_size) -> None:
    from shenjing.io import load, load_checkpoint

    monkeypatch.chdir(tmp_path)
    config = SMALL.replace('type = "adam"', 'type = "sgd"')
    config = config.replace("epochs = 2", f"epochs = 4\nbatch_size = {batch_size}")
    config += '[scheduler]\ntype = "StepLR"\nstep_size = 1\ngamma = 1e60\n'  # epoch 2 trains at lr = 1e58
    (tmp_path / "c.toml").write_text(config)
    assert main(["train", "c.toml", "--verbose", "0"]) == 1
    err = capsys.readouterr().err
    assert "Training stopped" in err and "at epoch 2, step 1" in err and "first non-finite layer: 0." in err
    assert "lr=inf" not in err and "holds the last finite weights, from epoch 1" in err
    run = tmp_path / "runs" / "c"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["stop_reason"] == "nan" and metrics["weights_epoch"] == 1 and metrics["epochs"] == 1
    model = load(str(run / "model.safetensors"))
    saved = {k: v.array.copy() for k, v in model.state_dict().items()}
    assert all(np.isfinite(a).all() for a in saved.values())
    load_checkpoint(str(run / "checkpoint.safetensors"), model)
    for key, array in model.state_dict().items():
        np.testing.assert_array_equal(array.array, saved[key], err_msg=key)  # the same, finite, epoch-1 weights


def test_metrics_json_names_the_epoch_whose_weights_were_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.toml").write_text(SMALL.replace("epochs = 2", "epochs = 3"))
    assert main(["train", "a.toml", "--verbose", "0"]) == 0
    assert json.loads((tmp_path / "runs/a/metrics.json").read_text())["weights_epoch"] == 3
    early = SMALL.replace(
        "epochs = 2",
        'epochs = 30\nearly_stopping = { monitor = "loss", patience = 1, min_delta = 100.0, '
        "restore_best_weights = true }",
    )
    (tmp_path / "b.toml").write_text(early)
    assert main(["train", "b.toml", "--verbose", "0"]) == 0
    metrics = json.loads((tmp_path / "runs/b/metrics.json").read_text())
    assert metrics["stop_reason"] == "early_stopping" and metrics["epochs"] == 2 and metrics["weights_epoch"] == 1


def test_a_resumed_cli_run_writes_each_epoch_once_in_history_csv(tmp_path, monkeypatch) -> None:
    import shutil

    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.toml").write_text(SMALL.replace("epochs = 2", "epochs = 3"))
    assert main(["train", "r.toml", "--verbose", "0"]) == 0
    run = tmp_path / "runs" / "r"
    shutil.copy(run / "checkpoint.safetensors", tmp_path / "after3.safetensors")
    (tmp_path / "r.toml").write_text(SMALL.replace("epochs = 2", "epochs = 5"))
    assert main(["train", "r.toml", "--verbose", "0", "--resume", "after3.safetensors"]) == 0
    rows = (run / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["epoch", "1", "2", "3", "4", "5"]
