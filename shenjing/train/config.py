"""Training configuration: a dataclass per TOML section, checked key by key, every error naming the key's path.

    name = "digits-mlp"
    seed = 0

    [data]
    dataset = "digits"            # mnist | fashion_mnist | digits | csv:PATH
    val = 0.1                     # fraction of the training data held out for validation
    test = 0.2                    # digits and csv: fraction held out for testing (MNIST has its own test set)

    [model]
    layers = [
      { type = "Linear", in_features = 64, out_features = 64 },
      "ReLU",
      { type = "Linear", in_features = 64, out_features = 10 },
    ]

    loss = "cross_entropy"        # or a table: [loss] type = "CrossEntropyLoss", label_smoothing = 0.1

    [optimizer]
    type = "adam"                 # sgd | adam | adamw | rmsprop | adagrad; other keys are its arguments
    lr = 1e-3

    [train]
    epochs = 10
    batch_size = 32

    [output]
    dir = "runs/digits-mlp"

Layer, loss, optimizer and scheduler names are matched without regard to case or underscores
("step_lr" = "StepLR"); layers come only from the layer registry (:mod:`shenjing.registry`).
"""

from __future__ import annotations

import difflib
import inspect
import os
import sys
import typing
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = [
    "Config",
    "DataConfig",
    "TrainConfig",
    "OutputConfig",
    "NamedObject",
    "ConfigError",
    "load_config",
    "parse_config",
    "build_model",
    "build_loss",
    "build_optimizer",
    "build_scheduler",
    "check_output_dir",
    "to_dict",
]

DATASETS = ("mnist", "fashion_mnist", "digits", "csv:PATH")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key's path and the valid choices."""


@dataclass
class DataConfig:
    dataset: str = field(default="digits", metadata={"help": "mnist | fashion_mnist | digits | csv:PATH"})
    val: float = field(default=0.1, metadata={"min": 0.0, "below": 1.0})
    test: float = field(default=0.2, metadata={"min": 0.0, "below": 1.0})
    normalize: bool = False
    stratify: bool = True
    split_seed: int = field(default=0, metadata={"min": 0})
    root: str | None = None
    target: str | int | None = None
    task: str = field(default="classification", metadata={"choices": ("classification", "regression")})


@dataclass
class TrainConfig:
    epochs: int = field(default=10, metadata={"min": 1})
    batch_size: int = field(default=32, metadata={"min": 1})
    metrics: list[str] | None = None
    clip_grad_norm: float | None = field(default=None, metadata={"positive": True})
    clip_grad_value: float | None = field(default=None, metadata={"positive": True})
    shuffle: bool = True
    early_stopping: dict | None = None
    scheduler_interval: str = field(default="epoch", metadata={"choices": ("epoch", "step")})


@dataclass
class OutputConfig:
    dir: str | None = None
    plots: bool = True
    checkpoint: bool = True


@dataclass
class NamedObject:
    """A loss, optimizer or scheduler: its type name (as written) and its constructor arguments."""

    type: str
    options: dict = field(default_factory=dict)


@dataclass
class Config:
    name: str = "run"
    seed: int | None = 0
    device: str = "cpu"
    data: DataConfig = field(default_factory=DataConfig)
    layers: list = field(default_factory=list)
    input_shape: list[int] | None = None
    loss: NamedObject = field(default_factory=lambda: NamedObject("CrossEntropyLoss"))
    optimizer: NamedObject = field(default_factory=lambda: NamedObject("Adam", {"lr": 1e-3}))
    scheduler: NamedObject | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    source: str = "<config>"

    @property
    def out_dir(self) -> str:
        return self.output.dir or os.path.join("runs", self.name)


# ---- reading -------------------------------------------------------------------------------------------------------
def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli
    except ImportError:
        raise ImportError("reading TOML on Python 3.10 needs tomli: pip install tomli") from None
    return tomli


def read_toml(path: str) -> dict:
    """The TOML document at ``path`` as a dict; a missing file, bad TOML or absurd nesting is a ConfigError."""
    toml = _toml()
    try:
        with open(path, "rb") as f:
            return toml.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except toml.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a usable configuration: arrays or tables nested too deeply") from None


def load_config(path: str | os.PathLike) -> Config:
    """Read and check a TOML training configuration."""
    path = os.fspath(path)
    raw = read_toml(path)
    try:
        config = parse_config(raw, source=path)
    except RecursionError:
        raise ConfigError(f"{path}: not a usable configuration: values nested too deeply") from None
    if "name" not in raw:
        config.name = os.path.splitext(os.path.basename(path))[0]
    return config


def _fail(source: str, path: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {path}: {message}")


def _suggest(key: str, valid: Any) -> str:
    """" Did you mean 'AdamW'?" for the nearest valid name, compared without case, underscores or dashes."""
    names = list(valid)
    by_form: dict = {}
    for name in names:
        by_form.setdefault(_canonical(str(name)), name)
    close = difflib.get_close_matches(_canonical(str(key)), list(by_form), n=1, cutoff=0.6)
    return f" Did you mean {by_form[close[0]]!r}?" if close else ""


def _check_keys(raw: dict, valid: Any, source: str, prefix: str) -> None:
    for key in raw:
        if key not in valid:
            path = f"{prefix}.{key}" if prefix else key
            hint = (
                f" (In TOML a key written after a [table] header belongs to that table: move {key!r} above "
                "the first [table].)"
                if prefix and key in _TOP
                else ""
            )
            raise _fail(source, path, f"unknown key.{_suggest(key, valid)} Valid keys: {', '.join(valid)}{hint}")


def _type_name(hint: Any) -> str:
    names = {
        int: "an integer",
        float: "a number",
        bool: "true or false",
        str: "a string",
        dict: "a table",
        type(None): "nothing",
    }
    args = typing.get_args(hint)
    if typing.get_origin(hint) is list:
        return f"a list of {_type_name(args[0])}s" if args else "a list"
    if args:
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _check_value(value: Any, hint: Any, source: str, path: str) -> Any:
    """``value`` converted to the annotation ``hint`` (int → float allowed), or a ConfigError naming ``path``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if args and origin is not list:  # a union: X | None, str | int | None
        for option in args:
            if option is type(None) and value is None:
                return None
            try:
                return _check_value(value, option, source, path)
            except ConfigError:
                continue
        raise _fail(source, path, f"expected {_type_name(hint)}, got {value!r}")
    if origin is list:
        if not isinstance(value, list):
            raise _fail(source, path, f"expected {_type_name(hint)}, got {value!r}")
        return [_check_value(v, args[0], source, f"{path}[{i}]") for i, v in enumerate(value)] if args else value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (bool, str, dict) and isinstance(value, hint):
        return value
    raise _fail(source, path, f"expected {_type_name(hint)}, got {value!r}")


def _section(cls: type, raw: Any, source: str, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise _fail(source, prefix, f"expected a table of keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    specs = {f.name: f for f in fields(cls)}
    _check_keys(raw, specs, source, prefix)
    values = {}
    for key, value in raw.items():
        path = f"{prefix}.{key}"
        value = _check_value(value, hints[key], source, path)
        meta = specs[key].metadata
        if value is not None:
            if "choices" in meta and value not in meta["choices"]:
                raise _fail(source, path, f"expected one of {', '.join(map(repr, meta['choices']))}, got {value!r}")
            if "min" in meta and value < meta["min"]:
                raise _fail(source, path, f"expected a value ≥ {meta['min']}, got {value!r}")
            if "below" in meta and value >= meta["below"]:
                raise _fail(source, path, f"expected a value below {meta['below']}, got {value!r}")
            if meta.get("positive") and value <= 0:
                raise _fail(source, path, f"expected a positive number, got {value!r}")
        values[key] = value
    return cls(**values)


def _named(raw: Any, source: str, path: str) -> NamedObject:
    if isinstance(raw, str):
        return NamedObject(raw)
    if not isinstance(raw, dict):
        raise _fail(source, path, f"expected a name or a table with a 'type' key, got {raw!r}")
    if "type" not in raw:
        raise _fail(source, f"{path}.type", 'missing: name the kind, e.g. type = "adam"')
    if not isinstance(raw["type"], str):
        raise _fail(source, f"{path}.type", f"expected a string, got {raw['type']!r}")
    return NamedObject(raw["type"], {k: v for k, v in raw.items() if k != "type"})


_TOP = ("name", "seed", "device", "data", "model", "loss", "optimizer", "scheduler", "train", "output")


def parse_config(raw: dict, source: str = "<config>") -> Config:
    """A :class:`Config` from a parsed TOML document, with every key and value checked (and the model built once)."""
    _check_keys(raw, (*_TOP, "search"), source, "")  # [search]: read by shenjing.search, ignored by training
    config = Config(source=source)
    if "name" in raw:
        config.name = _check_value(raw["name"], str, source, "name")
    if "seed" in raw:
        config.seed = _check_value(raw["seed"], int, source, "seed")
        if not 0 <= config.seed < 2**63:
            raise _fail(source, "seed", f"expected an integer from 0 to 2**63 - 1, got {config.seed!r}")
    if "device" in raw:
        device = _check_value(raw["device"], str, source, "device")
        if device.partition(":")[0] not in ("cpu", "cuda"):
            raise _fail(source, "device", f"expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
        config.device = device
    config.data = _section(DataConfig, raw.get("data", {}), source, "data")
    dataset = config.data.dataset
    if dataset not in DATASETS[:3] and not dataset.startswith("csv:"):
        raise _fail(
            source,
            "data.dataset",
            f"expected one of {', '.join(DATASETS)}, got {dataset!r}." + _suggest(dataset, DATASETS[:3]),
        )
    if dataset.startswith("csv:") and config.data.target is None:
        raise _fail(source, "data.target", 'missing: name the CSV\'s target column (target = "label")')
    if config.data.val + config.data.test >= 1:
        raise _fail(source, "data.val", f"val + test = {config.data.val + config.data.test} leaves no training data")
    model = raw.get("model")
    if not isinstance(model, dict) or "layers" not in model:
        raise _fail(
            source,
            "model.layers",
            'missing: list the layers, e.g. layers = [{ type = "Linear", in_features = 64, out_features = 10 }]',
        )
    _check_keys(model, ("layers", "input_shape"), source, "model")
    if "input_shape" in model:
        config.input_shape = _check_value(model["input_shape"], list[int], source, "model.input_shape")
    config.layers = _layers(model["layers"], source)
    if "loss" in raw:
        config.loss = _named(raw["loss"], source, "loss")
    if "optimizer" in raw:
        config.optimizer = _named(raw["optimizer"], source, "optimizer")
    if "scheduler" in raw:
        config.scheduler = _named(raw["scheduler"], source, "scheduler")
    config.train = _section(TrainConfig, raw.get("train", {}), source, "train")
    config.output = _section(OutputConfig, raw.get("output", {}), source, "output")
    # build each piece once, so that every bad name or argument is reported now, with its path
    model = build_model(config)
    build_loss(config)
    optimizer = build_optimizer(config, model.parameters())
    build_scheduler(config, optimizer)
    _check_metrics(config)
    _check_early_stopping(config)
    return config


# ---- named things: layers, losses, optimizers, schedulers -----------------------------------------------------------
def _canonical(name: str, strip_loss: bool = False) -> str:
    key = name.lower().replace("_", "").replace("-", "")
    return key[:-4] if strip_loss and key.endswith("loss") and len(key) > 4 else key


def _lookup(name: str, table: dict, source: str, path: str, what: str, strip_loss: bool = False) -> type:
    by_key = {_canonical(k, strip_loss): v for k, v in table.items()}
    found = by_key.get(_canonical(name, strip_loss))
    if found is None:
        raise _fail(source, path, f"unknown {what} {name!r}.{_suggest(name, table)} Valid: {', '.join(sorted(table))}")
    return found


def _arguments(klass: type, options: dict, source: str, path: str, skip: int = 0) -> dict:
    """``options`` checked against ``klass.__init__``'s parameters: unknown names, missing ones, value types."""
    signature = inspect.signature(klass.__init__)
    params = [
        p for p in list(signature.parameters.values())[1 + skip :] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    valid = {p.name: p for p in params}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    checked = {}
    for key, value in options.items():
        if key not in valid and not takes_any:
            raise _fail(
                source,
                f"{path}.{key}",
                f"unknown argument of {klass.__name__}.{_suggest(key, valid)} Valid: {', '.join(valid) or 'none'}",
            )
        default = valid[key].default if key in valid else inspect.Parameter.empty
        checked[key] = _like_default(value, default, source, f"{path}.{key}")
    missing = [p.name for p in params if p.default is inspect.Parameter.empty and p.name not in options]
    if missing:
        raise _fail(source, path, f"{klass.__name__} needs {', '.join(missing)}")
    return checked


def _like_default(value: Any, default: Any, source: str, path: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _fail(source, path, f"expected true or false, got {value!r}")
    elif isinstance(default, float | int) and default is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(source, path, f"expected a number, got {value!r}")
        return float(value) if isinstance(default, float) else value
    elif isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    return value


def _registry_table() -> dict:
    from .. import registry

    return {name: registry.get_module_class(name) for name in registry.registered_names() if not name.endswith("Loss")}


def _layers(raw: Any, source: str) -> list:
    if not isinstance(raw, list) or not raw:
        raise _fail(source, "model.layers", f"expected a non-empty list of layers, got {raw!r}")
    table = _registry_table()
    layers = []
    for i, entry in enumerate(raw):
        path = f"model.layers[{i}]"
        spec = _named(entry, source, path)
        klass = _lookup(spec.type, table, source, f"{path}.type", "layer type")
        if klass.__name__ in ("Sequential", "ModuleList", "ModuleDict"):
            raise _fail(source, f"{path}.type", "containers cannot be listed; the layers list is a Sequential")
        layers.append((klass, _arguments(klass, spec.options, source, path)))
    return layers


def build_model(config: Config) -> Any:
    """``nn.Sequential`` of the configured layers (fresh weights)."""
    from ..nn import Sequential

    modules = []
    for i, (klass, options) in enumerate(config.layers):
        try:
            modules.append(klass(**options))
        except (TypeError, ValueError, RuntimeError) as error:  # RuntimeError: PyTorch's class for negative sizes
            key = _blamed_key(options, error)
            path = f"model.layers[{i}].{key}" if key else f"model.layers[{i}]"
            raise _fail(config.source, path, f"{klass.__name__}({_kwargs(options)}): {error}") from None
    return Sequential(*modules)


def _kwargs(options: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in options.items())


def _losses() -> dict:
    from .. import nn

    return {
        name: getattr(nn, name) for name in dir(nn) if name.endswith("Loss") and isinstance(getattr(nn, name), type)
    }


def _optimizers() -> dict:
    from .. import optim

    return {  # NOTE: not LBFGS: its step needs a closure that re-evaluates the loss, which the training loop has not
        name: value
        for name, value in vars(optim).items()
        if isinstance(value, type) and issubclass(value, optim.Optimizer) and value not in (optim.Optimizer, optim.LBFGS)
    }


def _schedulers() -> dict:
    from ..optim import lr_scheduler

    base = getattr(lr_scheduler, "LRScheduler", object)
    return {
        name: value
        for name, value in vars(lr_scheduler).items()
        if isinstance(value, type)
        and issubclass(value, base)
        and value is not base
        and not name.startswith("_")
        and name not in ("LambdaLR", "MultiplicativeLR", "LRScheduler", "SequentialLR", "ChainedScheduler")
    }


def _blamed_key(options: dict, error: Exception) -> str | None:
    """The argument a constructor's error is about: the one it names, else the one whose value it quotes."""
    import re

    text = str(error)
    named = [k for k in options if re.search(rf"\b{re.escape(k)}\b", text)]
    if len(named) == 1:
        return named[0]
    quoted = [
        k
        for k, v in options.items()
        if not isinstance(v, bool) and re.search(rf"(?<![\w.]){re.escape(str(v))}(?![\w.])", text)
    ]
    return quoted[0] if len(quoted) == 1 else None


def _construct(klass: type, args: tuple, options: dict, source: str, path: str) -> Any:
    try:
        return klass(*args, **options)
    except (TypeError, ValueError, RuntimeError) as error:
        key = _blamed_key(options, error)
        where = f"{path}.{key}" if key else path
        raise _fail(source, where, f"{klass.__name__}({_kwargs(options)}): {error}") from None


def build_loss(config: Config) -> Any:
    klass = _lookup(config.loss.type, _losses(), config.source, "loss", "loss", strip_loss=True)
    options = _arguments(klass, config.loss.options, config.source, "loss")
    return _construct(klass, (), options, config.source, "loss")


def build_optimizer(config: Config, params: Any) -> Any:
    klass = _lookup(config.optimizer.type, _optimizers(), config.source, "optimizer.type", "optimizer")
    options = _arguments(klass, config.optimizer.options, config.source, "optimizer", skip=1)
    return _construct(klass, (params,), options, config.source, "optimizer")


def build_scheduler(config: Config, optimizer: Any) -> Any:
    if config.scheduler is None:
        return None
    klass = _lookup(config.scheduler.type, _schedulers(), config.source, "scheduler.type", "scheduler")
    options = _arguments(klass, config.scheduler.options, config.source, "scheduler", skip=1)
    return _construct(klass, (optimizer,), options, config.source, "scheduler")


def _check_metrics(config: Config) -> None:
    from .metrics import METRICS, MetricAccumulator, canonical_metric

    for i, name in enumerate(config.train.metrics or []):
        try:
            canonical_metric(name)
        except ValueError:
            raise _fail(
                config.source,
                f"train.metrics[{i}]",
                f"unknown metric {name!r}.{_suggest(name, METRICS)} Valid: {', '.join(METRICS)}",
            ) from None
    try:
        MetricAccumulator(config.train.metrics or [])
    except ValueError as error:
        raise _fail(config.source, "train.metrics", str(error)) from None


def _check_early_stopping(config: Config) -> None:
    if config.train.early_stopping is None:
        return
    from .callbacks import EarlyStopping

    options = _arguments(EarlyStopping, config.train.early_stopping, config.source, "train.early_stopping")
    _construct(EarlyStopping, (), options, config.source, "train.early_stopping")


def check_output_dir(config: Config, explicit: bool = False) -> None:
    """``output.dir`` from a configuration file must stay inside the working folder; a folder given explicitly
    (``--out DIR``, ``explicit=True``) may be anywhere."""
    if explicit:
        return
    out = os.path.realpath(config.out_dir)
    here = os.path.realpath(os.getcwd())
    if os.path.commonpath([out, here]) != here:
        raise _fail(
            config.source,
            "output.dir",
            f"{config.output.dir!r} is outside the working folder {here}: give a folder inside it, or pass "
            "--out DIR on the command line to write there on purpose",
        )


def to_dict(config: Config) -> dict:
    """The configuration as plain JSON values (stored in the model file's metadata)."""

    def named(obj: NamedObject | None) -> Any:
        return None if obj is None else {"type": obj.type, **obj.options}

    return {
        "name": config.name,
        "seed": config.seed,
        "device": config.device,
        "data": {f.name: getattr(config.data, f.name) for f in fields(DataConfig)},
        "model": {"layers": [{"type": k.__name__, **o} for k, o in config.layers], "input_shape": config.input_shape},
        "loss": named(config.loss),
        "optimizer": named(config.optimizer),
        "scheduler": named(config.scheduler),
        "train": {f.name: getattr(config.train, f.name) for f in fields(TrainConfig)},
        "output": {f.name: getattr(config.output, f.name) for f in fields(OutputConfig)},
    }
