"""Scans along an axis: the running maximum / minimum with their indices (``cummax``, ``cummin``) and the running
log-sum-exp (``logcumsumexp``), each in log₂(n) doubling steps of whole-array operations."""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from .gamma import _quiet


# ---- scans along an axis ---------------------------------------------------------------------------------------
def _shifted(xp: Any, x: Any, step: int, fill: Any) -> Any:
    """x moved ``step`` places later along the last axis, the first ``step`` places ``fill``."""
    head = xp.full(x.shape[:-1] + (step,), fill, dtype=x.dtype)
    return xp.concatenate([head, x[..., :-step]], axis=-1)


def running_extreme(xp: Any, a: Any, axis: int, minimum: bool) -> tuple:
    """(values, indices) of the running max (or min) along ``axis``, in ⌈log₂ n⌉ doubling steps.

    As PyTorch: a tie takes the later index; a nan wins from where it appears (index: the latest nan)."""
    if a.ndim == 0:
        return a.copy(), xp.zeros((), dtype="int64")
    values = xp.moveaxis(a, axis, -1)
    n = values.shape[-1]
    indices = xp.broadcast_to(xp.arange(n, dtype="int64"), values.shape)
    floating = values.dtype.kind in "fc"
    step = 1
    while step < n:  # each place combines with the place ``step`` earlier: after k steps it covers 2ᵏ places
        earlier_v = _shifted(xp, values, step, values.dtype.type(0))
        earlier_i = _shifted(xp, indices, step, -1)
        earlier = earlier_i >= 0
        beats = earlier_v < values if minimum else earlier_v > values
        if floating:
            beats = beats | (xp.isnan(earlier_v) & ~xp.isnan(values))
        take = earlier & beats
        values = xp.where(take, earlier_v, values)
        indices = xp.where(take, earlier_i, indices)
        step *= 2
    return xp.moveaxis(values, -1, axis), xp.moveaxis(indices, -1, axis)


def running_logsumexp(xp: Any, a: Any, axis: int, reverse: bool = False) -> Any:
    """out_k = ln Σ_{i≤k} e^(a_i) along ``axis`` (Σ_{i≥k} with ``reverse``), stable: a doubling scan of logaddexp."""
    out = xp.moveaxis(a, axis, -1)
    if reverse:
        out = xp.flip(out, -1)
    n = out.shape[-1]
    step = 1
    with _quiet(xp):
        while step < n:
            out = xp.logaddexp(out, _shifted(xp, out, step, -xp.inf))
            step *= 2
    if reverse:
        out = xp.flip(out, -1)
    return xp.moveaxis(out, -1, axis)


class TakeAlong(Function):
    """out = a[…, index_k, …] along ``axis`` (``index`` from :func:`running_extreme` for cummax / cummin).

    ∂L/∂a_i = Σ of ∂L/∂out_k over the k whose index is i (a scatter-add back along the axis).
    """

    def forward(self, a: Any, index: Any = None, axis: int = 0) -> Any:
        self.shape, self.index, self.axis = a.shape, index, axis
        return self.xp.take_along_axis(a, index, axis=axis)

    def backward(self, grad: Any) -> Any:
        from ..backend import backend_of

        xp = self.xp
        moved_grad = xp.moveaxis(grad, self.axis, -1)
        rows = moved_grad.reshape(-1, moved_grad.shape[-1])  # (everything else, n)
        picks = xp.moveaxis(self.index, self.axis, -1).reshape(rows.shape)
        row_of = xp.broadcast_to(xp.arange(rows.shape[0])[:, None], rows.shape)
        flat = xp.zeros((rows.shape[0], self.shape[self.axis]), dtype=grad.dtype)
        backend_of(flat).scatter_add(flat, (row_of, picks), rows)
        return xp.moveaxis(flat.reshape(moved_grad.shape[:-1] + (self.shape[self.axis],)), -1, self.axis)


class LogCumSumExp(Function):
    """out_k = ln Σ_{i≤k} e^(a_i) along ``axis``.   ∂L/∂a_i = Σ_{k≥i} ∂L/∂out_k · e^(a_i − out_k).

    The backward sum is formed in log space, positive and negative parts of ∂L/∂out apart, so neither e^(a_i)
    nor e^(−out_k) is ever evaluated alone (they overflow for large |a|)."""

    def forward(self, a: Any, axis: int = 0) -> Any:
        self.a, self.axis = a, axis
        self.out = running_logsumexp(self.xp, a, axis)
        return self.out

    def backward(self, grad: Any) -> Any:
        xp, a, axis = self.xp, self.a, self.axis
        if grad.ndim == 0:
            return grad
        with _quiet(xp):
            log_pos = xp.log(xp.where(grad > 0, grad, 0)) - self.out
            log_neg = xp.log(xp.where(grad < 0, -grad, 0)) - self.out
            pos = xp.exp(running_logsumexp(xp, log_pos, axis, reverse=True) + a)
            neg = xp.exp(running_logsumexp(xp, log_neg, axis, reverse=True) + a)
        return xp.nan_to_num(pos, nan=0.0, posinf=xp.inf) - xp.nan_to_num(neg, nan=0.0, posinf=xp.inf)
