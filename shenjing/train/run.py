"""``shenjing train CONFIG``: load the data, build the model, fit, then write the model file, history and plots."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy  # host-side gathering of evaluation arrays

from ..backend import manual_seed
from .config import Config, ConfigError, build_loss, build_model, build_optimizer, build_scheduler, to_dict

__all__ = ["DataBundle", "load_data", "train_from_config", "dataset_arrays", "write_plots"]


@dataclass
class DataBundle:
    """The splits of a configured data set and what the model file must remember about them."""

    train: Any
    val: Any
    test: Any
    input_shape: list[int]
    class_names: list[str] | None
    task: str
    preprocessing: dict


def _first_layer_is_linear(config: Config) -> bool:
    return bool(config.layers) and config.layers[0][0].__name__ == "Linear"


def load_data(config: Config, flatten: bool | None = None) -> DataBundle:
    """The configured data set split into train / validation / test (MNIST's own test set for MNIST-like sets)."""
    from .. import datasets
    from ..data import train_val_test_split

    data = config.data
    flatten = _first_layer_is_linear(config) if flatten is None else flatten
    name = data.dataset
    if name in ("mnist", "fashion_mnist"):
        loader = datasets.mnist if name == "mnist" else datasets.fashion_mnist
        root = check_data_root(data.root, f"{config.source}: data.root")
        try:
            full = loader(root=root, train=True, flatten=flatten, normalize=data.normalize)
            test = loader(root=root, train=False, flatten=flatten, normalize=data.normalize)
        except RuntimeError as error:  # offline and the files are not there
            raise ConfigError(f"{config.source}: data.dataset: {_not_found(name, error)}") from None
        train, val, _ = train_val_test_split(
            full, val=data.val, test=0, stratify=data.stratify or None, seed=data.split_seed
        )
        classes = full.classes
        preprocessing = {
            "kind": "image",
            "size": [28, 28],
            "box": 20 if name == "mnist" else 28,
            "normalize": full.normalization,
            "flatten": flatten,
        }
        shape = list(full.tensors[0].shape[1:])
        task = "classification"
    elif name == "digits":
        full = datasets.digits(flatten=flatten, normalize=data.normalize)
        train, val, test = train_val_test_split(
            full, val=data.val, test=data.test, stratify=data.stratify or None, seed=data.split_seed
        )
        classes = full.classes
        preprocessing = {"kind": "image", "size": [8, 8], "box": 8, "normalize": full.normalization, "flatten": flatten}
        shape = list(full.tensors[0].shape[1:])
        task = "classification"
    else:  # csv:PATH
        path = name[len("csv:") :]
        try:
            full = datasets.load_csv(path, target=data.target, task=data.task)
        except FileNotFoundError:
            raise ConfigError(f"{config.source}: data.dataset: no such CSV file {path!r}") from None
        stratify = data.stratify and data.task == "classification"
        train, val, test = train_val_test_split(
            full, val=data.val, test=data.test, stratify=stratify or None, seed=data.split_seed
        )
        classes = full.classes
        task = data.task
        preprocessing = {"kind": "table", "features": full.feature_names, "target": full.target_name}
        shape = list(full.tensors[0].shape[1:])
    if len(val) == 0:
        val = None
    if test is not None and len(test) == 0:
        test = None
    return DataBundle(train, val, test, shape, classes, task, preprocessing)


def check_data_root(root: str | None, where: str) -> str | None:
    """An explicitly given data folder (``root``, else ``$SHENJING_DATA``) must exist: it is never created."""
    if root is not None:
        if not os.path.isdir(os.path.expanduser(root)):
            raise ConfigError(
                f"{where}: no such data folder {root!r}: point it at the folder holding the data files "
                "(or leave it out to use $SHENJING_DATA or ~/.cache/shenjing)"
            )
        return root
    env = os.environ.get("SHENJING_DATA")
    if env and not os.path.isdir(os.path.expanduser(env)):
        raise ConfigError(
            f"$SHENJING_DATA names no folder ({env!r}): set SHENJING_DATA=/path/to/the/data/folder "
            "(holding mnist/ or the IDX files)"
        )
    return root


def _not_found(name: str, error: Exception) -> str:
    """One line for a data set that is neither on disk nor downloadable."""
    lines = str(error).splitlines()
    fix = lines[-1] if lines else str(error)
    return f"{name} is not on disk and could not be downloaded. {fix}"


def dataset_arrays(dataset: Any) -> tuple:
    """``(X, y)`` host arrays of a TensorDataset, a Subset of one, or any data set of (x, y) samples."""
    from ..data import DataLoader
    from ..data.dataset import tensor_source

    source = tensor_source(dataset)
    if source is not None:
        arrays, indices = source
        return tuple(a if indices is None else a[indices] for a in arrays[:2])
    xs, ys = [], []
    for x, y in DataLoader(dataset, batch_size=1024):
        xs.append(x.array)
        ys.append(y.array)
    return numpy.concatenate(xs), numpy.concatenate(ys)


def check_shapes(model: Any, input_shape: list[int], config: Config) -> None:
    """One forward pass on zeros, so that layers that do not fit together fail now, naming the config key."""
    from ..autograd import no_grad
    from ..creation import zeros

    try:
        with no_grad():
            model.eval()
            model(zeros(2, *input_shape))
            model.train()
    except (RuntimeError, ValueError, TypeError) as error:
        raise ConfigError(
            f"{config.source}: model.layers: the layers do not fit the data's input shape {tuple(input_shape)}: {error}"
        ) from None


def train_from_config(
    config: Config, resume: str | None = None, verbose: int | None = None, epochs: int | None = None
) -> dict:
    """Run a whole training from a :class:`Config`; returns the paths written and the test metrics.

    Writes to ``config.out_dir``: ``model.safetensors``, ``history.csv``, ``history.json``, ``metrics.json``,
    ``checkpoint.safetensors`` (resumable, after every epoch) and the plots ``loss.png``, ``accuracy.png``,
    ``confusion_matrix.png``, ``misclassified.png``.
    """
    from .callbacks import CSVLogger, EarlyStopping, JSONLogger, ModelCheckpoint
    from .distributed import trainer_class

    Trainer = trainer_class()  # noqa: N806 - DistributedTrainer under `mpiexec -n N` (N > 1), else Trainer

    if config.seed is not None:
        manual_seed(config.seed)
    import_check()
    data = load_data(config)
    model = build_model(config)
    input_shape = config.input_shape or data.input_shape
    check_shapes(model, input_shape, config)
    loss_fn = build_loss(config)
    optimizer = build_optimizer(config, model.parameters())
    scheduler = build_scheduler(config, optimizer)
    out = config.out_dir
    callbacks: list = [
        CSVLogger(os.path.join(out, "history.csv"), append=resume is not None),
        JSONLogger(os.path.join(out, "history.json")),
    ]
    if config.train.early_stopping is not None:
        options = dict(config.train.early_stopping)
        if data.val is None:
            options.setdefault("monitor", "loss")
        callbacks.append(EarlyStopping(**options))
    if config.output.checkpoint:
        callbacks.append(ModelCheckpoint(os.path.join(out, "checkpoint.safetensors"), resumable=True))
    metadata = {
        "input_shape": input_shape,
        "class_names": data.class_names,
        "task": data.task,
        "preprocessing": data.preprocessing,
        "config": to_dict(config),
    }
    metrics = config.train.metrics
    if metrics is None:
        metrics = ["accuracy"] if data.task == "classification" else ["mae"]
    from .callbacks import check_monitors
    from .metrics import canonical_metric

    try:  # a monitor that no epoch logs is reported now, not after the first epoch
        check_monitors(callbacks, [canonical_metric(m) for m in metrics], data.val is not None)
    except ValueError as error:
        raise ConfigError(f"{config.source}: train.early_stopping.monitor: {error}") from None
    os.makedirs(out, exist_ok=True)
    trainer = Trainer(
        model,
        loss_fn,
        optimizer,
        metrics=metrics,
        scheduler=scheduler,
        scheduler_interval=config.train.scheduler_interval,
        clip_grad_norm=config.train.clip_grad_norm,
        clip_grad_value=config.train.clip_grad_value,
        callbacks=callbacks,
        verbose=verbose,
        device=None if config.device == "cpu" else config.device,
        interrupt_checkpoint=os.path.join(out, "interrupted.safetensors"),
        metadata=metadata,
    )
    history = trainer.fit(
        data.train,
        data.val,
        epochs=epochs or config.train.epochs,
        batch_size=config.train.batch_size,
        shuffle=config.train.shuffle,
        resume_from=resume,
    )
    result: dict = {"history": history, "out_dir": out, "stop_reason": history.stop_reason, "paths": {}}
    if history.stop_reason == "interrupted":
        return result
    test_metrics: dict = {}
    paths = result["paths"]
    if data.test is not None:
        test_metrics = trainer.evaluate(data.test)
        metadata["test_metrics"] = test_metrics
    if not getattr(trainer, "is_main", True):  # data-parallel: rank 0 writes the files
        return {**result, "test": test_metrics, "weights_epoch": trainer.weights_epoch}
    paths["model"] = os.path.join(out, "model.safetensors")
    trainer.save_model(paths["model"])
    paths["metrics"] = os.path.join(out, "metrics.json")
    with open(paths["metrics"], "w") as f:
        json.dump(
            {
                "test": test_metrics,
                "last_epoch": history.last(),
                "epochs": len(history),
                "weights_epoch": trainer.weights_epoch,
                "stop_reason": history.stop_reason,
            },
            f,
            indent=2,
        )
    paths["history_csv"] = os.path.join(out, "history.csv")
    paths["history_json"] = os.path.join(out, "history.json")
    if config.output.plots:
        paths.update(write_plots(trainer, history, data, out))
    result["test"] = test_metrics
    result["weights_epoch"] = trainer.weights_epoch
    return result


def import_check() -> None:
    """What saving needs (safetensors), checked before any training, so that no epoch is lost to a missing extra."""
    try:
        import safetensors  # noqa: F401
    except ImportError:
        raise ImportError(
            "saving models needs safetensors: pip install safetensors (or pip install -e .) - nothing was trained"
        ) from None


def write_plots(trainer: Any, history: Any, data: DataBundle, out: str) -> dict:
    """The plots of a run into ``out``: loss and metric curves, and for classification the confusion matrix and
    misclassified examples of the test (else validation) data. Returns ``{name: path}``."""
    from .metrics import confusion_matrix
    from .plots import plot_confusion_matrix, plot_history, plot_misclassified

    paths = {os.path.splitext(os.path.basename(p))[0]: p for p in plot_history(history, out)}
    if data.task != "classification":
        return paths
    evaluation = data.test if data.test is not None else data.val
    if evaluation is None:
        return paths
    X, y = dataset_arrays(evaluation)
    scores = trainer.predict(X).array
    C = len(data.class_names) if data.class_names else scores.shape[1]
    cm = confusion_matrix(y, scores, num_classes=C)
    paths["confusion_matrix"] = plot_confusion_matrix(cm, os.path.join(out, "confusion_matrix.png"), data.class_names)
    if data.preprocessing.get("kind") == "image":
        h, w = data.preprocessing["size"]
        path = plot_misclassified(
            X.reshape(-1, h, w), y, scores, os.path.join(out, "misclassified.png"), data.class_names
        )
        if path:
            paths["misclassified"] = path
    return paths


# ---- data for `shenjing evaluate` ------------------------------------------------------------------------------------
_SPLITS = ("train", "val", "test", "all")


def evaluation_data(spec: str, model: Any, document: dict, root: str | None = None) -> tuple:
    """``(dataset, class_names, task)`` for a data spec such as ``mnist:test``, ``digits:test`` or ``csv:PATH``.

    Splits of digits and CSV files are remade exactly as in training, from the configuration stored in the
    model file (``split_seed``, ``val``, ``test``, ``stratify``).
    """
    from .. import datasets
    from ..data import train_val_test_split

    metadata = document.get("metadata", {})
    trained = (metadata.get("config") or {}).get("data", {})
    first = next((m for _, m in model.named_modules() if not any(True for _ in m.children())), None)
    flatten = type(first).__name__ == "Linear"
    normalize = trained.get("normalize", False)
    if spec.startswith("csv:"):
        path = spec[4:]
        target = trained.get("target") if trained.get("dataset", "").startswith("csv:") else None
        preprocessing = metadata.get("preprocessing") or {}
        target = preprocessing.get("target", target)
        if target is None:
            raise ValueError(f"evaluate: {spec}: the model file does not name the target column")
        task = metadata.get("task", "classification")
        full = datasets.load_csv(path, target=target, task=task)
        return full, full.classes, task
    name, _, split = spec.partition(":")
    split = split or "test"
    if split not in _SPLITS:
        raise ValueError(f"evaluate: expected a split among {', '.join(_SPLITS)} after ':', got {spec!r}")
    if name in ("mnist", "fashion_mnist"):
        loader = datasets.mnist if name == "mnist" else datasets.fashion_mnist
        root = check_data_root(root, "--root")
        try:
            return _mnist_split(loader, root, split, flatten, normalize, trained)
        except RuntimeError as error:
            raise ValueError(f"evaluate: {_not_found(name, error)}") from None
    if name == "digits":
        full = datasets.digits(flatten=flatten, normalize=normalize)
        if split == "all":
            return full, full.classes, "classification"
        parts = train_val_test_split(
            full,
            val=trained.get("val", 0.1),
            test=trained.get("test", 0.2),
            stratify=trained.get("stratify", True) or None,
            seed=trained.get("split_seed", 0),
        )
        return parts[_SPLITS.index(split)], full.classes, "classification"
    raise ValueError(
        f"evaluate: unknown data {spec!r}: expected mnist[:SPLIT], fashion_mnist[:SPLIT], "
        "digits[:SPLIT] or csv:PATH (SPLIT: train, val, test, all)"
    )


def _mnist_split(loader: Any, root: str | None, split: str, flatten: bool, normalize: Any, trained: dict) -> tuple:
    from ..data import train_val_test_split

    if split == "test":
        full = loader(root=root, train=False, flatten=flatten, normalize=normalize)
        return full, full.classes, "classification"
    full = loader(root=root, train=True, flatten=flatten, normalize=normalize)
    if split == "all":
        return full, full.classes, "classification"
    parts = train_val_test_split(
        full,
        val=trained.get("val", 0.1),
        test=0,
        stratify=trained.get("stratify", True) or None,
        seed=trained.get("split_seed", 0),
    )
    return parts[0 if split == "train" else 1], full.classes, "classification"
