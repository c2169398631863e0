"""``shenjing explain MODEL --input ... --target ...``: the textbook's forward and backward pass for a model file.

    shenjing explain model.safetensors --input 0.5,0.1 --target 1 --lr 0.1
    shenjing explain model.safetensors --input digit.png --target 7 --loss cross_entropy --format markdown
    shenjing explain run.toml --input rows.csv --target 0,1 --optimizer adam --lr 0.01 --watch 0.weight

MODEL is a model file (``shenjing.io.save_model``) or a TOML configuration (its freshly initialised model).
``--input`` is numbers separated by commas (one example; ``;`` separates examples), a CSV file of rows, a
PNG/JPEG (preprocessed as the model file says) or a ``.npy`` array; ``--target`` is numbers (or class indices).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("explain", parents=[common],
                            help="one example through the network in the textbook's notation (z, a, δ, ∂L/∂W, update)")
    p.add_argument("model", metavar="MODEL|CONFIG", help="a model file or a TOML configuration")
    p.add_argument("--input", required=True, help="numbers (0.5,0.1; examples split by ';'), a CSV, image or .npy file")
    p.add_argument("--target", help="the target: numbers (1 or 0.2,0.8) or class indices (3)")
    p.add_argument("--loss", help="the loss name: half_squared_error (default for numbers), mse, cross_entropy, …")
    p.add_argument("--optimizer", choices=("gd", "sgd", "adam", "adamw"), default="gd",
                   help="gd: w ← w − η ∂L/∂w (default); sgd (with --momentum), adam, adamw")
    p.add_argument("--lr", type=float, default=0.1, help="the learning rate η (default 0.1)")
    p.add_argument("--momentum", type=float, default=0.0, help="SGD momentum μ")
    p.add_argument("--watch", help="the parameter for the optimizer view, e.g. 0.weight (default: the first)")
    p.add_argument("--format", choices=("text", "markdown", "html"), default="text")
    p.add_argument("--precision", type=int, default=6, help="decimals (default 6)")
    p.add_argument("--max-entries", type=int, default=16, help="arrays larger than this are summarised")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of printing")


def _numbers(text: str, what: str) -> Any:
    import numpy

    try:
        rows = [[float(v) for v in row.split(",") if v.strip()] for row in text.split(";") if row.strip()]
    except ValueError:
        raise ValueError(f"{what}: expected numbers separated by commas (0.5,0.1) or a file, got {text!r}") from None
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"{what}: expected rows of equally many numbers, got {text!r}")
    return numpy.array(rows)


def _load_model(path: str) -> tuple[Any, dict]:
    from ..cli import _require_file

    _require_file(path, "model file or configuration")
    if path.lower().endswith(".toml"):
        from ..train.config import build_model, load_config

        return build_model(load_config(path)), {}
    from ..io import load

    model, document = load(path, with_metadata=True)
    return model, dict(document.get("metadata") or {})


def _load_input(text: str, metadata: dict) -> Any:
    import numpy

    if os.path.exists(text):
        lower = text.lower()
        if lower.endswith(".npy"):
            return numpy.load(text, allow_pickle=False)
        from ..train.inputs import load_image, load_table

        if lower.endswith((".csv", ".tsv", ".txt")):
            return load_table(text, metadata.get("preprocessing"))
        preprocessing = dict(metadata.get("preprocessing") or {"kind": "image", "size": [28, 28], "box": 20,
                                                               "flatten": True})
        return load_image(text, preprocessing)
    return _numbers(text, "--input")


def _target(text: str, loss: str | None, batch: int, width: int | None) -> Any:
    """Class indices for a classification loss (or, without --loss, whole numbers, one per example, for a model
    with several outputs); otherwise a float array shaped (batch, outputs)."""
    import numpy

    y = _numbers(text, "--target").reshape(-1)
    named = (loss or "").lower().replace("_", "").removesuffix("loss")
    whole = bool(numpy.all(y == numpy.round(y)))
    if named in ("crossentropy", "nll") or (not named and whole and y.size == batch and width not in (None, 1)):
        return y.astype(numpy.int64)
    return y.reshape(batch, -1) if y.size % batch == 0 else y


def run(args: argparse.Namespace) -> int:
    import numpy

    from .. import optim
    from .core import explain

    model, metadata = _load_model(args.model)
    x = _load_input(args.input, metadata)
    x = numpy.asarray(x)
    if x.ndim == 1:
        x = x[None]
    width = None
    if args.target is not None and args.loss is None:
        from .. import no_grad, tensor
        from .core import _model_dtype

        with no_grad():
            try:
                out = model(tensor(x, dtype=_model_dtype(model)))
            except RuntimeError as error:
                raise ValueError(f"{args.model}: the input of shape {tuple(x.shape)} does not fit the model "
                                 f"({error})") from None
        width = out.shape[-1] if out.ndim >= 2 else 1
    y = _target(args.target, args.loss, x.shape[0], width) if args.target is not None else None
    optimizer, lr = None, None
    if args.optimizer == "gd":
        lr = args.lr
    elif args.optimizer == "sgd":
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    else:
        optimizer = (optim.Adam if args.optimizer == "adam" else optim.AdamW)(model.parameters(), lr=args.lr)
    try:
        e = explain(model, x, y, loss=args.loss, optimizer=optimizer, lr=lr, watch=args.watch,
                    precision=args.precision, max_entries=args.max_entries)
    except RuntimeError as error:  # shapes that do not fit the model: one line, not a traceback
        raise ValueError(
            f"{args.model}: the input of shape {tuple(x.shape)} does not fit the model ({error})"
        ) from None
    text = e.render(args.format)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, end="")
    return 0
