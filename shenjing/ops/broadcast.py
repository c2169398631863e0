"""Broadcasting in reverse: a gradient summed back to the shape of the input that was broadcast."""

from __future__ import annotations

from typing import Any

from ..dtypes import _NUMPY_SCALARS as _SCALARS
from ..dtypes import _default_float, result_dtype

_WEAK = {bool: 0, int: 1, float: 2, complex: 3}
_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def shape_of(x: Any) -> tuple:
    """The shape of an array, or () for a Python number."""
    return getattr(x, "shape", ())


def unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``.

    If ``a`` of shape (45, 1) was broadcast to (45, 65), each a[i, 0] was used 65 times, so
    ∂L/∂a[i, 0] = Σⱼ ∂L/∂out[i, j].
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def promote(*operands: Any, true_division: bool = False) -> tuple:
    """The operands of an element-wise op converted to their ``torch.result_type`` (see ``shenjing.dtypes``).

    Arrays are cast to the result dtype; Python numbers stay Python numbers, which NumPy and CuPy treat as
    "weak" (they take the array's dtype), so ``float32 * 2.0`` stays float32 and ``int32 + 5`` int32.
    ``None`` (an absent clamp bound) passes through. ``true_division``: an integer or bool result becomes the
    default float dtype, as ``int / int`` in PyTorch.
    """
    first, mixed, strongest = None, False, 0
    for x in operands:  # NOTE: fast path: arrays of one dtype with Python numbers of no higher category
        dtype = getattr(x, "dtype", None)
        if dtype is None:
            if x is not None:
                rank = _WEAK.get(x.__class__)
                if rank is None:  # a list or another non-number: left to the array library, as before
                    return operands
                strongest = max(strongest, rank)
        elif x.__class__ in _SCALARS or (first is not None and dtype != first):
            mixed = True
            break
        else:
            first = dtype
    if first is not None and not mixed:
        rank = _RANK[first.kind]
        if rank >= strongest and not (true_division and rank < 2):
            return operands
    target = result_dtype(*operands)
    if true_division and target.kind in "biu":
        target = _default_float()
    out = []
    for x in operands:
        if x is None:
            out.append(x)
        elif x.__class__ in _SCALARS:
            out.append(target.type(x))  # a NumPy scalar: converted, so it cannot widen the result
        elif hasattr(x, "dtype"):
            out.append(x if x.dtype == target else x.astype(target))
        elif target.kind in "fc" and not isinstance(x, complex) or target.kind in "iu" and not isinstance(x, float):
            out.append(x)  # a weak Python number: takes the array's dtype
        else:
            out.append(target.type(x))
    return tuple(out)
