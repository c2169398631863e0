"""Top-level math functions (``shenjing.cat``, ``shenjing.exp``, ...): thin PyTorch-named forms of Tensor methods."""

from __future__ import annotations

from typing import Any

from .ops import elementwise as E
from .ops import shape as S
from .tensor import Tensor, _data

__all__ = [
    "cat", "concat", "concatenate", "stack", "where", "maximum", "minimum", "exp", "log", "sqrt", "abs", "sin",
    "cos", "clamp", "clip", "matmul", "sum", "mean", "max", "min", "amax", "amin", "var", "std", "logsumexp",
    "argmax", "argmin", "reshape", "flatten", "transpose", "permute", "squeeze", "unsqueeze", "sigmoid", "tanh",
    "relu", "softmax", "log_softmax", "allclose", "equal", "isnan", "isinf", "isfinite", "numel", "square",
    "pad_constant",
]


def cat(tensors: Any, dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    return S.Cat.apply(*tensors, axis=dim % tensors[0].ndim)


concat = concatenate = cat


def stack(tensors: Any, dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack(): expected a non-empty list of Tensors")
    return S.Stack.apply(*tensors, axis=dim % (tensors[0].ndim + 1))


def where(condition: Any, input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    return E.Where.apply(_data(condition), input, other)


def maximum(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return E.Maximum.apply(input, other)


def minimum(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return E.Minimum.apply(input, other)


def pad_constant(input: Tensor, pad_width: tuple, value: float = 0.0) -> Tensor:  # noqa: A002
    """``input`` surrounded by ``value``; ``pad_width`` is ((before, after), ...) per axis as NumPy's pad."""
    return S.Pad.apply(input, pad_width=tuple(pad_width), value=value)


def _method(name: str) -> Any:
    def function(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = name
    function.__doc__ = f"``shenjing.{name}(x, ...)`` is ``x.{name}(...)``; see :meth:`Tensor.{name}`."
    return function


exp, log, sqrt, abs, sin, cos, square = (_method(n) for n in ("exp", "log", "sqrt", "abs", "sin", "cos", "square"))
clamp = clip = _method("clamp")
matmul = _method("matmul")
sum, mean, max, min, amax, amin = (_method(n) for n in ("sum", "mean", "max", "min", "amax", "amin"))
var, std, logsumexp, argmax, argmin = (_method(n) for n in ("var", "std", "logsumexp", "argmax", "argmin"))
reshape, flatten, transpose, permute = (_method(n) for n in ("reshape", "flatten", "transpose", "permute"))
squeeze, unsqueeze = _method("squeeze"), _method("unsqueeze")
sigmoid, tanh, relu = _method("sigmoid"), _method("tanh"), _method("relu")
softmax, log_softmax = _method("softmax"), _method("log_softmax")


def numel(input: Tensor) -> int:  # noqa: A002
    return input.numel()


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:  # noqa: A002
    from .backend import backend_of

    return bool(backend_of(input.array).xp.allclose(input.array, _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    return input.shape == other.shape and bool((input.array == other.array).all())


def isnan(input: Tensor) -> Tensor:  # noqa: A002
    from .backend import backend_of

    return Tensor._wrap(backend_of(input.array).xp.isnan(input.array))


def isinf(input: Tensor) -> Tensor:  # noqa: A002
    from .backend import backend_of

    return Tensor._wrap(backend_of(input.array).xp.isinf(input.array))


def isfinite(input: Tensor) -> Tensor:  # noqa: A002
    from .backend import backend_of

    return Tensor._wrap(backend_of(input.array).xp.isfinite(input.array))
