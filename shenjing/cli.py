"""The ``shenjing`` command: train from a TOML config, evaluate, predict and summarise model files.

shenjing train examples/digits.toml              # writes runs/digits/: model, history, plots
shenjing evaluate runs/digits/model.safetensors --data digits:test
shenjing predict runs/mnist_mlp/model.safetensors my_digit.png --json
shenjing summary examples/mnist_mlp_textbook.toml
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

__all__ = ["main"]


def _version() -> str:
    from . import __version__

    return __version__


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--device", default="cpu", help="where to compute: cpu (default); cuda needs CuPy")
    parser = argparse.ArgumentParser(prog="shenjing", description="Train, evaluate and use shenjing models.")
    parser.add_argument("--version", action="version", version=f"shenjing {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", parents=[common], help="train a model from a TOML configuration")
    train.add_argument("config", help="the TOML configuration (see examples/*.toml)")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue from a checkpoint (checkpoint.safetensors)")
    train.add_argument("--epochs", type=int, help="override train.epochs")
    train.add_argument("--out", metavar="DIR", help="override output.dir")
    train.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="0 quiet, 1 progress bars, 2 one line per epoch (default: bars on a terminal)",
    )

    evaluate = commands.add_parser("evaluate", parents=[common], help="loss, metrics and confusion matrix on data")
    evaluate.add_argument("model", help="a model file (model.safetensors)")
    evaluate.add_argument(
        "--data", required=True, help="mnist:test, fashion_mnist:test, digits:test (as split in training), csv:PATH"
    )
    evaluate.add_argument("--root", help="the data folder (default $SHENJING_DATA)")
    evaluate.add_argument("--batch-size", type=int, default=1000)
    evaluate.add_argument("--json", action="store_true", help="print JSON")

    predict = commands.add_parser("predict", parents=[common], help="classify images (PNG/JPEG) or CSV rows")
    predict.add_argument("model", help="a model file (model.safetensors)")
    predict.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, or CSV files of feature rows")
    predict.add_argument("--top", type=int, default=3, help="how many classes to show per input (default 3)")
    predict.add_argument("--json", action="store_true", help="print JSON")

    summary = commands.add_parser("summary", parents=[common], help="layer table with output shapes and parameters")
    summary.add_argument("target", metavar="MODEL|CONFIG", help="a model file or a TOML configuration")
    summary.add_argument("--input-shape", help="one sample's shape, e.g. 784 or 1,28,28 (default: from the file)")
    for _, module in EXTRA_COMMANDS:
        importlib.import_module(module).add_parser(commands, common)
    return parser


# Subcommands that live in their own modules: (name, module). The module defines ``add_parser(commands, common)``
# (adding a parser named ``name`` with ``parents=[common]``) and ``run(args) -> int``; raising UsageError,
# ValueError, OSError or ImportError gives the usual one-line ``shenjing NAME: error: ...``.
EXTRA_COMMANDS: list[tuple[str, str]] = [
    ("explain", "shenjing.explain.cli"),
    ("plot", "shenjing.explain.plot_cli"),
    ("diagnose", "shenjing.train.diagnose_cli"),
    ("launch", "shenjing.distributed.launch"),
    ("search", "shenjing.search.cli"),
    ("export", "shenjing.onnx.cli"),
    ("serve", "shenjing.serve.cli"),
]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .io import ModelFileError
    from .train.config import ConfigError

    try:
        _check_device(args.device)
        commands = {"train": _train, "evaluate": _evaluate, "predict": _predict, "summary": _summary}
        commands.update({name: importlib.import_module(module).run for name, module in EXTRA_COMMANDS})
        return commands[args.command](args)
    except (ConfigError, ModelFileError, UsageError, ValueError, KeyError, ImportError, OSError) as error:
        if isinstance(error, KeyError) and error.args:
            message = error.args[0]
        elif isinstance(error, OSError) and error.filename is not None:
            message = f"{error.filename}: {error.strerror or error}" + _os_fix(error)
        else:
            message = str(error)
        message = " ".join(str(message).split("\n"))  # one line
        print(f"shenjing {args.command}: error: {message}", file=sys.stderr)
        return 2


class UsageError(Exception):
    """A mistake on the command line or in its files, reported as one line (exit code 2)."""


def _os_fix(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return " (check the path; relative paths start from the working folder " + os.getcwd() + ")"
    if isinstance(error, IsADirectoryError):
        return " (expected a file, got a folder)"
    if isinstance(error, PermissionError):
        return " (check the file's permissions)"
    return ""


def _check_device(device: str) -> None:
    from .backend import Device, get_backend

    try:
        parsed = Device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise UsageError(f"--device: {error}") from None
    if parsed.type != "cpu":
        try:
            get_backend(device)  # imports CuPy: fails here, before any work, when it is missing
        except (RuntimeError, ImportError) as error:
            raise UsageError(f"--device {device}: {error} Or leave out --device to compute on the CPU.") from None


def _require_file(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such {what} (check the path; relative paths start from {os.getcwd()})")
    if os.path.isdir(path):
        raise UsageError(f"{path}: expected {'an' if what[0] in 'aeiou' else 'a'} {what}, got a folder")


def _check_input_width(model: Any, document: dict, x: Any, what: str) -> None:
    """Run the model on the first sample so that inputs of the wrong shape are one clear error, not a traceback."""
    from .autograd import no_grad
    from .creation import tensor

    expected = (document.get("metadata") or {}).get("input_shape")
    sample = x[:1]
    try:
        with no_grad():
            was = model.training
            model.eval()
            try:
                model(tensor(sample))
            finally:
                model.train(was)
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        wanted = f"one sample of shape {tuple(expected)}" if expected else "a different input shape"
        raise UsageError(
            f"{what}: the model expects {wanted}, but the data has samples of shape {tuple(sample.shape[1:])} "
            f"({type(error).__name__}: {error}); use data of the shape the model was trained on"
        ) from None


# ---- train -----------------------------------------------------------------------------------------------------------
def _train(args: argparse.Namespace) -> int:
    from .train.config import load_config
    from .train.run import train_from_config

    from .train.config import check_output_dir

    config = load_config(args.config)
    if args.out:
        config.output.dir = args.out
    check_output_dir(config, explicit=bool(args.out))
    if args.device != "cpu":
        config.device = args.device
    if args.resume:
        _require_file(args.resume, "checkpoint file")
    result = train_from_config(config, resume=args.resume, verbose=args.verbose, epochs=args.epochs)
    history = result["history"]
    if result["stop_reason"] == "interrupted":
        return 130
    test = result.get("test") or {}
    if test:
        print("Test: " + "  ".join(f"{k} {v:.4f}" for k, v in test.items()))
    print(f"Wrote {result['out_dir']}/: " + ", ".join(os.path.basename(p) for p in result["paths"].values()))
    if history.stop_reason == "nan":  # the reason was printed when it happened, at every verbosity
        print(
            f"shenjing train: error: training diverged (see above); the model file holds the last finite weights, "
            f"from epoch {result.get('weights_epoch', 0)}",
            file=sys.stderr,
        )
        return 1
    return 0


# ---- evaluate --------------------------------------------------------------------------------------------------------
def _loss_for(document: dict, task: str) -> Any:
    from . import nn
    from .train.config import _lookup, _losses

    spec = ((document.get("metadata") or {}).get("config") or {}).get("loss")
    if isinstance(spec, dict) and isinstance(spec.get("type"), str):
        klass = _lookup(spec["type"], _losses(), "model file", "loss", "loss", strip_loss=True)
        return klass(**{k: v for k, v in spec.items() if k != "type"})
    return nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()


def _evaluate(args: argparse.Namespace) -> int:
    from .io import load
    from .train.metrics import REGRESSION_METRICS, confusion_matrix
    from .train.run import dataset_arrays, evaluation_data
    from .train.trainer import Trainer

    _require_file(args.model, "model file")
    model, document = load(args.model, with_metadata=True)
    dataset, class_names, task = evaluation_data(args.data, model, document, args.root)
    if len(dataset) == 0:
        raise UsageError(f"--data {args.data}: no samples")
    _check_input_width(model, document, dataset_arrays(dataset)[0], f"--data {args.data}")
    metrics = ["accuracy", "precision", "recall", "f1"] if task == "classification" else list(REGRESSION_METRICS)
    device = None if args.device == "cpu" else args.device
    trainer = Trainer(
        model,
        _loss_for(document, task),
        optimizer=None,
        metrics=metrics,
        verbose=0,
        device=device,
        interrupt_checkpoint=None,
    )
    results: dict = trainer.evaluate(dataset, batch_size=args.batch_size)
    cm = None
    if task == "classification":
        X, y = dataset_arrays(dataset)
        scores = trainer.predict(X, batch_size=args.batch_size).array
        cm = confusion_matrix(y, scores, num_classes=scores.shape[1])
    if args.json:
        print(
            json.dumps(
                {
                    "data": args.data,
                    "samples": len(dataset),
                    **results,
                    "confusion_matrix": None if cm is None else cm.tolist(),
                    "class_names": class_names,
                }
            )
        )
        return 0
    print(f"{args.data}: {len(dataset)} samples")
    for key, value in results.items():
        print(f"  {key:<10} {value:.4f}")
    if cm is not None:
        print("Confusion matrix (rows: true class, columns: predicted):")
        print(_matrix_table(cm, class_names))
    return 0


def _matrix_table(cm: Any, names: list[str] | None) -> str:
    C = cm.shape[0]
    labels = [str(n) for n in names] if names else [str(i) for i in range(C)]
    labels = [label[:10] for label in labels]
    width = max(max(len(label) for label in labels), len(str(int(cm.max())))) + 1
    head = " " * (width + 1) + "".join(label.rjust(width) for label in labels)
    rows = [labels[i].rjust(width) + " " + "".join(str(int(v)).rjust(width) for v in cm[i]) for i in range(C)]
    return "\n".join([head, *rows])


# ---- predict ---------------------------------------------------------------------------------------------------------
def _predict(args: argparse.Namespace) -> int:
    from .creation import tensor
    from .functions import softmax
    from .io import load
    from .train.inputs import load_image, load_table
    from .train.trainer import predict

    _require_file(args.model, "model file")
    for path in args.inputs:
        _require_file(path, "input file")
    model, document = load(args.model, with_metadata=True)
    metadata = document.get("metadata", {})
    preprocessing = dict(metadata.get("preprocessing") or {})
    class_names = metadata.get("class_names")
    task = metadata.get("task", "classification")
    if not preprocessing:  # a model saved by hand: guess from its input shape
        shape = metadata.get("input_shape") or [784]
        side = int(round((shape[-1] if len(shape) == 1 else shape[-1] * shape[-2]) ** 0.5))
        preprocessing = {
            "kind": "image",
            "size": [side, side],
            "box": round(side * 20 / 28),
            "flatten": len(shape) == 1,
        }
    device = None if args.device == "cpu" else args.device
    results = []
    for path in args.inputs:
        is_table = path.lower().endswith((".csv", ".tsv", ".txt"))
        x = load_table(path, preprocessing) if is_table else load_image(path, preprocessing)
        _check_input_width(model, document, x, path)
        outputs = predict(model, tensor(x), device=device)
        if task != "classification":
            for i, row in enumerate(outputs.array.tolist()):
                results.append({"input": path if len(x) == 1 else f"{path}:{i + 1}", "prediction": row})
            continue
        probs = softmax(outputs, dim=1).array
        for i, p in enumerate(probs):
            order = p.argsort()[::-1]
            name = lambda c: class_names[c] if class_names else str(c)
            results.append(
                {
                    "input": path if len(x) == 1 else f"{path}:{i + 1}",
                    "class": int(order[0]),
                    "label": name(int(order[0])),
                    "probability": float(p[order[0]]),
                    "top": [
                        {"class": int(c), "label": name(int(c)), "probability": float(p[c])} for c in order[: args.top]
                    ],
                    "probabilities": [float(v) for v in p],
                }
            )
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0]))
        return 0
    for result in results:
        if "class" not in result:
            print(f"{result['input']}: {result['prediction']}")
            continue
        top = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in result["top"])
        print(f"{result['input']}: {result['label']} ({result['probability']:.1%})   top: {top}")
    return 0


# ---- summary ---------------------------------------------------------------------------------------------------------
def _summary(args: argparse.Namespace) -> int:
    from .train.summary import summary

    shape = None
    if args.input_shape:
        try:
            shape = [int(s) for s in args.input_shape.replace("x", ",").split(",") if s.strip()]
        except ValueError:
            raise ValueError(
                f"--input-shape: expected numbers separated by commas (1,28,28), got {args.input_shape!r}"
            ) from None
    _require_file(args.target, "model file or configuration")
    if args.target.lower().endswith(".toml"):
        from .train.config import build_model, load_config

        config = load_config(args.target)
        model = build_model(config)
        shape = shape or config.input_shape or _config_input_shape(config)
    else:
        from .io import load

        model, document = load(args.target, with_metadata=True)
        shape = shape or (document.get("metadata") or {}).get("input_shape") or _linear_input(model)
    print(summary(model, shape))
    return 0


def _linear_input(model: Any) -> list[int] | None:
    first = next((m for _, m in model.named_modules() if not any(True for _ in m.children())), None)
    return [first.in_features] if type(first).__name__ == "Linear" else None


def _config_input_shape(config: Any) -> list[int] | None:
    """One sample's shape for the configured data set, without loading it."""
    flat = bool(config.layers) and config.layers[0][0].__name__ == "Linear"
    sizes = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "digits": (1, 8, 8)}
    size = sizes.get(config.data.dataset)
    if size is None:
        first = config.layers[0] if config.layers else None
        return [first[1]["in_features"]] if first and "in_features" in first[1] else None
    return [size[1] * size[2]] if flat else list(size)


if __name__ == "__main__":
    sys.exit(main())
