"""More of PyTorch's losses: robust regression, divergences, margins, ranking and likelihoods (functional + Module).

Elementwise losses own a Function with their fused derivative; losses built from distances and margins are
compositions of differentiable ops (cosine similarity, pairwise distance, clamp, where), so their backward is
the chain rule through those ops.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..autograd import Function
from ..ops.broadcast import unbroadcast
from ..tensor import Tensor
from .distance import pairwise_distance
from .loss import _check_reduction, _reduce, binary_cross_entropy_with_logits, legacy_reduction
from .module import Module

__all__ = [
    "SmoothL1Loss", "HuberLoss", "KLDivLoss", "CosineEmbeddingLoss", "MarginRankingLoss", "HingeEmbeddingLoss",
    "SoftMarginLoss", "MultiLabelSoftMarginLoss", "TripletMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss",
    "TripletMarginWithDistanceLoss", "MultiMarginLoss", "triplet_margin_with_distance_loss", "multi_margin_loss",
    "smooth_l1_loss", "huber_loss", "kl_div", "cosine_embedding_loss", "margin_ranking_loss",
    "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "triplet_margin_loss",
    "poisson_nll_loss", "gaussian_nll_loss",
]


def _tensor(x: Any, like: Tensor) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(backend_array(x, like))


def backend_array(x: Any, like: Tensor) -> Any:
    from ..backend import backend_of

    return backend_of(like.array).xp.asarray(x, dtype=like.array.dtype)


def _reduce_tensor(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _data(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


# ---- robust regression -----------------------------------------------------------------------------------------
class SmoothL1Function(Function):
    """Smooth L1 (``huber=False``) and Huber (``huber=True``) losses of d = a − y with threshold β (Huber: δ).

    Smooth L1:  ℓ = ½d²/β for |d| < β, |d| − ½β otherwise;   ∂ℓ/∂a = d/β for |d| < β, sign(d) otherwise.
    Huber:      ℓ = ½d² for |d| < δ, δ(|d| − ½δ) otherwise;  ∂ℓ/∂a = d for |d| < δ, δ·sign(d) otherwise.
    Huber = δ · smooth L1 with β = δ; β = 0 is the L1 loss. ∂ℓ/∂y = −∂ℓ/∂a.
    """

    def forward(self, a: Any, y: Any, beta: float = 1.0, huber: bool = False, reduction: str = "mean") -> Any:
        xp = self.xp
        d = a - y
        abs_d = xp.abs(d)
        self.inside = abs_d < beta
        self.d, self.beta, self.huber, self.reduction = d, beta, huber, reduction
        self.a_shape, self.y_shape = a.shape, y.shape
        if huber:
            losses = xp.where(self.inside, 0.5 * d * d, beta * (abs_d - 0.5 * beta))
        else:
            quadratic = 0.5 * d * d / beta if beta > 0 else d * 0  # NOTE: β = 0 is plain L1 (no 0/0)
            losses = xp.where(self.inside, quadratic, abs_d - 0.5 * beta)
        return _reduce(losses, reduction)

    def backward(self, grad: Any) -> tuple:
        xp, d, beta = self.xp, self.d, self.beta
        outside = xp.sign(d) * (beta if self.huber else 1)
        inside = d if self.huber else d / (beta if beta > 0 else 1)
        grad_a = xp.where(self.inside, inside, outside)
        grad_a = grad_a * (grad / d.size if self.reduction == "mean" else grad)
        need_a, need_y = self.needs_input_grad
        return (unbroadcast(grad_a, self.a_shape) if need_a else None,
                unbroadcast(-grad_a, self.y_shape) if need_y else None)


def _regression_pair(name: str, input: Tensor, target: Any) -> Any:  # noqa: A002
    target = _tensor(target, input)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"{name}: using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. Please ensure "
            "they have the same size.", UserWarning, stacklevel=3)
    return target


def smooth_l1_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1: ½d²/β where |d| < β, else |d| − ½β (d = input − target); see :class:`SmoothL1Function`."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    target = _regression_pair("smooth_l1_loss", input, target)
    return SmoothL1Function.apply(input, target, beta=beta, huber=False, reduction=reduction)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0,  # noqa: A002
               weight: Any = None) -> Tensor:
    """Huber: ½d² where |d| < δ, else δ(|d| − ½δ) (d = input − target); see :class:`SmoothL1Function`."""
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got {delta}")
    target = _regression_pair("huber_loss", input, target)
    if weight is None:
        return SmoothL1Function.apply(input, target, beta=delta, huber=True, reduction=reduction)
    losses = SmoothL1Function.apply(input, target, beta=delta, huber=True, reduction="none") * weight
    return _reduce_tensor(losses, reduction)


# ---- divergence ------------------------------------------------------------------------------------------------
class KLDivFunction(Function):
    """Kullback–Leibler divergence with the input given as log-probabilities x = log q:

        ℓ = y (log y − x)  (0 where y = 0)        ∂ℓ/∂x = −y,   ∂ℓ/∂y = log y + 1 − x
        log_target (t = log y):  ℓ = eᵗ (t − x)   ∂ℓ/∂x = −eᵗ,  ∂ℓ/∂t = eᵗ (t − x + 1)

    'batchmean' divides the sum by the batch size N = input.shape[0] (the true KL divergence per sample);
    'mean' divides by the number of elements.
    """

    def forward(self, x: Any, y: Any, reduction: str = "mean", log_target: bool = False) -> Any:
        xp = self.xp
        if log_target:
            self.p = xp.exp(y)
            losses = self.p * (y - x)
        else:
            self.p = y
            safe = xp.where(y > 0, y, 1)
            losses = xp.where(y > 0, y * (xp.log(safe) - x), 0 * x)  # NOTE: xlogy: 0·log 0 = 0, as PyTorch
        self.x, self.y, self.log_target, self.reduction = x, y, log_target, reduction
        self.x_shape, self.y_shape = x.shape, y.shape
        if reduction == "batchmean":
            self.divisor = x.shape[0] if x.ndim else 1
            return losses.sum() / self.divisor
        self.divisor = losses.size if reduction == "mean" else 1
        return _reduce(losses, reduction)

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        scale = grad / self.divisor if self.reduction in ("mean", "batchmean") else grad
        need_x, need_y = self.needs_input_grad
        grad_x = unbroadcast(-self.p * scale, self.x_shape) if need_x else None
        grad_y = None
        if need_y:
            if self.log_target:
                local = self.p * (self.y - self.x + 1)
            else:
                local = xp.where(self.y > 0, xp.log(xp.where(self.y > 0, self.y, 1)) + 1 - self.x, 0 * self.x)
            grad_y = unbroadcast(local * scale, self.y_shape)
        return grad_x, grad_y


def kl_div(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence Σ y (log y − x) of ``target`` y from the log-probabilities ``input`` x; see :class:`KLDivFunction`.

    NOTE: 'mean' (the default, as PyTorch) divides by the number of elements, not the batch size; PyTorch warns
    and so do we: pass reduction='batchmean' for the mathematical KL divergence.
    """
    if reduction != "batchmean":
        reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.", UserWarning,
            stacklevel=2)
    return KLDivFunction.apply(input, _tensor(target, input), reduction=reduction, log_target=log_target)


# ---- margins and ranking ---------------------------------------------------------------------------------------
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Any, margin: float = 0.0,
                          size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """ℓ = 1 − cos(x₁, x₂) where y = 1, max(0, cos(x₁, x₂) − margin) where y = −1.

    cos = Σ x₁x₂ / √((Σ x₁² + ε)(Σ x₂² + ε)) along the feature dimension, ε = 1e-12 (as PyTorch).
    Shape: input1, input2 (N, D) or (D,); target (N,) or () of ±1.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim not in (1, 2):
        raise RuntimeError(
            f"cosine_embedding_loss: expected 1D or 2D inputs of the same rank, got shapes {tuple(input1.shape)} "
            f"and {tuple(input2.shape)}")
    dim = input1.ndim - 1
    y = _data(target)
    eps = 1e-12
    dot = (input1 * input2).sum(dim)
    cos = dot / (((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)).sqrt()
    losses = (1 - cos).where(y == 1, 0.0) + (cos - margin).clamp_min(0).where(y == -1, 0.0)
    return _reduce_tensor(losses, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Any, margin: float = 0.0,
                        size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """ℓ = max(0, −y (x₁ − x₂) + margin): x₁ should rank above x₂ by ``margin`` where y = 1, below where y = −1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    target = _tensor(target, input1)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(
            f"margin_ranking_loss: All input tensors should have same dimension but got sizes: input1: "
            f"{tuple(input1.shape)}, input2: {tuple(input2.shape)}, target: {tuple(target.shape)} ")
    return _reduce_tensor((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input: Tensor, target: Any, margin: float = 1.0,  # noqa: A002
                         size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """ℓ = x where y = 1, max(0, margin − x) where y = −1 (x is usually a distance)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    y = _data(target)
    losses = (margin - input).clamp_min(0).where(y != 1, 0.0) + input.where(y != -1, 0.0)
    return _reduce_tensor(losses, reduction)


class SoftMarginFunction(Function):
    """ℓ = log(1 + e^(−y x)) (two-class logistic loss with y = ±1), computed as max(u, 0) + log(1 + e^(−|u|)),
    u = −y x, finite for |x| = 1e4.   ∂ℓ/∂x = −y σ(u).

    Differs from PyTorch 2.13, which computes log(1 + e^u) directly and returns inf for u ≳ 89 (float32).
    """

    def forward(self, x: Any, y: Any, reduction: str = "mean") -> Any:
        xp = self.xp
        u = -y * x
        e = xp.exp(-xp.abs(u))
        self.sig_u = xp.where(u >= 0, 1, e) / (1 + e)
        self.y, self.reduction, self.x_shape = y, reduction, x.shape
        return _reduce(xp.maximum(u, 0) + xp.log1p(e), reduction)

    def backward(self, grad: Any) -> tuple:
        local = -self.y * self.sig_u
        scale = grad / local.size if self.reduction == "mean" else grad
        return unbroadcast(local * scale, self.x_shape), None


def soft_margin_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002
                     reduction: str = "mean") -> Tensor:
    """Two-class logistic loss log(1 + e^(−y x)) with labels y = ±1; see :class:`SoftMarginFunction`."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    return SoftMarginFunction.apply(input, backend_array(_data(target), input), reduction=reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Any, weight: Any = None,  # noqa: A002
                                size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Per sample, the mean over the C classes of −[y log σ(x) + (1 − y) log σ(−x)] (times ``weight``).

    The same per-element loss as ``binary_cross_entropy_with_logits``; averaged over classes, then reduced.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    target = _tensor(target, input)
    losses = binary_cross_entropy_with_logits(input, target, weight, reduction="none")
    return _reduce_tensor(losses.mean(input.ndim - 1), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """ℓ = max(d(a, p) − d(a, n) + margin, 0), d the p-norm pairwise distance (see :func:`pairwise_distance`).

    ``swap``: d(a, n) is replaced by min(d(a, n), d(p, n)) (Balntas et al., 2016).
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(
            f"triplet_margin_loss: The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {anchor.ndim}D {tuple(anchor.shape)}, positive {positive.ndim}D "
            f"{tuple(positive.shape)}, and negative {negative.ndim}D {tuple(negative.shape)} inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce_tensor((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Any = None, margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """ℓ = max(d(a, p) − d(a, n) + margin, 0) for any ``distance_function`` d (default :func:`pairwise_distance`)."""
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: margin must be greater than 0, got {margin}")
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError(
            f"triplet_margin_with_distance_loss: The anchor, positive, and negative tensors are expected to have the "
            f"same number of dimensions, but got shapes {tuple(anchor.shape)}, {tuple(positive.shape)} and "
            f"{tuple(negative.shape)}")
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    return _reduce_tensor((margin + d_pos - d_neg).clamp_min(0), reduction)


def multi_margin_loss(input: Tensor, target: Any, p: int = 1, margin: float = 1.0, weight: Any = None,  # noqa: A002
                      size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: ℓₙ = (1/C) Σ_{i ≠ yₙ} w[yₙ] max(0, margin − x[yₙ] + x[i])ᵖ, p ∈ {1, 2}.

    Shape: input (N, C) or (C,); target (N,) or () of class labels.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    y = _data(target).reshape(-1)
    N, C = x.shape
    if y.shape[0] != N:
        raise RuntimeError(
            f"multi_margin_loss: inconsistent target size: got {tuple(_data(target).shape)} for input of shape "
            f"{tuple(input.shape)}")
    xp = _xp(x.array)
    onehot = (xp.arange(C)[None, :] == y[:, None]).astype(x.array.dtype)  # (N, C)
    x_y = (x * Tensor._wrap(onehot)).sum(1, keepdim=True)  # (N, 1): the score of the true class
    hinge = (margin - x_y + x).clamp_min(0)
    if p == 2:
        hinge = hinge * hinge
    hinge = hinge * Tensor._wrap(1 - onehot)  # NOTE: the true class itself is not a margin violation
    if weight is not None:
        hinge = hinge * _tensor(weight, x)[Tensor._wrap(y)].reshape(-1, 1)
    losses = hinge.sum(1) / C
    return _reduce_tensor(losses if input.ndim == 2 else losses.reshape(()), reduction)


# ---- likelihoods -----------------------------------------------------------------------------------------------
def poisson_nll_loss(input: Tensor, target: Any, log_input: bool = True, full: bool = False,  # noqa: A002
                     size_average: Any = None, eps: float = 1e-8, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Poisson target y with rate λ:

        log_input (x = log λ): ℓ = eˣ − y x        ∂ℓ/∂x = eˣ − y
        otherwise (x = λ):     ℓ = x − y log(x + eps)
        full: adds Stirling's y log y − y + ½ log(2πy) where y > 1 (a constant in x).
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    target = _tensor(target, input)
    losses = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        y = target.array
        xp = _xp(y)
        safe = xp.where(y > 1, y, 1)
        stirling = xp.where(y > 1, safe * xp.log(safe) - safe + 0.5 * xp.log(2 * math.pi * safe), 0)
        losses = losses + Tensor._wrap(stirling.astype(y.dtype))
    return _reduce_tensor(losses, reduction)


def _xp(array: Any) -> Any:
    from ..backend import backend_of

    return backend_of(array).xp


def gaussian_nll_loss(input: Tensor, target: Any, var: Any, full: bool = False, eps: float = 1e-6,  # noqa: A002
                      reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Gaussian target y with mean x and variance σ²:

        ℓ = ½ (log max(σ², eps) + (x − y)² / max(σ², eps))  (+ ½ log 2π if ``full``)

    ``var`` has the input's shape, or one fewer dimension / a last dimension of 1 (one variance per sample).
    NOTE: as PyTorch, the clamp at eps does not stop the gradient with respect to σ².
    """
    _check_reduction(reduction)
    if isinstance(var, int | float):
        var = Tensor._wrap(backend_array(var, input))
    var = _tensor(var, input)
    target = _tensor(target, input)
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError(
                f"gaussian_nll_loss: var of shape {tuple(var.shape)} does not fit input of shape "
                f"{tuple(input.shape)}: expected the input's shape, its shape without the last dimension, or that "
                "with a last dimension of 1")
    if _xp(var.array).any(var.array < 0):
        raise ValueError("var has negative entry/entries")
    var = var + (var.clamp_min(eps) - var).detach()  # the value clamped, the gradient straight through
    losses = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduce_tensor(losses, reduction)


# ---- modules ---------------------------------------------------------------------------------------------------
class _Loss(Module):
    """A loss module: its options are attributes and its config (``reduction`` and those in ``_options``)."""

    _options: tuple = ()

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)

    def get_config(self) -> dict:
        return {"reduction": self.reduction, **{name: getattr(self, name) for name in self._options}}

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)}" for name in self._options)


class SmoothL1Loss(_Loss):
    """Smooth L1 loss: ½d²/β for |d| < β, |d| − ½β otherwise (see :func:`smooth_l1_loss`)."""

    _options = ("beta",)

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Huber loss: ½d² for |d| < δ, δ(|d| − ½δ) otherwise (see :func:`huber_loss`)."""

    _options = ("delta",)

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """KL divergence of the target from log-probabilities (see :func:`kl_div`); prefer reduction='batchmean'."""

    _options = ("log_target",)

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, "mean" if reduction == "batchmean" else reduction)
        self.reduction = reduction if reduction == "batchmean" else self.reduction
        self.log_target = log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineEmbeddingLoss(_Loss):
    """1 − cos(x₁, x₂) for y = 1, max(0, cos(x₁, x₂) − margin) for y = −1 (see :func:`cosine_embedding_loss`)."""

    _options = ("margin",)

    def __init__(self, margin: float = 0.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        return cosine_embedding_loss(input1, input2, target, self.margin, reduction=self.reduction)


class MarginRankingLoss(CosineEmbeddingLoss):
    """max(0, −y (x₁ − x₂) + margin) (see :func:`margin_ranking_loss`)."""

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        return margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """x for y = 1, max(0, margin − x) for y = −1 (see :func:`hinge_embedding_loss`)."""

    _options = ("margin",)

    def __init__(self, margin: float = 1.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """log(1 + e^(−y x)) with y = ±1 (see :func:`soft_margin_loss`)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """Per-class logistic loss averaged over classes (see :func:`multilabel_soft_margin_loss`)."""

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight if weight is None or isinstance(weight, Tensor) else Tensor(weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """max(d(a, p) − d(a, n) + margin, 0) (see :func:`triplet_margin_loss`)."""

    _options = ("margin", "p", "eps", "swap")

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                   reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood (see :func:`poisson_nll_loss`)."""

    _options = ("log_input", "full", "eps")

    def __init__(self, log_input: bool = True, full: bool = False, size_average: Any = None, eps: float = 1e-8,
                 reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Any) -> Tensor:
        return poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood with a predicted variance (see :func:`gaussian_nll_loss`)."""

    _options = ("full", "eps")

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Any, var: Any) -> Tensor:  # noqa: A002
        return gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """max(d(a, p) − d(a, n) + margin, 0) with a chosen distance (see :func:`triplet_margin_with_distance_loss`)."""

    _options = ("margin", "swap")

    def __init__(self, *, distance_function: Any = None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin}")
        self.distance_function, self.margin, self.swap = distance_function, margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                 margin=self.margin, swap=self.swap, reduction=self.reduction)


class MultiMarginLoss(_Loss):
    """Multi-class hinge loss (see :func:`multi_margin_loss`)."""

    _options = ("p", "margin")

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None, size_average: Any = None,
                 reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError("only p == 1 and p == 2 supported")
        self.p, self.margin = p, margin
        self.register_buffer("weight", weight if weight is None or isinstance(weight, Tensor) else Tensor(weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction=self.reduction)
