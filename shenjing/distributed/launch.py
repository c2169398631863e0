"""``shenjing launch -n N COMMAND …``: start N ranks of a shenjing command or script under ``mpiexec``.

    shenjing launch -n 4 train config.toml      # = mpiexec -n 4 python -m shenjing.cli train config.toml
    shenjing launch -n 2 script.py --lr 0.1     # = mpiexec -n 2 python script.py --lr 0.1

No runtime of our own: MPICH's or Open MPI's ``mpiexec`` starts and watches the processes (the one next to this
Python first, as ``pip install mpich`` puts it, else the one on PATH). When a rank fails, ``mpiexec`` stops the
others and this command returns the failing rank's exit status with a one-line message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

__all__ = ["find_mpiexec", "mpiexec_command", "add_parser", "run"]


def find_mpiexec() -> str | None:
    """The ``mpiexec`` to use: $SHENJING_MPIEXEC, the one beside this Python, else the one on PATH (or None)."""
    given = os.environ.get("SHENJING_MPIEXEC")
    if given:
        return given
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(beside):
        return beside
    return shutil.which("mpiexec") or shutil.which("mpirun")


def mpiexec_command(n: int, argv: list[str], mpiexec: str | None = None) -> list[str]:
    """The command line that runs ``argv`` (a shenjing subcommand, or a .py script and its arguments) on n ranks."""
    mpiexec = mpiexec or find_mpiexec()
    if mpiexec is None:
        raise ImportError("no mpiexec found; install MPI with `pip install mpich mpi4py` (or load "
                          "your cluster's MPI module)")
    if not argv:
        raise ValueError("give a command to run, e.g. `shenjing launch -n 2 train config.toml`")
    if argv[0].endswith(".py") or argv[0] == "-m":
        program = [sys.executable, *argv]
    else:
        program = [sys.executable, "-m", "shenjing.cli", *argv]
    return [mpiexec, "-n", str(int(n)), *program]


def add_parser(commands: Any, common: Any) -> None:
    p = commands.add_parser("launch", parents=[common], help="run a shenjing command or script on N MPI processes",
                            description="Start N ranks of a shenjing command or script under mpiexec (MPICH or Open MPI).")
    p.add_argument("-n", "--nproc", type=int, default=2, help="number of processes (ranks), default 2")
    p.add_argument("argv", metavar="command", nargs=argparse_remainder(), help="the shenjing subcommand or script.py and arguments")


def argparse_remainder() -> Any:
    import argparse

    return argparse.REMAINDER


def run(args: Any) -> int:
    if args.nproc < 1:
        raise ValueError(f"-n must be at least 1, got {args.nproc}")
    command = mpiexec_command(args.nproc, list(args.argv))
    try:
        import mpi4py  # noqa: F401
    except ImportError as e:
        raise ImportError("the ranks need mpi4py; install it with `pip install mpich mpi4py`") from e
    rc = subprocess.call(command)
    if rc != 0:
        print(f"shenjing launch: a rank failed with exit status {rc}; mpiexec stopped the other {args.nproc - 1} "
              "rank(s)", file=sys.stderr)
    return rc
