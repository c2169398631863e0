"""Reverse-mode automatic differentiation: Function (an op's forward and backward), grad mode, backward().

The chain rule lives in :func:`backward`: visit the graph in topological order (iteratively, so a chain of
any length works), then sweep it in reverse, handing each node the gradient of the loss with respect to its
output, δ = ∂L/∂out, and accumulating (``+``) what it returns for each input, ∂L/∂in = δ · ∂out/∂in.
"""

from __future__ import annotations

import threading
from typing import Any

from .backend import SCALAR_TYPES, backend_of

__all__ = ["Function", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "backward"]

_Tensor: Any = None  # set by tensor.py: autograd sits below tensor in the import order


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    return _grad_mode.enabled


class set_grad_enabled:
    """Turn gradient tracking on or off, as a call, a context manager or a decorator (as PyTorch)."""

    def __init__(self, mode: bool) -> None:
        self.prev = _grad_mode.enabled
        self.mode = bool(mode)
        _grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        _grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self.prev

    def __call__(self, fn: Any) -> Any:
        mode = self.mode

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        wrapped.__name__ = getattr(fn, "__name__", "wrapped")
        wrapped.__doc__ = getattr(fn, "__doc__", None)
        return wrapped


class no_grad(set_grad_enabled):
    """Context manager (or decorator) in which ops record no graph: for evaluation and updates."""

    def __init__(self) -> None:
        self.prev = _grad_mode.enabled
        self.mode = False


class enable_grad(set_grad_enabled):
    def __init__(self) -> None:
        self.prev = _grad_mode.enabled
        self.mode = True


class Function:
    """One differentiable op: ``forward`` on arrays, ``backward`` from δ = ∂L/∂out to ∂L/∂inputs.

    Subclasses define ``forward(self, *arrays, **options) -> array`` (saving on ``self`` what backward
    needs) and ``backward(self, grad) -> array | tuple`` (one gradient per positional input, ``None``
    where not needed; ``self.needs_input_grad[i]`` says which are wanted). Call them with
    ``MyFunction.apply(*inputs, **options)``: tensor inputs are differentiated, other inputs (Python
    numbers, arrays, ``None``) are constants. ``self.xp`` is the array module of the inputs' backend.
    """

    __slots__ = ("inputs", "needs_input_grad", "xp", "freed", "__dict__")

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Any:
        Tensor = _Tensor
        ctx = cls.__new__(cls)
        arrays = []
        requires_grad = False
        backend = None
        for x in inputs:
            if isinstance(x, Tensor):
                data = x.array
                if backend is None:
                    backend = backend_of(data)
                elif not isinstance(data, backend.array_types):
                    _raise_mixed_devices(cls, inputs)
                requires_grad = requires_grad or x.requires_grad
                arrays.append(data)
            else:
                arrays.append(x)
        ctx.xp = backend.xp
        data = ctx.forward(*arrays, **options)
        if data.__class__ in SCALAR_TYPES:
            data = ctx.xp.asarray(data)
        out = Tensor.__new__(Tensor)
        out.array = data
        out.grad = None
        if requires_grad and _grad_mode.enabled:
            ctx.inputs = inputs
            ctx.needs_input_grad = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
            ctx.freed = False
            out.requires_grad = True
            out._ctx = ctx
        else:
            out.requires_grad = False
            out._ctx = None
        return out

    def forward(self, *arrays: Any, **options: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__.removesuffix('Function')}Backward>"


def _raise_mixed_devices(cls: type, inputs: tuple) -> None:
    devices = [str(x.device) for x in inputs if isinstance(x, _Tensor)]
    raise RuntimeError(
        f"{cls.__name__}: expected all tensors on the same device, got tensors on {' and '.join(devices)}. "
        "Move them with .to(device) first."
    )


def _topological_order(root: Any) -> list:
    """Tensors that ``root`` depends on through graph nodes, inputs before outputs (iterative DFS)."""
    order = []
    visited = set()
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        key = id(tensor)
        if key in visited:
            continue
        visited.add(key)
        stack.append((tensor, True))
        ctx = tensor._ctx
        if ctx is not None:
            for parent in ctx.inputs:
                if isinstance(parent, _Tensor) and parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def backward(root: Any, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate ∂root/∂leaf into ``leaf.grad`` for every leaf that requires grad (``root.backward()``)."""
    if not root.requires_grad:
        raise RuntimeError(
            "element 0 of tensors does not require grad and does not have a grad_fn: the tensor was made "
            "without requires_grad=True inputs, or under no_grad()."
        )
    xp = backend_of(root.array).xp
    if grad is None:
        if root.array.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs: backward() on a tensor of shape "
                f"{tuple(root.shape)} needs a gradient of the same shape, e.g. out.backward(ones_like(out)), "
                "or reduce it first with out.sum() or out.mean()."
            )
        grad = xp.ones(root.array.shape, dtype=root.array.dtype)
    else:
        grad = grad.array if isinstance(grad, _Tensor) else xp.asarray(grad, dtype=root.array.dtype)
        if grad.shape != root.array.shape:
            raise RuntimeError(
                f"backward: expected a gradient of shape {tuple(root.shape)} (the tensor's), "
                f"got {tuple(grad.shape)}"
            )
        grad = grad.copy()  # NOTE: never let a leaf's .grad alias the caller's array
    grads = {id(root): grad}
    stolen = set()  # ids of arrays already stored in some leaf's .grad during this pass
    for tensor in reversed(_topological_order(root)):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        ctx = tensor._ctx
        if ctx is None or getattr(tensor, "_retains_grad", False):
            _accumulate_leaf(tensor, grad, stolen)
            if ctx is None:
                continue
        if ctx.freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors after "
                "they have already been freed). Saved intermediate values of the graph are freed when you "
                "call .backward(). Specify retain_graph=True if you need to backward through the graph a "
                "second time."
            )
        input_grads = ctx.backward(grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, input_grad, needed in zip(ctx.inputs, input_grads, ctx.needs_input_grad):
            if not needed or input_grad is None:
                continue
            if input_grad.__class__ in SCALAR_TYPES:
                input_grad = xp.asarray(input_grad)
            key = id(parent)
            previous = grads.get(key)
            grads[key] = input_grad if previous is None else previous + input_grad
        if not retain_graph:
            ctx.freed = bool(ctx.__dict__)  # NOTE: a node that saved nothing can run again, as in PyTorch
            ctx.__dict__.clear()


def _accumulate_leaf(tensor: Any, grad: Any, stolen: set) -> None:
    data = tensor.array
    if grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)
    if grad.shape != data.shape:
        grad = grad.reshape(data.shape) if grad.size == data.size else None
        if grad is None:
            raise RuntimeError(f"backward: gradient shape does not match tensor of shape {tuple(data.shape)}")
    if tensor.grad is None:
        if grad.base is not None or id(grad) in stolen:
            grad = grad.copy()  # a view or an array another leaf holds: give this leaf its own
        stolen.add(id(grad))
        tensor.grad = _Tensor._wrap(grad)
    else:
        tensor.grad.array = tensor.grad.array + grad
