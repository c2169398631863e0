"""Tensor's indexing, sorting, cumulative and matrix methods (issue 9); the Functions live in ops/indexing.py & co."""

from __future__ import annotations

from typing import Any

from . import return_types
from ._tensor_base import _data
from .backend import backend_of
from .ops import cumulative as CU
from .ops import einsum as EI
from .ops import indexing as IX

Tensor: Any = None  # the class these methods are a base of; set by tensor.py once it has made it


def _result(name: str, values: Tensor, indices: Tensor) -> Any:
    """``(values, indices)`` of sort/topk/kthvalue/median as ``shenjing.return_types.<name>``."""
    return return_types.return_type(name)(values, indices)


class IndexingMethods:
    """gather/scatter, index_*, sort/topk/median, cumsum, tril/diag, nonzero/unique, multinomial ..."""

    __slots__ = ()

    # ---- ops: indexing, sorting, cumulative, einsum (issue 9; the Functions live in ops/indexing.py & co.) ------
    def _dim(self, dim: int) -> int:
        """``dim`` in range(ndim) (a 0-d tensor takes dims 0 and -1), or PyTorch's IndexError."""
        n = max(self.ndim, 1)
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
        return dim % n

    def _index(self, index: Any, name: str, ndim: bool = True) -> Any:
        """``index`` as an int64 array on this tensor's device, checked as PyTorch checks it."""
        array = _data(index)
        if not hasattr(array, "dtype"):
            array = backend_of(self.array).xp.asarray(array, dtype="int64")
        if array.dtype.kind not in "iu":
            raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {array.dtype}")
        if ndim and array.ndim != self.ndim and not (array.ndim <= 1 and self.ndim <= 1):
            raise RuntimeError(
                f"{name}(): Index tensor must have the same number of dimensions as input tensor: index of shape "
                f"{tuple(array.shape)} for input of shape {tuple(self.shape)}"
            )
        return array.astype("int64", copy=False)

    def _check_bounds(self, index: Any, dim: int, name: str, error: type = RuntimeError) -> None:
        size = self.shape[dim] if self.ndim else 1
        if index.size and (bool((index >= size).any()) or bool((index < 0).any())):
            raise error(f"{name}(): index out of range in self: indices {index.min()}..{index.max()} for dimension "
                        f"{dim} of size {size}")

    def gather(self, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
        """out[i][j] = self[index[i][j]][j] for dim=0 (and likewise for other dims); index is int64."""
        dim = self._dim(dim)
        index = self._index(index, "gather")
        if self.ndim == 0 or index.ndim == 0:  # a 0-d index reads one element of a 1-D self, as PyTorch
            return self.reshape(-1).gather(0, index.reshape(1)).reshape(index.shape)
        for d in range(self.ndim):
            if d != dim and index.shape[d] > self.shape[d]:
                raise RuntimeError(
                    f"gather(): Size does not match at dimension {d}: index of shape {tuple(index.shape)} is larger "
                    f"than input of shape {tuple(self.shape)} apart from dimension {dim}"
                )
        self._check_bounds(index, dim, "gather")
        return IX.Gather.apply(self, index=index, dim=dim)

    def take_along_dim(self, indices: Any, dim: int | None = None) -> Tensor:
        """Values at ``indices`` along ``dim`` (both broadcast apart from ``dim``); flat positions when None."""
        indices = self._index(indices, "take_along_dim", ndim=False)
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        dim = self._dim(dim)
        if indices.ndim != self.ndim:
            raise RuntimeError(
                f"take_along_dim(): input and indices should have the same number of dimensions, but got "
                f"{self.ndim} dimensions for input, and {indices.ndim} dimensions for indices"
            )
        xp = backend_of(self.array).xp
        rest = xp.broadcast_shapes(tuple(n for d, n in enumerate(self.shape) if d != dim),
                                   tuple(n for d, n in enumerate(indices.shape) if d != dim))
        shape_a = rest[:dim] + (self.shape[dim],) + rest[dim:]
        shape_i = rest[:dim] + (indices.shape[dim],) + rest[dim:]
        source = self if shape_a == self.shape else self.expand(shape_a)
        return source.gather(dim, xp.broadcast_to(indices, shape_i))

    def _scatter_args(self, dim: int, index: Any, src: Any, name: str) -> tuple:
        dim = self._dim(dim)
        index = self._index(index, name)
        if index.ndim == 0:  # one place of a 1-D self (``zeros(10).scatter_(0, tensor(y), value=1)``, as PyTorch)
            index = index.reshape(1)
        self._check_bounds(index, dim, name)
        if isinstance(src, Tensor) and src.ndim == 0 and index.ndim == 1:
            pass  # a 0-d src with a 0-d index: reshaped by the callers
        elif isinstance(src, Tensor) and src.ndim != index.ndim:
            raise RuntimeError(
                f"{name}(): Index tensor must have the same number of dimensions as src tensor: index of shape "
                f"{tuple(index.shape)}, src of shape {tuple(src.shape)}"
            )
        if isinstance(src, Tensor) and src.dtype != self.dtype:
            raise RuntimeError(
                f"{name}(): Expected self.dtype to be equal to src.dtype, got {self.dtype} and {src.dtype}")
        return dim, index

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: str | None = None) -> Tensor:
        """A copy of self with ``src`` (a tensor) or ``value`` (a number) written at ``index`` along ``dim``."""
        if src is not None and value is not None:
            raise TypeError("scatter(): give either src or value, not both")
        if src is None:
            src = value
        if reduce is not None:
            if reduce not in ("add", "multiply"):
                raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce!r}")
            if not isinstance(src, Tensor):
                src = Tensor._wrap(backend_of(self.array).xp.full(_data(index).shape, src, dtype=self.dtype))
            if reduce == "multiply":
                return self.scatter_reduce(dim, index, src, "prod")
            return self.scatter_add(dim, index, src)
        dim, index = self._scatter_args(dim, index, src, "scatter")
        src = src.reshape(1) if isinstance(src, Tensor) and src.ndim == 0 else src
        if isinstance(src, Tensor):
            return IX.Scatter.apply(self, src, index=index, dim=dim)
        return IX.Scatter.apply(self, None, index=index, dim=dim, value=_data(src))

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        """A copy of self with ``src`` added at ``index`` along ``dim`` (repeated indices add up)."""
        dim, index = self._scatter_args(dim, index, src, "scatter_add")
        src = src.reshape(1) if isinstance(src, Tensor) and src.ndim == 0 else src
        return IX.ScatterAdd.apply(self, src, index=index, dim=dim)

    def scatter_reduce(self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> Tensor:
        """Scatter ``src`` into a copy of self, combining by "sum", "prod", "mean", "amax" or "amin"."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
        dim, index = self._scatter_args(dim, index, src, "scatter_reduce")
        src = src.reshape(1) if isinstance(src, Tensor) and src.ndim == 0 else src
        if reduce in ("prod", "amax", "amin"):
            return IX.ScatterReduce.apply(self, src, index=index, dim=dim, reduce=reduce, include_self=include_self)
        return IX.ScatterAdd.apply(self, src, index=index, dim=dim, include_self=include_self, mean=reduce == "mean")

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The slices of self at the 1-D ``index`` along ``dim``."""
        dim = self._dim(dim)
        index = self._index(index, "index_select", ndim=False)
        if index.ndim > 1:
            raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {tuple(index.shape)}")
        self._check_bounds(index, dim, "index_select", IndexError)
        if self.ndim == 0:
            return self.reshape(1).index_select(0, index).reshape(())
        return IX.IndexSelect.apply(self, index=index.reshape(-1), dim=dim)

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        """A copy of self with ``alpha * source`` added at the 1-D ``index`` along ``dim``."""
        dim = self._dim(dim)
        index = self._index(index, "index_add", ndim=False).reshape(-1)
        self._check_bounds(index, dim, "index_add", IndexError)
        if isinstance(source, Tensor) and source.dtype != self.dtype:
            raise RuntimeError(f"index_add_(): self ({self.dtype}) and source ({source.dtype}) must have the same "
                               "scalar type")
        return IX.IndexAdd.apply(self, source, index=index, dim=dim, alpha=alpha)

    def masked_select(self, mask: Any) -> Tensor:
        """The elements of self where the bool ``mask`` is True (broadcast together), as a 1-D tensor."""
        mask = _data(mask)
        if mask.dtype.kind != "b":
            raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {mask.dtype}")
        return IX.MaskedSelect.apply(self, mask=mask)

    def _sort_indices(self, dim: int, descending: bool) -> Any:
        """Indices that sort self along ``dim`` stably (NaN last ascending, first descending, as PyTorch)."""
        xp = backend_of(self.array).xp
        data = self.array if self.ndim else self.array.reshape(1)
        if not descending:
            return xp.argsort(data, axis=dim, kind="stable")
        flipped = xp.argsort(xp.flip(data, dim), axis=dim, kind="stable")
        return data.shape[dim] - 1 - xp.flip(flipped, dim)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """``(values, indices)`` of self sorted along ``dim`` (always stable here)."""
        dim = self._dim(dim)
        indices = self._sort_indices(dim, descending)
        if self.ndim == 0:
            return _result("sort", self.clone(), Tensor._wrap(indices.reshape(())))
        return _result("sort", IX.Gather.apply(self, index=indices, dim=dim, unique=True), Tensor._wrap(indices))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        dim = self._dim(dim)
        return Tensor._wrap(self._sort_indices(dim, descending).reshape(self.shape))

    def msort(self) -> Tensor:
        return self.sort(0).values

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        """``(values, indices)`` of the ``k`` largest (or smallest) elements along ``dim``, in order."""
        dim = self._dim(dim)
        size = self.shape[dim] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError(f"topk(): selected index k={k} out of range for dimension {dim} of size {size}")
        indices = self._top_indices(k, dim, largest)
        if self.ndim == 0:
            values = self.clone() if k else self.reshape(1)[:0]
            return _result("topk", values, Tensor._wrap(indices.reshape(()) if k else indices))
        return _result("topk", IX.Gather.apply(self, index=indices, dim=dim, unique=True), Tensor._wrap(indices))

    def _top_indices(self, k: int, dim: int, largest: bool) -> Any:
        """Indices of the k largest (smallest) along ``dim``, in order: a partition then a sort of the k when
        k is a small part of the axis (O(n) instead of O(n log n)), a full stable sort otherwise."""
        xp = backend_of(self.array).xp
        data = self.array if self.ndim else self.array.reshape(1)
        size = data.shape[dim]
        head = (slice(None),) * dim + (slice(0, k),)
        if 0 < k and 4 * k <= size and data.dtype.kind in "fi" and not bool(xp.isnan(data).any()):
            key = -data if largest else data
            part = xp.argpartition(key, k - 1, axis=dim)[head]
            order = xp.argsort(xp.take_along_axis(key, part, axis=dim), axis=dim, kind="stable")
            return xp.take_along_axis(part, order, axis=dim)
        return self._sort_indices(dim, largest)[head]

    def _cumulative(self, function: Any, dim: int, dtype: Any) -> Tensor:
        dim = self._dim(dim)
        source = self if dtype is None else self.to(dtype)
        if source.array.dtype.kind in "biu" and dtype is None:
            source = source.long()
        if source.ndim == 0:
            return function.apply(source.reshape(1), axis=0).reshape(())
        return function.apply(source, axis=dim)

    def cumsum(self, dim: int, dtype: Any = None) -> Tensor:
        """out_k = self_0 + … + self_k along ``dim`` (integers and bools sum as int64)."""
        return self._cumulative(CU.Cumsum, dim, dtype)

    def cumprod(self, dim: int, dtype: Any = None) -> Tensor:
        """out_k = self_0 · … · self_k along ``dim``."""
        return self._cumulative(CU.Cumprod, dim, dtype)

    def tril(self, diagonal: int = 0) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"tril: input tensor must have at least 2 dimensions, got shape {tuple(self.shape)}")
        return IX.Triangle.apply(self, diagonal=diagonal, upper=False)

    def triu(self, diagonal: int = 0) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"triu: input tensor must have at least 2 dimensions, got shape {tuple(self.shape)}")
        return IX.Triangle.apply(self, diagonal=diagonal, upper=True)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        dim1, dim2 = self._dim(dim1), self._dim(dim2)
        if dim1 == dim2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return IX.Diagonal.apply(self, offset=offset, dim1=dim1, dim2=dim2)

    def diag(self, diagonal: int = 0) -> Tensor:
        """A 1-D tensor as the ``diagonal``-th diagonal of a square matrix, or a matrix's diagonal as 1-D."""
        if self.ndim == 1:
            return IX.DiagEmbed.apply(self, offset=diagonal)
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D (shape {tuple(self.shape)})")

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """A tensor whose (dim1, dim2) matrices hold self's last axis on their ``offset`` diagonal."""
        n = self.ndim + 1
        d1, d2 = dim1 % n, dim2 % n
        if not (-n <= dim1 < n and -n <= dim2 < n):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
                             f"{dim1 if not -n <= dim1 < n else dim2})")
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        dims = (-2, -1) if (d1, d2) == (n - 2, n - 1) else (d1, d2)
        return IX.DiagEmbed.apply(self if self.ndim else self.reshape(1), offset=offset, dims=dims)

    def outer(self, vec2: Tensor) -> Tensor:
        if self.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError(f"outer: expected 1-D vectors, got shapes {tuple(self.shape)} and {tuple(vec2.shape)}")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        if dims is None:
            if isinstance(shifts, tuple | list):
                if len(shifts) != 1:
                    raise RuntimeError(f"roll(): shifts {tuple(shifts)} need dims of the same length")
                shifts = shifts[0]
            return IX.Roll.apply(self, shifts=int(shifts), dims=None)
        shifts = tuple(shifts) if isinstance(shifts, tuple | list) else (int(shifts),)
        dims = tuple(dims) if isinstance(dims, tuple | list) else (dims,)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
        return IX.Roll.apply(self, shifts=shifts, dims=tuple(self._dim(d) for d in dims))

    def repeat_interleave(self, repeats: Any = None, dim: int | None = None, *,
                          output_size: int | None = None) -> Tensor:
        """Each element (or slice along ``dim``) repeated ``repeats`` times (an int or one count per slice)."""
        xp = backend_of(self.array).xp
        source = self.reshape(-1) if dim is None else self
        dim = 0 if dim is None else self._dim(dim)
        size = source.shape[dim] if source.ndim else 1
        counts = _data(repeats)
        if hasattr(counts, "dtype") and counts.ndim == 1 and counts.shape[0] != size:
            raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, "
                               f"got {counts.shape[0]} repeats for size {size}")
        if hasattr(counts, "dtype"):  # NOTE: CuPy's repeat takes counts as an int or a host list, not an array
            counts = backend_of(counts).to_host(counts).tolist()
        if min(counts if isinstance(counts, list) else [counts], default=0) < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        index = xp.repeat(xp.arange(size), counts)
        if source.ndim == 0:
            source = source.reshape(1)
        return IX.IndexSelect.apply(source, index=index, dim=dim)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
        xp = backend_of(self.array).xp
        data = self.array if self.ndim else self.array.reshape(1)
        found = xp.nonzero(data)
        if as_tuple:
            return tuple(Tensor._wrap(i.astype("int64")) for i in found)
        if self.ndim == 0:
            return Tensor._wrap(xp.zeros((found[0].shape[0], 0), dtype="int64"))
        return Tensor._wrap(xp.stack(found, axis=1).astype("int64"))

    def argwhere(self) -> Tensor:
        return self.nonzero()

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
               dim: int | None = None) -> Any:
        """The distinct values (sorted), with the inverse indices and counts when asked, as PyTorch."""
        xp = backend_of(self.array).xp
        axis = None if dim is None else self._dim(dim)
        found = xp.unique(self.array, return_inverse=True, return_counts=True, axis=axis)
        values, inverse, counts = found
        inverse = inverse.reshape(self.shape if axis is None else (-1,)).astype("int64")
        out = [Tensor._wrap(values)]
        if return_inverse:
            out.append(Tensor._wrap(inverse))
        if return_counts:
            out.append(Tensor._wrap(counts.astype("int64")))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights: Any = None, minlength: int = 0) -> Tensor:
        """How often each non-negative int value occurs (or the sum of ``weights`` at it)."""
        if self.ndim != 1 or self.array.dtype.kind not in "iub":
            raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got shape "
                               f"{tuple(self.shape)} of {self.dtype}")
        if self.array.size and bool((self.array < 0).any()):
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        xp = backend_of(self.array).xp
        w = _data(weights)
        out = xp.bincount(self.array, weights=w, minlength=minlength)
        if w is None:
            return Tensor._wrap(out.astype("int64"))
        return Tensor._wrap(out.astype(w.dtype if w.dtype.kind == "f" else "float64"))

    def einsum(self, equation: str, *operands: Any) -> Tensor:  # not a PyTorch method; used by shenjing.einsum
        return EI.Einsum.apply(self, *operands, equation=equation)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta · self + alpha · (batch1 @ batch2) for (b, n, m) and (b, m, p) batches."""
        if batch1.ndim != 3 or batch2.ndim != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor, got shapes {tuple(batch1.shape)} and "
                               f"{tuple(batch2.shape)}")
        product = batch1.matmul(batch2)
        product = product if alpha == 1 else product * alpha
        return product if beta == 0 else (self if beta == 1 else self * beta) + product

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta · self + alpha · (mat1 @ mat2)."""
        product = mat1.matmul(mat2)
        product = product if alpha == 1 else product * alpha
        return product if beta == 0 else (self if beta == 1 else self * beta) + product

    def multinomial(self, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Tensor:
        """Indices drawn from each row's categories, with probabilities proportional to the row's weights.

        With replacement: inverse-CDF draws. Without: the Gumbel-top-k trick in its exponential-race form
        (the k smallest of Eᵢ / wᵢ, Eᵢ ~ Exp(1), i.e. the k largest of log wᵢ + Gumbel noise, are a draw of
        k categories without replacement, in order of draw).
        """
        if self.ndim not in (1, 2):
            raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(self.shape)}")
        if self.array.dtype.kind != "f":
            raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {self.dtype}")
        backend = backend_of(self.array)
        xp = backend.xp
        weights = self.array.reshape(-1, self.shape[-1]).astype("float64")
        categories = weights.shape[1]
        if num_samples <= 0:
            raise RuntimeError("multinomial: cannot sample n_sample <= 0 samples")
        if not replacement and num_samples > categories:
            raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        if not bool(xp.isfinite(weights).all()) or bool((weights < 0).any()):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if bool((weights.sum(axis=1) <= 0).any()):
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        rng = backend.generator if generator is None else generator.rng
        if replacement:
            cdf = xp.cumsum(weights, axis=1)
            cdf = cdf / cdf[:, -1:]
            u = rng.random((weights.shape[0], num_samples))
            if u.size * categories <= 1 << 22:  # one comparison of every draw with every bound
                out = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2)
            else:  # the same count of bounds ≤ u, by binary search row by row
                out = xp.stack([xp.searchsorted(c, d, side="right") for c, d in zip(cdf, u)])
        else:
            if bool(((weights > 0).sum(axis=1) < num_samples).any()):
                raise RuntimeError("invalid multinomial distribution (with replacement=False, not enough non-negative "
                                   "category to sample)")
            arrival = -xp.log1p(-rng.random(weights.shape)) / xp.where(weights > 0, weights, 1)
            arrival[weights == 0] = float("inf")  # NOTE: a zero weight never arrives
            out = xp.argsort(arrival, axis=1, kind="stable")[:, :num_samples]
        out = out.astype("int64")
        return Tensor._wrap(out.reshape(-1) if self.ndim == 1 else out)
    def take(self, index: Any) -> Tensor:
        """The elements of self at flat (C-order) positions ``index``, in ``index``'s shape."""
        index = self._index(index, "take", ndim=False)
        flat = self.reshape(-1)
        if index.size and (bool((index >= flat.shape[0]).any()) or bool((index < -flat.shape[0]).any())):
            raise IndexError(f"take(): index out of range for tensor of {flat.shape[0]} elements")
        positions = index.reshape(-1) % max(flat.shape[0], 1)
        return IX.IndexSelect.apply(flat, index=positions, dim=0).reshape(index.shape)

    def trace(self) -> Tensor:
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    def index_fill(self, dim: int, index: Any, value: Any) -> Tensor:
        """A copy of self with the slices at the 1-D ``index`` along ``dim`` set to ``value``."""
        dim = self._dim(dim)
        index = self._index(index, "index_fill", ndim=False).reshape(-1)
        self._check_bounds(index, dim, "index_fill", IndexError)
        xp = backend_of(self.array).xp
        mask = xp.zeros(self.shape[dim] if self.ndim else 1, dtype=bool)
        mask[index] = True
        return self.masked_fill(mask.reshape((-1,) + (1,) * (self.ndim - dim - 1)), value)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """``(values, indices)`` of the k-th smallest element (k from 1) along ``dim``."""
        dim = self._dim(dim)
        size = self.shape[dim] if self.ndim else 1
        if not 1 <= k <= size:
            raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension {dim} of size {size}")
        return self._order_statistic(k - 1, dim, keepdim, "kthvalue")

    def _order_statistic(self, rank: int, dim: int, keepdim: bool, name: str = "median") -> Any:
        source = self if self.ndim else self.reshape(1)
        indices = source._sort_indices(dim, False)[(slice(None),) * dim + (slice(rank, rank + 1),)]
        values = IX.Gather.apply(source, index=indices, dim=dim, unique=True)
        if not keepdim or self.ndim == 0:
            shape = self.shape[:dim] + self.shape[dim + 1:]
            values, indices = values.reshape(shape), indices.reshape(shape)
        return _result(name, values, Tensor._wrap(indices))

    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median of all elements, or ``(values, indices)`` of the lower medians along ``dim``."""
        if dim is None:
            flat = self.reshape(-1)
            if flat.shape[0] == 0:
                return Tensor._wrap(backend_of(self.array).xp.asarray(float("nan"), dtype=self.dtype))
            return flat._order_statistic((flat.shape[0] - 1) // 2, 0, False).values
        dim = self._dim(dim)
        size = self.shape[dim] if self.ndim else 1
        return self._order_statistic((size - 1) // 2, dim, keepdim)
