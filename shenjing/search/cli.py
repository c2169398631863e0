"""``shenjing search CONFIG.toml [--trials N] [--workers K] [--storage URL] [--study NAME]``."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "search", parents=[common], help="hyperparameter search (Optuna) over a config's [search] section"
    )
    parser.add_argument("config", help="a TOML training configuration with a [search] section")
    parser.add_argument("--trials", type=int, help="trials in the study (overrides search.trials)")
    parser.add_argument("--workers", type=int, default=1, help="processes on this machine sharing the study")
    parser.add_argument("--storage", metavar="URL", help="database URL (default: sqlite file in the search folder)")
    parser.add_argument("--study", metavar="NAME", help="the study's name in the storage (default: config name)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="start no trial after this many seconds")
    parser.add_argument("--out", metavar="DIR", help="the search folder (overrides search.dir)")
    parser.add_argument("--no-best", action="store_true", help="do not retrain and save the best model")
    parser.add_argument("--no-plots", action="store_true", help="do not write the PNG plots")
    parser.add_argument(
        "--progress",
        type=int,
        choices=(0, 1),
        default=None,
        help="1 a bar over trials, 0 none (default: on a terminal)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from .study import load_search, search

    if args.trials is not None and args.trials < 1:
        raise UsageError(f"--trials: expected at least 1, got {args.trials}")
    if args.workers < 1:
        raise UsageError(f"--workers: expected at least 1, got {args.workers}")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout: expected a positive number of seconds, got {args.timeout}")
    spec = load_search(args.config)
    if getattr(args, "device", "cpu") != "cpu":  # --device cuda: every trial (and the best model) trains there
        spec.raw["device"] = args.device
    result = search(
        spec,
        trials=args.trials,
        workers=args.workers,
        storage=args.storage,
        study_name=args.study,
        timeout=args.timeout,
        out_dir=args.out,
        progress=None if args.progress is None else bool(args.progress),
        save_best=not args.no_best,
        plots=not args.no_plots,
    )
    states: dict = {}
    for row in result.trials:
        states[row["state"]] = states.get(row["state"], 0) + 1
    summary = {
        "study": result.study.study_name,
        "trials": states,
        "objective": result.objective,
        "direction": result.direction,
        "best_value": result.best_value,
        "best_params": result.best_params,
        "best_test": result.best_test,
        "paths": result.paths,
    }
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))
    print(f"study {summary['study']!r}: {len(result.trials)} trials ({counts})")
    if result.best_value is None:
        print("no trial completed")
        return 1
    print(f"best {result.objective} = {result.best_value:.4f} ({result.direction})")
    for name, value in result.best_params.items():
        print(f"  {name} = {value!r}")
    if result.best_test:
        print("best model on the test split: " + "  ".join(f"{k} {v:.4f}" for k, v in result.best_test.items()))
    for name, path in result.paths.items():
        print(f"{name:22s} {path}")
    return 0
