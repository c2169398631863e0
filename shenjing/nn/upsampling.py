"""Resizing: ``F.interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic; ``antialias``) and the Upsample
layers.

Each spatial axis is resized on its own (the modes are separable): nearest picks one source row per output
row, linear mixes two, out = (1 − λ)·x[i₀] + λ·x[i₁]; bicubic mixes four with Keys' cubic kernel (a = −0.75);
``antialias`` (bilinear, bicubic) widens the kernel by the reduction factor when shrinking, as Pillow does,
out[d] = Σⱼ k((j − c_d + ½)/s)·x[j] / Σⱼ k(…), c_d = s·(d + ½). All are gathers (the Index op) and products, so
the gradient scatters back onto the source rows, summed where one row feeds several outputs.
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import backend_of
from ..tensor import Tensor
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "interpolate", "upsample", "upsample_nearest",
           "upsample_bilinear"]

_LINEAR = {"linear": 1, "bilinear": 2, "bicubic": 2}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic")


def _take(x: Tensor, axis: int, index: Any) -> Tensor:
    """x with ``index`` (a 1-D integer array) picked along ``axis`` (counted from the end, −1 or −2)."""
    return x[(Ellipsis, index) + (slice(None),) * (-1 - axis)]


def _source_scale(size: int, out: int, scale: float | None, align_corners: bool) -> float:
    if align_corners:
        return (size - 1) / (out - 1) if out > 1 else 0.0
    return 1.0 / scale if scale is not None else size / out


def _cubic(t: Any, a: float) -> Any:
    """Keys' cubic convolution kernel: (a+2)|t|³ − (a+3)|t|² + 1 on |t| ≤ 1, a|t|³ − 5a|t|² + 8a|t| − 4a on 1 < |t| < 2."""
    t = abs(t)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return (t <= 1) * near + ((t > 1) & (t < 2)) * far


def _taps(size: int, out: int, scale: float | None, mode: str, align_corners: bool, antialias: bool) -> tuple:
    """Source rows (out, K) and their weights (out, K) in float64 for bicubic or an antialiased mode.

    Computed on the host with Python's float arithmetic, the way PyTorch computes its index and weight tables.
    """
    import numpy  # host-side: a small (out, K) table of indices and weights, moved to the device once

    ratio = _source_scale(size, out, scale, align_corners)
    dst = numpy.arange(out, dtype=numpy.float64)
    if antialias:
        width = 1.0 if mode == "bilinear" else 2.0  # the kernel's half-support: triangle 1, cubic 2
        stretch = ratio if ratio >= 1.0 else 1.0
        support = width * stretch
        centre = ratio * (dst + 0.5)
        lo = numpy.maximum((centre - support + 0.5).astype(numpy.int64), 0)
        hi = numpy.minimum((centre + support + 0.5).astype(numpy.int64), size)
        k = max(int((hi - lo).max()), 1)
        index = lo[:, None] + numpy.arange(k)[None, :]
        valid = index < hi[:, None]
        t = (index - centre[:, None] + 0.5) / stretch
        weight = numpy.maximum(1.0 - abs(t), 0.0) if mode == "bilinear" else _cubic(t, -0.5)
        weight = numpy.where(valid, weight, 0.0)
        total = weight.sum(axis=1, keepdims=True)
        weight = weight / numpy.where(total == 0, 1.0, total)
        return numpy.minimum(index, size - 1), weight
    src = dst * ratio if align_corners else (dst + 0.5) * ratio - 0.5  # bicubic: not clamped at 0, as PyTorch
    first = numpy.floor(src)
    t = src - first
    index = numpy.clip(first.astype(numpy.int64)[:, None] + numpy.arange(-1, 3)[None, :], 0, size - 1)
    weight = _cubic(t[:, None] - numpy.arange(-1, 3)[None, :], -0.75)
    return index, weight


def _resize_axis(x: Tensor, axis: int, out: int, scale: float | None, mode: str, align_corners: bool,
                 antialias: bool = False) -> Tensor:
    size = x.shape[axis]
    xp = backend_of(x.array).xp
    if mode == "bicubic" or antialias:
        index, weight = _taps(size, out, scale, mode, align_corners, antialias)
        view = (-1,) + (1,) * (-1 - axis)
        result = None
        for k in range(index.shape[1]):
            w = Tensor._wrap(xp.asarray(weight[:, k].reshape(view), dtype=x.array.dtype))
            term = _take(x, axis, xp.asarray(index[:, k])) * w
            result = term if result is None else result + term
        return result
    dst = xp.arange(out)
    if mode in ("nearest", "nearest-exact"):
        # NOTE: PyTorch computes the source position in float32 (for every dtype); so do we, for the same picks
        ratio = xp.float32(1.0 / scale if scale is not None else size / out)
        shift = xp.float32(0.5 if mode == "nearest-exact" else 0.0)
        src = xp.floor((dst.astype("float32") + shift) * ratio).astype("int64")
        return _take(x, axis, xp.minimum(src, size - 1))
    ratio = _source_scale(size, out, scale, align_corners)
    dtype = x.array.dtype
    if align_corners:
        src = dst.astype(dtype) * dtype.type(ratio)
    else:
        src = xp.maximum((dst.astype(dtype) + dtype.type(0.5)) * dtype.type(ratio) - dtype.type(0.5), 0)
    i0 = xp.minimum(xp.floor(src).astype("int64"), size - 1)
    i1 = xp.minimum(i0 + 1, size - 1)
    lam = (src - i0).astype(dtype)
    view = (-1,) + (1,) * (-1 - axis)
    lam_t = Tensor._wrap(lam.reshape(view))
    return _take(x, axis, i0) * (1 - lam_t) + _take(x, axis, i1) * lam_t


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",  # noqa: A002
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dimensions of (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor``.

    Output size ⌊in · scale_factor⌋. Source position of output index d: nearest ⌊d·s⌋, nearest-exact
    ⌊(d + ½)·s⌋, linear (d + ½)·s − ½ (clamped at 0; bicubic not clamped), or d·(in − 1)/(out − 1) with
    ``align_corners``, where s = 1/scale_factor (or in/out when ``size`` is given or ``recompute_scale_factor``).
    ``antialias=True`` (bilinear, bicubic) filters over s source rows per output row when shrinking (s > 1).
    """
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; supported modes: {_MODES}")
    n = input.ndim - 2
    if n not in (1, 2):
        raise NotImplementedError(
            f"interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape {tuple(input.shape)}")
    if mode in _LINEAR and _LINEAR[mode] != n:
        raise NotImplementedError(f"interpolate: mode {mode!r} expects a {_LINEAR[mode] + 2}-D input, got {n + 2}-D")
    if mode not in _LINEAR and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise NotImplementedError(f"interpolate: anti-alias option is restricted to bilinear and bicubic modes and "
                                  f"requires a 4-D tensor as input, got mode {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    spatial = tuple(input.shape[2:])
    if size is not None:
        sizes = (size,) * n if isinstance(size, int) else tuple(size)
        if len(sizes) != n:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(spatial)} and output size of {list(sizes)}.")
        scales = (None,) * n
    else:
        factors = (scale_factor,) * n if isinstance(scale_factor, int | float) else tuple(scale_factor)
        if len(factors) != n:
            raise ValueError(f"interpolate: expected {n} scale factors, got {scale_factor!r}")
        sizes = tuple(math.floor(s * f) for s, f in zip(spatial, factors))
        scales = (None,) * n if recompute_scale_factor else tuple(float(f) for f in factors)
    out = input
    for i, (target, scale) in enumerate(zip(sizes, scales)):
        axis = i - n  # −2, −1 for 2-D; −1 for 1-D
        if target != out.shape[axis] or scale not in (None, 1.0):
            out = _resize_axis(out, axis, int(target), scale, mode, bool(align_corners), antialias)
    return out


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",  # noqa: A002
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`, as PyTorch's."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:  # noqa: A002
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:  # noqa: A002
    """Deprecated: ``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


class Upsample(Module):
    """Resize by ``scale_factor`` or to ``size`` (see :func:`interpolate`)."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, int | float) else scale_factor
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        shown = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{shown}, mode={self.mode!r}"

    def get_config(self) -> dict:
        return {"size": self.size, "scale_factor": self.scale_factor, "mode": self.mode,
                "align_corners": self.align_corners, "recompute_scale_factor": self.recompute_scale_factor}


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W)."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")

    def get_config(self) -> dict:
        return {"size": self.size, "scale_factor": self.scale_factor}


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling of (N, C, H, W) with align_corners=True (as PyTorch's)."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)

    def get_config(self) -> dict:
        return {"size": self.size, "scale_factor": self.scale_factor}
