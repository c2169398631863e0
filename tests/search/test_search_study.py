"""Searches on the bundled digits: samplers (grid exactly once, seeded random / TPE), pruning, k-fold objectives,
outputs (CSV, JSON, best.toml, best model, plots) and the CLI."""

import csv
import itertools
import json
import os

import pytest

optuna = pytest.importorskip("optuna", reason="hyperparameter search needs Optuna")

from shenjing.search import load_search, objective_value, search  # noqa: E402
from shenjing.search.study import make_pruner  # noqa: E402
from shenjing.train.config import ConfigError, load_config  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _params(result):
    return [t["params"] for t in result.trials]


def test_grid_covers_the_grid_exactly_once(search_doc, tmp_path):
    space = {
        "optimizer.lr": {"choice": [0.003, 0.01]},
        "hidden": {"int": [8, 24], "step": 8, "keys": ["model.layers[0].out_features", "model.layers[2].in_features"]},
    }
    doc = search_doc(sampler="grid", trials=100, space=space)
    doc["train"]["epochs"] = 1
    result = search(doc, out_dir=str(tmp_path), save_best=False, plots=False, progress=False)
    seen = sorted((p["optimizer.lr"], p["hidden"]) for p in _params(result))
    assert seen == sorted(itertools.product([0.003, 0.01], [8, 16, 24]))  # 6 trials, each point once
    assert all(t["state"] == "COMPLETE" for t in result.trials)
    # running it again adds nothing: the grid is done
    again = search(doc, out_dir=str(tmp_path), save_best=False, plots=False, progress=False)
    assert len(again.trials) == 6


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_seeded_samplers_repeat(search_doc, tmp_path, sampler):
    doc = search_doc(sampler=sampler, trials=3)
    doc["train"]["epochs"] = 1
    first = search(doc, out_dir=str(tmp_path / "a"), save_best=False, plots=False, progress=False)
    second = search(doc, out_dir=str(tmp_path / "b"), save_best=False, plots=False, progress=False)
    assert _params(first) == _params(second)
    assert [t["value"] for t in first.trials] == [t["value"] for t in second.trials]
    assert len({p["optimizer.lr"] for p in _params(first)}) == 3
    other = search(
        search_doc(sampler=sampler, trials=3, seed=1) | {"train": doc["train"]},
        out_dir=str(tmp_path / "c"),
        save_best=False,
        plots=False,
        progress=False,
    )
    assert _params(other) != _params(first)


def test_cmaes_runs(search_doc, tmp_path):
    doc = search_doc(sampler="cmaes", trials=2, space={"optimizer.lr": {"float": [1e-3, 1e-1], "log": True}})
    doc["train"]["epochs"] = 1
    result = search(doc, out_dir=str(tmp_path), save_best=False, plots=False, progress=False)
    assert len(result.trials) == 2 and result.best_value > 0.1


def test_median_pruner_stops_a_hopeless_trial(search_doc):
    doc = search_doc(pruner="median", space={"optimizer.lr": {"float": [1e-8, 1e-1], "log": True}})
    doc["train"]["epochs"] = 4
    spec = load_search(doc)
    study = optuna.create_study(direction="maximize", pruner=make_pruner(spec))
    for lr in (0.02, 0.02, 1e-8):
        study.enqueue_trial({"optimizer.lr": lr})
    cache = {}
    study.optimize(
        lambda t: objective_value(
            spec, {"optimizer.lr": t.suggest_float("optimizer.lr", 1e-8, 1e-1, log=True)}, t, cache
        ),
        3,
    )
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert study.trials[2].user_attrs["epochs"] == 1  # pruned after its first epoch, not trained for 4
    assert sorted(study.trials[0].intermediate_values) == [1, 2, 3, 4]
    assert study.trials[0].value == pytest.approx(study.trials[1].value)  # same values, same seed, same result


def test_hyperband_pruner(search_doc, tmp_path):
    doc = search_doc(pruner="hyperband", trials=4)
    doc["train"]["epochs"] = 3
    spec = load_search(doc)
    assert isinstance(make_pruner(spec), optuna.pruners.HyperbandPruner)
    result = search(doc, out_dir=str(tmp_path), save_best=False, plots=False, progress=False)
    assert len(result.trials) == 4
    assert {t["state"] for t in result.trials} <= {"COMPLETE", "PRUNED"}


def test_kfold_objective_is_the_mean_of_the_folds(search_doc):
    doc = search_doc(cv=3, space={"optimizer.lr": {"choice": [0.01]}})
    doc["train"]["epochs"] = 1
    spec = load_search(doc)
    study = optuna.create_study(direction="maximize")
    study.optimize(
        lambda t: objective_value(spec, {"optimizer.lr": t.suggest_categorical("optimizer.lr", [0.01])}, t), 1
    )
    trial = study.trials[0]
    folds = trial.user_attrs["fold_scores"]
    assert len(folds) == 3 and all(0.1 < f <= 1 for f in folds)
    assert trial.value == pytest.approx(sum(folds) / 3)
    assert trial.intermediate_values == {
        1: pytest.approx(folds[0]),
        2: pytest.approx(sum(folds[:2]) / 2),
        3: pytest.approx(trial.value),
    }


def test_objective_needs_validation_data(search_doc):
    doc = search_doc()
    doc["data"]["val"] = 0.0
    with pytest.raises(ConfigError, match="data.val: the objective 'val_accuracy' needs a validation split"):
        objective_value(load_search(doc), {"optimizer.lr": 0.01, "hidden": 8})


def test_outputs_and_best_config(search_doc, tmp_path):
    doc = search_doc(trials=3, objective="val_loss")
    result = search(doc, out_dir=str(tmp_path), progress=False)
    assert result.direction == "minimize"
    values = [t["value"] for t in result.trials]
    assert result.best_value == min(values)
    with open(tmp_path / "trials.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["number", "state", "val_loss", "optimizer.lr", "hidden", "seconds"]
    assert [float(r[2]) for r in rows[1:]] == pytest.approx(values)
    data = json.loads((tmp_path / "trials.json").read_text())
    assert data["best"]["params"] == result.best_params and data["direction"] == "minimize"
    best = load_config(tmp_path / "best.toml")  # a ready configuration: `shenjing train best.toml`
    assert best.optimizer.options["lr"] == result.best_params["optimizer.lr"]
    assert best.layers[0][1]["out_features"] == result.best_params["hidden"]
    assert os.path.exists(tmp_path / "best" / "model.safetensors")
    assert set(result.best_test) == {"loss", "accuracy"}
    for name in ("optimization_history", "param_importances", "parallel_coordinate"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000, name


def test_timeout_budget(search_doc, tmp_path):
    doc = search_doc(trials=1000, timeout=1.0)
    doc["train"]["epochs"] = 1
    result = search(doc, out_dir=str(tmp_path), save_best=False, plots=False, progress=False)
    assert 1 <= len(result.trials) < 1000


def test_cli(search_doc, tmp_path, capsys):
    from shenjing.cli import main
    from shenjing.search.toml_out import dumps

    doc = search_doc(trials=2)
    doc["train"]["epochs"] = 1
    config = tmp_path / "c.toml"
    config.write_text(dumps(doc))
    out = tmp_path / "out"
    assert main(["search", str(config), "--out", str(out), "--no-best", "--no-plots", "--study", "s1"]) == 0
    text = capsys.readouterr().out
    assert "study 's1': 2 trials (2 complete)" in text and "best val_accuracy = " in text
    assert (
        main(
            [
                "search",
                str(config),
                "--out",
                str(out),
                "--no-best",
                "--no-plots",
                "--study",
                "s1",
                "--trials",
                "3",
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["trials"] == {"COMPLETE": 3}
    assert os.path.exists(out / "study.db") and os.path.exists(out / "best.toml")


def test_cli_errors_are_one_line(search_doc, tmp_path, capsys):
    from shenjing.cli import main
    from shenjing.search.toml_out import dumps

    doc = search_doc(space={"optimizer.lr": {"float": [0.0, 0.1], "log": True}})
    config = tmp_path / "c.toml"
    config.write_text(dumps(doc))
    assert main(["search", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("shenjing search: error: ") and "a log range must be above zero" in err
    assert main(["search", str(config), "--workers", "0"]) == 2
    assert "--workers: expected at least 1" in capsys.readouterr().err


def test_example_config_is_valid():
    spec = load_search(os.path.join(REPO, "examples", "digits_search.toml"))
    assert spec.sampler == "tpe" and [s.name for s in spec.space] == ["optimizer.lr", "train.batch_size", "hidden"]


@pytest.mark.parametrize(
    "keys, message",
    [
        ({"objective": "accuracy"}, "search.objective: expected a validation metric such as 'val_accuracy'"),
        ({"objective": "val_acuracy"}, "search.objective: unknown metric 'acuracy'"),
    ],
)
def test_objective_checked_before_any_trial(search_doc, tmp_path, keys, message):
    with pytest.raises(ConfigError, match=message):
        search(search_doc(**keys), out_dir=str(tmp_path), progress=False)
    doc = search_doc()
    doc["data"]["val"] = 0.0
    with pytest.raises(ConfigError, match="needs a validation split"):
        search(doc, out_dir=str(tmp_path), progress=False)
    assert not (tmp_path / "study.db").exists()


@pytest.mark.parametrize("text, message", [
    ("a = " + "[" * 5000 + "]" * 5000, "nested too deeply"),  # a RecursionError inside the TOML reader
    ("x = 1\n" + "[t]\n" * 3, "not valid TOML"),
    (None, "no such configuration file"),
])
def test_a_search_file_is_read_as_a_training_config_is(tmp_path, text, message):
    """load_search reads its file with train.config.read_toml: the same ConfigErrors as load_config."""
    path = tmp_path / "search.toml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=f"search.toml: .*{message}"):
        load_search(path)
    with pytest.raises(ConfigError, match=f"search.toml: .*{message}"):
        load_config(path)
