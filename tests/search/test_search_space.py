"""The [search] section: spaces parsed and checked, values applied to any config key (layer sizes included)."""

import pytest

from shenjing.search import apply_params, grid_size, parse_search
from shenjing.train.config import ConfigError


def _space(search_doc, **spaces):
    return search_doc(space=spaces)


def test_parses_every_kind(search_doc):
    doc = _space(
        search_doc,
        **{
            "optimizer.lr": {"float": [1e-4, 1e-1], "log": True},
            "train.batch_size": {"choice": [16, 32]},
            "train.epochs": {"int": [1, 3]},
            "hidden": {
                "int": [8, 32],
                "step": 8,
                "keys": ["model.layers[0].out_features", "model.layers[2].in_features"],
            },
        },
    )
    spec = parse_search(doc)
    kinds = {s.name: (s.kind, s.low, s.high, s.step, s.log, s.choices) for s in spec.space}
    assert kinds == {
        "optimizer.lr": ("float", 1e-4, 1e-1, None, True, None),
        "train.batch_size": ("choice", None, None, None, False, [16, 32]),
        "train.epochs": ("int", 1, 3, None, False, None),
        "hidden": ("int", 8, 32, 8, False, None),
    }
    assert spec.sampler == "random" and spec.trials == 3 and spec.seed == 0 and spec.cv == 0


def test_apply_sets_layer_sizes_and_optimizer(search_doc):
    spec = parse_search(search_doc())
    config = apply_params(spec, {"optimizer.lr": 0.05, "hidden": 32})
    assert config.optimizer.options["lr"] == 0.05
    assert config.layers[0][1]["out_features"] == 32 and config.layers[2][1]["in_features"] == 32
    # the spec's own document is untouched
    assert spec.raw["model"]["layers"][0]["out_features"] == 16


def test_grid_values(search_doc):
    doc = _space(search_doc, **{"optimizer.lr": {"float": [0.01, 0.03], "step": 0.01}, "train.epochs": {"int": [1, 3]}})
    spec = parse_search(doc)
    assert [round(v, 6) for v in spec.space[0].grid()] == [0.01, 0.02, 0.03]
    assert spec.space[1].grid() == [1, 2, 3]
    assert grid_size(spec) == 9


@pytest.mark.parametrize(
    "space, message",
    [
        ({"optimizer.lr": {"choice": []}}, "search.space.optimizer.lr.choice: expected a non-empty list"),
        ({"optimizer.lr": {"float": [0.1, 0.01]}}, "search.space.optimizer.lr.float: low > high: 0.1 > 0.01"),
        ({"train.epochs": {"int": [5, 2]}}, "search.space.train.epochs.int: low > high: 5 > 2"),
        ({"optimizer.lr": {"float": [0.0, 0.1], "log": True}}, "a log range must be above zero, got [0.0, 0.1]"),
        ({"optimizer.lr": {"float": [-1.0, 0.1], "log": True}}, "a log range must be above zero"),
        ({"optimizer.lrr": {"float": [0.01, 0.1]}}, "search.space.optimizer.lrr = 0.01"),
        ({"train.epoch": {"int": [1, 2]}}, "train.epoch: unknown key. Did you mean 'epochs'?"),
        ({"model.layers[7].out_features": {"int": [1, 2]}}, "unknown key 'model.layers[7].out_features'"),
        ({"model.layers[1].inplace": {"choice": [True]}}, "'ReLU' takes no arguments here"),
        ({"optimizer.lr": {"range": [0.01, 0.1]}}, "expected exactly one of choice, int, float"),
        ({"optimizer.lr": {"float": [0.01, 0.1], "lg": True}}, "search.space.optimizer.lr.lg: unknown key"),
        ({"optimizer.lr": 0.1}, "expected a table such as"),
        ({"train.epochs": {"int": [1.5, 3]}}, "expected two integers"),
        ({"optimizer.lr": {"float": [0.01, 0.1], "step": 0.01, "log": True}}, "either step or log"),
        ({"train..epochs": {"int": [1, 2]}}, "not a config key"),
        ({}, "search.space: missing"),
    ],
)
def test_bad_spaces_fail_clearly(search_doc, space, message):
    with pytest.raises(ConfigError) as error:
        parse_search(_space(search_doc, **space))
    assert message in str(error.value)


def test_a_value_the_config_rejects_is_reported_with_the_space(search_doc):
    with pytest.raises(
        ConfigError, match=r"search.space.train.batch_size = 0: .*train.batch_size: expected a value ≥ 1"
    ):
        parse_search(_space(search_doc, **{"train.batch_size": {"choice": [0, 32]}}))


@pytest.mark.parametrize(
    "keys, message",
    [
        ({"sampler": "bayes"}, "search.sampler: expected one of grid, random, tpe, cmaes, got 'bayes'"),
        ({"pruner": "asha"}, "search.pruner: expected one of none, median, hyperband"),
        ({"direction": "up"}, "search.direction: expected maximize, minimize or auto"),
        ({"trials": 0}, "search.trials: expected a value ≥ 1, got 0"),
        ({"cv": 1}, "search.cv: expected 0 (use the validation split) or at least 2 folds"),
        ({"timeout": -3}, "search.timeout: expected a positive number of seconds"),
        ({"trails": 3}, "search.trails: unknown key"),
        ({"trials": True}, "search.trials: expected an integer, got True"),
    ],
)
def test_bad_settings_fail_clearly(search_doc, keys, message):
    with pytest.raises(ConfigError) as error:
        parse_search(search_doc(**keys))
    assert message in str(error.value)


def test_grid_needs_a_finite_space(search_doc):
    with pytest.raises(ConfigError, match="the grid sampler needs a finite space"):
        parse_search(search_doc(sampler="grid"))


def test_two_spaces_may_not_set_one_key(search_doc):
    doc = _space(search_doc, a={"choice": [8]}, b={"choice": [16], "keys": ["a"]})
    with pytest.raises(ConfigError):
        parse_search(doc)
    doc = _space(search_doc, **{"optimizer.lr": {"choice": [0.1]}, "lr": {"choice": [0.2], "keys": ["optimizer.lr"]}})
    with pytest.raises(ConfigError, match="sets 'optimizer.lr', which 'optimizer.lr' sets too"):
        parse_search(doc)


def test_missing_section():
    with pytest.raises(ConfigError, match=r"search: missing: add a \[search\] section"):
        parse_search({"model": {"layers": []}})


def test_train_config_accepts_a_search_section(search_doc):
    from shenjing.train.config import parse_config

    config = parse_config(search_doc())
    assert config.optimizer.options == {"lr": 1e-3}
