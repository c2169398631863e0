"""``shenjing diagnose CONFIG``: train briefly as the configuration says, with :class:`Diagnostics`, and report.

    shenjing diagnose examples/digits.toml --epochs 2 --every 10
    shenjing diagnose examples/mnist_mlp.toml --tensorboard runs/tb   # the same numbers as TensorBoard scalars

Prints, after each epoch, the gradient and weight norms and update-to-weight ratio of every parameter and the
dead/saturated shares of every ReLU/Sigmoid/Tanh, and a warning naming the layer when a gradient vanishes or
explodes. Nothing is saved (the point is to look before a long run).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("diagnose", parents=[common],
                            help="train briefly with per-layer diagnostics (norms, dead ReLUs, vanishing gradients)")
    p.add_argument("config", help="the TOML configuration")
    p.add_argument("--epochs", type=int, default=1, help="epochs to train (default 1)")
    p.add_argument("--every", type=int, default=10, help="diagnose every N-th step (default 10)")
    p.add_argument("--vanish", type=float, default=1e-7, help="gradient norm below which to warn (default 1e-7)")
    p.add_argument("--explode", type=float, default=1e3, help="gradient norm above which to warn (default 1e3)")
    p.add_argument("--tensorboard", metavar="DIR", help="also write TensorBoard event files to DIR")


def run(args: argparse.Namespace) -> int:
    from ..cli import _require_file
    from ..random import manual_seed
    from .callbacks import Callback
    from .config import build_loss, build_model, build_optimizer, load_config
    from .diagnostics import Diagnostics
    from .run import load_data
    from .trainer import Trainer

    _require_file(args.config, "configuration")
    if args.epochs < 1 or args.every < 1:
        raise ValueError("--epochs and --every: expected positive numbers")
    config = load_config(args.config)
    if config.seed is not None:
        manual_seed(config.seed)
    data = load_data(config)
    model = build_model(config)
    diag = Diagnostics(every=args.every, vanish=args.vanish, explode=args.explode)
    callbacks: list = [diag]
    if args.tensorboard:
        from .tensorboard import TensorBoard

        callbacks.append(TensorBoard(args.tensorboard))

    class Report(Callback):  # prints the last diagnosed step after each epoch
        def on_epoch_end(self, epoch: int, logs: dict) -> None:
            print(f"epoch {epoch}: " + "  ".join(f"{k} {v:.4g}" for k, v in logs.items()
                                                 if isinstance(v, int | float)))
            print(diag.report())

    callbacks.append(Report())
    trainer = Trainer(model, build_loss(config), build_optimizer(config, model.parameters()), callbacks=callbacks,
                      verbose=0, device=None if args.device == "cpu" else args.device, interrupt_checkpoint=None)
    with warnings.catch_warnings():  # printed below, once each, instead of as Python warnings
        warnings.simplefilter("ignore", RuntimeWarning)
        trainer.fit(data.train, data.val, epochs=args.epochs, batch_size=config.train.batch_size,
                    shuffle=config.train.shuffle)
    for message in diag.warnings:
        print(f"warning: {message}", file=sys.stderr)
    print(f"{len(diag.history)} steps diagnosed, {len(diag.warnings)} warnings")
    return 0
