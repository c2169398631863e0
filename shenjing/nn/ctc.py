"""Connectionist temporal classification (Graves et al., 2006): ``nn.CTCLoss`` / ``F.ctc_loss``, as PyTorch's.

An RNN emits log-probabilities lp[t, c] over C classes (class ``blank`` = "nothing") for T steps; a label
sequence l of length S is read through the extended sequence l′ = (blank, l₁, blank, l₂, …, l_S, blank) of length
2S + 1. The forward variables (in log space)

    α₀(0) = lp[0, blank],  α₀(1) = lp[0, l₁]
    α_t(s) = lp[t, l′_s] + log Σ α_{t−1}(s′),  s′ ∈ {s, s − 1} ∪ {s − 2 if l′_s ≠ blank and l′_s ≠ l′_{s−2}}

sum the probabilities of every alignment that collapses to l; the loss is L = −log p(l | x) with
p = exp α_{T−1}(2S) + exp α_{T−1}(2S − 1). The backward variables β_t(s) run the same recursion from the end, so
that α_t(s) + β_t(s) − lp[t, l′_s] is the log-probability of the alignments passing through (t, s), and

    ∂L/∂lp[t, c] = exp lp[t, c] − exp(log Σ_{s: l′_s = c} exp(α_t(s) + β_t(s)) + L − lp[t, c])

NOTE: that is PyTorch's gradient, the one with respect to the logits under a log_softmax. The first term lies in
log_softmax's null space (it adds up to 1 at every t, as the second does), so the gradient reaching the logits
is the same as with the bare −exp(…) term; only ``log_probs.grad`` itself shows it, as in PyTorch.

``reduction='mean'`` divides each sequence's loss by its target length, then averages over the batch.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import quiet as _quiet
from ..tensor import Tensor, _data
from .loss import legacy_reduction
from .module import Module

__all__ = ["CTCLoss", "ctc_loss", "CTCLossFunction"]


class CTCLossFunction(Function):
    """The per-sequence CTC losses (N,) of log_probs (T, N, C); the α/β recursions of the module docstring."""

    def forward(self, lp: Any, targets: Any = None, input_lengths: Any = None, target_lengths: Any = None,
                blank: int = 0, zero_infinity: bool = False) -> Any:
        xp = self.xp
        T, N, C = lp.shape
        S = int(target_lengths.max()) if N else 0
        L = 2 * S + 1
        ext = xp.full((N, L), blank, dtype="int64")  # l′: blanks around and between the labels
        ext[:, 1::2] = targets[:, :S]
        lengths = 2 * target_lengths + 1  # each sequence's own |l′|
        positions = xp.arange(L)[None, :]
        valid = positions < lengths[:, None]
        # the skip s − 2 → s: allowed onto a label that differs from the label two places back
        skip = xp.zeros((N, L), dtype=bool)
        skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
        neg_inf = lp.dtype.type(-math.inf)
        rows = xp.arange(N)[:, None]
        emit = lp[:, rows, ext]  # (T, N, L): lp[t, n, l′_s]
        alpha = xp.full((T, N, L), neg_inf, dtype=lp.dtype)
        alpha[0, :, 0] = emit[0, :, 0]
        alpha[0, :, 1] = xp.where(lengths > 1, emit[0, :, 1], neg_inf) if L > 1 else neg_inf
        for t in range(1, T):
            prev = alpha[t - 1]
            alpha[t] = emit[t] + _logsumexp3(xp, prev, _shift(xp, prev, 1, neg_inf),
                                             xp.where(skip, _shift(xp, prev, 2, neg_inf), neg_inf))
            alpha[t] = xp.where(valid & (t < input_lengths)[:, None], alpha[t], neg_inf)
        last = input_lengths - 1
        end = alpha[last, xp.arange(N)]  # (N, L): α at each sequence's last step
        tail = xp.take_along_axis(end, (lengths - 1)[:, None], 1)[:, 0]
        before = xp.where(lengths > 1, xp.take_along_axis(end, xp.maximum(lengths - 2, 0)[:, None], 1)[:, 0], neg_inf)
        nll = -xp.logaddexp(tail, before)
        self.saved = (lp, ext, lengths, valid, skip, emit, alpha, input_lengths, nll, blank)
        self.zero_infinity = zero_infinity
        if zero_infinity:
            nll = xp.where(xp.isinf(nll), 0, nll)
        return nll

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        lp, ext, lengths, valid, skip, emit, alpha, input_lengths, nll, blank = self.saved
        T, N, C = lp.shape
        L = ext.shape[1]
        neg_inf = lp.dtype.type(-math.inf)
        beta = xp.full((T, N, L), neg_inf, dtype=lp.dtype)
        skip_next = xp.zeros((N, L), dtype=bool)  # s + 2 → s allowed when the label at s + 2 may skip back to s
        skip_next[:, :-2] = skip[:, 2:]
        positions = xp.arange(L)[None, :]
        for t in range(T - 1, -1, -1):
            at_end = (t == input_lengths - 1)[:, None]
            start = xp.where((positions == lengths[:, None] - 1) | (positions == lengths[:, None] - 2),
                             emit[t], neg_inf)
            if t < T - 1:
                nxt = beta[t + 1]
                step = emit[t] + _logsumexp3(xp, nxt, _shift(xp, nxt, -1, neg_inf),
                                             xp.where(skip_next, _shift(xp, nxt, -2, neg_inf), neg_inf))
            else:
                step = xp.full((N, L), neg_inf, dtype=lp.dtype)
            inside = (t < input_lengths - 1)[:, None]
            beta[t] = xp.where(valid & at_end, start, xp.where(valid & inside, step, neg_inf))
        both = alpha + beta  # (T, N, L): log Σ over the alignments through (t, s), with lp[t, l′_s] twice
        top = both.max(-1, keepdims=True)
        top = xp.where(xp.isfinite(top), top, 0)
        weights = xp.exp(both - top)  # scattered onto the classes: Σ_{s: l′_s = c}
        bins = (xp.arange(T * N)[:, None] * C + xp.broadcast_to(ext[None], (T, N, L)).reshape(T * N, L)).reshape(-1)
        summed = xp.bincount(bins, weights=weights.reshape(-1), minlength=T * N * C).reshape(T, N, C)
        with _quiet(xp):
            lcab = xp.log(summed.astype(lp.dtype)) + top
            grad_lp = xp.exp(lp) - xp.exp(lcab + nll[None, :, None] - lp)
        live = (xp.arange(T)[:, None] < input_lengths[None, :])[:, :, None]
        with _quiet(xp):
            grad_lp = xp.where(live, grad_lp * grad[None, :, None], 0)
        if self.zero_infinity:  # an impossible alignment: loss 0 and gradient 0 (else inf and nan, as PyTorch)
            grad_lp = xp.where(xp.isinf(nll)[None, :, None], 0, grad_lp)
        return (grad_lp.astype(lp.dtype, copy=False),) + (None,) * (len(self.needs_input_grad) - 1)


def _shift(xp: Any, a: Any, k: int, fill: Any) -> Any:
    """a moved k places along the last axis (positive: towards higher s), ``fill`` coming in."""
    out = xp.full_like(a, fill)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


def _logsumexp3(xp: Any, a: Any, b: Any, c: Any) -> Any:
    top = xp.maximum(xp.maximum(a, b), c)
    safe = xp.where(xp.isfinite(top), top, 0)
    with _quiet(xp):
        out = xp.log(xp.exp(a - safe) + xp.exp(b - safe) + xp.exp(c - safe)) + safe
    return xp.where(xp.isfinite(top), out, top)


def _lengths(xp: Any, value: Any, N: int, name: str) -> Any:
    array = xp.asarray(_data(value))
    if array.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: {name} must be integral, got {array.dtype}")
    array = array.astype("int64").reshape(-1)
    if array.shape[0] != N:
        raise RuntimeError(f"ctc_loss: {name} must have one length per sequence ({N}), got {array.shape[0]}")
    return array


def ctc_loss(log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """CTC loss of log_probs (T, N, C) (log_softmax outputs) against targets (N, S) or their concatenation.

    ``input_lengths`` (N,) and ``target_lengths`` (N,) give each sequence's lengths; ``reduction`` 'mean'
    (each loss over its target length, then the batch mean), 'sum' or 'none'; ``zero_infinity`` turns impossible
    alignments (input too short) into 0 loss and 0 gradient. Unbatched: (T, C) with targets (S,).
    """
    if not isinstance(log_probs, Tensor):
        raise TypeError(f"ctc_loss(): log_probs must be a Tensor, got {type(log_probs).__name__}")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    if log_probs.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got {tuple(log_probs.shape)}")
    if not log_probs.is_floating_point():
        raise RuntimeError(f"ctc_loss: expected floating-point log_probs, got {log_probs.dtype}")
    from ..backend import backend_of

    xp = backend_of(log_probs.array).xp
    T, N, C = log_probs.shape
    if not 0 <= blank < C:
        raise RuntimeError(f"ctc_loss: blank must be in label range [0, {C}), got {blank}")
    input_lengths = _lengths(xp, input_lengths, N, "input_lengths")
    target_lengths = _lengths(xp, target_lengths, N, "target_lengths")
    if N and (int(input_lengths.max()) > T or int(input_lengths.min()) < 1):
        raise RuntimeError(f"ctc_loss: input_lengths must be in [1, {T}] (log_probs has {T} steps), got "
                           f"{input_lengths.tolist()}")
    if N and int(target_lengths.min()) < 0:
        raise RuntimeError(f"ctc_loss: target_lengths must be non-negative, got {target_lengths.tolist()}")
    labels = xp.asarray(_data(targets)).astype("int64")
    if unbatched:
        labels = labels.reshape(1, -1)
    S = int(target_lengths.max()) if N else 0
    if labels.ndim == 1:  # the concatenated form: target_lengths split it
        if labels.shape[0] != int(target_lengths.sum()):
            raise RuntimeError(f"ctc_loss: 1-D targets must hold sum(target_lengths) = {int(target_lengths.sum())} "
                               f"labels, got {labels.shape[0]}")
        padded = xp.full((N, max(S, 1)), blank, dtype="int64")
        offset = 0
        for n, length in enumerate(target_lengths.tolist()):
            padded[n, :length] = labels[offset : offset + length]
            offset += length
        labels = padded
    elif labels.ndim == 2:
        if labels.shape[0] != N or labels.shape[1] < S:
            raise RuntimeError(f"ctc_loss: targets of shape {tuple(labels.shape)} do not hold {N} sequences of up "
                               f"to {S} labels")
    else:
        raise RuntimeError(f"ctc_loss: expected targets of shape (N, S) or (sum(target_lengths),), got "
                           f"{tuple(labels.shape)}")
    if labels.size and (int(labels[:, :S].min()) < 0 or int(labels[:, :S].max()) >= C):
        raise RuntimeError(f"ctc_loss: target labels must be in [0, {C}), got values from {int(labels.min())} to "
                           f"{int(labels.max())}")
    losses = CTCLossFunction.apply(log_probs, targets=labels, input_lengths=input_lengths,
                                   target_lengths=target_lengths, blank=blank, zero_infinity=zero_infinity)
    if reduction == "none":
        return losses[0] if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        divisor = Tensor._wrap(xp.maximum(target_lengths, 1).astype(losses.array.dtype))
        return (losses / divisor).mean()
    raise ValueError(f"{reduction} is not a valid value for reduction")


class CTCLoss(Module):
    """The CTC loss (see the module docstring), as ``torch.nn.CTCLoss(blank=0, reduction='mean',
    zero_infinity=False)``; ``forward(log_probs, targets, input_lengths, target_lengths)``."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False, size_average: Any = None,
                 reduce: Any = None) -> None:
        super().__init__()
        self.blank, self.zero_infinity = blank, zero_infinity
        self.reduction = legacy_reduction(size_average, reduce, reduction)

    def forward(self, log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any) -> Tensor:
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                        self.zero_infinity)

    def get_config(self) -> dict:
        return {"blank": self.blank, "reduction": self.reduction, "zero_infinity": self.zero_infinity}
