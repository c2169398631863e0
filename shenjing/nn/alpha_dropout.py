"""Alpha dropout: dropout that keeps SELU activations at zero mean and unit variance (Klambauer et al., 2017).

In training a dropped unit is set to SELU's negative saturation α′ = −λα (not 0), and an affine map (a, b)
restores the mean and variance:

    out = a·(x·m + α′(1 − m)) + b,   m ~ Bernoulli(1 − p),   a = ((1 − p)(1 + pα′²))^(−½),   b = −a·α′·p
    ∂out/∂x = a·m

(written as PyTorch computes it, with α = 1.7580993408473766 = |α′|). The identity in evaluation.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import backend_of
from ..tensor import Tensor
from .dropout import Dropout, _check_p

__all__ = ["AlphaDropout", "FeatureAlphaDropout", "alpha_dropout", "feature_alpha_dropout"]

ALPHA = 1.7580993408473766  # λα of SELU: its negative saturation value is −ALPHA


class AlphaDropoutFunction(Function):
    """out = x·(a·m) + b_m, b_m = a·α·(m − 1) + a·α·p (see the module docstring).   ∂out/∂x = a·m."""

    def forward(self, x: Any, p: float = 0.5, mask_shape: tuple | None = None) -> Any:
        generator = backend_of(x).generator
        keep = (generator.random(x.shape if mask_shape is None else mask_shape, dtype=x.dtype) >= p).astype(x.dtype)
        a = 1.0 / math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p))
        shift = (keep - 1) * (ALPHA * a) + ALPHA * a * p
        self.scale = keep * a
        return x * self.scale + shift

    def backward(self, grad: Any) -> Any:
        return grad * self.scale


def _alpha(input: Tensor, p: float, training: bool, feature: bool) -> Tensor:  # noqa: A002
    _check_p(p)
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    if feature and input.ndim < 2:
        raise RuntimeError(f"feature_alpha_dropout: expected an input (N, C, *), got shape {tuple(input.shape)}")
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if feature else None
    return AlphaDropoutFunction.apply(input, p=p, mask_shape=mask_shape)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:  # noqa: A002
    """Alpha dropout of each element (for SELU networks); identity unless ``training``."""
    return _alpha(input, p, training, feature=False)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,  # noqa: A002
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels of (N, C, *); identity unless ``training``."""
    return _alpha(input, p, training, feature=True)


class AlphaDropout(Dropout):
    """Alpha dropout (see :func:`alpha_dropout`): in training only."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(Dropout):
    """Channel-wise alpha dropout (see :func:`feature_alpha_dropout`): in training only."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return feature_alpha_dropout(input, self.p, self.training)
