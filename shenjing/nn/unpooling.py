"""Max unpooling (``MaxUnpool1d``, ``MaxUnpool2d``): max pooling's partial inverse, for encoder–decoder nets.

``max_pool2d(x, k, return_indices=True)`` gives each window's maximum a and its position p (y·W + x in its
(n, c) plane). Unpooling writes every a back at its p in a zero image of the pre-pooling size; the rest is 0:

    out[n, c, p[n, c, y, x]] = a[n, c, y, x]          ∂L/∂a[n, c, y, x] = ∂L/∂out[n, c, p[n, c, y, x]]

(a gather of the gradient). The default output size is H_out = (H_in − 1)·s − 2p + k per axis; ``output_size``
picks one of the sizes that pooled to H_in (within one stride of the default), as PyTorch.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..tensor import Tensor, _data
from ._window import pair
from .module import Module

__all__ = ["MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
           "MaxUnpoolFunction"]


class MaxUnpoolFunction(Function):
    """out (rows, P_out) zero but for out[r, p[r, q]] = a[r, q];   ∂L/∂a[r, q] = ∂L/∂out[r, p[r, q]]."""

    def forward(self, a: Any, positions: Any, size: int = 1) -> Any:
        xp = self.xp
        rows = a.reshape(-1, a.shape[-1])
        out = xp.zeros((rows.shape[0], size), dtype=a.dtype)
        self.positions = positions.reshape(rows.shape)
        xp.put_along_axis(out, self.positions, rows, axis=1)
        self.a_shape = a.shape
        return out

    def backward(self, grad: Any) -> Any:
        return self.xp.take_along_axis(grad, self.positions, axis=1).reshape(self.a_shape), None


def _output_size(where: str, spatial: tuple, kernel: tuple, stride: tuple, padding: tuple, output_size: Any) -> tuple:
    default = tuple((spatial[d] - 1) * stride[d] - 2 * padding[d] + kernel[d] for d in range(len(spatial)))
    if output_size is None:
        return default
    size = tuple(int(s) for s in output_size)
    if len(size) == len(spatial) + 2:
        size = size[2:]
    elif len(size) == len(spatial) + 1:
        size = size[1:]
    if len(size) != len(spatial):
        raise ValueError(f"{where}: output_size should be a sequence containing {len(spatial)} or "
                         f"{len(spatial) + 2} elements, but it has a length of '{len(tuple(output_size))}'")
    for d in range(len(spatial)):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < size[d] < high:
            raise ValueError(f'invalid output_size "{list(size)}" (dim {d} must be between {low} and {high})')
    return size


def _unpool(where: str, input: Tensor, indices: Any, kernel: tuple, stride: tuple, padding: tuple,  # noqa: A002
            output_size: Any) -> Tensor:
    n = len(kernel)
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: input must be a Tensor, got {type(input).__name__}")
    index = _data(indices)
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{where}: expected a {n + 1}-D or {n + 2}-D input, got shape {tuple(input.shape)}")
    if tuple(getattr(index, "shape", ())) != tuple(input.shape):
        raise RuntimeError(f"{where}: expected indices of the input's shape {tuple(input.shape)}, got "
                           f"{tuple(getattr(index, 'shape', ()))}")
    if getattr(index, "dtype", None) is None or index.dtype.kind not in "iu":
        raise RuntimeError(f"{where}: expected integer indices (max_pool's return_indices), got "
                           f"{getattr(index, 'dtype', type(indices).__name__)}")
    spatial = tuple(input.shape[-n:])
    size = _output_size(where, spatial, kernel, stride, padding, output_size)
    plane = 1
    for s in size:
        plane *= s
    if index.size:
        low, high = int(index.min()), int(index.max())
        if low < 0 or high >= plane:
            bad = low if low < 0 else high
            raise RuntimeError(f"{where}: Found an invalid max index: {bad} (output volumes are of size "
                               f"{'x'.join(str(s) for s in size)})")
    lead = tuple(input.shape[:-n])
    flat = input.reshape(lead + (-1,))
    out = MaxUnpoolFunction.apply(flat, index.reshape(lead + (-1,)).astype("int64"), size=plane)
    return out.reshape(lead + size)


def max_unpool2d(input: Tensor, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
                 output_size: Any = None) -> Tensor:
    """Place each pooled maximum back at its index in a zero (N, C, H_out, W_out) map (see the module docstring)."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    return _unpool("max_unpool2d", input, indices, kernel, stride, pair(padding, "padding"), output_size)


def max_unpool3d(input: Tensor, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
                 output_size: Any = None) -> Tensor:
    """Place each pooled maximum back at its index in a zero (N, C, D_out, H_out, W_out) volume."""
    kernel = pair(kernel_size, "kernel_size", 3)
    stride = kernel if stride is None else pair(stride, "stride", 3)
    return _unpool("max_unpool3d", input, indices, kernel, stride, pair(padding, "padding", 3), output_size)


def max_unpool1d(input: Tensor, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
                 output_size: Any = None) -> Tensor:
    """Place each pooled maximum back at its index in a zero (N, C, L_out) sequence."""
    kernel = pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else pair(stride, "stride", 1)
    return _unpool("max_unpool1d", input, indices, kernel, stride, pair(padding, "padding", 1), output_size)


class MaxUnpool2d(Module):
    """The inverse of ``MaxPool2d(return_indices=True)`` where it can be: ``unpool(*pool(x))`` keeps each window's
    maximum in place and zeros the rest. ``forward(input, indices, output_size=None)``.

    Example:
        >>> import shenjing
        >>> pool, unpool = shenjing.nn.MaxPool2d(2, return_indices=True), shenjing.nn.MaxUnpool2d(2)
        >>> x = shenjing.tensor([[[[1.0, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]]])
        >>> unpool(*pool(x)).tolist()
        [[[[0.0, 0.0, 0.0, 0.0], [0.0, 6.0, 0.0, 8.0], [0.0, 0.0, 0.0, 0.0], [0.0, 14.0, 0.0, 16.0]]]]
    """

    _n = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        n = self._n
        self.kernel_size = pair(kernel_size, "kernel_size", n)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", n)
        self.padding = pair(padding, "padding", n)

    def forward(self, input: Tensor, indices: Any, output_size: Any = None) -> Tensor:  # noqa: A002
        return _unpool(type(self).__name__, input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def get_config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding)}


class MaxUnpool1d(MaxUnpool2d):
    """The inverse of ``MaxPool1d(return_indices=True)`` where it can be, over (N, C, L) or (C, L)."""

    _n = 1


class MaxUnpool3d(MaxUnpool2d):
    """The inverse of ``MaxPool3d(return_indices=True)`` where it can be, over (N, C, D, H, W) or (C, D, H, W)."""

    _n = 3
