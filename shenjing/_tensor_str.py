"""How a tensor prints: PyTorch's layout, character for character (``tensor([[ 0.1257, -0.1321, ...``).

The same rules as ``torch/_tensor_str.py``, so that programs which print tensors print what they printed under
PyTorch: one width for every element (the widest), 4 decimals, scientific notation when the non-zero magnitudes
span more than 10³ (or pass 10⁸, or go below 10⁻⁴), integers-valued floats as ``1.``; as many elements per line as
fit in 80 columns after the indent; more than 1000 elements summarised to the first and last 3 along each
dimension. :func:`set_printoptions` changes them, as ``torch.set_printoptions``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import numpy

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_str"]


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Printing options, as ``torch.set_printoptions``: ``profile`` 'default', 'short' or 'full', or each one."""
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
        if profile not in presets:
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', got {profile!r}")
        PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = presets[profile]
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current printing options (a dict of :func:`set_printoptions`'s keywords)."""
    return dict(PRINT_OPTS.__dict__)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Any:
    """Printing options for the ``with`` block only."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(PRINT_OPTS, name, value)


class _Formatter:
    """One width and one notation for every element of a tensor (PyTorch's ``_Formatter``)."""

    def __init__(self, values: numpy.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        flat = values.reshape(-1)
        precision = PRINT_OPTS.precision
        if not self.floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
        else:
            finite = flat[numpy.isfinite(flat) & (flat != 0)].astype(numpy.float64)
            if finite.size:
                magnitude = numpy.abs(finite)
                low, high = float(magnitude.min()), float(magnitude.max())
                self.int_mode = bool((finite == numpy.ceil(finite)).all())
                if self.int_mode:
                    self.sci_mode = high / low > 1000.0 or high > 1.0e8
                    width = (lambda v: len(f"{v:.{precision}e}")) if self.sci_mode else (lambda v: len(f"{v:.0f}") + 1)
                else:
                    self.sci_mode = high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4
                    fmt = "e" if self.sci_mode else "f"
                    width = lambda v: len(f"{v:.{precision}{fmt}}")  # noqa: E731
                self.max_width = max(self.max_width, max(width(v) for v in finite.tolist()))
        if PRINT_OPTS.sci_mode is not None:
            self.sci_mode = PRINT_OPTS.sci_mode

    def width(self) -> int:
        return self.max_width

    def format(self, value: Any) -> str:
        precision = PRINT_OPTS.precision
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.max_width}.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{precision}f}"
        else:
            text = f"{value}"
        return (self.max_width - len(text)) * " " + text


def _summarized(values: numpy.ndarray) -> numpy.ndarray:
    """The elements a summarised print shows (the first and last ``edgeitems`` along every dimension)."""
    edge = PRINT_OPTS.edgeitems
    if values.ndim == 0:
        return values
    if values.shape[0] > 2 * edge:
        values = numpy.concatenate([values[:edge], values[-edge:]])
    if values.ndim == 1:
        return values
    return numpy.stack([_summarized(v) for v in values])


def _vector(values: numpy.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    element_length = formatter.width() + 2  # the element, a comma and a space
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        data = ["..."]
    elif summarize and values.shape[0] > 2 * edge:
        data = ([formatter.format(v) for v in values[:edge].tolist()] + [" ..."]
                + [formatter.format(v) for v in values[-edge:].tolist()])
    else:
        data = [formatter.format(v) for v in values.tolist()]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(values: numpy.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        return _vector(values, indent, summarize, formatter)
    edge = PRINT_OPTS.edgeitems
    if summarize and values.shape[0] > 2 * edge:
        rows = ([_nested(values[i], indent + 1, summarize, formatter) for i in range(edge)] + ["..."]
                + [_nested(values[i], indent + 1, summarize, formatter) for i in range(len(values) - edge, len(values))])
    else:
        rows = [_nested(values[i], indent + 1, summarize, formatter) for i in range(values.shape[0])]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def tensor_str(values: numpy.ndarray, indent: int) -> str:
    """The bracketed body of a tensor's print (host values), indented for a ``tensor(`` prefix of ``indent``."""
    if values.size == 0:
        return "[]"
    if values.dtype.kind == "c":  # complex: NumPy's layout (PyTorch's complex formatter is not reproduced)
        return numpy.array2string(values, separator=", ", prefix=" " * indent, precision=PRINT_OPTS.precision)
    if values.dtype == numpy.float16 or values.dtype.name == "bfloat16":
        values = values.astype(numpy.float32)
    summarize = values.size > PRINT_OPTS.threshold
    formatter = _Formatter(_summarized(values) if summarize else values)
    return _nested(values, indent, summarize, formatter)


def add_suffixes(text: str, suffixes: list, indent: int) -> str:
    """``tensor(…)`` with its suffixes (dtype=, grad_fn=…), each on a new line where it would pass the line width."""
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    parts.append(")")
    return "".join(parts)
