"""What tensor.py and its method groups (``_tensor_*.py``) share: unwrapping arguments, recording in-place writes."""

from __future__ import annotations

from typing import Any

Tensor: Any = None  # the class, set by tensor.py once it has made it (this module sits below it)


def _data(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


def _dims(args: tuple) -> tuple:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))``, as PyTorch accepts both."""
    if len(args) == 1 and isinstance(args[0], tuple | list):
        return tuple(args[0])
    return args


_inplace_module = None


def _inplace_ops() -> Any:
    """``autograd.inplace`` (recording in-place writes in graphs), imported on first use."""
    global _inplace_module
    if _inplace_module is None:
        from .autograd import inplace

        _inplace_module = inplace
    return _inplace_module


def _inplace_graph(self: Tensor, compute: Any) -> Tensor:
    return _inplace_ops().rebase(self, compute)


def _legacy_alpha(name: str, other: Any, alpha: Any) -> tuple:
    """PyTorch's deprecated overload ``x.add_(Number alpha, Tensor other)``: (other, alpha), with its warning."""
    if isinstance(alpha, Tensor) and isinstance(other, int | float) and not isinstance(other, bool):
        import warnings

        warnings.warn(
            f"This overload of {name} is deprecated:\n\t{name}(Number alpha, Tensor other)\nConsider using one of "
            f"the following signatures instead:\n\t{name}(Tensor other, *, Number alpha = 1)",
            UserWarning,
            stacklevel=3,
        )
        return alpha, other
    return other, alpha

