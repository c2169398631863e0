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
    "kaiming_uniform_", "kaiming_normal_", "trunc_normal_", "orthogonal_", "eye_", "dirac_", "sparse_",
    "uniform", "normal", "constant", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
    "orthogonal", "sparse",
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


@_skippable
def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """A 3-, 4- or 5-D convolution weight that passes its input through: W[g·k + i, i, centre] = 1, else 0, for
    each of ``groups`` blocks of out_channels / groups filters (as many channels as fit are kept)."""
    from ..backend import backend_of

    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    xp = backend_of(tensor.array).xp
    out_per_group = sizes[0] // groups
    values = xp.zeros(sizes, dtype=tensor.array.dtype)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min(out_per_group, sizes[1])):
            values[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, values)


@_skippable
def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    """A 2-D weight drawn from N(0, std²) with ⌈sparsity · rows⌉ entries of each column set to zero (Martens 2010)."""
    import math

    from ..backend import backend_of

    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    xp = backend_of(tensor.array).xp
    rows, cols = tensor.shape
    zeros = int(math.ceil(sparsity * rows))
    rng = _rng(tensor, generator)
    values = rng.normal(0.0, std, size=(rows, cols))
    dropped = xp.argsort(rng.random(size=(rows, cols)), axis=0)[:zeros]  # a random set of rows for each column
    values[dropped, xp.arange(cols)[None, :]] = 0
    return _fill(tensor, values)


def _deprecated(method: Callable) -> Callable:
    """PyTorch's old names without the trailing underscore: the same fill, with its FutureWarning."""
    new_name = method.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args: Any, **kwargs: Any) -> Tensor:
        import warnings

        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning,
                      stacklevel=2)
        return method(*args, **kwargs)

    deprecated_init.__doc__ = f"Deprecated: use :func:`{new_name}`."
    deprecated_init.__name__ = old_name
    return deprecated_init


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
