"""Named-tuple results of ops that return several tensors, as ``torch.return_types`` (``max(dim)``, ``sort``).

``return_type("sort")`` gives a tuple class with fields ``values`` and ``indices``: unpack it
(``values, indices = x.max(1)``) or read ``.values`` / ``.indices``. Ops anywhere in the package import the
factory from here; the classes made are cached, so ``return_type("max")`` is always the same class.
"""

from __future__ import annotations

import sys
from collections import namedtuple
from typing import Any

__all__ = ["return_type", "max", "min", "sort", "topk", "kthvalue", "mode", "median", "aminmax"]

_made: dict = {}


def return_type(name: str, fields: tuple = ("values", "indices")) -> Any:
    """The named-tuple class ``shenjing.return_types.<name>`` with ``fields`` (made once, then reused)."""
    key = (name, tuple(fields))
    cls = _made.get(key)
    if cls is None:
        base = namedtuple(name, fields)

        def __repr__(self: Any) -> str:
            body = ",\n".join(f"{field}={value!r}" for field, value in zip(self._fields, self, strict=True))
            return f"shenjing.return_types.{name}(\n{body})"

        cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})
        _made[key] = cls
        module = sys.modules[__name__]
        if not hasattr(module, name) or fields == ("values", "indices"):
            setattr(module, name, cls)
    return cls


max = return_type("max")  # noqa: A001 - PyTorch's names
min = return_type("min")  # noqa: A001
sort = return_type("sort")
topk = return_type("topk")
kthvalue = return_type("kthvalue")
mode = return_type("mode")
median = return_type("median")
aminmax = return_type("aminmax", ("min", "max"))
