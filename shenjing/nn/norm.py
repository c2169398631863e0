"""Normalisation layers (BatchNorm1d, BatchNorm2d, LayerNorm) with fused backward rules.

Both normalise, then scale and shift:   x̂ = (x − μ) / √(σ² + ε),   y = γ ⊙ x̂ + β
    BatchNorm: μ, σ² per channel over the batch (and positions), in training; running averages in eval.
    LayerNorm: μ, σ² per sample over the last dimensions (``normalized_shape``), always.

Fused backward, with g = ∂L/∂y, ĝ = γ ⊙ g and ⟨·⟩ the mean over the M values that share μ and σ²:

    ∂L/∂β = Σ g,   ∂L/∂γ = Σ g ⊙ x̂
    ∂L/∂x = (1/√(σ² + ε)) · (ĝ − ⟨ĝ⟩ − x̂ ⊙ ⟨ĝ ⊙ x̂⟩)

(μ and σ² depend on every x, hence the two mean terms). With fixed statistics (BatchNorm in eval) it is
simply ∂L/∂x = γ ⊙ g / √(σ² + ε).
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import as_dtype, get_backend, get_default_dtype
from ..tensor import Tensor
from .module import Module, Parameter

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "batch_norm",
    "layer_norm",
    "BatchNormFunction",
    "LayerNormFunction",
]


def _channel_sum(xp: Any, a: Any, b: Any = None) -> Any:
    """Σ a (or Σ a ⊙ b) over every axis but the channel axis 1, kept as (1, C, 1, …).

    One pass and no temporary (an einsum per sample, then a sum over the samples: float32 sums of 10⁵ terms
    stay within 2·10⁻⁶ of the exact value, where a one-shot sum over (0, 2, 3) drifts to 2·10⁻⁵).
    """
    letters = "nc" + "hwdefgij"[: a.ndim - 2]
    if b is None:
        per_sample = xp.einsum(f"{letters}->nc", a)
    else:
        per_sample = xp.einsum(f"{letters},{letters}->nc", a, b)
    return per_sample.sum(axis=0).reshape((1, -1) + (1,) * (a.ndim - 2))


def _normalize_backward(xp: Any, g: Any, x_hat: Any, gamma: Any, inv_std: Any, need_x: bool) -> tuple:
    """The fused rule: (∂L/∂x, ∂L/∂γ, ∂L/∂β) from g, x̂, γ and 1/√(σ² + ε), means over all axes but 1."""
    M = x_hat.size // inv_std.size
    grad_beta = _channel_sum(xp, g)  # Σ g
    grad_gamma = _channel_sum(xp, g, x_hat)  # Σ g ⊙ x̂
    grad_x = None
    if need_x:
        scale = inv_std if gamma is None else gamma * inv_std
        # ĝ − ⟨ĝ⟩ − x̂⟨ĝ x̂⟩ with ĝ = γ g:  γ/√(σ² + ε) · (g − Σg/M − x̂ Σ(g x̂)/M), one array written in place
        grad_x = x_hat * (-grad_gamma / M)
        grad_x += g
        grad_x -= grad_beta / M
        grad_x *= scale
    return grad_x, grad_gamma, grad_beta


class BatchNormFunction(Function):
    """y = γ x̂ + β, x̂ = (x − μ)/√(σ² + ε) per channel (axis 1); batch statistics when ``training``.

    In training the running averages are updated in place (PyTorch's rule, with the unbiased batch variance):
        running_mean ← (1 − m)·running_mean + m·μ_B,   running_var ← (1 − m)·running_var + m·σ²_B·M/(M − 1)
    """

    def forward(
        self,
        x: Any,
        gamma: Any,
        beta: Any,
        running_mean: Any = None,
        running_var: Any = None,
        training: bool = True,
        momentum: float = 0.1,
        eps: float = 1e-5,
    ) -> Any:
        xp = self.xp
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.training = training
        self.gamma = None if gamma is None else gamma.reshape(shape)
        if not training:  # fixed statistics: y = α x + β′ with α = γ/√(σ² + ε), β′ = β − μα (PyTorch's CPU form)
            inv_std = 1 / xp.sqrt(running_var.reshape(shape) + eps)
            alpha = inv_std if gamma is None else inv_std * self.gamma
            shift = -running_mean.reshape(shape) * alpha
            if beta is not None:
                shift += beta.reshape(shape)
            y = x * alpha  # (one pass, and one in place: the output keeps x's memory order)
            y += shift
            self.x, self.mean, self.inv_std = x, running_mean.reshape(shape).copy(), inv_std  # x̂ for ∂L/∂γ later
            return y
        M = x.size // x.shape[1]
        mean = _channel_sum(xp, x) / M
        x_hat = x - mean  # x − μ, normalised in place below
        var = _channel_sum(xp, x_hat, x_hat) / M  # biased, as the normalisation uses
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean.reshape(-1)
            running_var *= 1 - momentum
            running_var += (momentum * M / (M - 1)) * var.reshape(-1)  # NOTE: unbiased, as PyTorch
        inv_std = 1 / xp.sqrt(var + eps)  # (1, C, 1, …)
        x_hat *= inv_std
        self.x_hat, self.inv_std = x_hat, inv_std
        if gamma is None:
            return x_hat + beta.reshape(shape) if beta is not None else x_hat.copy()
        y = x_hat * self.gamma
        if beta is not None:
            y += beta.reshape(shape)
        return y

    def backward(self, g: Any) -> tuple:
        need_x, need_gamma, need_beta = self.needs_input_grad[:3]
        if self.training:
            grad_x, grad_gamma, grad_beta = _normalize_backward(
                self.xp, g, self.x_hat, self.gamma, self.inv_std, need_x
            )
        else:  # fixed statistics: x̂ = (x − μ)/√(σ² + ε) is an affine function of x alone
            scale = self.inv_std if self.gamma is None else self.gamma * self.inv_std
            grad_x = g * scale if need_x else None
            grad_beta = _channel_sum(self.xp, g) if need_beta else None
            grad_gamma = None
            if need_gamma:  # Σ g x̂ = Σ g (x − μ) / √(σ² + ε)
                grad_gamma = _channel_sum(self.xp, g, self.x - self.mean) * self.inv_std
        return (
            grad_x,
            grad_gamma.reshape(-1) if need_gamma else None,
            grad_beta.reshape(-1) if need_beta else None,
        ) + (None,) * (len(self.needs_input_grad) - 3)


class LayerNormFunction(Function):
    """y = γ x̂ + β, x̂ = (x − μ)/√(σ² + ε) with μ, σ² over the last ``n`` dimensions of each sample."""

    def forward(self, x: Any, gamma: Any, beta: Any, n: int = 1, eps: float = 1e-5) -> Any:
        xp = self.xp
        axes = tuple(range(x.ndim - n, x.ndim))
        M = math.prod(x.shape[x.ndim - n :])  # the elements normalised together
        # NOTE: sums scaled in place, not .mean() (NumPy's mean is Python around a sum: 2.9 µs against 0.95 µs
        # for one token's row, which is what a LayerNorm sees in cached generation); the same numbers to rounding
        mean = x.sum(axis=axes, keepdims=True)
        mean *= 1 / M
        centered = x - mean
        var = (centered * centered).sum(axis=axes, keepdims=True)
        var *= 1 / M
        var += eps
        inv_std = xp.sqrt(var, out=var)
        xp.reciprocal(inv_std, out=inv_std)
        x_hat = centered
        x_hat *= inv_std
        self.x_hat, self.inv_std, self.gamma, self.n = x_hat, inv_std, gamma, n
        y = x_hat if gamma is None else x_hat * gamma
        return y if beta is None else y + beta

    def backward(self, g: Any) -> tuple:
        need_x, need_gamma, need_beta = self.needs_input_grad
        x_hat, n = self.x_hat, self.n
        axes = tuple(range(x_hat.ndim - n, x_hat.ndim))
        batch_axes = tuple(range(x_hat.ndim - n))
        grad_x = None
        if need_x:
            g_hat = g if self.gamma is None else g * self.gamma  # ĝ = γ g
            M = 1
            for size in x_hat.shape[-n:]:
                M *= size
            mean_g = g_hat.sum(axis=axes, keepdims=True) / M
            mean_gx = (g_hat * x_hat).sum(axis=axes, keepdims=True) / M
            grad_x = self.inv_std * (g_hat - mean_g - x_hat * mean_gx)
        grad_gamma = (g * x_hat).sum(axis=batch_axes) if need_gamma else None
        grad_beta = g.sum(axis=batch_axes) if need_beta else None
        return grad_x, grad_gamma, grad_beta


# ---- functional forms -------------------------------------------------------------------------------------------
def _data(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


def batch_norm(
    input: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Tensor | None = None,  # noqa: A002
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over axis 1 (see :class:`BatchNormFunction`), PyTorch's argument order.

    ``running_mean`` / ``running_var`` (tensors or None) are updated in place when ``training``.
    """
    if training:
        size = input.numel() // input.shape[1]
        if size == 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                f"{tuple(input.shape)}. Use a batch of more than one sample, or call model.eval()."
            )
    elif running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be given when training=False")
    return BatchNormFunction.apply(
        input, weight, bias, _data(running_mean), _data(running_var), training=training, momentum=momentum, eps=eps
    )


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,  # noqa: A002
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation over the last ``len(normalized_shape)`` dimensions (see :class:`LayerNormFunction`)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    return _layer_norm(input, shape, weight, bias, eps, "layer_norm")


def _layer_norm(input: Tensor, shape: tuple, weight: Any, bias: Any, eps: float, where: Any) -> Tensor:  # noqa: A002
    got = tuple(input.shape)
    if got[len(got) - len(shape) :] != shape or len(got) < len(shape):
        name = where if isinstance(where, str) else repr(where)
        raise RuntimeError(
            f"{name}: given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size {list(got)}"
        )
    return LayerNormFunction.apply(input, weight, bias, n=len(shape), eps=eps)


# ---- modules ----------------------------------------------------------------------------------------------------
class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share: parameters γ (weight), β (bias) and PyTorch's buffers."""

    _dims: tuple = (2, 3)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        if affine:
            self.weight = Parameter(xp.ones(self.num_features, dtype=dtype))  # γ
            if bias:
                self.bias = Parameter(xp.zeros(self.num_features, dtype=dtype))  # β
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor._wrap(xp.zeros(self.num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor._wrap(xp.ones(self.num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor._wrap(xp.zeros((), dtype="int64")))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            self.weight.array[...] = 1
        if self.bias is not None:
            self.bias.array[...] = 0

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        self._check_input(input)
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.array)
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            0.0 if momentum is None else momentum,
            self.eps,
        )

    def _check_input(self, input: Any) -> None:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a shenjing.Tensor, got {type(input).__name__}")
        shape = tuple(input.shape)
        if input.ndim not in self._dims:
            wanted = " or ".join(f"{d}D" for d in self._dims)
            layout = "(N, C) or (N, C, L)" if self._dims == (2, 3) else "(N, C, H, W)"
            raise ValueError(f"{self!r}: expected {wanted} input {layout}, got {input.ndim}D input of shape {shape}")
        if shape[1] != self.num_features:
            raise RuntimeError(
                f"{self!r}: input has {shape[1]} channels in dimension 1 (input shape {shape}), expected "
                f"{self.num_features}. Inputs are channels first."
            )
        dtype = self.weight.dtype if self.weight is not None else None
        if dtype is not None and input.dtype != dtype:
            raise RuntimeError(
                f"{self!r}: input dtype {input.dtype.name} does not match the layer's {dtype.name}. Convert the input "
                f"with x.to({dtype}) or the model with model.to({input.dtype})."
            )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )

    def get_config(self) -> dict:
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
            "bias": self.bias is not None or not self.affine,
        }


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences: per channel, over the batch (and L).

        training: x̂ = (x − μ_B)/√(σ²_B + ε), y = γ x̂ + β, μ_B and σ²_B (biased) from this batch;
                  running_mean, running_var ← (1 − momentum)·running + momentum·(μ_B, unbiased σ²_B)
        eval:     the same with running_mean and running_var
    Backward: the fused rule in this file's docstring.

    Args:
        num_features: C.
        eps: ε added to σ², default 1e-5.
        momentum: weight of the new batch in the running averages (default 0.1; None: cumulative average).
        affine: learn γ (``weight``, init 1) and β (``bias``, init 0), default True.
        track_running_stats: keep running_mean, running_var and num_batches_tracked (int64) buffers; without
            them batch statistics are used in eval too.
        bias: (keyword only) learn β, default True.

    Shape: (N, C) or (N, C, L) → same. State dict keys as PyTorch: weight, bias, running_mean, running_var,
    num_batches_tracked.

    Example:
        >>> import shenjing
        >>> bn = shenjing.nn.BatchNorm1d(3)
        >>> y = bn(shenjing.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
        >>> [round(v, 4) for v in y[0].tolist()]
        [-1.0, 0.0, 1.0]
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images: per channel, over the batch and all positions.

    The formulas, arguments and buffers are :class:`BatchNorm1d`'s; the statistics of channel c are taken
    over its M = N·H·W values.

    Shape: (N, C, H, W) → same.

    Example:
        >>> import shenjing
        >>> shenjing.nn.BatchNorm2d(16)(shenjing.randn(4, 16, 8, 8)).shape
        (4, 16, 8, 8)
    """

    _dims = (4,)


class LayerNorm(Module):
    """Layer normalisation: each sample normalised over its last dimensions, y = γ ⊙ (x − μ)/√(σ² + ε) + β.

    μ and σ² (biased) are taken over the trailing ``normalized_shape`` of every sample, in training and eval
    alike (no running statistics). Backward: the fused rule in this file's docstring.

    Args:
        normalized_shape: the trailing shape to normalise over (an int for the last dimension).
        eps: ε, default 1e-5.
        elementwise_affine: learn γ (``weight``, init 1) and β (``bias``, init 0) of that shape.
        bias: learn β (default True).

    Shape: (*, normalized_shape) → same.

    Example:
        >>> import shenjing
        >>> y = shenjing.nn.LayerNorm(2)(shenjing.tensor([[1.0, 3.0]]))
        >>> [round(v, 4) for v in y[0].tolist()]
        [-1.0, 1.0]
    """

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            self.weight.array[...] = 1
        if self.bias is not None:
            self.bias.array[...] = 0

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if self.weight is not None and input.dtype != self.weight.dtype:
            raise RuntimeError(
                f"{self!r}: input dtype {input.dtype} does not match the layer's {self.weight.dtype}. Convert the "
                f"input with x.to(shenjing.{self.weight.dtype}) or the model with model.to(shenjing.{input.dtype})."
            )
        return _layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps, self)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )

    def get_config(self) -> dict:
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "bias": self.bias is not None,
        }

