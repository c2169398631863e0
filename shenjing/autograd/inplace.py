"""In-place writes into tensors that are part of a graph, recorded as PyTorch records them.

An in-place op on a tensor ``h`` that is in a graph (``h += 1``, ``h[0] = y``, ``h.mul_(3)``, ``h.relu_()``)
computes the new values out of place from ``h``'s old history, writes them into ``h``'s array (so views of it
see them), bumps the version counter, and moves ``h`` onto the new node: nodes recorded earlier keep pointing
at ``h``'s old node, because graph edges point at nodes, not at tensors.
"""

from __future__ import annotations

from typing import Any

from . import Function, _address, _alias, _buffer_key, _edge, _is_array, bump_version, same_buffer
import sys


__all__ = ["rebase", "SetItem", "Fill", "Copy"]


def _sum_to_shape(grad: Any, shape: tuple) -> Any:
    """``grad`` summed over the axes that broadcasting ``shape`` up to ``grad.shape`` added or stretched."""
    if tuple(grad.shape) == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:  # a value with extra leading 1s (numpy assignment drops them)
        return grad.reshape(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class SetItem(Function):
    """out = a with out[index] = v (v broadcast to the picked places and cast to a's dtype).

    ∂L/∂a = ∂L/∂out with the overwritten places set to 0;  ∂L/∂v = ∂L/∂out[index] summed to v's shape.
    NOTE: with an integer-array index that picks a place twice, which write wins is unspecified (as in PyTorch).
    """

    def forward(self, a: Any, v: Any, index: Any = None) -> Any:
        self.index = index
        self.v_shape, self.v_dtype = getattr(v, "shape", ()), getattr(v, "dtype", None)
        out = a.copy()
        out[index] = v
        return out

    def backward(self, grad: Any) -> tuple:
        need_a, need_v = self.needs_input_grad
        grad_a = grad_v = None
        if need_v:
            picked = grad[self.index]
            grad_v = _sum_to_shape(picked, self.v_shape)
            if self.v_dtype is not None and grad_v.dtype != self.v_dtype:
                grad_v = grad_v.astype(self.v_dtype)
        if need_a:
            grad_a = grad.copy()
            grad_a[self.index] = 0
        return grad_a, grad_v


class Fill(Function):
    """out = v everywhere (v a number, an array or a 0-d tensor; ``zero_``, ``fill_``, random fills).

    ∂L/∂a = 0;  ∂L/∂v = Σ ∂L/∂out (summed back to v's shape).
    """

    def forward(self, a: Any, v: Any) -> Any:
        self.v_shape, self.v_dtype = getattr(v, "shape", ()), getattr(v, "dtype", None)
        out = self.xp.empty_like(a)
        out[...] = v
        return out

    def backward(self, grad: Any) -> tuple:
        need_a, need_v = self.needs_input_grad
        grad_v = _sum_to_shape(grad, self.v_shape) if need_v else None
        if need_v and self.v_dtype is not None and grad_v.dtype != self.v_dtype:
            grad_v = grad_v.astype(self.v_dtype)
        return (self.xp.zeros_like(grad) if need_a else None), grad_v


class Copy(Function):
    """out = src broadcast to a's shape and cast to a's dtype (``a.copy_(src)``).

    ∂L/∂a = 0;  ∂L/∂src = ∂L/∂out summed back to src's shape, in src's dtype.
    """

    def forward(self, a: Any, src: Any) -> Any:
        self.src_shape, self.src_dtype = getattr(src, "shape", ()), getattr(src, "dtype", None)
        out = self.xp.empty_like(a)
        out[...] = src
        return out

    def backward(self, grad: Any) -> tuple:
        need_a, need_src = self.needs_input_grad
        grad_src = None
        if need_src:
            grad_src = _sum_to_shape(grad, self.src_shape)
            if self.src_dtype is not None and grad_src.dtype != self.src_dtype:
                grad_src = grad_src.astype(self.src_dtype)
        return (self.xp.zeros_like(grad) if need_a else None), grad_src


class WriteThroughView(Function):
    """out = base with the places a view covers (flat ``positions``) replaced by v (PyTorch's CopySlices).

    ∂L/∂base = ∂L/∂out with those places set to 0;  ∂L/∂v = ∂L/∂out at those places.
    """

    def forward(self, base: Any, v: Any, positions: Any = None) -> Any:
        self.positions = positions
        out = base.copy()
        out.reshape(-1)[positions] = v
        return out

    def backward(self, grad: Any) -> tuple:
        need_base, need_v = self.needs_input_grad
        grad_v = grad.reshape(-1)[self.positions] if need_v else None
        grad_base = None
        if need_base:
            grad_base = grad.copy()
            grad_base.reshape(-1)[self.positions] = 0
        return grad_base, grad_v


class ViewOf(Function):
    """out = the existing view array ``view`` of base (after a write through it).   ∂L/∂base = ∂L/∂out scattered
    back to the view's flat ``positions`` in base, 0 elsewhere."""

    def forward(self, base: Any, view: Any = None, positions: Any = None) -> Any:
        self.positions, self.shape = positions, base.shape
        return view

    def backward(self, grad: Any) -> Any:
        out = self.xp.zeros(self.shape, dtype=grad.dtype)
        out.reshape(-1)[self.positions] = grad
        return out


def _offsets(array: Any, origin: int, xp: Any) -> Any:
    """The offset (in elements, from address ``origin``) of each element of a strided ``array``."""
    item = array.itemsize
    offsets = xp.asarray((_address(array) - origin) // item)
    for axis, (size, stride) in enumerate(zip(array.shape, array.strides)):
        shape = [1] * array.ndim
        shape[axis] = size
        offsets = offsets + (xp.arange(size) * (stride // item)).reshape(shape)
    return offsets.reshape(array.shape) if array.ndim else offsets


def _positions_in(view: Any, base: Any, xp: Any) -> Any:
    """The flat (C-order) index in ``base`` of each element of ``view`` (a strided view into base's memory)."""
    origin = _address(base)
    positions = _offsets(view, origin, xp)
    if base.flags["C_CONTIGUOUS"]:
        return positions
    where = _offsets(base, origin, xp).reshape(-1)  # base is strided too: invert its offsets
    order = xp.argsort(where)
    return order[xp.searchsorted(where[order], positions)]


def _live_base(self: Any) -> Any:
    """The tensor ``self`` is a view of (made by a recorded view op: reshape, index, permute...), if alive."""
    base = getattr(self._ctx, "_base", None) if self._ctx is not None else None
    if base is None or not same_buffer(base.array, self.array):
        return None
    return base


def rebase(self: Any, compute: Any) -> Any:
    """Run ``compute(old)`` (an out-of-place, recorded op on ``self``'s current value and history), write its
    result into ``self``'s array and move ``self`` onto the new node. Returns ``self``.

    When ``self`` is a view of another tensor in the graph (``h[0].mul_(2)``, ``h.view(-1).add_(1)``), the base
    is rebased too, onto a node that writes the new values through the view, and ``self`` becomes a view of the
    new base, as PyTorch.
    """
    if self.requires_grad and self._ctx is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. Wrap the update in "
            "`with shenjing.no_grad():`, or work on a copy (x = x.clone())."
        )
    if self._ctx is not None:
        _edge(self)  # refresh a view whose base was written since
    base = _live_base(self)
    if base is not None:
        return _rebase_view(self, base, compute)
    array = self.array
    old = _alias(self, array)
    new = compute(old)
    if tuple(new.shape) != tuple(array.shape):
        raise RuntimeError(
            f"output with shape {list(array.shape)} doesn't match the broadcast shape {list(new.shape)}"
        )
    if new.array.dtype.kind in "fc" and array.dtype.kind not in "fc":
        raise RuntimeError(f"result type {new.array.dtype} can't be cast to the desired output type {array.dtype}")
    node = new._ctx
    if node is not None and node is not old._ctx and hasattr(node, "__dict__"):
        _protect_saved(node, array)
    array[...] = new.array
    bump_version(array)
    if node is None or array.dtype.kind not in "fc":
        self._ctx, self.requires_grad = None, False
        return self
    if node is not old._ctx:
        _refer_to_target(node, new.array, array)
    self._ctx, self.requires_grad = node, True
    return self


def _refer_to_target(node: Any, result: Any, target: Any) -> None:
    """A node that saved its output (exp, sigmoid, tanh...) now refers to the written tensor's array, which holds
    the same values: a later in-place write is then caught at backward, as PyTorch, and the result is not kept
    twice."""
    if not hasattr(node, "__dict__"):
        return
    saved = node.__dict__
    for key, value in list(saved.items()):
        if value is result:
            saved[key] = target
    node._clock = sys.modules[__package__]._clock


def _protect_saved(node: Any, array: Any) -> None:
    """The new node saved the old values by reference: give it copies before they are overwritten."""
    buffer = _buffer_key(array)[0]

    def shares(v: Any) -> bool:
        return _is_array(v) and _buffer_key(v)[0] == buffer

    saved = node.__dict__
    for key, value in list(saved.items()):
        if isinstance(value, tuple | list):
            if any(shares(v) for v in value):
                saved[key] = type(value)(v.copy() if shares(v) else v for v in value)
        elif shares(value):
            saved[key] = value.copy()


def _rebase_view(self: Any, base: Any, compute: Any) -> Any:
    if base.requires_grad and base._ctx is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation. Wrap the update "
            "in `with shenjing.no_grad():`, or work on a copy."
        )
    from ..backend import backend_of

    view = self.array
    old = _alias(self, view)
    new = compute(old)
    if tuple(new.shape) != tuple(view.shape):
        raise RuntimeError(
            f"output with shape {list(view.shape)} doesn't match the broadcast shape {list(new.shape)}"
        )
    node = new._ctx
    if node is not None and node is not old._ctx and hasattr(node, "__dict__"):
        _protect_saved(node, view)
    positions = _positions_in(view, base.array, backend_of(view).xp)
    rebase(base, lambda base_old: WriteThroughView.apply(base_old, new, positions=positions))
    if node is not None and node is not old._ctx:
        _refer_to_target(node, new.array, view)
    if base.requires_grad:
        moved = ViewOf.apply(base, view=view, positions=positions)
        self._ctx, self.requires_grad = moved._ctx, True
    return self
