"""Still more of ``torch.Tensor``: indexed writes (index_copy, index_put, masked_scatter, put, fill_diagonal_),
order statistics (quantile, nanquantile, nanmedian), covariance, fused products (addmv, addr, addbmm), random
draws (bernoulli, log_normal_, cauchy_, geometric_), ``new``, ``resize_`` and the post-accumulate grad hook.

Every differentiable one is a composition of recorded ops (index_fill, index_add, gather, sort, matmul), so its
gradient is the chain rule through them: e.g. index_put writes ``values`` at the indexed places,

    out = self with out[I] = v        ∂L/∂self = ∂L/∂out with 0 at I,   ∂L/∂v = ∂L/∂out[I]

and quantile interpolates between two sorted neighbours, q-th quantile = (1 − w)·x₍ᵢ₎ + w·x₍ᵢ₊₁₎ with
rank r = q·(n − 1), i = ⌊r⌋, w = r − i, so ∂L/∂x₍ᵢ₎ = (1 − w)·∂L/∂out.
"""

from __future__ import annotations

import math
from typing import Any

from . import autograd
from ._tensor_base import _data
from .backend import backend_of
from .backend import quiet as _quiet

Tensor: Any = None  # the class these methods are a base of; set by tensor.py once it has made it

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _as_tensor_like(self: Any, value: Any) -> Any:
    if isinstance(value, Tensor):
        return value
    return Tensor._wrap(backend_of(self.array).xp.asarray(value, dtype=self.array.dtype))


def _flat_positions(xp: Any, indices: tuple, shape: tuple) -> Any:
    """The row-major positions, over the leading ``len(indices)`` dimensions of ``shape``, of broadcast indices."""
    arrays = [xp.asarray(_data(i)).astype("int64") for i in indices]
    arrays = xp.broadcast_arrays(*arrays)
    flat = xp.zeros(arrays[0].shape, dtype="int64")
    for axis, index in enumerate(arrays):
        size = shape[axis]
        if index.size and (int(index.max()) >= size or int(index.min()) < -size):
            raise IndexError(f"index {int(index.max()) if int(index.max()) >= size else int(index.min())} is out of "
                             f"bounds for dimension {axis} with size {size}")
        flat = flat * size + index % size
    return flat


class ExtraMethods:
    """Indexed writes, order statistics, covariance, fused products, random draws, ``new`` and ``resize_``."""

    __slots__ = ()

    # ---- indexed writes ----------------------------------------------------------------------------------------
    def index_copy(self, dim: int, index: Any, source: Any) -> Tensor:
        """self with the slices at ``index`` along ``dim`` replaced by those of ``source`` (distinct indices)."""
        return self.index_fill(dim, index, 0).index_add(dim, index, source)

    def index_copy_(self, dim: int, index: Any, source: Any) -> Tensor:
        return self._inplace_op(lambda t: t.index_copy(dim, index, source), source)

    def index_put(self, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
        """self with ``values`` written at ``self[indices]`` (a tuple of index tensors for the leading dimensions);
        with ``accumulate`` added instead, repeated places adding up."""
        indices = tuple(indices)
        if not indices or len(indices) > self.ndim:
            raise IndexError(f"index_put: expected 1 to {self.ndim} index tensors for a tensor of shape "
                             f"{tuple(self.shape)}, got {len(indices)}")
        xp = backend_of(self.array).xp
        if any(getattr(_data(i), "dtype", None) is not None and _data(i).dtype.kind == "b" for i in indices):
            indices = tuple(Tensor._wrap(a) for i in indices for a in xp.nonzero(_data(i)))  # masks as positions
        k = len(indices)
        rest = tuple(self.shape[k:])
        flat = _flat_positions(xp, indices, tuple(self.shape))
        rows = Tensor._wrap(flat.reshape(-1))
        values = _as_tensor_like(self, values)
        values = values.expand(tuple(flat.shape) + rest).reshape((-1,) + rest)
        base = self.reshape((-1,) + rest)
        if not accumulate:
            base = base.index_fill(0, rows, 0)
        return base.index_add(0, rows, values.to(self.dtype)).reshape(tuple(self.shape))

    def index_put_(self, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
        return self._inplace_op(lambda t: t.index_put(indices, values, accumulate), values)

    def put(self, index: Any, source: Any, accumulate: bool = False) -> Tensor:
        """self with ``source`` written at the flat (row-major) positions ``index``."""
        flat_index = _data(index)
        source = _as_tensor_like(self, source)
        return self.reshape(-1).index_put((Tensor._wrap(flat_index.reshape(-1)),), source.reshape(-1),
                                          accumulate).reshape(tuple(self.shape))

    def put_(self, index: Any, source: Any, accumulate: bool = False) -> Tensor:
        return self._inplace_op(lambda t: t.put(index, source, accumulate), source)

    def masked_scatter(self, mask: Any, source: Any) -> Tensor:
        """self with the places where ``mask`` holds filled, in row-major order, by source's first elements."""
        xp = backend_of(self.array).xp
        mask = xp.broadcast_to(_data(mask), tuple(self.shape))
        if mask.dtype.kind != "b":
            raise RuntimeError(f"masked_scatter_: expected BoolTensor for mask, got {mask.dtype}")
        positions = xp.flatnonzero(mask)
        count = int(positions.shape[0])
        if count > source.numel():
            raise RuntimeError(f"masked_scatter: expected source to have at least {count} elements (the mask's True "
                               f"count), got {source.numel()}")
        taken = source.reshape(-1)[:count]
        out = self.masked_fill(Tensor._wrap(mask), 0).reshape(-1)
        return out.index_add(0, Tensor._wrap(positions), taken.to(self.dtype)).reshape(tuple(self.shape))

    def masked_scatter_(self, mask: Any, source: Any) -> Tensor:
        return self._inplace_op(lambda t: t.masked_scatter(mask, source), source)

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Tensor:
        """The main diagonal (every index equal) set to ``fill_value``; a tall matrix restarts it every
        columns + 1 rows with ``wrap``, as PyTorch (and NumPy's fill_diagonal)."""
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise RuntimeError("all dimensions of input must be of equal length (or the tensor 2-D)")
        xp = backend_of(self.array).xp
        shape = tuple(self.shape)
        step = sum(math.prod(shape[k + 1:]) for k in range(len(shape)))
        if self.ndim == 2:
            rows, cols = shape
            end = rows * cols if wrap else min(rows, cols) * cols
        else:
            end = math.prod(shape)
        positions = Tensor._wrap(xp.arange(0, end, step, dtype="int64"))
        return self._inplace_op(lambda t: t.reshape(-1).index_fill(0, positions, fill_value).reshape(shape))

    # ---- order statistics ----------------------------------------------------------------------------------------
    def _quantile(self, q: Any, dim: Any, keepdim: bool, interpolation: str, ignore_nan: bool, name: str) -> Tensor:
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                             f"Got {interpolation}")
        if not self.is_floating_point():
            raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
        xp = backend_of(self.array).xp
        q_array = xp.asarray(_data(q), dtype=self.array.dtype)
        if q_array.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q_array.size and (float(q_array.min()) < 0 or float(q_array.max()) > 1):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        source = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else self._dim(dim)
        ordered = source.sort(axis).values  # NaN last
        n = source.shape[axis] if source.ndim else 1
        nan = xp.isnan(source.array)
        kept = tuple(1 if i == axis else s for i, s in enumerate(source.shape))
        valid = (~nan).sum(axis, keepdims=True) if ignore_nan else xp.full(kept, n)
        outs = []
        for value in q_array.reshape(-1).tolist():
            rank = (value * (valid - 1)).astype(self.array.dtype)
            if ignore_nan:  # an all-NaN row reads its first (NaN) element: NaN, as PyTorch
                rank = xp.maximum(rank, 0)
            else:  # a row holding NaN reads its last sorted element, the NaN, as PyTorch
                rank = xp.where(nan.any(axis, keepdims=True), n - 1, rank).astype(self.array.dtype)
            if interpolation == "lower":
                rank = xp.floor(rank)
            elif interpolation == "higher":
                rank = xp.ceil(rank)
            elif interpolation == "nearest":
                rank = xp.rint(rank)  # ties to even, as PyTorch's round
            low = xp.floor(rank).astype("int64")
            a = ordered.gather(axis, Tensor._wrap(low))
            if interpolation in ("linear", "midpoint"):
                weight = rank - low
                if interpolation == "midpoint":
                    weight = xp.where(weight > 0, 0.5, 0)
                b = ordered.gather(axis, Tensor._wrap(xp.ceil(rank).astype("int64")))
                a = a + (b - a) * Tensor._wrap(weight.astype(self.array.dtype))
            outs.append(a if keepdim and dim is not None else a.squeeze(axis))
        if q_array.ndim == 0:
            return outs[0]
        from .functions import stack

        return stack(outs, 0)

    def quantile(self, q: Any, dim: int | None = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> Tensor:
        """The q-th quantiles (q a number or a 1-D tensor in [0, 1]) along ``dim`` (all elements by default)."""
        return self._quantile(q, dim, keepdim, interpolation, False, "quantile")

    def nanquantile(self, q: Any, dim: int | None = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> Tensor:
        """``quantile`` over the non-NaN values (NaN where a row has none)."""
        return self._quantile(q, dim, keepdim, interpolation, True, "nanquantile")

    def nanmedian(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median of the non-NaN values; along ``dim``, ``(values, indices)`` as ``median``."""
        xp = backend_of(self.array).xp
        source = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else self._dim(dim)
        order = source._sort_indices(axis, False)  # NaN last
        valid = (~xp.isnan(source.array)).sum(axis, keepdims=True)
        pick = xp.take_along_axis(order, xp.maximum((valid - 1) // 2, 0).astype("int64"), axis)
        values = source.gather(axis, Tensor._wrap(pick))  # (an all-NaN row picks a NaN: NaN, as PyTorch)
        if dim is None:
            return values.reshape(())
        from .return_types import return_type

        if not keepdim:
            values, pick = values.squeeze(axis), pick.squeeze(axis)
        return return_type("nanmedian")(values, Tensor._wrap(pick))

    # ---- covariance ----------------------------------------------------------------------------------------------
    def cov(self, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
        """The covariance of the rows (variables) over the columns (observations), as ``torch.cov``."""
        if self.ndim > 2:
            raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                               f"{self.ndim} dimensions")
        x = self if self.ndim == 2 else self.reshape(1, -1)
        if not x.is_floating_point():
            x = x.float()
        weights = None
        for given in (fweights, aweights):
            if given is not None:
                w = _as_tensor_like(x, given).to(x.dtype)
                weights = w if weights is None else weights * w
        n = x.shape[1]
        if weights is None:
            mean = x.mean(1, keepdim=True)
            norm = n - correction
        else:
            total = weights.sum()
            mean = (x * weights).sum(1, keepdim=True) / total
            if aweights is None or correction == 0:
                norm = total - correction
            else:
                aw = _as_tensor_like(x, aweights).to(x.dtype)
                norm = total - correction * (weights * aw).sum() / total
        centered = x - mean
        scaled = centered if weights is None else centered * weights
        norm = norm.clamp_min(0) if isinstance(norm, Tensor) else max(float(norm), 0.0)  # ≤ 0 gives inf, as PyTorch
        with _quiet(backend_of(x.array).xp):
            out = (scaled @ centered.t()) / norm
        return out.squeeze() if self.ndim < 2 else out

    def corrcoef(self) -> Tensor:
        """Pearson correlation coefficients of the rows, clipped to [−1, 1] as PyTorch."""
        c = self.cov()
        if c.ndim == 0:
            return c / c
        d = c.diagonal().sqrt()
        return (c / d[:, None] / d[None, :]).clamp(-1, 1)

    # ---- fused products ------------------------------------------------------------------------------------------
    @staticmethod
    def _fused(self: Any, product: Tensor, beta: Any, alpha: Any) -> Tensor:
        product = product if alpha == 1 else product * alpha
        return product if beta == 0 else (self if beta == 1 else self * beta) + product

    def addmv(self, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta · self + alpha · (mat @ vec)."""
        return ExtraMethods._fused(self, mat.matmul(vec), beta, alpha)

    def addr(self, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta · self + alpha · (vec1 ⊗ vec2), the outer product."""
        return ExtraMethods._fused(self, vec1.outer(vec2), beta, alpha)

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta · self + alpha · Σ_b batch1[b] @ batch2[b]."""
        return ExtraMethods._fused(self, batch1.matmul(batch2).sum(0), beta, alpha)

    def addmv_(self, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return self._inplace_op(lambda t: t.addmv(mat, vec, beta=beta, alpha=alpha), mat, vec)

    def addr_(self, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return self._inplace_op(lambda t: t.addr(vec1, vec2, beta=beta, alpha=alpha), vec1, vec2)

    def addbmm_(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return self._inplace_op(lambda t: t.addbmm(batch1, batch2, beta=beta, alpha=alpha), batch1, batch2)

    def addmm_(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return self._inplace_op(lambda t: t.addmm(mat1, mat2, beta=beta, alpha=alpha), mat1, mat2)

    def baddbmm_(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return self._inplace_op(lambda t: t.baddbmm(batch1, batch2, beta=beta, alpha=alpha), batch1, batch2)

    def cumsum_(self, dim: int, *, dtype: Any = None) -> Tensor:
        return self._inplace_op(lambda t: t.cumsum(dim))

    def cumprod_(self, dim: int, *, dtype: Any = None) -> Tensor:
        return self._inplace_op(lambda t: t.cumprod(dim))

    # ---- random draws --------------------------------------------------------------------------------------------
    def bernoulli(self, p: Any = None, *, generator: Any = None) -> Tensor:
        """0/1 draws: 1 with probability self (each element a probability), or ``p`` when given."""
        xp = backend_of(self.array).xp
        prob = self.array if p is None else _data(p)
        if p is None and prob.size and (float(xp.min(prob)) < 0 or float(xp.max(prob)) > 1):
            raise RuntimeError("bernoulli_: all elements of p must be in [0, 1]")
        out = Tensor._wrap(xp.empty(self.array.shape, dtype=self.array.dtype))
        return out.bernoulli_(Tensor._wrap(xp.asarray(prob)) if p is None else p)

    def log_normal_(self, mean: float = 1.0, std: float = 2.0) -> Tensor:
        """exp(N(mean, std²)) draws."""
        self._check_inplace()
        return self._random_fill(lambda backend: backend.generator.lognormal(mean, std, size=self.array.shape))

    def cauchy_(self, median: float = 0.0, sigma: float = 1.0) -> Tensor:
        """Cauchy draws, median + sigma · tan(π(u − ½))."""
        self._check_inplace()
        return self._random_fill(
            lambda backend: median + sigma * backend.generator.standard_cauchy(size=self.array.shape))

    def geometric_(self, p: float) -> Tensor:
        """The number of Bernoulli(p) trials up to the first success (1, 2, …)."""
        self._check_inplace()
        return self._random_fill(lambda backend: backend.generator.geometric(p, size=self.array.shape))

    # ---- construction, storage and hooks -----------------------------------------------------------------------
    def new(self, *args: Any) -> Tensor:
        """The legacy constructor: ``x.new(2, 3)`` an uninitialized tensor of x's dtype and device,
        ``x.new([1, 2])`` one holding that data, ``x.new()`` an empty one."""
        from .tensor import Size

        xp = backend_of(self.array).xp
        if len(args) == 1 and not isinstance(args[0], int | Size):  # data (a list, a tuple, an array)
            return Tensor._wrap(xp.asarray(_data(args[0]), dtype=self.array.dtype))
        shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else tuple(int(a) for a in args)
        shape = shape if args else (0,)
        return Tensor._wrap(_allocate(xp.empty, shape, self.array.dtype, "new"))

    def resize_(self, *sizes: Any) -> Tensor:
        """self with the shape ``sizes``, keeping its first elements (new ones uninitialized), as PyTorch."""
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("cannot resize variables that require grad")
        shape = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else tuple(sizes)
        xp = backend_of(self.array).xp
        count = math.prod(shape)
        if count == self.array.size:
            self.array = xp.ascontiguousarray(self.array).reshape(shape)
        else:
            if any(v < 0 for v in shape):
                raise RuntimeError(f"resize_: negative dimension in the requested size {list(shape)}")
            fresh = _allocate(xp.zeros, count, self.array.dtype, "resize_")
            keep = min(count, self.array.size)
            fresh[:keep] = self.array.reshape(-1)[:keep]
            self.array = fresh.reshape(shape)
        autograd.bump_version(self.array)
        return self

    def resize_as_(self, other: Tensor) -> Tensor:
        return self.resize_(tuple(other.shape))

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """``hook(tensor)`` after each backward has accumulated into this leaf's ``.grad`` (optimizer-in-backward
        programs step there), as PyTorch; returns a handle with ``remove()``."""
        if self._ctx is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return autograd.add_post_accumulate_hook(self, hook)

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False,
                           dim: int | None = None) -> Any:
        """The tensor with each run of equal consecutive values (or slices along ``dim``) kept once."""
        xp = backend_of(self.array).xp
        data = self.array.reshape(-1) if dim is None else xp.moveaxis(self.array, self._dim(dim), 0)
        n = data.shape[0]
        if n == 0:
            starts = xp.zeros(0, dtype="int64")
        else:
            flat = data.reshape(n, -1)
            change = xp.any(flat[1:] != flat[:-1], axis=1) if flat.shape[1] else xp.zeros(n - 1, dtype=bool)
            starts = xp.concatenate([xp.zeros(1, dtype="int64"), xp.flatnonzero(change) + 1])
        values = data[starts]
        if dim is not None:
            values = xp.moveaxis(values, 0, self._dim(dim))
        out = [Tensor._wrap(values)]
        if return_inverse:
            inverse = xp.cumsum(xp.concatenate([xp.zeros(1, dtype="int64"), (change if n > 1 else
                                                                              xp.zeros(0, bool)).astype("int64")]))
            out.append(Tensor._wrap(inverse.reshape(self.shape) if dim is None else inverse))
        if return_counts:
            ends = xp.concatenate([starts[1:], xp.asarray([n], dtype="int64")])
            out.append(Tensor._wrap((ends - starts).astype("int64")))
        return out[0] if len(out) == 1 else tuple(out)

    def gcd(self, other: Any) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.gcd(self.array, _data(other)))

    def lcm(self, other: Any) -> Tensor:
        return Tensor._wrap(backend_of(self.array).xp.lcm(self.array, _data(other)))

    def gcd_(self, other: Any) -> Tensor:
        return self._inplace_op(lambda t: t.gcd(other))

    def lcm_(self, other: Any) -> Tensor:
        return self._inplace_op(lambda t: t.lcm(other))



def _allocate(make: Any, shape: Any, dtype: Any, name: str) -> Any:
    """A new array, or PyTorch's RuntimeError naming the op and the size when the memory is not there."""
    try:
        return make(shape, dtype=dtype)
    except (MemoryError, ValueError) as error:
        raise RuntimeError(f"{name}: cannot allocate a tensor of {shape} elements of {dtype} ({error})") from None
