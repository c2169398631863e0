"""Padding: ``F.pad`` (constant, reflect, replicate, circular) and the padding layers ZeroPad2d … CircularPad2d.

Constant padding is the Pad op (∂L/∂x = the interior of ∂L/∂out); the other modes copy input rows, and their
gradient adds each copy's gradient back onto its source (conv's PadModeFunction, shared with padding_mode).
"""

from __future__ import annotations

from typing import Any

from ..functions import pad_constant
from ..tensor import Tensor
from .conv import PadModeFunction
from .module import Module

__all__ = [
    "pad", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
    "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d",
]

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:  # noqa: A002
    """Pad the last len(pad)/2 dimensions; ``pad`` = (left, right, top, bottom, …), the last dimension first.

    Modes: 'constant' (``value``, default 0; negative pads crop), 'reflect' (mirror without the edge,
    pad < size), 'replicate' (repeat the edge), 'circular' (wrap around, pad ≤ size). The non-constant modes
    pad the last one or two dimensions.

    Example:
        >>> import shenjing
        >>> pad(shenjing.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect").tolist()
        [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    """
    pads = tuple(int(p) for p in pad)
    shape = tuple(input.shape)
    if len(pads) % 2 or len(pads) // 2 > len(shape):
        raise RuntimeError(
            f"pad: padding length must be divisible by 2 and at most twice the number of dimensions, got "
            f"{len(pads)} pads for an input of shape {shape}")
    if mode not in _MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; expected one of {_MODES}")
    n = len(pads) // 2
    if mode == "constant":
        return _pad_constant(input, pads, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f"pad: padding mode {mode!r} doesn't take in value argument")
    if n > 2:
        raise NotImplementedError(f"pad: mode {mode!r} pads at most the last two dimensions, got {len(pads)} pads")
    if input.ndim not in (n + 1, n + 2):  # (C, …) or (N, C, …), as PyTorch
        raise NotImplementedError(
            f"pad: mode {mode!r} with {len(pads)} pads expects a {n + 1}-D or {n + 2}-D input, got shape {shape}")
    for i in range(n):
        size, (lo, hi) = shape[-1 - i], pads[2 * i: 2 * i + 2]
        limit_ok = max(lo, hi) < size if mode == "reflect" else (max(lo, hi) <= size or mode == "replicate")
        if min(lo, hi) < 0 or not limit_ok or size == 0:
            rule = {"reflect": "be less than", "circular": "not exceed"}.get(mode, "suit")
            raise RuntimeError(
                f"pad: {mode} padding ({lo}, {hi}) of dimension {len(shape) - 1 - i} must {rule} the input size "
                f"{size} (input shape {shape})")
    lo_w, hi_w = pads[0], pads[1]
    lo_h, hi_h = pads[2:4] if n == 2 else (0, 0)
    return PadModeFunction.apply(input, pads=(lo_h, hi_h, lo_w, hi_w), mode=mode)


def _pad_constant(input: Tensor, pads: tuple, value: float) -> Tensor:  # noqa: A002
    if min(pads) < 0:  # a negative pad crops
        index = [slice(None)] * input.ndim
        for i in range(len(pads) // 2):
            lo, hi = pads[2 * i], pads[2 * i + 1]
            axis = input.ndim - 1 - i
            index[axis] = slice(-lo if lo < 0 else None, hi if hi < 0 else None)
        input = input[tuple(index)]
        pads = tuple(max(p, 0) for p in pads)
    widths = [(0, 0)] * input.ndim
    for i in range(len(pads) // 2):
        widths[input.ndim - 1 - i] = (pads[2 * i], pads[2 * i + 1])
    return pad_constant(input, tuple(widths), value)


class _PadNd(Module):
    """A padding layer: ``padding`` is an int (all sides) or PyTorch's tuple, last dimension first."""

    _mode, _n = "constant", 1

    def __init__(self, padding: Any, value: float = 0.0) -> None:
        super().__init__()
        self.padding = (padding,) * (2 * self._n) if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != 2 * self._n:
            raise ValueError(f"{type(self).__name__}: expected an int or {2 * self._n} pads, got {padding!r}")
        self.value = value

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if self._mode == "constant":
            return pad(input, self.padding, "constant", self.value)
        return pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if type(self).__name__.startswith("Constant") else "")

    def get_config(self) -> dict:
        config = {"padding": list(self.padding)}
        return {**config, "value": self.value} if type(self).__name__.startswith("Constant") else config


class ConstantPad1d(_PadNd):
    """Pad the last dimension with ``value``."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dimensions with ``value``."""

    _n = 2


class ZeroPad1d(_PadNd):
    """Pad the last dimension with zeros."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(ZeroPad1d):
    """Pad the last two dimensions with zeros."""

    _n = 2


class ReflectionPad1d(ZeroPad1d):
    """Pad the last dimension by reflection about the edge (the edge itself not repeated)."""

    _mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    _n = 2


class ReplicationPad1d(ZeroPad1d):
    """Pad the last dimension by repeating the edge value."""

    _mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    _n = 2


class CircularPad1d(ZeroPad1d):
    """Pad the last dimension by wrapping around."""

    _mode = "circular"


class CircularPad2d(CircularPad1d):
    _n = 2
