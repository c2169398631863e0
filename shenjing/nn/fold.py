"""Sliding blocks: unfold (im2col) and fold (col2im), functional + the Unfold and Fold layers.

unfold: (N, C, H, W) → (N, C·k_h·k_w, L), column l holding the block under the l-th kernel position;
row c·k_h·k_w + i·k_w + j is channel c at kernel offset (i, j) (PyTorch's order). fold sums such columns back
into an image, adding where blocks overlap. Each is the other's adjoint, so each one's backward is the other.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..tensor import Tensor
from ._window import pair
from .module import Module

__all__ = ["Fold", "Unfold", "fold", "unfold"]


def _grid(size: tuple, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> tuple:
    """Number of block positions along each axis."""
    return tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, k, d, p, st in zip(size, kernel, dilation, padding,
                                                                                     stride))


def _offsets(kernel: tuple, dilation: tuple, stride: tuple, blocks: tuple) -> list:
    """For each kernel offset (i, j): the strided slices of the padded image that it sees."""
    (kh, kw), (dh, dw), (sh, sw), (bh, bw) = kernel, dilation, stride, blocks
    return [(slice(i * dh, i * dh + sh * (bh - 1) + 1, sh), slice(j * dw, j * dw + sw * (bw - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]


def _im2col(xp: Any, x: Any, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> Any:
    N, C, H, W = x.shape
    (ph, pw) = padding
    padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    blocks = _grid((H, W), kernel, dilation, padding, stride)
    cols = xp.stack([padded[:, :, rows, cols] for rows, cols in _offsets(kernel, dilation, stride, blocks)], axis=2)
    return cols.reshape(N, C * kernel[0] * kernel[1], blocks[0] * blocks[1])  # (N, C·k_h·k_w, L)


def _col2im(xp: Any, cols: Any, size: tuple, kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> Any:
    N = cols.shape[0]
    K = kernel[0] * kernel[1]
    C = cols.shape[1] // K
    blocks = _grid(size, kernel, dilation, padding, stride)
    (ph, pw) = padding
    image = xp.zeros((N, C, size[0] + 2 * ph, size[1] + 2 * pw), dtype=cols.dtype)
    parts = cols.reshape(N, C, K, blocks[0], blocks[1])
    for k, (rows, columns) in enumerate(_offsets(kernel, dilation, stride, blocks)):
        image[:, :, rows, columns] += parts[:, :, k]  # NOTE: one offset never hits a pixel twice
    return image[:, :, ph:ph + size[0], pw:pw + size[1]]


class UnfoldFunction(Function):
    """out = im2col(x) (see the module docstring).   ∂L/∂x = col2im(∂L/∂out), overlaps summed."""

    def forward(self, x: Any, kernel: tuple = (1, 1), dilation: tuple = (1, 1), padding: tuple = (0, 0),
                stride: tuple = (1, 1)) -> Any:
        self.size, self.geometry = x.shape[-2:], (kernel, dilation, padding, stride)
        return _im2col(self.xp, x, kernel, dilation, padding, stride)

    def backward(self, grad: Any) -> Any:
        return _col2im(self.xp, grad, self.size, *self.geometry)


class FoldFunction(Function):
    """out = col2im(cols), summing overlapping blocks.   ∂L/∂cols = im2col(∂L/∂out)."""

    def forward(self, cols: Any, size: tuple = (1, 1), kernel: tuple = (1, 1), dilation: tuple = (1, 1),
                padding: tuple = (0, 0), stride: tuple = (1, 1)) -> Any:
        self.geometry = (kernel, dilation, padding, stride)
        return _col2im(self.xp, cols, size, kernel, dilation, padding, stride)

    def backward(self, grad: Any) -> Any:
        return _im2col(self.xp, grad, *self.geometry)


def _geometry(kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple:
    return (pair(kernel_size, "kernel_size"), pair(dilation, "dilation"), pair(padding, "padding"),
            pair(stride, "stride"))


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,  # noqa: A002
           stride: Any = 1) -> Tensor:
    """Extract sliding blocks: (N, C, H, W) or (C, H, W) → (N, C·k_h·k_w, L) (see the module docstring)."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                           f"{tuple(input.shape)}")
    geometry = _geometry(kernel_size, dilation, padding, stride)
    blocks = _grid(tuple(input.shape[-2:]), *geometry)
    if min(blocks) < 1:
        raise RuntimeError(f"unfold: the kernel {geometry[0]} (dilation {geometry[1]}, padding {geometry[2]}) does "
                           f"not fit the input of shape {tuple(input.shape)}")
    batched = input if input.ndim == 4 else input.unsqueeze(0)
    out = UnfoldFunction.apply(batched, kernel=geometry[0], dilation=geometry[1], padding=geometry[2],
                               stride=geometry[3])
    return out if input.ndim == 4 else out.squeeze(0)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,  # noqa: A002
         stride: Any = 1) -> Tensor:
    """Sum sliding blocks back into an image: (N, C·k_h·k_w, L) or (C·k_h·k_w, L) → (N, C, *output_size)."""
    kernel, dil, pad, step = _geometry(kernel_size, dilation, padding, stride)
    size = pair(output_size, "output_size")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected a 2-D or 3-D input, got shape {tuple(input.shape)}")
    rows, length = input.shape[-2:]
    blocks = _grid(size, kernel, dil, pad, step)
    if rows % (kernel[0] * kernel[1]) or length != blocks[0] * blocks[1]:
        raise RuntimeError(
            f"fold: expected input of shape (N, C·{kernel[0] * kernel[1]}, {blocks[0] * blocks[1]}) for output_size "
            f"{size} and kernel_size {kernel}, got {tuple(input.shape)}")
    batched = input if input.ndim == 3 else input.unsqueeze(0)
    out = FoldFunction.apply(batched, size=size, kernel=kernel, dilation=dil, padding=pad, stride=step)
    return out if input.ndim == 3 else out.squeeze(0)


class Unfold(Module):
    """Extract sliding blocks (see :func:`unfold`)."""

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")

    def get_config(self) -> dict:
        return {key: list(v) if isinstance(v, tuple) else v for key, v in (
            ("kernel_size", self.kernel_size), ("dilation", self.dilation), ("padding", self.padding),
            ("stride", self.stride))}


class Fold(Module):
    """Sum sliding blocks into an image of ``output_size`` (see :func:`fold`)."""

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")

    def get_config(self) -> dict:
        return {key: list(v) if isinstance(v, tuple) else v for key, v in (
            ("output_size", self.output_size), ("kernel_size", self.kernel_size), ("dilation", self.dilation),
            ("padding", self.padding), ("stride", self.stride))}
