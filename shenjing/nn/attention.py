"""Attention: softmax(q kᵀ / √E + mask) v as one fused Function, and multi-head attention built on it.

Scaled dot-product attention, for queries q (…, L, E), keys k (…, S, E) and values v (…, S, Eᵥ):

    S = q kᵀ · scale + M          (scale = 1/√E; M is 0 where attending is allowed, −∞ where not)
    P = softmax(S)                 (row-wise: each query's weights over the S keys sum to 1)
    O = P v

Its backward is the chain rule through those three lines, with the softmax's Jacobian written out:

    ∂L/∂v = Pᵀ ∂L/∂O                        ∂L/∂P = ∂L/∂O vᵀ
    ∂L/∂S = P ⊙ (∂L/∂P − rowsum(∂L/∂P ⊙ P))  (the softmax backward: J = diag(p) − p pᵀ per row)
    ∂L/∂q = ∂L/∂S k · scale                 ∂L/∂k = ∂L/∂Sᵀ q · scale
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function, is_grad_enabled
from ..backend import as_dtype, backend_of, get_backend, get_default_dtype
from ..ops.broadcast import unbroadcast
from ..tensor import Tensor
from . import init
from .linear import Linear, linear
from .module import Module, Parameter

BLOCKED_AT = 256 * 256  # L·S above which attention runs block by block (BlockedAttentionFunction)

__all__ = ["BlockedAttentionFunction", "scaled_dot_product_attention", "ScaledDotProductAttentionFunction", "MultiheadAttention",
           "multi_head_attention_forward", "KVCache"]


class ScaledDotProductAttentionFunction(Function):
    """O = softmax(q kᵀ · scale + M) v (with dropout on P); optionally P returned beside O: output (…, L, Eᵥ [+ S]).

    ``bias`` is an additive float mask M broadcastable to (…, L, S) (−∞ where masked), or None; ``causal`` masks
    key j > query i. Rows masked entirely give zeros (not NaN). Backward as in the module docstring; with dropout
    D (entries 0 or 1/(1 − p)), O = (P ⊙ D) v, so ∂L/∂P = (∂L/∂O vᵀ) ⊙ D.
    """

    def forward(self, q: Any, k: Any, v: Any, bias: Any = None, causal: bool = False, scale: float = 1.0,
                dropout_p: float = 0.0, rng: Any = None, with_weights: bool = False) -> Any:
        xp = self.xp
        s = _scores(xp, q, k.swapaxes(-1, -2), bias, causal, scale)  # (…, L, S); NOTE: one buffer for S and P
        p, _, _, _ = _softmax_(xp, s)
        self.dropped = None
        pd = p
        if dropout_p > 0:
            keep = rng.random(p.shape) >= dropout_p
            self.dropped = keep.astype(p.dtype) / (1 - dropout_p)
            pd = p * self.dropped
        out = pd @ v
        self.q, self.k, self.v, self.p, self.pd, self.scale = q, k, v, p, pd, scale
        self.with_weights, self.Ev = with_weights, v.shape[-1]
        if with_weights:
            return xp.concatenate([out, xp.broadcast_to(pd, out.shape[:-1] + pd.shape[-1:])], -1)
        return out

    def backward(self, grad: Any) -> tuple:
        q, k, v, p, pd, scale = self.q, self.k, self.v, self.p, self.pd, self.scale
        d_out = grad[..., : self.Ev] if self.with_weights else grad
        need_q, need_k, need_v = self.needs_input_grad[:3]
        dv = pd.swapaxes(-1, -2) @ d_out if need_v else None  # ∂L/∂v = (P ⊙ D)ᵀ ∂L/∂O
        dp = d_out @ v.swapaxes(-1, -2)  # ∂L/∂(P ⊙ D)
        if self.with_weights:
            dp = dp + grad[..., self.Ev :]
        if self.dropped is not None:
            dp = dp * self.dropped
        dp -= (dp * p).sum(-1, keepdims=True)
        ds = dp
        ds *= p  # ∂L/∂S = P ⊙ (∂L/∂P − rowsum(∂L/∂P ⊙ P)): the softmax Jacobian, row by row
        dq = (ds @ k) * scale if need_q else None
        dk = (ds.swapaxes(-1, -2) @ q) * scale if need_k else None
        return _unbroadcast(dq, q.shape), _unbroadcast(dk, k.shape), _unbroadcast(dv, v.shape), None


class BlockedAttentionFunction(Function):
    """The same O = softmax(q kᵀ · scale + M) v, computed ``block`` queries at a time (FlashAttention's order).

    Only O and each row's log-sum-exp ℓ = log Σ_j exp(S_ij) are kept, not the (L, S) matrix P: memory stays
    O(block · S) instead of O(L · S). The backward pass recomputes P = exp(S − ℓ) block by block and uses
    rowsum(∂L/∂P ⊙ P) = rowsum(∂L/∂O ⊙ O) (both are Σ_j P_ij ∂L/∂P_ij), so for each query block:
        ∂L/∂v += Pᵀ ∂L/∂O,   ∂L/∂S = P ⊙ (∂L/∂O vᵀ − rowsum(∂L/∂O ⊙ O)),
        ∂L/∂q  = ∂L/∂S k · scale,   ∂L/∂k += ∂L/∂Sᵀ q · scale.
    Used by :func:`scaled_dot_product_attention` for long sequences without dropout.
    """

    def forward(self, q: Any, k: Any, v: Any, bias: Any = None, causal: bool = False, scale: float = 1.0,
                block: int = 128) -> Any:
        xp = self.xp
        L, S = q.shape[-2], k.shape[-2]
        batch = xp.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        out = xp.empty(batch + (L, v.shape[-1]), dtype=q.dtype)
        lse = xp.empty(batch + (L, 1), dtype=q.dtype)
        kt = k.swapaxes(-1, -2)
        for i0 in range(0, L, block):
            i1 = min(L, i0 + block)
            c = min(S, i1) if causal else S  # NOTE: causal: keys after the block's last query are all masked
            s = _scores(xp, q[..., i0:i1, :], kt[..., :c], bias, causal, scale, i0)
            p, peak, total, empty = _softmax_(xp, s)
            out[..., i0:i1, :] = p @ v[..., :c, :]
            ell = peak + xp.log(total)
            ell[empty] = xp.inf  # a fully masked row: exp(−∞ − ∞) = 0 when P is recomputed
            lse[..., i0:i1, :] = ell
        self.q, self.k, self.v, self.out, self.lse = q, k, v, out, lse
        self.bias, self.causal, self.scale, self.block = bias, causal, scale, block
        return out

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        q, k, v, out, lse, scale = self.q, self.k, self.v, self.out, self.lse, self.scale
        L, S = q.shape[-2], k.shape[-2]
        batch = out.shape[:-2]
        dq = xp.empty(batch + q.shape[-2:], dtype=q.dtype)
        dk = xp.zeros(batch + k.shape[-2:], dtype=q.dtype)
        dv = xp.zeros(batch + v.shape[-2:], dtype=q.dtype)
        rowdot = (grad * out).sum(-1, keepdims=True)  # rowsum(∂L/∂O ⊙ O) = rowsum(∂L/∂P ⊙ P)
        kt, vt = k.swapaxes(-1, -2), v.swapaxes(-1, -2)
        for i0 in range(0, L, self.block):
            i1 = min(L, i0 + self.block)
            c = min(S, i1) if self.causal else S
            q_blk, g_blk = q[..., i0:i1, :], grad[..., i0:i1, :]
            p = _scores(xp, q_blk, kt[..., :c], self.bias, self.causal, scale, i0)
            p -= lse[..., i0:i1, :]
            xp.exp(p, out=p)  # P recomputed for this block of queries
            dv[..., :c, :] += p.swapaxes(-1, -2) @ g_blk
            ds = g_blk @ vt[..., :c]
            ds -= rowdot[..., i0:i1, :]
            ds *= p
            dq[..., i0:i1, :] = (ds @ k[..., :c, :]) * scale
            dk[..., :c, :] += (ds.swapaxes(-1, -2) @ q_blk) * scale
        need = self.needs_input_grad
        return (_unbroadcast(dq, q.shape) if need[0] else None, _unbroadcast(dk, k.shape) if need[1] else None,
                _unbroadcast(dv, v.shape) if need[2] else None)


def _scores(xp: Any, q: Any, kt: Any, bias: Any, causal: bool, scale: float, i0: int = 0) -> Any:
    """S = q kᵀ · scale + M for the queries i0 … i0 + l − 1 (q: (…, l, E)) and the first c keys (kt: (…, E, c)).

    One new (…, l, c) array, which the caller may overwrite (with P). M is ``bias``'s rows and columns for
    those queries and keys (it broadcasts to (…, L, S)), plus −∞ above the causal diagonal (key j > query i).
    """
    s = q @ kt  # (…, l, c)
    s *= scale
    l, c = s.shape[-2], s.shape[-1]
    if bias is not None:
        rows = bias[..., i0 : i0 + l, :] if bias.ndim >= 2 and bias.shape[-2] != 1 else bias
        rows = rows[..., :c] if rows.shape[-1] != 1 else rows
        s = s + rows if s.shape != xp.broadcast_shapes(s.shape, rows.shape) else xp.add(s, rows, out=s)
    if causal:
        s += xp.triu(xp.full((l, c), -xp.inf, dtype=s.dtype), 1 + i0)
    return s


def _softmax_(xp: Any, s: Any) -> tuple:
    """P = softmax(S) along the last axis, in place in ``s``: returns (P, peak, total, empty).

    P_ij = exp(S_ij − peak_i) / total_i with peak_i = max_j S_ij (for stability) and total_i = Σ_j exp(S_ij − peak_i),
    so log Σ_j exp(S_ij) = peak_i + log total_i. ``empty`` marks the fully masked rows (all −∞): their P is 0,
    not NaN (peak and total are then taken as 0 and 1).
    """
    peak = s.max(-1, keepdims=True)
    peak[~xp.isfinite(peak)] = 0  # NOTE: a fully masked row stays −∞ − 0, not NaN
    s -= peak
    p = xp.exp(s, out=s)
    total = p.sum(-1, keepdims=True)
    empty = total == 0
    total[empty] = 1
    p /= total
    return p, peak, total, empty


def _unbroadcast(grad: Any, shape: tuple) -> Any:
    return None if grad is None else unbroadcast(grad, shape)


def _mask_to_bias(mask: Any, dtype: Any, where: str, allow_when_true: bool) -> Any:
    """A boolean or float mask as an additive float array (0 allowed, −∞ masked), or None."""
    if mask is None:
        return None
    array = mask.array if isinstance(mask, Tensor) else mask
    xp = backend_of(array).xp
    if array.dtype == bool:
        allowed = array if allow_when_true else ~array
        return xp.where(allowed, 0.0, -xp.inf).astype(dtype)
    if array.dtype.kind != "f":
        raise TypeError(f"{where}: expected a bool or float mask, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q kᵀ · scale + mask) v, as ``torch.nn.functional.scaled_dot_product_attention``.

    ``attn_mask``: bool (True = may attend, PyTorch's SDPA convention) or float (added to the scores), broadcastable
    to (…, L, S). ``is_causal``: query i sees keys j ≤ i (with attn_mask it is an error, as PyTorch).
    ``scale`` defaults to 1/√E. The formulas are in :class:`ScaledDotProductAttentionFunction`.
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a shenjing.Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must have at least 2 dimensions (…, L, E), "
                               f"got shape {tuple(t.shape)}")
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported by shenjing yet")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query and key must have the same embedding size, got "
                           f"query {tuple(query.shape)} and key {tuple(key.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same sequence length, got "
                           f"key {tuple(key.shape)} and value {tuple(value.shape)}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    L, S = query.shape[-2], key.shape[-2]
    bias = _mask_to_bias(attn_mask, query.array.dtype, "scaled_dot_product_attention", allow_when_true=True)
    if bias is not None:
        try:
            backend_of(bias).xp.broadcast_shapes(bias.shape, tuple(query.shape[:-2]) + (L, S))
        except ValueError:
            raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {tuple(bias.shape)} does not "
                               f"broadcast to the attention scores' shape {tuple(query.shape[:-2]) + (L, S)}") from None
    if not 0 <= dropout_p < 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got {dropout_p}")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    if dropout_p == 0 and L * S > BLOCKED_AT:  # long sequences: O(block · S) memory instead of O(L · S)
        return BlockedAttentionFunction.apply(query, key, value, bias=bias, causal=bool(is_causal), scale=scale)
    rng = get_backend(query.device).generator if dropout_p > 0 else None
    return ScaledDotProductAttentionFunction.apply(query, key, value, bias=bias, causal=bool(is_causal), scale=scale,
                                                  dropout_p=float(dropout_p), rng=rng)


class KVCache:
    """One attention layer's keys and values, kept for incremental decoding in preallocated (N, H, T_max, D) buffers.

    A decoder generating token by token would otherwise recompute every earlier position's keys and values at each
    step. ``attend(q, k, v)`` writes the T new positions' keys and values into the buffers at [t, t + T) (t = the
    number already cached; a copy into the buffer, no re-allocation) and lets the T new queries attend to every
    position up to their own:

        S = q K[:t+T]ᵀ · scale + M     (M_ij = −∞ where key j > t + i, else 0)
        P = softmax(S),   O = P V[:t+T]

    For one new token (T = 1) M is all zeros and the step is two small products and a softmax over t + 1 scores.
    The same numbers as causal :func:`scaled_dot_product_attention` over the whole sequence, computed for the new
    rows only. Inference only: it works on the arrays directly and builds no autograd graph, so it refuses inputs
    that require a gradient while grad mode is on. ``reset()`` empties it (the buffers are kept).

        cache = nn.KVCache(batch_size, num_heads, max_len, head_dim)
        y = cache.attend(q, k, v)       # q, k, v: (N, H, T, D) → y: (N, H, T, D)
    """

    def __init__(self, batch_size: int, num_heads: int, max_len: int, head_dim: int, dtype: Any = None,
                 device: Any = None) -> None:
        for name, value in (("batch_size", batch_size), ("num_heads", num_heads), ("max_len", max_len),
                            ("head_dim", head_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"KVCache: {name} must be a positive int, got {value!r}")
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        shape = (batch_size, num_heads, max_len, head_dim)
        self.k, self.v = xp.zeros(shape, dtype=dtype), xp.zeros(shape, dtype=dtype)
        self.max_len, self.length, self.xp = max_len, 0, xp

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        N, H, T, D = self.k.shape
        return f"KVCache(batch_size={N}, num_heads={H}, max_len={T}, head_dim={D}, length={self.length})"

    def reset(self) -> None:
        """Forget the cached positions (the buffers stay allocated)."""
        self.length = 0

    @property
    def keys(self) -> Tensor:
        """The cached keys (N, H, t, D) (a view of the buffer)."""
        return Tensor._wrap(self.k[:, :, : self.length])

    @property
    def values(self) -> Tensor:
        """The cached values (N, H, t, D) (a view of the buffer)."""
        return Tensor._wrap(self.v[:, :, : self.length])

    def attend(self, q: Tensor, k: Tensor, v: Tensor, scale: float | None = None) -> Tensor:
        """Append k, v (N, H, T, D) and return the new queries' attention output (N, H, T, D); formulas above."""
        for name, t in (("q", q), ("k", k), ("v", v)):
            if not isinstance(t, Tensor):
                raise TypeError(f"KVCache.attend: {name} must be a shenjing.Tensor, got {type(t).__name__}")
            if t.requires_grad and is_grad_enabled():
                raise RuntimeError("KVCache.attend is for inference and builds no graph: call it under "
                                   "shenjing.no_grad() (or pass tensors that do not require grad)")
        N, H, _, D = self.k.shape
        T = q.shape[-2] if q.ndim == 4 else -1
        for name, t in (("q", q), ("k", k), ("v", v)):
            if t.ndim != 4 or tuple(t.shape) != (N, H, T, D):
                raise RuntimeError(f"KVCache.attend: {name} must have shape (N, H, T, D) = ({N}, {H}, T, {D}) like "
                                   f"q {tuple(q.shape)}, got {tuple(t.shape)}")
        if q.array.dtype != self.k.dtype or k.array.dtype != self.k.dtype or v.array.dtype != self.k.dtype:
            raise TypeError(f"KVCache.attend: q, k, v must have the cache's dtype {self.k.dtype}, got "
                            f"{q.array.dtype}, {k.array.dtype}, {v.array.dtype}")
        t0, t1 = self.length, self.length + T
        if t1 > self.max_len:
            raise ValueError(f"KVCache.attend: {t0} cached + {T} new positions exceed max_len={self.max_len}; "
                             "reset() the cache (or build it with a larger max_len)")
        xp = self.xp
        self.k[:, :, t0:t1] = k.array
        self.v[:, :, t0:t1] = v.array
        self.length = t1
        qa = q.array
        s = qa @ self.k[:, :, :t1].swapaxes(-1, -2)  # (N, H, T, t1): the new queries against every cached key
        s *= 1.0 / math.sqrt(D) if scale is None else float(scale)
        if T > 1:  # query i (at position t0 + i) must not see keys after it
            s += xp.triu(xp.full((T, t1), -xp.inf, dtype=s.dtype), 1 + t0)
        s -= s.max(-1, keepdims=True)
        p = xp.exp(s, out=s)
        p /= p.sum(-1, keepdims=True)
        return Tensor._wrap(p @ self.v[:, :, :t1])


def _attention_with_weights(q: Tensor, k: Tensor, v: Tensor, bias: Any, causal: bool, scale: float,
                            dropout_p: float) -> tuple:
    rng = get_backend(q.device).generator if dropout_p > 0 else None
    both = ScaledDotProductAttentionFunction.apply(q, k, v, bias=bias, causal=causal, scale=scale,
                                                   dropout_p=dropout_p, rng=rng, with_weights=True)
    Ev = v.shape[-1]
    return both[..., :Ev], both[..., Ev:]


class MultiheadAttention(Module):
    """Multi-head attention, as ``torch.nn.MultiheadAttention``: h heads attend in parallel in subspaces of E/h.

        head_i = Attention(q W_qᵢ, k W_kᵢ, v W_vᵢ),    MultiHead(q, k, v) = [head_1, …, head_h] W_o

    Parameters as PyTorch: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) stacking W_q, W_k, W_v (or
    ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` when kdim or vdim differ from E), ``out_proj``
    (a Linear(E, E)), ``bias_k``/``bias_v`` with add_bias_kv.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) → (attn_output, attn_weights or None). Masks follow
    MultiheadAttention's convention (bool True = NOT allowed; float masks are added).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        for key_, value_ in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(value_, bool) or not isinstance(value_, int) or value_ <= 0:
                raise ValueError(f"MultiheadAttention: {key_} must be a positive int, got {value_!r}")
        if embed_dim % num_heads:
            raise AssertionError(f"MultiheadAttention: embed_dim must be divisible by num_heads, got embed_dim="
                                 f"{embed_dim} and num_heads={num_heads}")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, float(dropout), batch_first
        self.kdim, self.vdim = kdim if kdim is not None else embed_dim, vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = bool(add_zero_attn)
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(xp.empty((3 * E, E), dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(xp.empty((E, E), dtype=dtype))
            self.k_proj_weight = Parameter(xp.empty((E, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(xp.empty((E, self.vdim), dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(xp.empty((3 * E,), dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(xp.empty((1, 1, E), dtype=dtype))
            self.bias_v = Parameter(xp.empty((1, 1, E), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """As PyTorch: Xavier-uniform projections, zero in-projection and output biases, N(0, ·) for bias_k/v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}" + (
            f", dropout={self.dropout}" if self.dropout else "") + (", batch_first=True" if self.batch_first else "")

    def get_config(self) -> dict:
        return {"embed_dim": self.embed_dim, "num_heads": self.num_heads, "dropout": self.dropout,
                "bias": self.in_proj_bias is not None, "add_bias_kv": self.bias_k is not None,
                "add_zero_attn": self.add_zero_attn, "kdim": self.kdim, "vdim": self.vdim,
                "batch_first": self.batch_first}

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        batched = query.ndim == 3
        if self.batch_first and batched:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        return multi_head_attention_forward(self, query, key, value, key_padding_mask, need_weights, attn_mask,
                                            average_attn_weights, is_causal, batch_first_out=self.batch_first)


def multi_head_attention_forward(m: MultiheadAttention, query: Tensor, key: Tensor, value: Tensor,
                                 key_padding_mask: Any, need_weights: bool, attn_mask: Any,
                                 average_attn_weights: bool, is_causal: bool, batch_first_out: bool = False) -> tuple:
    """The computation of :class:`MultiheadAttention` on (L, N, E) inputs (or unbatched (L, E))."""
    where = repr(m)
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise RuntimeError(f"{where}: query, key and value must all be 3-D (L, N, E) or 2-D (L, E), got "
                           f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, E = query.shape
    S = key.shape[0]
    if E != m.embed_dim:
        raise RuntimeError(f"{where}: was expecting embedding dimension of {m.embed_dim}, but got {E} (query shape "
                           f"{tuple(query.shape)})")
    if key.shape[-1] != m.kdim or value.shape[-1] != m.vdim:
        raise RuntimeError(f"{where}: key of shape {tuple(key.shape)} and value of shape {tuple(value.shape)} must "
                           f"end in kdim={m.kdim} and vdim={m.vdim}")
    if key.shape[:2] != value.shape[:2]:
        raise RuntimeError(f"{where}: key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
    if key.shape[1] != N:
        raise RuntimeError(f"{where}: key batch size {key.shape[1]} does not match query batch size {N}")
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{where}: Need attn_mask if specifying the is_causal hint (PyTorch's rule); pass "
                           "nn.Transformer.generate_square_subsequent_mask(L) as attn_mask")
    # -- projections: q = query W_qᵀ + b_q, … --------------------------------------------------------------------
    b = m.in_proj_bias
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
    if m._qkv_same_embed_dim:
        W = m.in_proj_weight
        if query is key and key is value:
            q, k, v = linear(query, W, b).chunk(3, -1)  # self-attention: one product for all three
        else:
            q, k, v = linear(query, W[:E], bq), linear(key, W[E : 2 * E], bk), linear(value, W[2 * E :], bv)
    else:
        q, k, v = linear(query, m.q_proj_weight, bq), linear(key, m.k_proj_weight, bk), linear(value, m.v_proj_weight, bv)
    dtype = q.array.dtype
    xp = backend_of(q.array).xp
    # -- masks as one additive bias (…, L, S) ---------------------------------------------------------------------
    bias = _mask_to_bias(attn_mask, dtype, where, allow_when_true=False)
    if bias is not None:
        if bias.ndim == 2 and bias.shape != (L, S):
            raise RuntimeError(f"{where}: The shape of the 2D attn_mask is {tuple(bias.shape)}, but should be {(L, S)}.")
        if bias.ndim == 3 and bias.shape != (N * m.num_heads, L, S):
            raise RuntimeError(f"{where}: The shape of the 3D attn_mask is {tuple(bias.shape)}, but should be "
                               f"{(N * m.num_heads, L, S)}.")
        if bias.ndim not in (2, 3):
            raise RuntimeError(f"{where}: attn_mask's dimension {bias.ndim} is not supported (2-D or 3-D)")
        bias = bias.reshape(1, 1, L, S) if bias.ndim == 2 else bias.reshape(N, m.num_heads, L, S)
    if m.bias_k is not None:  # one more key and value, learnt
        k, v, bias, key_padding_mask = _append_key(k, v, m.bias_k.expand(1, N, E), m.bias_v.expand(1, N, E), bias,
                                                   key_padding_mask)
    if m.add_zero_attn:  # one more key and value, zeros
        zeros = Tensor._wrap(xp.zeros((1, N, E), dtype=dtype))
        k, v, bias, key_padding_mask = _append_key(k, v, zeros, zeros, bias, key_padding_mask)
    S = k.shape[0]
    if key_padding_mask is not None:
        kp = _mask_to_bias(key_padding_mask, dtype, where, allow_when_true=False)
        if kp.shape != (N, S):
            raise RuntimeError(f"{where}: expected key_padding_mask of shape {(N, S)}, got {tuple(kp.shape)}")
        kp = kp.reshape(N, 1, 1, S)
        bias = kp if bias is None else bias + kp
    # -- heads: (L, N, E) → (N, h, L, E/h) -----------------------------------------------------------------------
    h, d = m.num_heads, m.head_dim
    q = q.reshape(L, N, h, d).permute(1, 2, 0, 3)
    k = k.reshape(S, N, h, d).permute(1, 2, 0, 3)
    v = v.reshape(S, N, h, d).permute(1, 2, 0, 3)
    p = m.dropout if m.training else 0.0
    scale = 1.0 / math.sqrt(d)
    if need_weights:
        out, weights = _attention_with_weights(q, k, v, bias, False, scale, p)
    else:
        rng = get_backend(q.device).generator if p > 0 else None
        out = ScaledDotProductAttentionFunction.apply(q, k, v, bias=bias, causal=False, scale=scale, dropout_p=p,
                                                      rng=rng)
        weights = None
    out = out.permute(2, 0, 1, 3).reshape(L, N, E)  # heads side by side again
    out = m.out_proj(out)
    if weights is not None and average_attn_weights:
        weights = weights.mean(1)  # (N, L, S)
    if not batched:
        out = out.squeeze(1)
        weights = weights.squeeze(0) if weights is not None else None
    elif batch_first_out:
        out = out.transpose(0, 1)
    return out, weights


def _append_key(k: Tensor, v: Tensor, k_new: Tensor, v_new: Tensor, bias: Any, key_padding_mask: Any) -> tuple:
    """k and v (S, N, E) with one more key and value (1, N, E) after the last, and the masks with a column
    for it that allows attending to it: (k, v, bias (…, S + 1), key_padding_mask (N, S + 1))."""
    from ..functions import cat

    k, v = cat([k, k_new], 0), cat([v, v_new], 0)
    xp = backend_of(k.array).xp
    if bias is not None:
        bias = xp.concatenate([bias, xp.zeros(bias.shape[:-1] + (1,), dtype=bias.dtype)], -1)
    if key_padding_mask is not None:
        kp = _as_tensor(key_padding_mask)
        key_padding_mask = cat([kp, _as_tensor(xp.zeros((k.shape[1], 1), dtype=kp.array.dtype))], 1)
    return k, v, bias, key_padding_mask


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(x)
