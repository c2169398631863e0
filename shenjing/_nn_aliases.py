"""``torch.conv2d``, ``torch.dropout``, ``torch.batch_norm``, ...: the ``nn.functional`` ops PyTorch also has at its
top level. Where the top-level form has its own argument order (``torch.dropout(input, p, train)``,
``torch.embedding(weight, indices)``, ``torch.batch_norm(input, weight, bias, running_mean, ...)``, integer
``reduction``), it is written out here; elsewhere it is the functional op itself."""

from __future__ import annotations

from typing import Any

from .nn import functional as F
from .nn.cdist import cdist, pdist

__all__ = [
    "adaptive_avg_pool1d", "avg_pool1d", "bilinear", "celu", "conv1d", "conv2d", "conv_transpose1d",
    "conv_transpose2d", "cosine_similarity", "hardshrink", "max_pool1d", "max_pool1d_with_indices", "max_pool2d",
    "pairwise_distance", "pixel_shuffle", "pixel_unshuffle", "prelu", "selu", "threshold", "rrelu", "layer_norm",
    "group_norm", "rms_norm", "dropout", "alpha_dropout", "feature_dropout", "batch_norm", "embedding",
    "binary_cross_entropy_with_logits", "kl_div", "affine_grid_generator", "grid_sampler", "conv3d", "max_pool3d",
    "conv_transpose3d", "cdist", "pdist",
]

adaptive_avg_pool1d, avg_pool1d, bilinear, celu = F.adaptive_avg_pool1d, F.avg_pool1d, F.bilinear, F.celu
conv1d, conv2d, conv_transpose1d, conv_transpose2d = F.conv1d, F.conv2d, F.conv_transpose1d, F.conv_transpose2d
cosine_similarity, hardshrink, pairwise_distance = F.cosine_similarity, F.hardshrink, F.pairwise_distance
max_pool1d, max_pool1d_with_indices, max_pool2d = F.max_pool1d, F.max_pool1d_with_indices, F.max_pool2d
pixel_shuffle, pixel_unshuffle, prelu, selu, threshold = F.pixel_shuffle, F.pixel_unshuffle, F.prelu, F.selu, F.threshold
rrelu, layer_norm, group_norm, rms_norm = F.rrelu, F.layer_norm, F.group_norm, F.rms_norm
conv3d, conv_transpose3d, max_pool3d = F.conv3d, F.conv_transpose3d, F.max_pool3d

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}  # at::Reduction, the integers of the top-level loss forms


def _reduction(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value not in _REDUCTIONS:
        raise ValueError(f"{value} is not a valid value for reduction (0: none, 1: mean, 2: sum)")
    return _REDUCTIONS[value]


def dropout(input: Any, p: float, train: bool) -> Any:  # noqa: A002 - PyTorch's names
    """``torch.dropout(input, p, train)``: ``F.dropout(input, p, training=train)``."""
    return F.dropout(input, p, training=train)


def alpha_dropout(input: Any, p: float, train: bool) -> Any:  # noqa: A002
    return F.alpha_dropout(input, p, training=train)


def feature_dropout(input: Any, p: float, train: bool) -> Any:  # noqa: A002
    """Whole channels dropped (``F.dropout2d`` for (N, C, H, W), ``F.dropout1d`` for (N, C, L))."""
    return (F.dropout2d if input.ndim >= 4 else F.dropout1d)(input, p, training=train)


def batch_norm(input: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any, training: bool,  # noqa: A002
               momentum: float, eps: float, cudnn_enabled: bool = True) -> Any:
    """``torch.batch_norm``'s order (weight and bias before the running statistics)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def embedding(weight: Any, indices: Any, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Any:
    """``torch.embedding(weight, indices)``: the table first; a negative padding_idx means none, as PyTorch's."""
    return F.embedding(indices, weight, padding_idx=None if padding_idx < 0 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None, pos_weight: Any = None,  # noqa: A002
                                     reduction: Any = 1) -> Any:
    return F.binary_cross_entropy_with_logits(input, target, weight, pos_weight=pos_weight,
                                              reduction=_reduction(reduction))


def kl_div(input: Any, target: Any, reduction: Any = 1, *, log_target: bool = False) -> Any:  # noqa: A002
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def affine_grid_generator(theta: Any, size: Any, align_corners: bool) -> Any:
    return F.affine_grid(theta, size, align_corners=align_corners)


def grid_sampler(input: Any, grid: Any, interpolation_mode: int, padding_mode: int, align_corners: bool) -> Any:  # noqa: A002
    """``torch.grid_sampler`` with PyTorch's integer modes (0 bilinear, 1 nearest, 2 bicubic; 0 zeros, 1 border,
    2 reflection)."""
    modes, paddings = ("bilinear", "nearest", "bicubic"), ("zeros", "border", "reflection")
    return F.grid_sample(input, grid, mode=modes[interpolation_mode], padding_mode=paddings[padding_mode],
                         align_corners=align_corners)
