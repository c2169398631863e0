"""The compatibility suite side by side: each program run with PyTorch (original) and shenjing (ported).

    PYTHONPATH=. python benchmarks/bench_compat.py [NAME ...] [--timeout 900] [--no-write]

Each program runs in its own subprocess (python -m compat.runner, see compat/runner.py for the local data and
limits); the table gives per program: whether the ported program runs (or its error line), the final metric of
each framework, and the time ratio shenjing / PyTorch (program wall time after import). Targets (issue 9):
accuracies at most 3 points below, losses at most 10 % above, printed output identical (kind 'output'), time at
most 2x PyTorch's (1.5x for convolutional programs). Stores the raw outcomes in compat/results.json (naming programs reruns only those) and writes
compat/RESULTS.md and the table in the README's compatibility section from them, unless --no-write. Needs
compat/setup.sh run once (torchvision, scikit-learn).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compat.suite import PROGRAMS, Program  # noqa: E402


@dataclass
class Outcome:
    ok: bool
    metric: float | None
    seconds: float | None
    error: str


def run(framework: str, program: Program, timeout: float) -> Outcome:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.pop("COMPAT_TRAIN_LIMIT", None)
    if program.train_limit:
        env["COMPAT_TRAIN_LIMIT"] = str(program.train_limit)
    command = [sys.executable, "-W", "ignore", "-m", "compat.runner", framework, program.name, *program.args]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(False, None, None, f"timed out after {timeout:.0f} s")
    times = re.findall(r"COMPAT_TIME ([\d.]+)", done.stderr)
    seconds = float(times[-1]) if times else None
    metric = program.value(done.stdout)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("COMPAT_TIME")]
        return Outcome(False, metric, seconds, lines[-1].strip() if lines else f"exit status {done.returncode}")
    if metric is None:
        return Outcome(False, None, seconds, "finished without printing its metric")
    return Outcome(True, metric, seconds, "")


def as_points(program: Program, value: float) -> float:
    """Accuracy in percent for the accuracy-like kinds."""
    if program.kind == "error":
        return 100.0 * (1.0 - value)
    if program.kind == "fraction":
        return 100.0 * value
    return value


def verdict(program: Program, ref: Outcome, ours: Outcome) -> tuple[str, str]:
    """(metric verdict, time verdict) against the issue's targets.

    The metric may not be worse than PyTorch's by more than the tolerance (3 points of accuracy, 10 % of loss);
    being better is not a miss: the two sides start from different random numbers, so either may come out ahead.
    """
    if not ours.ok or not ref.ok:
        return "-", "-"
    if program.kind in ("accuracy", "error", "fraction"):
        gap = as_points(program, ours.metric) - as_points(program, ref.metric)
        metric = f"{'ok' if gap >= -3 else 'MISS'} ({gap:+.1f} pts)"
    elif program.kind == "below":
        metric = "ok" if ours.metric < program.threshold else "MISS"
    elif program.kind == "output":
        metric = "ok (same output)" if ours.metric == ref.metric else "MISS (output differs)"
    else:
        rel = (ours.metric - ref.metric) / abs(ref.metric) if ref.metric else float("inf")
        metric = f"{'ok' if rel <= 0.10 else 'MISS'} ({100 * rel:+.1f} %)"
    if ours.seconds is None or not ref.seconds:
        return metric, "-"
    ratio = ours.seconds / ref.seconds
    limit = 1.5 if program.conv else 2.0
    return metric, f"{ratio:.2f}x {'ok' if ratio <= limit else 'MISS'}"


def fmt(program: Program, outcome: Outcome) -> str:
    if outcome.metric is None:
        return "-"
    if program.kind in ("error", "fraction"):
        return f"{as_points(program, outcome.metric):.1f} %"
    if program.kind == "accuracy":
        return f"{outcome.metric:.1f} %"
    if program.kind == "output":
        return f"crc {int(outcome.metric):08x}"
    return f"{outcome.metric:.4g}"


HEADER = "| program | runs ported | metric torch | metric shenjing | metric | time torch | time ratio |"


def table_row(program: Program, ref: Outcome, ours: Outcome) -> str:
    metric_verdict, time_verdict = verdict(program, ref, ours)
    runs = "yes" if ours.ok else f"no: `{ours.error[:160]}`"
    if not ref.ok:
        runs += f" (torch failed: `{ref.error[:120]}`)"
    return (f"| {program.name} | {runs} | {fmt(program, ref)} | {fmt(program, ours)} | {metric_verdict} | "
            f"{f'{ref.seconds:.1f} s' if ref.seconds else '-'} | {time_verdict} |")


def write_readme(rows: list[str], stamp: str) -> None:
    """Put the table between the README's compat-table markers (its compatibility section)."""
    readme = ROOT / "README.md"
    body = readme.read_text(encoding="utf-8")
    start, end = "<!-- compat-table -->", "<!-- /compat-table -->"
    if start in body and end in body:
        head, rest = body.split(start, 1)
        table = f"{start}\n_{stamp}, from compat/RESULTS.md:_\n\n" + "\n".join(rows) + "\n"
        readme.write_text(head + table + end + rest.split(end, 1)[1], encoding="utf-8")


def readme_from_results() -> int:
    """Copy the table of compat/RESULTS.md into the README (after a run made by an older copy of this script)."""
    text = (ROOT / "compat" / "RESULTS.md").read_text(encoding="utf-8")
    stamp = re.search(r"on (\d{4}-\d\d-\d\d \d\d:\d\d UTC)", text).group(1)
    write_readme([line for line in text.splitlines() if line.startswith("|")], stamp)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="programs to run (default: all)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per program and framework")
    parser.add_argument("--no-write", action="store_true", help="print only; leave compat/RESULTS.md alone")
    parser.add_argument("--readme-from-results", action="store_true", help="only copy RESULTS.md's table to the README")
    parser.add_argument("--table-only", action="store_true", help="run nothing: rewrite the tables from results.json")
    args = parser.parse_args()
    if args.readme_from_results:
        return readme_from_results()
    chosen = [] if args.table_only else [p for p in PROGRAMS if not args.names or p.name in args.names]
    store = ROOT / "compat" / "results.json"  # raw outcomes; a run of some programs updates only their entries
    outcomes = json.loads(store.read_text(encoding="utf-8")) if store.is_file() else {}
    print(HEADER, flush=True)
    for program in chosen:
        ref = run("torch", program, args.timeout)
        ours = run("shenjing", program, args.timeout)
        outcomes[program.name] = {"torch": dataclasses.asdict(ref), "shenjing": dataclasses.asdict(ours)}
        print(table_row(program, ref, ours), flush=True)
        if not args.no_write:  # after each program, so that an interrupted run keeps what it measured
            store.write_text(json.dumps(outcomes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    rows = [HEADER, "|---|---|---|---|---|---|---|"]
    for program in PROGRAMS:
        if program.name in outcomes:
            entry = outcomes[program.name]
            rows.append(table_row(program, Outcome(**entry["torch"]), Outcome(**entry["shenjing"])))
        else:
            rows.append(f"| {program.name} | not run yet | - | - | - | - | - |")
    if not args.no_write:
        store.write_text(json.dumps(outcomes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        text = (
            "# Compatibility suite: results\n\n"
            f"Written by `benchmarks/bench_compat.py` on {stamp} (this machine, 2 CPU cores shared; torch 2.13.0+cpu, "
            "torchvision 0.28.0). Targets: accuracy at most 3 points below PyTorch's, loss at most 10 % above, "
            "time at most 2x PyTorch's "
            "(1.5x for the convolutional programs). Metrics come from differently seeded runs (the two "
            "frameworks' random generators differ), so small gaps are noise. Programs, limits and flags: "
            "`compat/suite.py`; sources and commits: `compat/programs/*/original.py`; failure causes: "
            f"`compat/STATUS.md`. Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
            "(other work on a shared machine slows either side at random: compare times only from a quiet "
            "machine).\n\n" + "\n".join(rows) + "\n"
        )
        (ROOT / "compat" / "RESULTS.md").write_text(text, encoding="utf-8")
        write_readme(rows, stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
