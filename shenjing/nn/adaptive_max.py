"""Adaptive max pooling to a fixed output size: adaptive_max_pool1d/2d and AdaptiveMaxPool1d/2d.

Output cell (i, j) takes the max over rows ⌊iH/H_out⌋ … ⌈(i+1)H/H_out⌉ − 1 and the columns likewise, so
windows may overlap. ∂L/∂x: each cell's gradient goes to the first position of its maximum (as PyTorch),
added up where overlapping windows share it.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import backend_of
from ..tensor import Tensor
from .module import Module

__all__ = ["AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "adaptive_max_pool1d", "adaptive_max_pool2d"]


def _bounds(size: int, out: int) -> list:
    return [(i * size // out, math.ceil((i + 1) * size / out)) for i in range(out)]


class AdaptiveMaxPool2dFunction(Function):
    """out[..., i, j] = max of its window; ∂L/∂x = ∂L/∂out sent to each window's first maximum."""

    def forward(self, x: Any, output_size: tuple = (1, 1)) -> Any:
        xp = self.xp
        H, W = x.shape[-2:]
        lead = x.shape[:-2]
        flat = x.reshape((-1, H * W))  # (M, H·W)
        rows, cols = _bounds(H, output_size[0]), _bounds(W, output_size[1])
        values, picks = [], []
        for h0, h1 in rows:
            for w0, w1 in cols:
                window = x[..., h0:h1, w0:w1].reshape((flat.shape[0], -1))  # (M, window)
                k = window.argmax(axis=1)  # NOTE: the first maximum, as PyTorch
                values.append(window[xp.arange(window.shape[0]), k])
                picks.append((h0 + k // (w1 - w0)) * W + w0 + k % (w1 - w0))  # flat index in the H·W plane
        self.picks = xp.stack(picks, axis=1)  # (M, H_out·W_out)
        self.x_shape = x.shape
        out = xp.stack(values, axis=1)
        return out.reshape(lead + tuple(output_size))

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        M = self.picks.shape[0]
        grad_x = xp.zeros((M, self.x_shape[-2] * self.x_shape[-1]), dtype=grad.dtype)
        rows = xp.broadcast_to(xp.arange(M)[:, None], self.picks.shape)
        backend_of(grad_x).scatter_add(grad_x, (rows, self.picks), grad.reshape(M, -1))
        return grad_x.reshape(self.x_shape)


def _sizes(output_size: Any, shape: tuple, n: int) -> tuple:
    sizes = (output_size,) * n if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(sizes) != n:
        raise ValueError(f"adaptive_max_pool{n}d: output_size must be an int or {n} ints, got {output_size!r}")
    return tuple(shape[-n + i] if s is None else int(s) for i, s in enumerate(sizes))


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:  # noqa: A002
    """Max pooling of (N, C, H, W) or (C, H, W) to ``output_size`` (H_out, W_out)."""
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d: return_indices=True is not supported")
    if input.ndim not in (3, 4) or 0 in tuple(input.shape[-2:]):
        raise RuntimeError(f"adaptive_max_pool2d: expected a 3-D or 4-D input with non-zero H and W, got shape "
                           f"{tuple(input.shape)}")
    size = _sizes(output_size, tuple(input.shape), 2)
    if min(size) < 1:
        raise RuntimeError(f"adaptive_max_pool2d: output_size must be positive, got {size}")
    return AdaptiveMaxPool2dFunction.apply(input, output_size=size)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:  # noqa: A002
    """Max pooling of the last axis of (N, C, L) or (C, L) to length ``output_size``."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d: expected a 2-D or 3-D input, got shape {tuple(input.shape)}")
    (size,) = _sizes(output_size, tuple(input.shape), 1)
    return adaptive_max_pool2d(input.unsqueeze(-2), (1, size), return_indices).squeeze(-2)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (see :func:`adaptive_max_pool2d`)."""

    _fn = staticmethod(adaptive_max_pool2d)

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        if return_indices:
            raise NotImplementedError(f"{type(self).__name__}: return_indices=True is not supported")
        self.output_size = tuple(output_size) if isinstance(output_size, list) else output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return type(self)._fn(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def get_config(self) -> dict:
        size = list(self.output_size) if isinstance(self.output_size, tuple) else self.output_size
        return {"output_size": size}


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """Max pooling of the last axis to a fixed length (see :func:`adaptive_max_pool1d`)."""

    _fn = staticmethod(adaptive_max_pool1d)
