"""Tensor's shape methods (reshape, permute, expand, split ...) and ``[]``; the Functions are in ops/shape.py."""

from __future__ import annotations

from typing import Any

from . import autograd
from ._tensor_base import _data, _dims, _inplace_graph, _inplace_ops
from .ops import reduce as R
from .ops import shape as S

Tensor: Any = None  # the class these methods are a base of; set by tensor.py once it has made it


class ShapeMethods:
    """Views and rearrangements of a tensor's elements, and ``x[index]`` / ``x[index] = value``."""

    __slots__ = ()

    # ---- shape --------------------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        shape = _dims(shape)
        if shape == self.array.shape:
            return self
        return S.Reshape.apply(self, shape=shape)

    def view(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], int | tuple | list):
            return self.to(shape[0])  # view(dtype) is a reinterpretation in PyTorch; a cast is the safe analogue
        return self.reshape(*shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self.shape
        if not shape:
            return self.reshape(1)
        (start,), (end,) = R.normalize_axis(start_dim, len(shape)), R.normalize_axis(end_dim, len(shape))
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        size = 1
        for s in shape[start : end + 1]:
            size *= s
        return self.reshape(shape[:start] + (size,) + shape[end + 1 :])

    def unflatten(self, dim: int, sizes: tuple) -> Tensor:
        (dim,) = R.normalize_axis(dim, self.ndim)
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1 :])

    def squeeze(self, dim: Any = None) -> Tensor:
        shape = self.shape
        if dim is None:
            return self.reshape(tuple(s for s in shape if s != 1))
        axes = R.normalize_axis(dim, self.ndim)
        return self.reshape(tuple(s for i, s in enumerate(shape) if not (i in axes and s == 1)))

    def unsqueeze(self, dim: int) -> Tensor:
        (dim,) = R.normalize_axis(dim, self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return S.Permute.apply(self, dims=tuple(dims))

    swapaxes = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    def permute(self, *dims: Any) -> Tensor:
        return S.Permute.apply(self, dims=tuple(d % self.ndim for d in _dims(dims)))

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _dims(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return S.Expand.apply(self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        reps = _dims(sizes)
        if len(reps) < self.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
            )
        return S.Tile.apply(self, reps=reps)

    def flip(self, *dims: Any) -> Tensor:
        return S.Flip.apply(self, axes=tuple(_dims(dims)))

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        size = max(-(-self.shape[dim] // chunks), 1)
        return self.split(size, dim)

    def split(self, split_size: Any, dim: int = 0) -> tuple:
        length = self.shape[dim]
        if isinstance(split_size, int) and split_size <= 0:
            if split_size < 0 or length != 0:
                raise RuntimeError(
                    f"split_size can only be 0 if dimension size is 0, but got dimension size of {length}"
                    if split_size == 0 else f"split expects split_size be non-negative, but got split_size={split_size}"
                )
            return (self,)
        if isinstance(split_size, int):
            sizes = [min(split_size, length - start) for start in range(0, length, split_size)]
        else:
            sizes = list(split_size)
        prefix = (slice(None),) * (dim % self.ndim)
        out, start = [], 0
        for size in sizes:
            out.append(self[prefix + (slice(start, start + size),)])
            start += size
        return tuple(out)

    def unbind(self, dim: int = 0) -> tuple:
        prefix = (slice(None),) * (dim % self.ndim)
        return tuple(self[prefix + (i,)] for i in range(self.shape[dim]))

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, tuple):
            index = tuple(_data(i) for i in index)
        else:
            index = _data(index)
        return S.Index.apply(self, index=index)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value``. Inside a graph (x or value requires grad) it is recorded, as PyTorch's
        ``index_put_``/``copy_`` on a slice: the gradient flows to ``value`` and to the untouched part of x."""
        if isinstance(index, tuple):
            index = tuple(_data(i) for i in index)
        else:
            index = _data(index)
        if autograd._grad_mode.enabled and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            _inplace_graph(self, lambda old: _inplace_ops().SetItem.apply(old, value, index=index))
            return
        self.array[index] = _data(value)
        autograd.bump_version(self.array)
