"""A small TOML writer for configuration documents (tables, arrays of scalars and inline tables, scalars)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["dumps"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        if any(isinstance(v, dict) for v in value):
            return "[\n" + "".join(f"  {_value(v)},\n" for v in value) + "]"
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if value is None:
        raise ValueError("TOML has no null: leave the key out")
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps(document: dict, header: str = "") -> str:
    """``document`` as TOML text: scalar keys first, then one ``[table]`` per nested table (one level deep,
    deeper tables inline). Keys whose value is None are left out."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    tables = {k: v for k, v in document.items() if isinstance(v, dict)}
    for key, value in document.items():
        if key not in tables and value is not None:
            lines.append(f"{_key(key)} = {_value(value)}")
    for name, table in tables.items():
        lines.append("")
        lines.append(f"[{_key(name)}]")
        for key, value in table.items():
            if value is not None:
                lines.append(f"{_key(key)} = {_value(value)}")
    return "\n".join(lines) + "\n"
