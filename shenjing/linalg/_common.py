"""What every linalg function shares: input checks with PyTorch's messages, LinAlgError, packed outputs."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor

_TORCH_TYPE_NAMES = {
    "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
    "float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double",
}


class LinAlgError(RuntimeError):
    """A matrix the factorization cannot handle (singular, not positive-definite), as ``torch.linalg.LinAlgError``.

    A subclass of RuntimeError, so ``except RuntimeError`` catches it as it catches PyTorch's.
    """


def type_name(dtype: Any) -> str:
    """PyTorch's scalar-type name of a NumPy dtype ("Long" for int64), for error messages."""
    return _TORCH_TYPE_NAMES.get(str(dtype), str(dtype))


def check_float(name: str, *tensors: Tensor) -> None:
    """RuntimeError unless every tensor is floating point (PyTorch refuses integer and bool matrices)."""
    for x in tensors:
        if x.array.dtype.kind not in "fc":
            raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                               f"{type_name(x.array.dtype)}. Convert it first, e.g. A.double().")


def check_matrix(name: str, A: Tensor, square: bool = False, what: str = "A") -> None:
    """RuntimeError unless ``A`` is a (batch of) matrices — square ones where ``square`` — of floating dtype."""
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions, got shape "
                           f"{tuple(A.shape)}.")
    check_float(name, A)
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: {what} must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices (shape {tuple(A.shape)}).")


def batch_prefix(batch_shape: tuple, flat_index: int) -> str:
    """``"(Batch element i): "`` for a failure in a batch, as PyTorch's messages; empty for a single matrix."""
    return f"(Batch element {flat_index}): " if len(batch_shape) else ""


def mT(x: Any) -> Any:
    """The matrix transpose of an array (the last two axes swapped)."""
    return x.swapaxes(-1, -2)


def pack(xp: Any, *arrays: Any, batch: tuple) -> Any:
    """Several outputs of one op as one array (..., total): each flattened over its non-batch axes, joined."""
    batch = tuple(batch)
    flat = []
    for a in arrays:
        size = 1
        for d in a.shape[len(batch):]:
            size *= d
        flat.append(a.reshape(batch + (size,)))  # NOTE: not -1, which an empty batch leaves undetermined
    return xp.concatenate(flat, axis=-1)


def unpack(xp: Any, grad: Any, shapes: list, batch: tuple) -> list:
    """The inverse of :func:`pack` for the incoming gradient: one array per output, in its own shape."""
    parts, start = [], 0
    for shape in shapes:
        size = 1
        for d in shape:
            size *= d
        parts.append(grad[..., start:start + size].reshape(batch + tuple(shape)))
        start += size
    return parts


def split(packed: Tensor, shapes: list, batch: tuple) -> list:
    """The differentiable inverse of :func:`pack` on the output tensor: slices, reshaped (Tensor ops)."""
    parts, start = [], 0
    for shape in shapes:
        size = 1
        for d in shape:
            size *= d
        parts.append(packed[..., start:start + size].reshape(batch + tuple(shape)))
        start += size
    return parts


def constant(array: Any) -> Tensor:
    """A tensor around ``array`` that needs no grad (on the array's own backend)."""
    return Tensor._wrap(array)
