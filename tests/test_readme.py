"""README.md stays true: its opening commands and its tour run."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
CI = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()
    test_command = first_block[1].split("#")[0].strip()
    assert test_command.startswith("pip install") and "pytest" in test_command
    assert test_command in CI


def test_tour_runs_and_prints_13002(capsys) -> None:
    tour = re.search(r"## A tour.*?```python\n(.*?)```", README, re.S).group(1)
    exec(compile(tour, "README tour", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "13002"
    assert len(printed) == 7 and printed[1].startswith("0.weight   (16, 784)")
