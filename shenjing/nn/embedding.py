"""Embeddings: a learned lookup table, row i of W is the vector of token i (``Embedding``, ``EmbeddingBag``).

An embedding is a Linear layer applied to one-hot inputs, z = W x with x = e_i, done as a row lookup W[i]
instead of a product with a vector that is all zeros but one. Its backward is the same thing transposed:
∂L/∂W[i] = Σ over the places that looked up i of δ — a scatter-add, so a token used twice gets both gradients.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function, no_grad
from ..backend import as_dtype, backend_of, get_backend, get_default_dtype
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["Embedding", "EmbeddingBag", "embedding", "embedding_bag", "EmbeddingFunction", "EmbeddingBagFunction"]


class EmbeddingFunction(Function):
    """out = W[idx] for integer indices of any shape (…) → (…, D).

    Backward, δ = ∂L/∂out:  ∂L/∂W = zeros (V, D) with δ scatter-added at the looked-up rows,
    ∂L/∂W[i] = Σ_{p : idx[p] = i} δ[p]   (divided by the count of i in the batch with scale_grad_by_freq);
    the row ``padding_idx`` gets no gradient. Indices get none (they are not differentiable).
    """

    def forward(self, W: Any, idx: Any, padding_idx: int | None = None, scale_grad_by_freq: bool = False) -> Any:
        self.idx, self.V, self.padding_idx, self.scale = idx, W.shape[0], padding_idx, scale_grad_by_freq
        return W[idx]

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        D = grad.shape[-1]
        flat_idx = self.idx.reshape(-1)
        flat_grad = grad.reshape(-1, D)
        if self.scale:
            counts = xp.bincount(flat_idx, minlength=self.V)
            flat_grad = flat_grad / counts[flat_idx][:, None].astype(grad.dtype)
        dW = xp.zeros((self.V, D), dtype=grad.dtype)
        backend_of(dW).scatter_add(dW, flat_idx, flat_grad)
        if self.padding_idx is not None:
            dW[self.padding_idx] = 0
        return dW, None


def _indices(input: Any, num_embeddings: int, where: str) -> Any:  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}: expected a shenjing.Tensor of integer indices, got {type(input).__name__}")
    idx = input.array
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{where}: Expected tensor for argument #1 'indices' to have one of the following scalar "
                           f"types: Long, Int; but got {input.dtype} instead (call .long() on the indices)")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= num_embeddings:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{where}: index out of range in self: index {bad} is outside [0, {num_embeddings}) "
                             f"(indices of shape {tuple(input.shape)})")
    return idx


def _normalize_padding_idx(padding_idx: Any, num_embeddings: int, where: str) -> int | None:
    if padding_idx is None:
        return None
    padding_idx = int(padding_idx)
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError(f"{where}: Padding_idx must be within num_embeddings, got {padding_idx} for "
                             f"num_embeddings={num_embeddings}")
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


def _renorm_(weight: Tensor, idx: Any, max_norm: float, norm_type: float) -> None:
    """PyTorch's embedding_renorm_: rows looked up with norm > max_norm are scaled to max_norm, in place."""
    xp = backend_of(weight.array).xp
    rows = xp.unique(idx.reshape(-1))
    W = weight.array
    norms = xp.linalg.norm(W[rows], ord=norm_type, axis=1)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(W.dtype)
    with no_grad():
        W[rows] = W[rows] * scale[:, None]


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,  # noqa: A002
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer tensor ``input``: (…) → (…, D). See :class:`EmbeddingFunction`."""
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported by shenjing; use sparse=False")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"embedding: weight must be a 2-D tensor (num_embeddings, embedding_dim), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    V = weight.shape[0]
    idx = _indices(input, V, "embedding")
    padding_idx = _normalize_padding_idx(padding_idx, V, "embedding")
    if max_norm is not None:
        _renorm_(weight, idx, float(max_norm), float(norm_type))
    return EmbeddingFunction.apply(weight, idx, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``: token i → W[i].

    Args (as ``torch.nn.Embedding``): num_embeddings, embedding_dim, padding_idx=None (that row starts at zero and
    gets no gradient), max_norm=None (rows looked up are renormalised in place to at most this norm),
    norm_type=2.0, scale_grad_by_freq=False, sparse=False (not supported), _weight=None, _freeze=False.

    Shape: input (*) integers → output (*, embedding_dim). Weight (num_embeddings, embedding_dim) from N(0, 1).

    Example:
        >>> emb = shenjing.nn.Embedding(10, 3, padding_idx=0)
        >>> tuple(emb(shenjing.tensor([[1, 2, 0]])).shape)
        (1, 3, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Any = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        for key, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Embedding: {key} should be of type int, got {type(value).__name__}")
            if value < 0:
                raise ValueError(f"Embedding: {key} must be non-negative, got {value}")
        if sparse:
            raise NotImplementedError("Embedding: sparse gradients are not supported by shenjing; use sparse=False")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _normalize_padding_idx(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, float(norm_type)
        self.scale_grad_by_freq, self.sparse = bool(scale_grad_by_freq), False
        if _weight is None:
            dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
            xp = get_backend(device).xp
            self.weight = Parameter(xp.empty((num_embeddings, embedding_dim), dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: shape of weight {tuple(_weight.shape)} does not match "
                                 f"num_embeddings and embedding_dim ({num_embeddings}, {embedding_dim})")
            array = _weight.array if isinstance(_weight, Tensor) else _weight
            self.weight = Parameter(array, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.array[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding holding ``embeddings`` (V, D), frozen by default, as ``torch.nn.Embedding.from_pretrained``."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        V, D = embeddings.shape
        return cls(V, D, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings.detach().clone(), _freeze=freeze)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a shenjing.Tensor of integer indices, got {type(input).__name__}")
        idx = _indices(input, self.num_embeddings, repr(self))
        if self.max_norm is not None:
            _renorm_(self.weight, idx, float(self.max_norm), self.norm_type)
        return EmbeddingFunction.apply(self.weight, idx, padding_idx=self.padding_idx,
                                       scale_grad_by_freq=self.scale_grad_by_freq)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        return s

    def get_config(self) -> dict:
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim,
                "padding_idx": self.padding_idx, "max_norm": self.max_norm, "norm_type": self.norm_type,
                "scale_grad_by_freq": self.scale_grad_by_freq}


class EmbeddingBagFunction(Function):
    """out[b] = reduce over the bag b of W[idx[j]] (· per_sample_weights[j]); reduce = sum | mean | max.

    Bags are given as a segment id per looked-up index (``seg``, length J) and B bags. Backward, δ = ∂L/∂out (B, D):
        sum:  ∂L/∂W[idx[j]] += w_j δ[seg_j]         ∂L/∂w_j = ⟨W[idx[j]], δ[seg_j]⟩
        mean: ∂L/∂W[idx[j]] += δ[seg_j] / |bag seg_j|
        max:  ∂L/∂W[i, d] += δ[b, d] for the i that won the max of bag b in column d
    The padding row is skipped in the bags (and so gets no gradient); an empty bag gives zeros.
    """

    def forward(self, W: Any, per_sample_weights: Any, idx: Any = None, seg: Any = None, bags: int = 0,
                mode: str = "mean") -> Any:
        xp = self.xp
        D = W.shape[1]
        rows = W[idx]  # (J, D)
        backend = backend_of(W)
        self.idx, self.seg, self.V, self.mode, self.bags = idx, seg, W.shape[0], mode, bags
        if mode == "max":
            J = len(idx)
            starts = xp.searchsorted(seg, xp.arange(bags))  # seg is sorted: bag b starts at its first index
            pos = xp.arange(J) - starts[seg]  # place of each index inside its bag
            L = int(pos.max()) + 1 if J else 1
            padded = xp.full((bags, L, D), -xp.inf, dtype=W.dtype)
            padded[seg, pos] = rows
            which = xp.full((bags, L), -1, dtype=xp.int64)
            which[seg, pos] = xp.arange(J)
            arg = padded.argmax(1)  # (B, D); NOTE: the first of tied maxima wins, as PyTorch's CPU kernel
            self.winner = xp.take_along_axis(which, arg, 1)  # index j in the bag that won, -1 for an empty bag
            out = xp.take_along_axis(padded, arg[:, None, :], 1)[:, 0]
            out[self.winner < 0] = 0
            return out
        weighted = rows if per_sample_weights is None else rows * per_sample_weights[:, None]
        out = xp.zeros((bags, D), dtype=W.dtype)
        backend.scatter_add(out, seg, weighted)
        counts = xp.bincount(seg, minlength=bags).astype(W.dtype) if len(seg) else xp.zeros(bags, W.dtype)
        self.counts = counts
        if mode == "mean":
            out /= xp.maximum(counts, 1)[:, None]
        self.rows, self.psw = rows, per_sample_weights
        return out

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        D = grad.shape[1]
        dW = xp.zeros((self.V, D), dtype=grad.dtype)
        backend = backend_of(dW)
        if self.mode == "max":
            w = self.winner
            b, d = xp.nonzero(w >= 0)
            backend.scatter_add(dW, (self.idx[w[b, d]], d), grad[b, d])
            return dW, None
        g = grad[self.seg]  # (J, D)
        if self.mode == "mean":
            g = g / xp.maximum(self.counts, 1)[self.seg][:, None]
        dpsw = None
        if self.psw is not None:
            dpsw = (self.rows * g).sum(1) if self.needs_input_grad[1] else None
            g = g * self.psw[:, None]
        backend.scatter_add(dW, self.idx, g)
        return dW, dpsw


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,  # noqa: A002
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings without building the (…, D) lookups: see EmbeddingBagFunction.

    ``input`` is either 2-D (B, L): B bags of L indices each, or 1-D with ``offsets`` (B,) marking where each bag
    starts (with ``include_last_offset`` the last offset is the end of the last bag).
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if sparse:
        raise NotImplementedError("embedding_bag: sparse gradients are not supported by shenjing")
    if scale_grad_by_freq:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq is not supported by shenjing yet")
    V = weight.shape[0]
    idx = _indices(input, V, "embedding_bag")
    xp = backend_of(idx).xp
    psw = per_sample_weights
    if psw is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                      f"supported for mode='sum' (got mode='{mode}').")
        if tuple(psw.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: per_sample_weights shape {tuple(psw.shape)} must match the input "
                             f"shape {tuple(input.shape)}")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences.")
        bags, L = idx.shape
        seg = xp.repeat(xp.arange(bags), L)
        idx = idx.reshape(-1)
        psw = psw.reshape(-1) if psw is not None else None
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        off = offsets.array.astype(xp.int64) if isinstance(offsets, Tensor) else xp.asarray(offsets, xp.int64)
        if off.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        if off.size and (int(off[0]) != 0 or bool(xp.any(xp.diff(off) < 0)) or int(off[-1]) > len(idx)):
            raise ValueError(f"embedding_bag: offsets must start at 0, increase and stay within the {len(idx)} "
                             f"indices, got {off.tolist()}")
        ends = off[1:] if include_last_offset else xp.concatenate([off[1:], xp.asarray([len(idx)])])
        starts = off[:-1] if include_last_offset else off
        bags = len(starts)
        seg = xp.repeat(xp.arange(bags), ends - starts)
        stop = int(ends[-1]) if bags else 0
        idx = idx[:stop]
        psw = psw[:stop] if psw is not None else None
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    padding_idx = _normalize_padding_idx(padding_idx, V, "embedding_bag")
    if padding_idx is not None:
        keep = idx != padding_idx
        idx, seg = idx[keep], seg[keep]
        psw = psw[keep] if psw is not None else None
    if max_norm is not None:
        _renorm_(weight, idx, float(max_norm), float(norm_type))
    return EmbeddingBagFunction.apply(weight, psw, idx=idx, seg=seg, bags=int(bags), mode=mode)


class EmbeddingBag(Module):
    """Bags of embeddings reduced to one vector each (``mode`` sum | mean | max), as ``torch.nn.EmbeddingBag``.

    forward(input, offsets=None, per_sample_weights=None): input (B, L) or 1-D with offsets → (B, embedding_dim).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                 _weight: Any = None, include_last_offset: bool = False, padding_idx: int | None = None,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got {mode!r}")
        for key, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"EmbeddingBag: {key} must be a non-negative int, got {value!r}")
        self.num_embeddings, self.embedding_dim, self.mode = num_embeddings, embedding_dim, mode
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, float(norm_type), scale_grad_by_freq
        self.include_last_offset = include_last_offset
        self.padding_idx = _normalize_padding_idx(padding_idx, num_embeddings, "EmbeddingBag")
        if _weight is None:
            dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
            xp = get_backend(device).xp
            self.weight = Parameter(xp.empty((num_embeddings, embedding_dim), dtype=dtype))
            self.reset_parameters()
        else:
            self.weight = Parameter(_weight.array if isinstance(_weight, Tensor) else _weight)

    reset_parameters = Embedding.reset_parameters

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        V, D = embeddings.shape
        bag = cls(V, D, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings.detach().clone(),
                  include_last_offset, padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def forward(self, input: Tensor, offsets: Tensor | None = None,  # noqa: A002
                per_sample_weights: Tensor | None = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, False, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    def get_config(self) -> dict:
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim, "mode": self.mode,
                "max_norm": self.max_norm, "norm_type": self.norm_type,
                "include_last_offset": self.include_last_offset, "padding_idx": self.padding_idx}
