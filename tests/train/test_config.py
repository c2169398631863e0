"""Configuration files: good ones parse; every bad key or value is reported with its path and the valid choices."""

from __future__ import annotations

import pytest

from shenjing.train.config import ConfigError, load_config, parse_config, to_dict

GOOD = {
    "seed": 1,
    "data": {"dataset": "digits", "val": 0.1, "test": 0.2},
    "model": {
        "layers": [
            {"type": "Linear", "in_features": 64, "out_features": 32},
            "ReLU",
            {"type": "dropout", "p": 0.1},
            {"type": "Linear", "in_features": 32, "out_features": 10},
        ]
    },
    "loss": {"type": "cross_entropy", "label_smoothing": 0.1},
    "optimizer": {"type": "adamw", "lr": 0.003, "betas": [0.9, 0.99], "weight_decay": 0.01},
    "scheduler": {"type": "step_lr", "step_size": 5},
    "train": {
        "epochs": 3,
        "batch_size": 16,
        "metrics": ["accuracy", "f1"],
        "early_stopping": {"patience": 2, "restore_best_weights": True},
    },
    "output": {"dir": "somewhere", "plots": False},
}


def with_change(path: str, value) -> dict:
    import copy

    raw = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return raw


def test_a_good_config_parses_and_names_are_matched_loosely() -> None:
    config = parse_config(GOOD, source="good.toml")
    assert [k.__name__ for k, _ in config.layers] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert config.optimizer.type == "adamw" and config.train.epochs == 3 and config.out_dir == "somewhere"
    assert to_dict(config)["optimizer"] == {"type": "adamw", "lr": 0.003, "betas": [0.9, 0.99], "weight_decay": 0.01}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("epoch", 3, r"epoch: unknown key\. Did you mean 'seed'\?|epoch: unknown key"),
        ("train.epoch", 3, r"train\.epoch: unknown key\. Did you mean 'epochs'\? Valid keys: epochs, batch_size"),
        ("train.epochs", "ten", r"train\.epochs: expected an integer, got 'ten'"),
        ("train.epochs", 0, r"train\.epochs: expected a value ≥ 1, got 0"),
        ("train.batch_size", 2.5, r"train\.batch_size: expected an integer, got 2\.5"),
        ("train.metrics", ["accuracy", "acuracy"], r"train\.metrics\[1\]: unknown metric 'acuracy'. Did you mean"),
        ("train.clip_grad_norm", -1, r"train\.clip_grad_norm: expected a positive number"),
        ("train.early_stopping", {"patience": 2, "monitr": "loss"}, r"train\.early_stopping\.monitr: unknown argument"),
        (
            "data.dataset",
            "mnits",
            r"data\.dataset: expected one of mnist, fashion_mnist, digits, csv:PATH, got "
            r"'mnits'. Did you mean 'mnist'\?",
        ),
        ("data.dataset", "csv:table.csv", r"data\.target: missing"),
        ("data.val", 0.9, r"data\.val: val \+ test = 1\.1 leaves no training data"),
        ("data.val", "a lot", r"data\.val: expected a number, got 'a lot'"),
        ("model.layers", [], r"model\.layers: expected a non-empty list"),
        (
            "model.layers",
            [{"type": "Lineer", "in_features": 3, "out_features": 2}],
            r"model\.layers\[0\]\.type: unknown layer type 'Lineer'. Did you mean 'Linear'\? Valid: .*ReLU",
        ),
        (
            "model.layers",
            [{"type": "Linear", "in_features": 3, "out_feature": 2}],
            r"model\.layers\[0\]\.out_feature: unknown argument of Linear\. Did you mean 'out_features'\? Valid: "
            r"in_features, out_features, bias",
        ),
        ("model.layers", [{"type": "Linear", "in_features": 3}], r"model\.layers\[0\]: Linear needs out_features"),
        (
            "model.layers",
            [{"type": "Dropout", "p": 2.0}],
            r"model\.layers\[0\]\.p: Dropout\(p=2\.0\): dropout probability",
        ),
        ("model.layers", [{"in_features": 3}], r"model\.layers\[0\]\.type: missing"),
        ("model.layers", [{"type": "os.system"}], r"unknown layer type 'os\.system'"),
        ("optimizer.type", "adamm",
         r"optimizer\.type: unknown optimizer 'adamm'.*Valid: ASGD, Adadelta, Adafactor, Adagrad, Adam, AdamW, Adamax, NAdam"),
        ("optimizer.lr", "fast", r"optimizer\.lr: expected a number, got 'fast'"),
        ("optimizer.lr", -1.0, r"optimizer\.lr: AdamW\(.*lr=-1\.0.*\): .*-1"),
        ("optimizer.momentum", 0.9, r"optimizer\.momentum: unknown argument of AdamW"),
        ("optimizer.amsgrad", 1, r"optimizer\.amsgrad: expected true or false, got 1"),
        ("loss.type", "crossentropyy", r"loss: unknown loss 'crossentropyy'.*Valid: .*CrossEntropyLoss"),
        ("scheduler.type", "warmup", r"scheduler\.type: unknown scheduler 'warmup'.*Valid: .*StepLR"),
        ("scheduler.step_size", KeyError, r"scheduler: StepLR needs step_size"),
        ("output.plots", "yes", r"output\.plots: expected true or false, got 'yes'"),
        ("device", "tpu", r"device: expected 'cpu', 'cuda' or 'cuda:N', got 'tpu'"),
    ],
)
def test_bad_configs_name_the_key_path_and_the_valid_choices(path: str, value, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        parse_config(with_change(path, value), source="bad.toml")
    assert str(error.value).startswith("bad.toml: ")


def test_toml_files_report_syntax_errors_and_misplaced_top_level_keys(tmp_path) -> None:
    (tmp_path / "broken.toml").write_text("[train\nepochs = 3\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_config(tmp_path / "broken.toml")
    (tmp_path / "misplaced.toml").write_text(
        '[model]\nlayers = [{ type = "Linear", in_features = 64, out_features = 10 }]\nloss = "cross_entropy"\n'
    )
    with pytest.raises(ConfigError, match=r"model\.loss: unknown key.*move 'loss' above the first \[table\]"):
        load_config(tmp_path / "misplaced.toml")
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "named.toml").write_text(
        '[model]\nlayers = [{ type = "Linear", in_features = 64, out_features = 10 }]\n'
    )
    assert load_config(tmp_path / "named.toml").name == "named"


def test_the_example_configs_parse() -> None:
    import pathlib

    examples = sorted((pathlib.Path(__file__).parents[2] / "examples").glob("*.toml"))
    assert {p.name for p in examples} >= {"digits.toml", "mnist_mlp_textbook.toml", "mnist_mlp.toml"}
    for path in examples:
        load_config(path)
