"""Weight initialisation: uniform/normal, Xavier/Glorot and Kaiming/He, seeded by ``shenjing.manual_seed``.

Each function fills a tensor in place (names end in ``_``, as ``torch.nn.init``) and returns it.
    Xavier/Glorot:  std = gain·√(2 / (fan_in + fan_out)),  uniform bound = √3·std
    Kaiming/He:     std = gain / √fan_mode,                 uniform bound = √3·std
with fan_in = in_features · kernel size and fan_out = out_features · kernel size.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..autograd import no_grad
from ..tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "xavier_uniform_", "xavier_normal_",
    "kaiming_uniform_", "kaiming_normal_", "trunc_normal_", "orthogonal_", "eye_",
]


_skipping = threading.local()


@contextlib.contextmanager
def skip_init() -> Iterator[None]:
    """In this thread, every ``*_`` function here leaves its tensor as it is (layers built to be filled from a
    file: no random numbers drawn, the RNG not advanced)."""
    previous = getattr(_skipping, "active", False)
    _skipping.active = True
    try:
        yield
    finally:
        _skipping.active = previous


def _skippable(fill: Callable) -> Callable:
    @functools.wraps(fill)
    def wrapper(tensor: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if getattr(_skipping, "active", False):
            return tensor
        return fill(tensor, *args, **kwargs)

    return wrapper


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity`` (as PyTorch's table)."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = 1
    for size in tensor.shape[2:]:
        receptive_field *= size
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _rng(tensor: Tensor, generator: Any) -> Any:
    from ..backend import backend_of
    from ..random import rng_of

    return rng_of(generator, backend_of(tensor.array))  # a shenjing.Generator, a raw array-library one, or None


def _fill(tensor: Tensor, values: Any) -> Tensor:
    with no_grad():
        tensor.array[...] = values.astype(tensor.dtype)
    return tensor


@_skippable
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with U(a, b)."""
    return _fill(tensor, _rng(tensor, generator).uniform(a, b, size=tensor.shape))


@_skippable
def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with N(mean, std²)."""
    return _fill(tensor, _rng(tensor, generator).normal(mean, std, size=tensor.shape))


@_skippable
def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Any = None) -> Tensor:
    """Fill with N(mean, std²) redrawn until inside [a, b]."""
    rng = _rng(tensor, generator)
    values = rng.normal(mean, std, size=tensor.shape)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = rng.normal(mean, std, size=int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, values)


@_skippable
def constant_(tensor: Tensor, val: float) -> Tensor:
    with no_grad():
        tensor.array[...] = val
    return tensor


@_skippable
def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


@_skippable
def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


@_skippable
def eye_(tensor: Tensor) -> Tensor:
    from ..backend import backend_of

    with no_grad():
        tensor.array[...] = backend_of(tensor.array).xp.eye(*tensor.shape, dtype=tensor.dtype)
    return tensor


@_skippable
def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot uniform: U(±gain·√(6 / (fan_in + fan_out)))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


@_skippable
def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot normal: N(0, gain²·2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


@_skippable
def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Any = None) -> Tensor:
    """He uniform: U(±√3·gain/√fan). ``a`` is the leaky-ReLU slope after this layer.

    NOTE: PyTorch's Linear and Conv default init is this with a = √5, which gives U(±1/√fan_in).
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


@_skippable
def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Any = None) -> Tensor:
    """He normal: N(0, gain²/fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


@_skippable
def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, times ``gain``."""
    from ..backend import backend_of

    xp = backend_of(tensor.array).xp
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(tensor, generator).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))
