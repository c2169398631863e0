"""``Module.explain``: bound into the Module class body (one line in shenjing/nn/module.py)."""

from __future__ import annotations

from typing import Any


def explain(self: Any, x: Any, y: Any = None, **kwargs: Any) -> Any:
    """``model.explain(x, y, loss=..., optimizer=...)``: see :func:`shenjing.explain.explain`."""
    from .core import explain as _explain

    return _explain(self, x, y, **kwargs)
