"""Group and RMS normalisation (functional + Module), composed of differentiable reductions.

    group_norm: x̂ = (x − μ_g) / √(σ²_g + ε) over each group of C/G channels and all positions, a = γx̂ + β
    rms_norm:   a = x / √(mean(x²) + ε) · γ over the last len(normalized_shape) dimensions
    instance_norm: x̂ = (x − μ_nc) / √(σ²_nc + ε) over the positions of each sample's channel, a = γx̂ + β

Their gradients are the chain rule through mean, var, sqrt and the products (no fused backward).
"""

from __future__ import annotations

from typing import Any

from ..backend import backend_of
from ..creation import ones, zeros
from ..tensor import Tensor
from .module import Module, Parameter

__all__ = ["GroupNorm", "RMSNorm", "InstanceNorm1d", "InstanceNorm2d", "LocalResponseNorm", "group_norm", "rms_norm",
           "instance_norm", "local_response_norm"]


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,  # noqa: A002
               eps: float = 1e-5) -> Tensor:
    """Normalise each group of channels of (N, C, *) by its own mean and (biased) variance; γ, β per channel."""
    shape = tuple(input.shape)
    if input.ndim < 2 or shape[1] % num_groups:
        raise RuntimeError(
            f"group_norm: expected an input (N, C, *) with C divisible by num_groups={num_groups}, got shape "
            f"{shape}")
    N = shape[0]
    groups = input.reshape(N, num_groups, -1)  # (N, G, C/G · positions)
    mean = groups.mean(-1, keepdim=True)
    var = groups.var(-1, keepdim=True, correction=0)
    x_hat = ((groups - mean) / (var + eps).sqrt()).reshape(shape)
    affine = (1, shape[1]) + (1,) * (input.ndim - 2)
    if weight is not None:
        x_hat = x_hat * weight.reshape(affine)
    if bias is not None:
        x_hat = x_hat + bias.reshape(affine)
    return x_hat


def instance_norm(input: Tensor, running_mean: Any = None, running_var: Any = None,  # noqa: A002
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample over its positions; input (N, C, *).

    With ``use_input_stats`` the statistics are the sample's own (μ_nc, biased σ²_nc), and given running
    buffers move as BatchNorm's do, by the batch averages: r_μ ← (1 − m) r_μ + m·meanₙ μ_nc,
    r_σ² ← (1 − m) r_σ² + m·meanₙ σ²_nc·L/(L − 1) (L positions). Otherwise the running statistics are used.
    """
    shape = tuple(input.shape)
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input (N, C, *) of at least 3 dimensions, got shape {shape}")
    axes = tuple(range(2, input.ndim))
    affine = (1, shape[1]) + (1,) * (input.ndim - 2)
    if use_input_stats:
        positions = 1
        for size in shape[2:]:
            positions *= size
        if positions <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size {list(shape)}")
        mean = input.mean(axes, keepdim=True)
        var = input.var(axes, keepdim=True, correction=0)
        if running_mean is not None and running_var is not None:
            batch_mean = mean.array.reshape(shape[:2]).mean(0)
            batch_var = var.array.reshape(shape[:2]).mean(0) * (positions / (positions - 1))
            for buffer, value in ((running_mean, batch_mean), (running_var, batch_var)):
                array = buffer.array if isinstance(buffer, Tensor) else buffer
                array *= 1 - momentum
                array += momentum * value.astype(array.dtype)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: Expected running_mean and running_var to be defined when "
                             "use_input_stats is False")
        mean = _as_tensor(running_mean).reshape(affine)
        var = _as_tensor(running_var).reshape(affine)
    x_hat = (input - mean) / (var + eps).sqrt()
    if weight is not None:
        x_hat = x_hat * weight.reshape(affine)
    if bias is not None:
        x_hat = x_hat + bias.reshape(affine)
    return x_hat


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,  # noqa: A002
                        k: float = 1.0) -> Tensor:
    """a_c = x_c / (k + α/n · Σ_{c' near c} x_{c'}²)^β over a window of n = ``size`` channels (AlexNet).

    The window of channel c is c − ⌊n/2⌋ … c + ⌈n/2⌉ − 1, zero beyond the edges, as PyTorch.
    """
    if input.ndim < 3:
        raise ValueError(
            f"local_response_norm: Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    from ..functions import pad_constant

    C = input.shape[1]
    widths = ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (input.ndim - 2)
    squares = pad_constant(input * input, widths, 0.0)  # (N, C + n − 1, *)
    window = squares[:, 0:C]
    for j in range(1, size):
        window = window + squares[:, j:j + C]
    return input / (window * (alpha / size) + k) ** beta


def _as_tensor(x: Any) -> Tensor:
    return x.detach() if isinstance(x, Tensor) else Tensor(x)


def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,  # noqa: A002
             eps: float | None = None) -> Tensor:
    """a = x / √(mean(x²) + ε) · γ over the trailing ``normalized_shape``; ε defaults to the dtype's machine ε."""
    dims = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(dims):]) != dims:
        raise RuntimeError(
            f"rms_norm: normalized_shape {dims} does not match the trailing dimensions of the input of shape "
            f"{tuple(input.shape)}")
    if eps is None:
        eps = float(backend_of(input.array).xp.finfo(input.array.dtype).eps)
    axes = tuple(range(input.ndim - len(dims), input.ndim))
    out = input / ((input * input).mean(axes, keepdim=True) + eps).sqrt()
    return out * weight if weight is not None else out


class GroupNorm(Module):
    """Group normalisation (Wu & He, 2018): statistics per sample over groups of channels; γ = 1, β = 0 at start.

    Shape: (N, C, *) → same. Parameters ``weight`` and ``bias`` (C,) when ``affine``.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(ones(num_channels, dtype=dtype, device=device))
            self.bias = Parameter(zeros(num_channels, dtype=dtype, device=device))
        else:
            self.weight = self.bias = None

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"

    def get_config(self) -> dict:
        return {"num_groups": self.num_groups, "num_channels": self.num_channels, "eps": self.eps,
                "affine": self.affine}


class RMSNorm(Module):
    """RMS normalisation (Zhang & Sennrich, 2019): a = x / RMS(x) · γ over ``normalized_shape``; γ = 1 at start."""

    def __init__(self, normalized_shape: Any, eps: float | None = None, elementwise_affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        dims = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = dims, eps, elementwise_affine
        self.weight = Parameter(ones(*dims, dtype=dtype, device=device)) if elementwise_affine else None

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"

    def get_config(self) -> dict:
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine}


class _InstanceNorm(Module):
    """Instance normalisation (Ulyanov et al., 2016): per sample and channel; optional γ, β and running stats.

    As PyTorch: ``affine`` and ``track_running_stats`` default to False; in training (or without running
    stats) each sample's own statistics are used, in eval() with tracked stats the running ones.
    """

    _batched_ndim = 3

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype, device=device))
            self.bias = Parameter(zeros(num_features, dtype=dtype, device=device))
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", zeros((), dtype="int64", device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim not in (self._batched_ndim - 1, self._batched_ndim):
            raise ValueError(
                f"{type(self).__name__}: expected {self._batched_ndim - 1}D or {self._batched_ndim}D input "
                f"(got {input.ndim}D input of shape {tuple(input.shape)})")
        unbatched = input.ndim == self._batched_ndim - 1
        x = input.unsqueeze(0) if unbatched else input
        out = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            self.momentum if self.momentum is not None else 0.0, self.eps)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")

    def get_config(self) -> dict:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.affine, "track_running_stats": self.track_running_stats}


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L)."""


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W)."""

    _batched_ndim = 4


class LocalResponseNorm(Module):
    """Local response normalisation across channels (see :func:`local_response_norm`)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def get_config(self) -> dict:
        return {"size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}
