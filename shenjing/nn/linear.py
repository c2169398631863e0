"""Fully connected layer: z = W a_prev + b, the one place its forward and backward formulas live."""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import as_dtype, get_backend, get_default_dtype
from ..tensor import Tensor
from . import _onednn, init
from .module import Module, Parameter

__all__ = ["Linear", "Identity", "Flatten", "Unflatten", "linear", "LinearFunction"]


class LinearFunction(Function):
    """z = a_prev Wᵀ + b for a batch of rows a_prev (N, D_in), W (D_out, D_in), b (D_out,).

    Backward, with δ = ∂L/∂z (N, D_out) handed down from the layer above:
        ∂L/∂W      = δᵀ a_prev          (D_out, D_in)  — the textbook's δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ, summed over the batch
        ∂L/∂b      = Σₙ δ                (D_out,)
        ∂L/∂a_prev = δ W                (N, D_in)      — the first half of δ⁽ˡ⁻¹⁾ = (W⁽ˡ⁾ᵀ δ⁽ˡ⁾) ⊙ f′(z⁽ˡ⁻¹⁾);
                                                        the activation below multiplies by f′.
    Inputs with more leading dimensions (…, D_in) are treated as a batch of rows.
    """

    def forward(self, a_prev: Any, W: Any, b: Any) -> Any:
        self.a_prev, self.W, self.has_bias = a_prev, W, b is not None
        if a_prev.ndim > 2:  # NOTE: (…, D_in) @ Wᵀ as one 2-D product: NumPy's batched matmul with a transposed
            # 2-D operand skips BLAS and measured 30x slower for (12, 64, 128) @ (128, 384)
            z = (a_prev.reshape(-1, W.shape[1]) @ W.T).reshape(a_prev.shape[:-1] + (W.shape[0],))
        else:
            z = _product(self.xp, a_prev, W.T)  # (N, D_out)
        if b is not None:
            z += b
        return z

    @staticmethod
    def _torch_next_functions(node: Any, edges: tuple) -> tuple:
        """PyTorch's graph of F.linear: AddmmBackward0(bias, input, TBackward0(weight)), or MmBackward0(input,
        TBackward0(weight)) without a bias (``loss.grad_fn.next_functions`` as tutorials print it)."""
        from ..autograd import TransposeNode

        x, w, b = edges
        w = (TransposeNode(w), 0) if w[0] is not None else (None, 0)
        return (b, x, w) if getattr(node, "has_bias", True) else (x, w)

    def backward(self, delta: Any) -> tuple:
        need_a_prev, need_W, need_b = self.needs_input_grad
        a_prev, W = self.a_prev, self.W
        shape = a_prev.shape
        if delta.ndim != 2:
            delta = delta.reshape(-1, W.shape[0])
            a_prev = a_prev.reshape(-1, W.shape[1])
        grad_a_prev = _product(self.xp, delta, W).reshape(shape) if need_a_prev else None  # (N, D_in)
        grad_W = _product(self.xp, delta.T, a_prev) if need_W else None  # (D_out, D_in)
        grad_b = delta.sum(0) if need_b else None  # (D_out,)
        return grad_a_prev, grad_W, grad_b


def _product(xp: Any, a: Any, b: Any) -> Any:
    """a @ b: oneDNN's sgemm on both cores once convolutions run there (``_onednn.matmul``), else NumPy's BLAS."""
    c = _onednn.matmul(xp, a, b)
    return a @ b if c is None else c


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """z = input Wᵀ + b (see :class:`LinearFunction` for the backward formulas)."""
    return LinearFunction.apply(input, weight, bias)


class Linear(Module):
    """Fully connected layer: every output neuron sees every input, z = W a_prev + b.

    Forward propagation through an MLP alternates this with an activation: z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾,
    a⁽ˡ⁾ = f(z⁽ˡ⁾). Backpropagation runs the chain rule the other way:

        δ⁽ᴸ⁾ = ∂L/∂z⁽ᴸ⁾                                    (from the loss; e.g. (p − y)/N for softmax + CE)
        δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾)
        ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ,   ∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾

    The two halves of the δ recursion live in two places: this layer's backward computes W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾
    (``delta @ W`` for a batch of rows) and ∂L/∂W, ∂L/∂b (:class:`LinearFunction`); the activation's
    backward multiplies by f′(z⁽ˡ⁾) (``nn/activation.py``); ``autograd.py`` chains them.

    Args:
        in_features: size of each input row, D_in.
        out_features: number of neurons, D_out.
        bias: learn an additive bias b (default True).
        dtype: parameter dtype (default: ``shenjing.get_default_dtype()``, float32).

    Shape:
        input (…, D_in) → output (…, D_out). Weight (D_out, D_in), bias (D_out,), as PyTorch.

    Initialisation: W and b from U(±1/√D_in), PyTorch's default.

    Example:
        >>> import shenjing
        >>> layer = shenjing.nn.Linear(784, 16)
        >>> layer(shenjing.zeros(2, 784)).shape
        (2, 16)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(size, int) or isinstance(size, bool):
                raise TypeError(f"Linear: {name} must be an int, got {size!r} ({type(size).__name__})")
            if size < 0:
                raise RuntimeError(f"Linear: {name} must be non-negative, got {size}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = get_backend(device).xp
        self.weight = Parameter(xp.empty((self.out_features, self.in_features), dtype=dtype))
        self.bias = Parameter(xp.empty((self.out_features,), dtype=dtype)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # U(±1/√D_in), as PyTorch
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        data = input.array
        if data.shape[-1:] != (self.in_features,) or data.dtype != self.weight.array.dtype:
            self._raise_bad_input(input)
        return LinearFunction.apply(input, self.weight, self.bias)

    def _raise_bad_input(self, input: Any) -> None:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a shenjing.Tensor, got {type(input).__name__}")
        shape = tuple(input.shape)
        if not shape:
            raise RuntimeError(f"{self!r}: expected an input of shape (N, {self.in_features}), got a 0-d tensor")
        if shape[-1] != self.in_features:
            hint = " Flatten images first (nn.Flatten())." if len(shape) > 2 else ""
            raise RuntimeError(
                f"{self!r}: input has {shape[-1]} features in its last dimension, expected {self.in_features} "
                f"(input shape {shape}, weight shape {tuple(self.weight.shape)}).{hint}"
            )
        raise RuntimeError(
            f"{self!r}: input dtype {input.dtype.name} does not match the layer's {self.weight.dtype.name}. Convert "
            f"the input with x.to({self.weight.dtype}) or the model with model.to({input.dtype})."
        )

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def get_config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": self.bias is not None}


class Identity(Module):
    """a = z: passes its input through unchanged (a placeholder layer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return input

    def get_config(self) -> dict:
        return {}


class Flatten(Module):
    """Flattens dimensions ``start_dim`` … ``end_dim`` into one: (N, 1, 28, 28) → (N, 784) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def get_config(self) -> dict:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}


class Unflatten(Module):
    """Splits dimension ``dim`` into ``unflattened_size``: (N, 784) → (N, 1, 28, 28)."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def get_config(self) -> dict:
        return {"dim": self.dim, "unflattened_size": list(self.unflattened_size)}
