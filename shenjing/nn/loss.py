"""Losses with fused backward rules: where the output layer's δ = ∂L/∂z⁽ᴸ⁾ of backpropagation is born.

    MSE (mean over M elements):   L = (1/M) Σ (a − y)²          δ = 2(a − y)/M
    textbook ½Σ form:             L = ½ Σ (a − y)²              δ = a − y
    softmax + cross-entropy:      L = −(1/N) Σₙ log softmax(zₙ)[yₙ]   δ = (softmax(z) − onehot(y))/N
    sigmoid + binary CE:          L = −(1/M) Σ y log σ(z) + (1 − y) log(1 − σ(z))   δ = (σ(z) − y)/M
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

from ..autograd import Function
from ..backend import NUMPY, backend_of
from ..tensor import Tensor
from .module import Module

__all__ = [
    "MSELoss", "L1Loss", "HalfSquaredErrorLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "mse_loss", "l1_loss", "half_squared_error", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

_REDUCTIONS = ("mean", "sum", "none")


def legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's deprecated ``size_average`` / ``reduce`` pair, mapped onto ``reduction`` (as torch's _Reduction)."""
    if size_average is None and reduce is None:
        _check_reduction(reduction)
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction instead.",
                  UserWarning, stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction; expected one of {_REDUCTIONS}")


def _reduce(loss: Any, reduction: str, count: Any = None) -> Any:
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / (loss.size if count is None else count)


def _data(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


# ---- regression ------------------------------------------------------------------------------------------------
class MSEFunction(Function):
    """L = (1/M) Σ (a − y)² (mean), Σ (a − y)² (sum) or (a − y)² (none).   ∂L/∂a = 2(a − y)/M, −∂L/∂y."""

    def forward(self, a: Any, y: Any, reduction: str = "mean") -> Any:
        self.diff, self.reduction, self.a_shape, self.y_shape = a - y, reduction, a.shape, y.shape
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, grad: Any) -> tuple:
        scale = 2 / self.diff.size if self.reduction == "mean" else 2
        grad_a = (grad * scale) * self.diff
        return _split_pair(self, grad_a)


class L1Function(Function):
    """L = (1/M) Σ |a − y|.   ∂L/∂a = sign(a − y)/M."""

    def forward(self, a: Any, y: Any, reduction: str = "mean") -> Any:
        self.diff, self.reduction, self.a_shape, self.y_shape = a - y, reduction, a.shape, y.shape
        return _reduce(self.xp.abs(self.diff), reduction)

    def backward(self, grad: Any) -> tuple:
        scale = 1 / self.diff.size if self.reduction == "mean" else 1
        return _split_pair(self, (grad * scale) * self.xp.sign(self.diff))


def _split_pair(ctx: Function, grad_a: Any) -> tuple:
    from ..ops.broadcast import unbroadcast

    need_a, need_y = ctx.needs_input_grad
    return (
        unbroadcast(grad_a, ctx.a_shape) if need_a else None,
        unbroadcast(-grad_a, ctx.y_shape) if need_y else None,
    )


def _check_regression_shapes(name: str, input: Tensor, target: Any) -> None:  # noqa: A002
    if tuple(input.shape) != tuple(getattr(target, "shape", ())):
        warnings.warn(
            f"{name}: using a target size {tuple(target.shape)} that is different to the input size "
            f"{tuple(input.shape)}. This will likely lead to incorrect results due to broadcasting. Please ensure "
            "they have the same size.",
            UserWarning,
            stacklevel=3,
        )


def mse_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002 - PyTorch's
             reduction: str = "mean") -> Tensor:
    """Mean squared error (no ½, as PyTorch): L = (1/M) Σ (a − y)²; gradient 2(a − y)/M."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_regression_shapes("mse_loss", input, target)
    return MSEFunction.apply(input, target, reduction=reduction)


def l1_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002
            reduction: str = "mean") -> Tensor:
    """Mean absolute error: L = (1/M) Σ |a − y|."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_regression_shapes("l1_loss", input, target)
    return L1Function.apply(input, target, reduction=reduction)


def half_squared_error(input: Tensor, target: Any) -> Tensor:  # noqa: A002
    """The textbook's loss L = ½ Σ (a − y)², whose gradient is simply ∂L/∂a = a − y.

    Equal to ``0.5 * mse_loss(a, y, reduction="sum")``.

    Example (the textbook's two-layer network: a2 = 0.716866, y = 1):
        >>> import shenjing
        >>> round(half_squared_error(shenjing.tensor([0.716866]), shenjing.tensor([1.0])).item(), 6)
        0.040083
    """
    return 0.5 * mse_loss(input, target, reduction="sum")


class MSELoss(Module):
    """Mean squared error, L = (1/M) Σ (a − y)² (``reduction='mean'``), Σ (a − y)² ('sum') or per element ('none').

    Differs from the textbook, which writes L = ½ Σ (a − y)²: that is :class:`HalfSquaredErrorLoss`.
    """

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"

    def get_config(self) -> dict:
        return {"reduction": self.reduction}


class L1Loss(MSELoss):
    """Mean absolute error, L = (1/M) Σ |a − y|."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return l1_loss(input, target, reduction=self.reduction)


class HalfSquaredErrorLoss(Module):
    """The textbook's L = ½ Σ (a − y)²: the ½ cancels the 2 of the derivative, so ∂L/∂a = a − y."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return half_squared_error(input, target)

    def get_config(self) -> dict:
        return {}


# ---- classification --------------------------------------------------------------------------------------------
def _classes_last(z: Any, xp: Any) -> Any:
    """(N, C, d1, …) → (N·d1·…, C); (C,) → (1, C)."""
    if z.ndim == 1:
        return z[None, :]
    if z.ndim == 2:
        return z
    return xp.moveaxis(z, 1, -1).reshape(-1, z.shape[1])


def _classes_back(grad: Any, shape: tuple, xp: Any) -> Any:
    if len(shape) <= 2:
        return grad.reshape(shape)
    moved = (shape[0],) + shape[2:] + (shape[1],)
    return xp.moveaxis(grad.reshape(moved), -1, 1)


def _target_distribution(xp: Any, log_p: Any, target: Any, weight: Any, ignore_index: int, smoothing: float,
                         soft: bool) -> tuple:
    """q (M, C), the weighted target distribution with −Σ q·log p the loss, and the 'mean' divisor."""
    M, C = log_p.shape
    if soft:
        q = target.reshape(-1, C) if target.ndim <= 2 else xp.moveaxis(target, 1, -1).reshape(-1, C)
        q = q.astype(log_p.dtype)
        if smoothing:
            q = q * (1 - smoothing) + smoothing / C
        if weight is not None:
            q = q * weight
        return q, M
    y = target.reshape(-1)
    valid = y != ignore_index
    y_safe = xp.where(valid, y, 0)
    w_y = weight[y_safe] * valid if weight is not None else valid.astype(log_p.dtype)
    q = xp.zeros((M, C), dtype=log_p.dtype)
    q[xp.arange(M), y_safe] = (1 - smoothing) * w_y
    if smoothing:
        per_class = weight if weight is not None else 1
        q += (smoothing / C) * per_class * valid[:, None].astype(log_p.dtype)
    return q, w_y.sum()


class CrossEntropyFunction(Function):
    """Softmax and cross-entropy fused, on logits z (N, C) and integer labels y (N,).

    Forward:  log pₙ = zₙ − log Σ_c e^(zₙc)   (shifted by max zₙ: finite for logits of ±1e4)
              L = −(1/N) Σₙ log pₙ[yₙ]
    Backward: δ = ∂L/∂z = (p − onehot(y)) / N,  p = softmax(z)

    The general form covers class weights w, ignore_index and label smoothing ε: the target is the
    distribution qₙ = (1 − ε)·w[yₙ]·onehot(yₙ) + ε·w/C, L = −Σₙ qₙ·log pₙ / Σₙ w[yₙ], and
    δₙ = ((Σ_c qₙc)·pₙ − qₙ) / Σₙ w[yₙ]. With probabilities as targets, q is them and the divisor N.
    """

    def forward(self, logits: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                reduction: str = "mean", label_smoothing: float = 0.0, soft: bool = False) -> Any:
        xp = self.xp
        z = _classes_last(logits, xp)  # (M, C)
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))  # (M, C)
        self.log_p, self.shape, self.reduction = log_p, logits.shape, reduction
        self.target_shape = target.shape if not soft else target.shape[:1] + target.shape[2:]
        # NOTE: deciding the fast path reads the labels on the host; on a GPU the general path avoids that sync
        simple = (not soft and weight is None and not label_smoothing and backend_of(target) is NUMPY
                  and not (target == ignore_index).any())
        if simple:  # the textbook's case, without building q
            self.q = None
            self.y = target.reshape(-1)
            losses = -log_p[xp.arange(z.shape[0]), self.y]
            self.divisor = z.shape[0]
        else:
            self.q, self.divisor = _target_distribution(xp, log_p, target, weight, ignore_index, label_smoothing,
                                                        soft)
            losses = -(self.q * log_p).sum(axis=1)
        if reduction == "none":
            return losses.reshape(self.target_shape if logits.ndim > 1 else ())
        total = losses.sum()
        return total / self.divisor if reduction == "mean" else total

    def backward(self, grad: Any) -> tuple:
        xp = self.xp
        p = xp.exp(self.log_p)  # softmax(z), (M, C)
        if self.q is None:
            delta = p
            delta[xp.arange(p.shape[0]), self.y] -= 1  # p − onehot(y)
        else:
            delta = p * self.q.sum(axis=1, keepdims=True) - self.q
        if self.reduction == "none":
            delta *= grad.reshape(-1, 1)
        else:
            delta *= grad / self.divisor if self.reduction == "mean" else grad
        return (_classes_back(delta, self.shape, xp),)


def _check_class_target(name: str, input: Tensor, target: Any, ignore_index: int) -> bool:  # noqa: A002
    """Validate labels; returns True when ``target`` holds class probabilities rather than labels."""
    shape, tshape = tuple(input.shape), tuple(target.shape)
    kind = target.dtype.kind
    if kind == "f" and tshape == shape:
        return True
    if kind not in "iu":
        raise RuntimeError(
            f"{name}: expected integer class labels (int64) of shape {shape[:1] + shape[2:]}, got {target.dtype} "
            f"of shape {tshape}. Convert labels with target.long(), or pass class probabilities of the input's "
            f"shape {shape}."
        )
    expected = shape[:1] + shape[2:] if len(shape) >= 2 else ()
    if tshape != expected:
        raise ValueError(
            f"{name}: expected labels of shape {expected} for input of shape {shape}, got labels of shape {tshape}"
        )
    n_classes = shape[1] if len(shape) >= 2 else shape[0]
    if target.size and backend_of(target) is NUMPY:  # NOTE: on a GPU this check would sync with the host
        valid = target[target != ignore_index] if ignore_index is not None else target
        if valid.size and (valid.min() < 0 or valid.max() >= n_classes):
            bad = valid.max() if valid.max() >= n_classes else valid.min()
            raise IndexError(
                f"{name}: Target {int(bad)} is out of bounds: labels must lie in [0, {n_classes - 1}] for "
                f"{n_classes} classes (input shape {shape})."
            )
    return False


def cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average: Any = None,  # noqa: A002
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy on logits (softmax applied inside): L = −(1/N) Σₙ log softmax(zₙ)[yₙ].

    See :class:`CrossEntropyFunction` for the fused gradient δ = (softmax(z) − onehot(y))/N.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    target_data = _data(target)
    soft = _check_class_target("cross_entropy", input, target_data, ignore_index)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    return CrossEntropyFunction.apply(input, target_data, _data(weight), ignore_index=ignore_index,
                                      reduction=reduction, label_smoothing=label_smoothing, soft=soft)


class NLLFunction(Function):
    """Negative log-likelihood on log-probabilities: L = −Σₙ w[yₙ] log pₙ[yₙ] / Σₙ w[yₙ].

    ∂L/∂(log pₙ) = −w[yₙ]·onehot(yₙ) / Σₙ w[yₙ].
    """

    def forward(self, log_p: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                reduction: str = "mean") -> Any:
        xp = self.xp
        flat = _classes_last(log_p, xp)
        self.q, self.divisor = _target_distribution(xp, flat, target, weight, ignore_index, 0.0, False)
        self.shape, self.reduction = log_p.shape, reduction
        losses = -(self.q * flat).sum(axis=1)
        if reduction == "none":
            return losses.reshape(target.shape)
        total = losses.sum()
        return total / self.divisor if reduction == "mean" else total

    def backward(self, grad: Any) -> tuple:
        if self.reduction == "none":
            delta = -self.q * grad.reshape(-1, 1)
        else:
            delta = -self.q * (grad / self.divisor if self.reduction == "mean" else grad)
        return (_classes_back(delta, self.shape, self.xp),)


def nll_loss(input: Tensor, target: Any, weight: Any = None, size_average: Any = None,  # noqa: A002
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (the output of ``log_softmax``)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    target_data = _data(target)
    if _check_class_target("nll_loss", input, target_data, ignore_index):
        raise RuntimeError("nll_loss: expected integer class labels, got floating-point targets")
    return NLLFunction.apply(input, target_data, _data(weight), ignore_index=ignore_index, reduction=reduction)


class BCEFunction(Function):
    """L = −w [y log p + (1 − y) log(1 − p)], logs clamped at −100 (as PyTorch).

    ∂L/∂p = w (p − y) / max(p(1 − p), 1e-12).
    """

    def forward(self, p: Any, y: Any, weight: Any = None, reduction: str = "mean") -> Any:
        xp = self.xp
        quiet = getattr(xp, "errstate", None)  # p = 0 or 1 (a saturated sigmoid) is a defined case: log → −100
        with quiet(divide="ignore") if quiet is not None else contextlib.nullcontext():
            log_p = xp.maximum(xp.log(p), -100)
            log_1mp = xp.maximum(xp.log1p(-p), -100)
        losses = -(y * log_p + (1 - y) * log_1mp)
        if weight is not None:
            losses = losses * weight
        self.p, self.y, self.weight, self.reduction = p, y, weight, reduction
        return _reduce(losses, reduction)

    def backward(self, grad: Any) -> tuple:
        xp, p = self.xp, self.p
        delta = (p - self.y) / xp.maximum(p * (1 - p), 1e-12)
        if self.weight is not None:
            delta = delta * self.weight
        scale = grad / p.size if self.reduction == "mean" else grad
        return (delta * scale,)


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, size_average: Any = None,  # noqa: A002
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on probabilities p ∈ [0, 1] (use the logits form for stability)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    target_data = _data(target)
    if tuple(target_data.shape) != tuple(input.shape):
        raise ValueError(
            f"binary_cross_entropy: using a target size {tuple(target_data.shape)} that is different to the input "
            f"size {tuple(input.shape)} is not supported. Please ensure they have the same size."
        )
    data = input.array
    if data.size and (data.min() < 0 or data.max() > 1):
        raise RuntimeError(
            "binary_cross_entropy: all elements of input should be between 0 and 1 (they are probabilities). "
            "Pass logits to binary_cross_entropy_with_logits instead."
        )
    return BCEFunction.apply(input, target_data.astype(data.dtype), _data(weight), reduction=reduction)


class BCEWithLogitsFunction(Function):
    """Sigmoid and binary cross-entropy fused, on logits z:

        L = (1 − y) z + l · log(1 + e^(−z)),   l = 1 + (pos_weight − 1) y
          computed as (1 − y) z + l · (log(1 + e^(−|z|)) + max(−z, 0))   (finite for z = ±1e4)
        ∂L/∂z = (1 − y) − l (1 − σ(z))   (= σ(z) − y without pos_weight)
    """

    def forward(self, z: Any, y: Any, weight: Any = None, pos_weight: Any = None, reduction: str = "mean") -> Any:
        xp = self.xp
        softplus_neg = xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(-z, 0)  # log(1 + e^(−z)), stably
        l_w = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        losses = (1 - y) * z + l_w * softplus_neg
        if weight is not None:
            losses = losses * weight
        self.z, self.y, self.l_w, self.weight, self.reduction = z, y, l_w, weight, reduction
        return _reduce(losses, reduction)

    def backward(self, grad: Any) -> tuple:
        xp, z = self.xp, self.z
        e = xp.exp(-xp.abs(z))
        sig = xp.where(z >= 0, 1, e) / (1 + e)
        delta = (1 - self.y) - self.l_w * (1 - sig)
        if self.weight is not None:
            delta = delta * self.weight
        scale = grad / z.size if self.reduction == "mean" else grad
        return (delta * scale,)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None,  # noqa: A002
                                     size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy on logits (sigmoid applied inside, stably); gradient (σ(z) − y)/M."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    target_data = _data(target)
    if tuple(target_data.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({tuple(target_data.shape)}) must be the same as input size ({tuple(input.shape)})"
        )
    return BCEWithLogitsFunction.apply(input, target_data.astype(input.dtype), _data(weight),
                                       _data(pos_weight), reduction=reduction)


class _WeightedLoss(Module):
    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)
        self.register_buffer("weight", weight if weight is None or isinstance(weight, Tensor) else Tensor(weight))

    def get_config(self) -> dict:
        return {"reduction": self.reduction}


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy on logits with integer class labels (softmax is applied inside, fused).

    L = −(1/N) Σₙ log softmax(zₙ)[yₙ],  δ = ∂L/∂z = (softmax(z) − onehot(y))/N.

    NOTE: give it the raw outputs of the last Linear layer. A Softmax before it applies softmax twice,
    which still trains but squashes the gradients (the textbook's CNN does this; ours does not).

    Args:
        weight: per-class weights (C,).
        ignore_index: label to skip (default −100).
        reduction: 'mean' (divided by Σ weights of the labels), 'sum' or 'none'.
        label_smoothing: ε, mixing the one-hot target with the uniform distribution.

    Shape:
        input (N, C) or (N, C, d1, …); target (N,) or (N, d1, …) of int64, or probabilities of input's shape.

    Example:
        >>> import shenjing
        >>> loss = CrossEntropyLoss()(shenjing.tensor([[2.0, 0.0, 0.0]]), shenjing.tensor([0]))
        >>> round(loss.item(), 4)
        0.2395
    """

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                             label_smoothing=self.label_smoothing)

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "ignore_index": self.ignore_index,
                "label_smoothing": self.label_smoothing}


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities; ``LogSoftmax`` + ``NLLLoss`` = ``CrossEntropyLoss``."""

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "ignore_index": self.ignore_index}


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities (after a Sigmoid): L = −[y log p + (1 − y) log(1 − p)]."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid + binary cross-entropy, fused and stable: δ = (σ(z) − y)/M."""

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer(
            "pos_weight", pos_weight if pos_weight is None or isinstance(pos_weight, Tensor) else Tensor(pos_weight)
        )

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                pos_weight=self.pos_weight)
