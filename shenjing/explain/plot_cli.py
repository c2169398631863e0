"""``shenjing plot activations|model``: the textbook's activation figure and a network diagram, PNG or SVG.

    shenjing plot activations -o activations.svg
    shenjing plot model runs/mnist/model.safetensors -o model.png --input-shape 784
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("plot", parents=[common], help="draw activations and their derivatives, or a model")
    p.add_argument("what", choices=("activations", "model"), help="activations, or model (needs MODEL)")
    p.add_argument("model", nargs="?", metavar="MODEL|CONFIG", help="for 'model': a model file or a TOML config")
    p.add_argument("--output", "-o", metavar="FILE", help="a .png or .svg file (default: activations.png / model.png)")
    p.add_argument("--input-shape", help="one sample's shape, e.g. 784 or 1,28,28 (default: from the file)")


def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from .plots import plot_activations, plot_model

    output = args.output or f"{args.what}.png"
    if args.what == "activations":
        if args.model:
            raise UsageError("'plot activations' takes no MODEL")
        print(plot_activations(output))
        return 0
    if not args.model:
        raise UsageError("'plot model' needs a MODEL: a model file or a TOML configuration")
    from .cli import _load_model

    model, metadata = _load_model(args.model)
    shape = None
    if args.input_shape:
        try:
            shape = [int(s) for s in args.input_shape.replace("x", ",").split(",") if s.strip()]
        except ValueError:
            raise ValueError(f"--input-shape: expected numbers separated by commas (1,28,28), got "
                             f"{args.input_shape!r}") from None
    shape = shape or metadata.get("input_shape")
    if shape is None and args.model.lower().endswith(".toml"):
        from ..train.config import load_config

        shape = load_config(args.model).input_shape
    print(plot_model(model, output, shape))
    return 0
