"""Integer-index ops (gather, scatter, index_select, index_add, masked_select, diagonal, roll, tril/triu).

They move values to or from places named by an index, so the gradient moves the other way: what a gather
reads, its backward scatter-adds (a place read twice gets the sum of both gradients); what a scatter writes
over gets no gradient from the old tensor.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import backend_of
from .broadcast import unbroadcast


def along(xp: Any, index: Any, dim: int) -> tuple:
    """The advanced-index tuple that picks ``a[i₀, …, index[i₀, …], …]`` (``index`` in place of axis ``dim``)."""
    items = []
    for d, size in enumerate(index.shape):
        if d == dim:
            items.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = size
            items.append(xp.arange(size).reshape(shape))
    return tuple(items)


def leading(shape: tuple, like: tuple, dim: int | None = None) -> tuple:
    """Slices that cut an array of ``shape`` down to ``like`` on every axis but ``dim`` (gather's rule)."""
    return tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(like[: len(shape)]))


class Gather(Function):
    """out[i][j] = a[index[i][j]][j] (for dim=0; likewise for any ``dim``).

    ∂L/∂a = zeros with ∂L/∂out scatter-added at ``index`` (indices that repeat accumulate).
    """

    def forward(self, a: Any, index: Any = None, dim: int = 0, unique: bool = False) -> Any:
        self.shape, self.index, self.dim = a.shape, index, dim
        self.unique = unique or index.shape[dim] <= 1  # no place read twice: a plain write suffices
        return a[along(self.xp, index, dim)]

    def backward(self, grad: Any) -> Any:
        grad_a = self.xp.zeros(self.shape, dtype=grad.dtype)
        where = along(self.xp, self.index, self.dim)
        if self.unique:  # NOTE: a plain write is ~30x faster than numpy.add.at
            grad_a[where] = grad
        else:
            backend_of(grad_a).scatter_add(grad_a, where, grad)
        return grad_a


class Scatter(Function):
    """out = a with out[index[i][j]][j] = src[i][j] (dim=0), or = ``value`` when there is no ``src``.

    ∂L/∂a = ∂L/∂out with the written places zeroed;  ∂L/∂src = ∂L/∂out gathered at ``index`` (zero where
    ``src`` was not read). With repeated indices the kept value is unspecified in PyTorch; so is it here.
    """

    def forward(self, a: Any, src: Any = None, index: Any = None, dim: int = 0, value: Any = None) -> Any:
        self.index, self.dim = index, dim
        self.src_shape = None if value is not None else src.shape
        out = a.copy()
        where = along(self.xp, index, dim)
        if value is not None:
            out[where] = value
        else:
            out[where] = src[leading(src.shape, index.shape)]
        return out

    def backward(self, grad: Any) -> tuple:
        where = along(self.xp, self.index, self.dim)
        grad_a = grad_src = None
        if self.needs_input_grad[0]:
            grad_a = grad.copy()
            grad_a[where] = 0
        if self.src_shape is not None and self.needs_input_grad[1]:
            grad_src = self.xp.zeros(self.src_shape, dtype=grad.dtype)
            grad_src[leading(self.src_shape, self.index.shape)] = grad[where]
        return grad_a, grad_src


class ScatterAdd(Function):
    """out = a with src[i][j] added at out[index[i][j]][j] (dim=0), once per occurrence of an index.

    With ``mean=True``: each place holds the mean of its old value (if ``include_self``) and what was added.
    ∂L/∂a = ∂L/∂out (÷ count for the mean; zero where include_self=False and something was added);
    ∂L/∂src = ∂L/∂out gathered at ``index`` (÷ count for the mean).
    """

    def forward(self, a: Any, src: Any = None, index: Any = None, dim: int = 0, include_self: bool = True,
                mean: bool = False, alpha: Any = 1) -> Any:
        xp = self.xp
        self.index, self.dim, self.src_shape, self.alpha = index, dim, src.shape, alpha
        self.include_self, self.mean = include_self, mean
        where = along(xp, index, dim)
        part = src[leading(src.shape, index.shape)]
        out = a.copy()
        hit = None
        if not include_self or mean:
            hit = xp.zeros(a.shape, dtype=a.dtype)
            backend_of(hit).scatter_add(hit, where, xp.ones(index.shape, dtype=a.dtype))
        if not include_self:
            out[hit > 0] = 0
        backend_of(out).scatter_add(out, where, part * alpha if alpha != 1 else part)
        self.count = None
        if mean:
            count = hit + (1 if include_self else 0)
            count[count == 0] = 1
            self.count = count
            out = out // count if out.dtype.kind in "iub" else out / count
        self.hit = hit
        return out

    def backward(self, grad: Any) -> tuple:
        where = along(self.xp, self.index, self.dim)
        if self.count is not None:
            grad = grad / self.count
        grad_a = grad_src = None
        if self.needs_input_grad[0]:
            grad_a = grad if self.include_self else grad * (self.hit == 0)
        if self.needs_input_grad[1]:
            grad_src = self.xp.zeros(self.src_shape, dtype=grad.dtype)
            picked = grad[where]
            grad_src[leading(self.src_shape, self.index.shape)] = picked * self.alpha if self.alpha != 1 else picked
        return grad_a, grad_src


class IndexSelect(Function):
    """out = a taken at ``index`` (1-D) along ``dim``.   ∂L/∂a = ∂L/∂out scatter-added back along ``dim``."""

    def forward(self, a: Any, index: Any = None, dim: int = 0) -> Any:
        self.shape, self.index, self.dim = a.shape, index, dim
        return self.xp.take(a, index, axis=dim)

    def backward(self, grad: Any) -> Any:
        grad_a = self.xp.zeros(self.shape, dtype=grad.dtype)
        backend_of(grad_a).scatter_add(grad_a, (slice(None),) * self.dim + (self.index,), grad)
        return grad_a


class IndexAdd(Function):
    """out = a with alpha·src[..., i, ...] added at a[..., index[i], ...] along ``dim``.

    ∂L/∂a = ∂L/∂out;  ∂L/∂src = alpha · ∂L/∂out taken at ``index`` along ``dim``.
    """

    def forward(self, a: Any, src: Any = None, index: Any = None, dim: int = 0, alpha: Any = 1) -> Any:
        self.index, self.dim, self.alpha = index, dim, alpha
        out = a.copy()
        backend_of(out).scatter_add(out, (slice(None),) * dim + (index,), src * alpha if alpha != 1 else src)
        return out

    def backward(self, grad: Any) -> tuple:
        grad_src = None
        if self.needs_input_grad[1]:
            grad_src = self.xp.take(grad, self.index, axis=self.dim)
            grad_src = grad_src * self.alpha if self.alpha != 1 else grad_src
        return grad, grad_src


class MaskedSelect(Function):
    """out = the elements of a where ``mask`` (both broadcast), as a 1-D array.

    ∂L/∂a = zeros with ∂L/∂out put back at the masked places, summed over broadcast axes.
    """

    def forward(self, a: Any, mask: Any = None) -> Any:
        shape = self.xp.broadcast_shapes(a.shape, mask.shape)
        self.shape, self.mask = a.shape, self.xp.broadcast_to(mask, shape)
        return self.xp.broadcast_to(a, shape)[self.mask]

    def backward(self, grad: Any) -> Any:
        grad_a = self.xp.zeros(self.mask.shape, dtype=grad.dtype)
        grad_a[self.mask] = grad
        return unbroadcast(grad_a, self.shape)


class Diagonal(Function):
    """out = the ``offset`` diagonal of a over axes (dim1, dim2), as the last axis.

    ∂L/∂a = zeros with ∂L/∂out written back on that diagonal.
    """

    def forward(self, a: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:
        self.shape, self.dtype, self.offset, self.dims = a.shape, a.dtype, offset, (dim1, dim2)
        return self.xp.diagonal(a, offset, dim1, dim2).copy()

    def backward(self, grad: Any) -> Any:
        xp = self.xp
        grad_a = xp.zeros(self.shape, dtype=grad.dtype)
        view = xp.moveaxis(grad_a, self.dims, (-2, -1))
        i = xp.arange(grad.shape[-1])
        view[..., i + max(-self.offset, 0), i + max(self.offset, 0)] = grad
        return grad_a


class DiagEmbed(Function):
    """out = matrices zero but for the last axis of ``a`` on their ``offset`` diagonal, over the output axes
    (dim1, dim2) (the last two by default; a 1-D ``a`` gives one square matrix).   ∂L/∂a = that diagonal of ∂L/∂out.
    """

    def forward(self, a: Any, offset: int = 0, dims: tuple = (-2, -1)) -> Any:
        xp = self.xp
        n = a.shape[-1] + abs(offset)
        i = xp.arange(a.shape[-1])
        self.rows, self.cols, self.dims = i + max(-offset, 0), i + max(offset, 0), dims
        out = xp.zeros(a.shape[:-1] + (n, n), dtype=a.dtype)
        out[..., self.rows, self.cols] = a
        return out if dims == (-2, -1) else xp.moveaxis(out, (-2, -1), dims)

    def backward(self, grad: Any) -> Any:
        if self.dims != (-2, -1):
            grad = self.xp.moveaxis(grad, self.dims, (-2, -1))
        return grad[..., self.rows, self.cols]


class Roll(Function):
    """out = a shifted cyclically by ``shifts`` along ``dims`` (flattened when None).   ∂L/∂a = ∂L/∂out rolled back."""

    def forward(self, a: Any, shifts: Any = 0, dims: Any = None) -> Any:
        self.shape, self.shifts, self.dims = a.shape, shifts, dims
        if dims is None:
            return self.xp.roll(a.reshape(-1), shifts).reshape(a.shape)
        return self.xp.roll(a, shifts, axis=dims)

    def backward(self, grad: Any) -> Any:
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        if self.dims is None:
            return self.xp.roll(grad.reshape(-1), back).reshape(self.shape)
        return self.xp.roll(grad, back, axis=self.dims)


class Triangle(Function):
    """out = tril(a, k) (``upper=False``) or triu(a, k) over the last two axes.   ∂L/∂a = the same of ∂L/∂out."""

    def forward(self, a: Any, diagonal: int = 0, upper: bool = False) -> Any:
        self.diagonal, self.upper = diagonal, upper
        return (self.xp.triu if upper else self.xp.tril)(a, diagonal)

    def backward(self, grad: Any) -> Any:
        return (self.xp.triu if self.upper else self.xp.tril)(grad, self.diagonal)


def flat_positions(xp: Any, where: tuple, shape: tuple, like: tuple) -> Any:
    """The C-order flat positions in an array of ``shape`` that the index tuple ``where`` names (1-D)."""
    flat = xp.zeros(like, dtype="int64")
    for item, size in zip(where, shape):
        flat = flat * size + item
    return flat.reshape(-1)


def ranks_in_group(xp: Any, keys: Any) -> Any:
    """For each element, how many earlier elements share its key (0 for the first of each key)."""
    order = xp.argsort(keys, kind="stable")
    ordered = keys[order]
    ranks = xp.empty_like(keys)
    ranks[order] = xp.arange(keys.shape[0]) - xp.searchsorted(ordered, ordered, side="left")
    return ranks


class ScatterReduce(Function):
    """out = a with src[i][j] combined into out[index[i][j]][j] (dim=0) by "prod", "amax" or "amin"; with
    include_self=False the old value of a place that receives something is left out of the combination.

    amax/amin: ∂L/∂(each input equal to its place's result) = ∂L/∂out / (number of such ties), else 0.
    prod: ∂L/∂x = ∂L/∂out · Π(the other factors of its place), computed from the product of the non-zero
    factors P and the count of zeros Z: P / x when Z = 0, P for the one zero when Z = 1, else 0.
    Places that receive nothing pass ∂L/∂out to a unchanged.
    """

    def forward(self, a: Any, src: Any = None, index: Any = None, dim: int = 0, reduce: str = "prod",
                include_self: bool = True) -> Any:
        xp = self.xp
        self.index, self.dim, self.src_shape = index, dim, src.shape
        self.reduce, self.include_self = reduce, include_self
        self.a_flat = a.reshape(-1)
        self.positions = flat_positions(xp, along(xp, index, dim), a.shape, index.shape)
        self.values = src[leading(src.shape, index.shape)].reshape(-1)
        self.hit = xp.zeros(a.size, dtype=bool)
        self.hit[self.positions] = True
        self.ranks = ranks_in_group(xp, self.positions)
        combine = {"prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
        out = self._fold(a.copy().reshape(-1), self.values, combine)
        self.out = out
        if reduce == "prod":
            nonzero = xp.where(self.a_flat == 0, 1, self.a_flat)
            start = xp.where(self.hit & include_self, nonzero, 1).astype(a.dtype)
            self.product = self._fold(start, xp.where(self.values == 0, 1, self.values), xp.multiply, keep=True)
            zeros = xp.zeros(a.size, dtype=a.dtype)
            backend_of(zeros).scatter_add(zeros, self.positions, (self.values == 0).astype(a.dtype))
            self.zeros = zeros + (self.hit & (self.a_flat == 0) & include_self)
        return out.reshape(a.shape)

    def _fold(self, out: Any, values: Any, combine: Any, keep: bool = False) -> Any:
        """Combine ``values`` into ``out`` at ``self.positions``, one round per rank (no place twice a round)."""
        for r in range(int(self.ranks.max()) + 1 if self.ranks.size else 0):
            chosen = self.ranks == r
            places = self.positions[chosen]
            fresh = r == 0 and not self.include_self and not keep
            out[places] = values[chosen] if fresh else combine(out[places], values[chosen])
        return out

    def _share(self, x: Any, places: Any, grad: Any) -> Any:
        """∂L/∂x for factors or candidates ``x`` that went into ``places``."""
        xp = self.xp
        if self.reduce == "prod":
            product, zeros = self.product[places], self.zeros[places]
            safe = xp.where(x == 0, 1, x)
            return grad[places] * xp.where(x == 0, (zeros == 1) * product, (zeros == 0) * product / safe)
        return grad[places] * (x == self.out[places]) / self.ties[places]

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        g = grad.reshape(-1)
        if self.reduce != "prod":
            ties = xp.zeros(g.shape, dtype=g.dtype)
            winners = (self.values == self.out[self.positions]).astype(g.dtype)
            backend_of(ties).scatter_add(ties, self.positions, winners)
            if self.include_self:
                ties = ties + (self.hit & (self.a_flat == self.out))
            self.ties = xp.where(ties == 0, 1, ties)
        grad_a = grad_src = None
        if self.needs_input_grad[0]:
            everywhere = xp.arange(g.shape[0])
            own = self._share(self.a_flat, everywhere, g) if self.include_self else 0
            grad_a = xp.where(self.hit, own, g).astype(g.dtype).reshape(grad.shape)
        if self.needs_input_grad[1]:
            grad_src = xp.zeros(self.src_shape, dtype=g.dtype)
            grad_src[leading(self.src_shape, self.index.shape)] = self._share(
                self.values, self.positions, g).reshape(self.index.shape)
        return grad_a, grad_src
