"""The ``[search]`` section of a ``shenjing train`` configuration: the spaces, the sampler, the budget, the objective.

    [search]
    sampler = "tpe"              # grid | random | tpe | cmaes (Optuna's GridSampler, RandomSampler, TPESampler, ...)
    trials = 20                  # how many trials (grid: default and at most the size of the grid)
    timeout = 600                # or / and a time budget in seconds
    objective = "val_accuracy"   # a metric the validation split logs ("val_loss", "val_f1", ...)
    direction = "auto"           # maximize | minimize | auto (from the metric's name)
    cv = 0                       # k > 1: the objective is the mean of k folds (shenjing.train.cross_validate)
    pruner = "median"            # none | median | hyperband, fed the per-epoch objective
    seed = 0                     # the sampler's seed: random and TPE studies repeat exactly
    storage = "sqlite:///runs/digits/search/study.db"   # default: a SQLite file in the search folder
    study = "digits"             # the study's name in the storage (default: the config's name)
    dir = "runs/digits/search"   # where results, plots, best.toml and the best model go

    [search.space]
    "optimizer.lr" = { float = [1e-4, 1e-1], log = true }
    "train.batch_size" = { choice = [16, 32, 64] }
    hidden = { int = [16, 128], step = 16, keys = ["model.layers[0].out_features", "model.layers[2].in_features"] }

A space's name is the config key it sets (dots between tables, ``[i]`` for a list element, so layer sizes can be
searched), or any name with ``keys = [...]`` when one value sets several keys (a hidden layer's width is both one
layer's ``out_features`` and the next one's ``in_features``). Every space is checked when the section is read:
an empty choice, ``low > high``, a log range that touches zero, or a key the configuration does not accept all
fail with a :class:`~shenjing.train.config.ConfigError` naming ``search.space.NAME``.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..train.config import ConfigError, parse_config

__all__ = ["Space", "SearchConfig", "parse_search", "apply_params", "grid_size", "SAMPLERS", "PRUNERS"]

SAMPLERS = ("grid", "random", "tpe", "cmaes")
PRUNERS = ("none", "median", "hyperband")
_KEYS = (
    "sampler",
    "trials",
    "timeout",
    "objective",
    "direction",
    "cv",
    "pruner",
    "seed",
    "storage",
    "study",
    "dir",
    "space",
)
_KINDS = ("choice", "int", "float")


@dataclass
class Space:
    """One hyperparameter: ``kind`` choice | int | float, its values or range, and the config keys it sets."""

    name: str
    kind: str
    keys: list[str]
    choices: list | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False

    def suggest(self, trial: Any) -> Any:
        """The value Optuna's ``trial`` draws for this space."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, self.choices)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def grid(self) -> list:
        """Every value of the space, for the grid sampler (a float range needs a ``step``)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step is None:
            raise ConfigError(
                f"search.space.{self.name}: the grid sampler needs a finite space: give the float range a step, "
                "or use a choice"
            )
        n = int(math.floor((self.high - self.low) / self.step + 1e-9))
        return [self.low + i * self.step for i in range(n + 1)]


@dataclass
class SearchConfig:
    space: list[Space]
    sampler: str = "tpe"
    trials: int | None = None
    timeout: float | None = None
    objective: str | None = None
    direction: str = "auto"
    cv: int = 0
    pruner: str = "none"
    seed: int | None = 0
    storage: str | None = None
    study: str | None = None
    dir: str | None = None
    raw: dict = field(default_factory=dict)  # the configuration without its [search] section
    source: str = "<config>"


def _fail(source: str, path: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {path}: {message}")


def _number(value: Any, source: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(source, path, f"expected a number, got {value!r}")
    return value


def _space(name: str, raw: Any, source: str) -> Space:
    path = f"search.space.{name}"
    if not isinstance(raw, dict):
        raise _fail(
            source,
            path,
            f"expected a table such as {{ choice = [16, 32] }}, {{ int = [1, 4] }} or "
            f"{{ float = [1e-4, 1e-1], log = true }}, got {raw!r}",
        )
    kinds = [k for k in _KINDS if k in raw]
    if len(kinds) != 1:
        raise _fail(source, path, f"expected exactly one of {', '.join(_KINDS)}, got {', '.join(raw) or 'none'}")
    kind = kinds[0]
    unknown = [k for k in raw if k not in (kind, "keys", "step", "log")]
    if unknown:
        raise _fail(source, f"{path}.{unknown[0]}", "unknown key. Valid keys: choice | int | float, step, log, keys")
    keys = raw.get("keys", [name])
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise _fail(source, f"{path}.keys", f"expected a non-empty list of config keys, got {keys!r}")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise _fail(source, f"{path}.log", f"expected true or false, got {log!r}")
    if kind == "choice":
        choices = raw["choice"]
        if not isinstance(choices, list) or not choices:
            raise _fail(source, f"{path}.choice", f"expected a non-empty list of values, got {choices!r}")
        if "step" in raw or log:
            raise _fail(source, path, "step and log apply to int and float ranges, not to a choice")
        return Space(name, kind, keys, choices=choices)
    bounds = raw[kind]
    if not isinstance(bounds, list) or len(bounds) != 2:
        raise _fail(source, f"{path}.{kind}", f"expected [low, high], got {bounds!r}")
    low, high = (_number(b, source, f"{path}.{kind}") for b in bounds)
    if kind == "int" and not all(isinstance(b, int) for b in bounds):
        raise _fail(source, f"{path}.int", f"expected two integers, got {bounds!r} (use float = [...] for numbers)")
    if low > high:
        raise _fail(source, f"{path}.{kind}", f"low > high: {low!r} > {high!r}")
    step = raw.get("step")
    if step is not None:
        step = _number(step, source, f"{path}.step")
        if step <= 0 or (kind == "int" and not isinstance(step, int)):
            raise _fail(
                source, f"{path}.step", f"expected a positive {'integer' if kind == 'int' else 'number'}, got {step!r}"
            )
        if log:
            raise _fail(source, path, "a range takes either step or log, not both (Optuna's rule)")
    if log and low <= 0:
        raise _fail(source, f"{path}.{kind}", f"a log range must be above zero, got [{low!r}, {high!r}]")
    return Space(
        name,
        kind,
        keys,
        low=float(low) if kind == "float" else low,
        high=float(high) if kind == "float" else high,
        step=step,
        log=log,
    )


def _check(value: Any, kinds: tuple, source: str, path: str, what: str) -> Any:
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise _fail(source, path, f"expected {what}, got {value!r}")
    return value


def parse_search(raw: dict, source: str = "<config>") -> SearchConfig:
    """The ``[search]`` section of a parsed TOML document, checked; every space is tried on the configuration."""
    if "search" not in raw:
        raise _fail(
            source,
            "search",
            "missing: add a [search] section with a [search.space] table "
            '(e.g. "optimizer.lr" = { float = [1e-4, 1e-1], log = true })',
        )
    section = raw["search"]
    if not isinstance(section, dict):
        raise _fail(source, "search", f"expected a table, got {section!r}")
    for key in section:
        if key not in _KEYS:
            raise _fail(source, f"search.{key}", f"unknown key. Valid keys: {', '.join(_KEYS)}")
    base = {k: v for k, v in raw.items() if k != "search"}
    out = SearchConfig(space=[], raw=base, source=source)
    if "sampler" in section:
        sampler = _check(section["sampler"], (str,), source, "search.sampler", "a string")
        if sampler.lower() not in SAMPLERS:
            raise _fail(source, "search.sampler", f"expected one of {', '.join(SAMPLERS)}, got {sampler!r}")
        out.sampler = sampler.lower()
    if "pruner" in section:
        pruner = _check(section["pruner"], (str,), source, "search.pruner", "a string")
        if pruner.lower() not in PRUNERS:
            raise _fail(source, "search.pruner", f"expected one of {', '.join(PRUNERS)}, got {pruner!r}")
        out.pruner = pruner.lower()
    if "direction" in section:
        direction = _check(section["direction"], (str,), source, "search.direction", "a string")
        if direction not in ("maximize", "minimize", "auto"):
            raise _fail(source, "search.direction", f"expected maximize, minimize or auto, got {direction!r}")
        out.direction = direction
    for key in ("trials", "cv", "seed"):
        if key in section:
            value = _check(section[key], (int,), source, f"search.{key}", "an integer")
            if value < (1 if key == "trials" else 0):
                raise _fail(source, f"search.{key}", f"expected a value ≥ {1 if key == 'trials' else 0}, got {value}")
            setattr(out, key, value)
    if out.cv == 1:
        raise _fail(source, "search.cv", "expected 0 (use the validation split) or at least 2 folds, got 1")
    if "timeout" in section:
        timeout = _number(section["timeout"], source, "search.timeout")
        if timeout <= 0:
            raise _fail(source, "search.timeout", f"expected a positive number of seconds, got {timeout!r}")
        out.timeout = float(timeout)
    for key in ("objective", "storage", "study", "dir"):
        if key in section:
            setattr(out, key, _check(section[key], (str,), source, f"search.{key}", "a string"))
    spaces = section.get("space")
    if not isinstance(spaces, dict) or not spaces:
        raise _fail(
            source,
            "search.space",
            'missing: list the hyperparameters, e.g. "optimizer.lr" = { float = [1e-4, 1e-1], log = true }',
        )
    out.space = [_space(name, value, source) for name, value in spaces.items()]
    seen: dict = {}
    for space in out.space:
        for key in space.keys:
            if key in seen:
                raise _fail(source, f"search.space.{space.name}", f"sets {key!r}, which {seen[key]!r} sets too")
            seen[key] = space.name
    if out.sampler == "grid":
        for space in out.space:
            space.grid()  # a float range without a step fails here
    _try_spaces(out)
    return out


def _try_spaces(search: SearchConfig) -> None:
    """Each space's low and high values applied one at a time: an unknown key or a bad value fails now, named."""
    for space in search.space:
        values = space.choices if space.kind == "choice" else [space.low, space.high]
        for value in values:
            if space.kind == "int":
                value = int(value)
            try:
                config = apply_params(search, {space.name: value}, search.source)
            except ConfigError as error:
                raise ConfigError(f"{search.source}: search.space.{space.name} = {value!r}: {error}") from None
            del config


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(key: str, source: str, name: str) -> list:
    parts: list = []
    position = 0
    for match in _PART.finditer(key):
        if match.start() != position and key[position : match.start()] != ".":
            break
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    if position != len(key) or not parts or isinstance(parts[0], int):
        raise _fail(
            source,
            f"search.space.{name}",
            f"not a config key: {key!r} (write e.g. optimizer.lr or model.layers[0].out_features)",
        )
    return parts


def _set(document: dict, key: str, value: Any, source: str, name: str) -> None:
    parts = _parts(key, source, name)
    node: Any = document
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = (
            key
            if last
            else "".join(
                f"[{p}]" if isinstance(p, int) else ("." if j else "") + p for j, p in enumerate(parts[: i + 1])
            )
        )
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise _fail(source, f"search.space.{name}", f"unknown key {key!r}: {where} is not in the config")
        elif not isinstance(node, dict):
            if isinstance(node, str) and i > 0:  # a layer written as "ReLU": make it a table to set an argument
                raise _fail(
                    source,
                    f"search.space.{name}",
                    f'unknown key {key!r}: {node!r} takes no arguments here (write it as {{ type = "{node}", ... }})',
                )
            raise _fail(source, f"search.space.{name}", f"unknown key {key!r}: {where} is not a table")
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and part not in node:
                node[part] = {}
            node = node[part]


def apply_params(search: SearchConfig, params: dict, source: str | None = None, parse: bool = True) -> Any:
    """The configuration with ``params`` (``{space name: value}``) set: a checked Config, or the raw document
    when ``parse=False``."""
    document = copy.deepcopy(search.raw)
    by_name = {s.name: s for s in search.space}
    for name, value in params.items():
        if name not in by_name:
            raise ConfigError(f"{search.source}: search.space: no space named {name!r}")
        for key in by_name[name].keys:
            _set(document, key, value, search.source, name)
    if not parse:
        return document
    return parse_config(document, source=source or search.source)


def grid_size(search: SearchConfig) -> int:
    return math.prod(len(s.grid()) for s in search.space)
