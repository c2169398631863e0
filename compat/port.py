"""Port a PyTorch program to shenjing by rewriting its import lines, and check that nothing else changed.

    python -m compat.port            # (re)write every compat/programs/<name>/ported.py from its original.py
                                     # (and ported_modules/X.py from modules/X.py, for programs of several files)
    python -m compat.port --check    # fail if a ported.py is stale or differs from its original beyond imports

Rules (import statements only; every other line is kept byte for byte):
    import torch                        -> import shenjing as torch
    import torch.nn as nn               -> import shenjing.nn as nn        (any torch.X ... as Y)
    import torch.utils.data             -> import shenjing.utils.data      (then `torch.utils.data.X` resolves)
    from torch import nn, optim         -> from shenjing import nn, optim
    from torch.utils.data import X      -> from shenjing.utils.data import X
    from torchvision import datasets    -> from shenjing.vision import datasets   (torchvision.X -> shenjing.vision.X)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

PROGRAMS = Path(__file__).resolve().parent / "programs"
IMPORT = re.compile(r"^(\s*)(import|from)\s+(\S+)(.*)$")
MODULE_MAP = (("torchvision", "shenjing.vision"), ("torch", "shenjing"))


def _module(name: str) -> str:
    for old, new in MODULE_MAP:
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return name


def port_line(line: str) -> str:
    """One source line with torch / torchvision imports pointed at shenjing; any other line unchanged."""
    match = IMPORT.match(line)
    if not match:
        return line
    indent, keyword, module, rest = match.groups()
    if keyword == "from":
        return f"{indent}from {_module(module)}{rest}"
    names = [part.strip() for part in f"{module}{rest}".split(",")]
    out = []
    for name in names:
        target, _, alias = name.partition(" as ")
        target, alias = target.strip(), alias.strip()
        new = _module(target)
        if new == target:
            out.append(name)
        elif alias:
            out.append(f"{new} as {alias}")
        elif "." not in target:
            out.append(f"{new} as {target}")  # import torch -> import shenjing as torch
        else:
            out.append(new)  # import torch.utils.data: the name `torch` is bound by `import shenjing as torch`
    return f"{indent}import {', '.join(out)}"


def port_source(source: str) -> str:
    return "".join(port_line(line.rstrip("\n")) + ("\n" if line.endswith("\n") else "")
                   for line in source.splitlines(keepends=True))


def check_imports_only(original: str, ported: str) -> list[str]:
    """Problems found comparing two sources: a differing line that is not an import on both sides, or torch left."""
    problems = []
    a, b = original.splitlines(), ported.splitlines()
    if len(a) != len(b):
        problems.append(f"line count differs: {len(a)} original, {len(b)} ported")
    for number, (old, new) in enumerate(zip(a, b), start=1):
        if old != new and not (IMPORT.match(old) and IMPORT.match(new)):
            problems.append(f"line {number} differs and is not an import: {old!r} -> {new!r}")
    for number, line in enumerate(b, start=1):
        match = IMPORT.match(line)
        if match and match.group(3).split(".")[0].rstrip(",") in ("torch", "torchvision"):
            problems.append(f"line {number} still imports from torch: {line!r}")
    return problems


def programs() -> list[str]:
    return sorted(p.name for p in PROGRAMS.iterdir() if (p / "original.py").is_file())


def sources(name: str) -> list[tuple[Path, Path]]:
    """(original, ported) file pairs of one program: original.py → ported.py, and for a program of several files
    each modules/X.py (the modules its main file imports) → ported_modules/X.py."""
    folder = PROGRAMS / name
    pairs = [(folder / "original.py", folder / "ported.py")]
    modules = folder / "modules"
    if modules.is_dir():
        pairs += [(path, folder / "ported_modules" / path.name) for path in sorted(modules.glob("*.py"))]
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="check instead of writing")
    args = parser.parse_args(argv)
    failed = False
    for name in programs():
        for original_path, ported_path in sources(name):
            label = name if original_path.name == "original.py" else f"{name}/{original_path.name}"
            original = original_path.read_text(encoding="utf-8")
            expected = port_source(original)
            if args.check:
                current = ported_path.read_text(encoding="utf-8") if ported_path.is_file() else ""
                problems = check_imports_only(original, current)
                if current != expected:
                    problems.append(f"{ported_path.name} is not what port.py generates: run python -m compat.port")
                for problem in problems:
                    print(f"{label}: {problem}")
                failed |= bool(problems)
            else:
                ported_path.parent.mkdir(exist_ok=True)
                ported_path.write_text(expected, encoding="utf-8")
                changed = sum(o != n for o, n in zip(original.splitlines(), expected.splitlines()))
                print(f"{label}: {changed} import lines rewritten")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
