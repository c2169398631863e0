"""Reverse-mode automatic differentiation: Function (an op's forward and backward), grad modes, the engine.

The graph is made of nodes (one per recorded op, a :class:`Function` instance). Each node keeps one edge per
input: ``(node that made the input, which of its outputs)``, or ``(leaf tensor, -1)`` for a leaf that requires
grad, or ``None``. Edges point at nodes, not at tensors, so an in-place op can move a tensor onto a new node
while the nodes recorded before it still reach the tensor's old history (as PyTorch's ``grad_fn`` rebase).

The chain rule lives in :func:`_run_engine`: order the nodes reachable from the roots (iteratively, so a chain
of any length works), then sweep them in reverse, handing each node δ = ∂L/∂out for each of its outputs and
accumulating (``+``) what it returns for each input, ∂L/∂in = δ · ∂out/∂in.

Two styles of Function live side by side:
- ours: ``forward(self, *arrays, **options) -> array`` and ``backward(self, grad) -> array | tuple`` on raw
  arrays, saving on ``self`` what backward needs;
- PyTorch's: ``@staticmethod forward(ctx, *args, **kwargs)`` and ``@staticmethod backward(ctx, *grads)`` on
  Tensors, with ``ctx.save_for_backward`` and friends (see :class:`FunctionCtx`).
"""

from __future__ import annotations

import inspect
import threading
import weakref
from typing import Any

from ..backend import SCALAR_TYPES, backend_of

__all__ = [
    "Function", "FunctionCtx", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
    "is_inference_mode_enabled", "backward", "grad", "Variable", "detect_anomaly", "set_detect_anomaly",
]

_Tensor: Any = None  # set by tensor.py: autograd sits below tensor in the import order


# ---- grad modes ---------------------------------------------------------------------------------------------
class _GradMode(threading.local):
    enabled = True
    inference = False
    # while shenjing.onnx traces a forward on this thread: a callable that sees every op as it runs,
    # tracer(cls, ctx, inputs, options, output); None otherwise
    tracer = None


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    return _grad_mode.enabled


def is_inference_mode_enabled() -> bool:
    return _grad_mode.inference


def _decorate(manager_factory: Any, fn: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with manager_factory():
            return fn(*args, **kwargs)

    wrapped.__name__ = getattr(fn, "__name__", "wrapped")
    wrapped.__qualname__ = getattr(fn, "__qualname__", wrapped.__name__)
    wrapped.__doc__ = getattr(fn, "__doc__", None)
    wrapped.__wrapped__ = fn
    return wrapped


class set_grad_enabled:
    """Turn gradient tracking on or off, as a call, a context manager or a decorator (as PyTorch)."""

    def __init__(self, mode: bool) -> None:
        self.prev = _grad_mode.enabled
        self.mode = bool(mode)
        _grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        self.prev = _grad_mode.enabled
        _grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self.prev

    def __call__(self, fn: Any) -> Any:
        mode = self.mode
        return _decorate(lambda: set_grad_enabled(mode), fn)


class _NoParamManager:
    """A context manager usable as ``@manager()`` and, as PyTorch allows, as a bare ``@manager``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])
        return super().__new__(cls)

    def __call__(self, fn: Any) -> Any:
        return _decorate(type(self), fn)


class no_grad(_NoParamManager):
    """Context manager (or decorator) in which ops record no graph: for evaluation and updates."""

    def __enter__(self) -> None:
        self.prev = _grad_mode.enabled
        _grad_mode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self.prev


class enable_grad(_NoParamManager):
    def __enter__(self) -> None:
        self.prev = _grad_mode.enabled
        _grad_mode.enabled = True

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self.prev


class inference_mode(_NoParamManager):
    """``no_grad`` for inference (as PyTorch's): nothing is recorded; ``inference_mode(False)`` turns it off.

    Usable as ``with shenjing.inference_mode():``, ``@shenjing.inference_mode()`` or ``@shenjing.inference_mode``.
    NOTE: tensors made inside are ordinary tensors here (PyTorch marks them as "inference tensors").
    """

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self.prev = (_grad_mode.enabled, _grad_mode.inference)
        _grad_mode.enabled, _grad_mode.inference = not self.mode, self.mode

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled, _grad_mode.inference = self.prev

    def __call__(self, fn: Any) -> Any:
        mode = self.mode
        return _decorate(lambda: inference_mode(mode), fn)

    def clone(self) -> inference_mode:
        return inference_mode(self.mode)


# ---- version counters (in-place writes) ---------------------------------------------------------------------
# An in-place write bumps the version of the array's root buffer (views share it, as PyTorch's tensor views
# share a version counter) and stamps it with the write clock. A node remembers the clock when it was
# recorded; at backward, a node recorded before the latest write checks whether any array it saved has been
# written since.
_clock = 0
_writes: dict = {}  # buffer key -> [version, clock of the last write, weakref to the host buffer or None]


def _root(array: Any) -> Any:
    base = getattr(array, "base", None)
    # NOTE: a memoryview has a shape too (arrays read from a file sit on one); it is not an array to walk up to
    while base is not None and hasattr(base, "shape") and not isinstance(base, memoryview):
        array, base = base, getattr(base, "base", None)
    return array


def _address(array: Any) -> int:
    interface = getattr(array, "__array_interface__", None)
    if interface is None:
        interface = array.__cuda_array_interface__
    return interface["data"][0]


def _buffer_key(array: Any) -> Any:
    """What identifies the memory under ``array``: the id of its NumPy root array, or, for device arrays (whose
    ``.base`` objects need not be persistent), the root's device address."""
    root = _root(array)
    if type(root).__module__ == "numpy":
        return id(root), root
    return ("device", _address(root)), None


def same_buffer(a: Any, b: Any) -> bool:
    """Whether two arrays are views of one buffer (so writes into one are seen by the other)."""
    return _buffer_key(a)[0] == _buffer_key(b)[0]


def bump_version(array: Any) -> None:
    """Record an in-place write into ``array`` (and every view of its buffer)."""
    global _clock
    _clock += 1
    key, root = _buffer_key(array)
    entry = _writes.get(key)
    if entry is None:
        ref = None
        if root is not None:  # a NumPy buffer: forget its entry when it is freed
            try:
                ref = weakref.ref(root, lambda _, key=key: _writes.pop(key, None))
            except TypeError:
                ref = None
        _writes[key] = [1, _clock, ref]
    else:
        entry[0] += 1
        entry[1] = _clock


def version_of(array: Any) -> int:
    """How many in-place writes the buffer under ``array`` has had (``Tensor._version``)."""
    entry = _writes.get(_buffer_key(array)[0])
    return 0 if entry is None else entry[0]


def _modified_since(array: Any, clock: int) -> Any:
    entry = _writes.get(_buffer_key(array)[0])
    return entry is not None and entry[1] > clock


def _raise_modified(node: Any, what: str, version: int, expected: int | None) -> None:
    expect = f"; expected version {expected} instead" if expected is not None else ", written after it was saved"
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[{what}], which {node!r} saved for backward, is at version {version}{expect}. Hint: use the "
        "out-of-place op (x = x + 1 instead of x += 1, x.relu() instead of x.relu_()) before the value is used "
        "again, or clone() it first."
    )


def _is_array(value: Any) -> bool:
    return value.__class__ is not _StaleArray and hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(
        value, "base")


class _StaleArray:
    """Stands in, at backward, for an array a node saved that was written in place since: it keeps the array's
    shape and dtype, and any use of its values raises PyTorch's error. So only a backward that really needs the
    overwritten values fails (``h * 2`` saves h but needs it only when 2 were a tensor requiring grad), as
    PyTorch, which saves only what the requested gradients need."""

    def __init__(self, array: Any, node: Any) -> None:
        self.shape, self.dtype, self.ndim, self.size = tuple(array.shape), array.dtype, array.ndim, array.size
        self._node_name, self._version = repr(node), version_of(array)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"[an array of shape {self.shape} and dtype {self.dtype}], which {self._node_name} saved for backward, "
            f"is at version {self._version}, written after it was saved. Hint: use the out-of-place op "
            "(x = x + 1 instead of x += 1, x.relu() instead of x.relu_()) before the value is used again, or "
            "clone() it first."
        )

    def __getattr__(self, name: str) -> Any:
        self._fail()

    __array__ = __array_ufunc__ = __array_function__ = __getitem__ = __iter__ = __len__ = __float__ = __bool__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _fail
    __pow__ = __rpow__ = __matmul__ = __rmatmul__ = __neg__ = __abs__ = __lt__ = __le__ = __gt__ = __ge__ = _fail
    __eq__ = __ne__ = _fail  # type: ignore[assignment]
    __hash__ = None  # type: ignore[assignment]


def _check_saved_arrays(node: Any) -> None:
    """Replace each array an array-style node saved that was written in place since it was recorded by a
    :class:`_StaleArray`, so that backward fails only if it uses those values."""
    clock = node._clock
    saved = node.__dict__
    for key, value in list(saved.items()):
        if isinstance(value, tuple | list):
            if any(_is_array(v) and _modified_since(v, clock) for v in value):
                saved[key] = type(value)(
                    _StaleArray(v, node) if _is_array(v) and _modified_since(v, clock) else v for v in value
                )
        elif _is_array(value) and _modified_since(value, clock):
            saved[key] = _StaleArray(value, node)


# ---- graph edges --------------------------------------------------------------------------------------------
def _edge(x: Any) -> Any:
    """Where the gradient of input ``x`` goes: ``(node, output number)``, ``(leaf, -1)`` or None."""
    if not x.requires_grad:
        return None
    node = x._ctx
    if node is None:
        return (x, -1)
    if node._base is not None and _is_stale(node):
        node = _refresh_view(x)
    outputs = node._outputs
    return (node, 0 if outputs is None else outputs.get(id(x), 0))


def _is_stale(node: Any) -> bool:
    """Whether the base of a view node (or of a view it was taken from) was written in place since."""
    while True:
        base = node._base
        if base is None:
            return False
        if base._ctx is not node._base_ctx:
            return True
        node = base._ctx
        if node is None:
            return False


def _refresh_view(view: Any) -> Any:
    """``view``'s base was written in place after the view was taken: make the view's history the new base's
    (a node that reads the view's places out of the base), as PyTorch regenerates a view's grad_fn. Returns it."""
    node = view._ctx
    base = node._base
    if not same_buffer(base.array, view.array):  # the base's array was replaced (x.data = ...): leave it
        node._base_ctx = base._ctx
        return node
    from .inplace import ViewOf, _positions_in

    with enable_grad():
        moved = ViewOf.apply(base, view=view.array, positions=_positions_in(view.array, base.array,
                                                                           backend_of(view.array).xp))
    if moved._ctx is None:  # the base left the graph (detach_ or a no-grad write)
        node._base_ctx = base._ctx
        return node
    view._ctx = moved._ctx
    return moved._ctx


def _alias(x: Any, array: Any) -> Any:
    """A new Tensor object on ``array`` with ``x``'s place in the graph (same node and output number)."""
    t = _Tensor._wrap(array, x.requires_grad)
    node = x._ctx
    t._ctx = node
    if node is not None and node._outputs is not None and id(x) in node._outputs:
        node._outputs[id(t)] = node._outputs[id(x)]
    return t


def _is_ctx_style(cls: type) -> bool:
    return isinstance(inspect.getattr_static(cls, "forward", None), staticmethod)


def _has_setup_context(cls: type) -> bool:
    """PyTorch 2's other spelling: ``forward(*args)`` without ctx, plus ``setup_context(ctx, inputs, output)``."""
    return isinstance(inspect.getattr_static(cls, "setup_context", None), staticmethod)


# ---- Function -----------------------------------------------------------------------------------------------
class Function:
    """One differentiable op, in either of two styles (detected by whether ``forward`` is a staticmethod).

    Array style (the engine's own ops): ``forward(self, *arrays, **options) -> array`` (saving on ``self`` what
    backward needs) and ``backward(self, grad) -> array | tuple`` (one gradient per positional input, ``None``
    where not needed; ``self.needs_input_grad[i]`` says which are wanted). Call them with
    ``MyFunction.apply(*inputs, **options)``: tensor inputs are differentiated, other inputs (Python numbers,
    arrays, ``None``) are constants. ``self.xp`` is the array module of the inputs' backend.

    PyTorch style: ``@staticmethod forward(ctx, *args, **kwargs)`` and ``@staticmethod backward(ctx, *grads)``
    on Tensors, one gradient per ``forward`` argument (``None`` for non-tensors and inputs without grad); see
    :class:`FunctionCtx` for ``ctx``. ``forward`` runs under ``no_grad``, as in PyTorch.
    """

    __slots__ = ("needs_input_grad", "xp", "freed", "next", "_clock", "_base", "_base_ctx", "__dict__")
    _outputs = None  # array-style nodes have one output
    _n_outputs = 1
    _ctx_style = False
    _setup_context_style = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._ctx_style = _is_ctx_style(cls)
        cls._setup_context_style = cls._ctx_style and _has_setup_context(cls)

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Any:
        if cls._ctx_style:
            return _apply_ctx_style(cls, inputs, options)
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
        ctx.recording = requires_grad and _grad_mode.enabled  # whether backward can run: what forward must keep
        try:
            data = ctx.forward(*arrays, **options)
        except (ValueError, MemoryError) as error:  # NumPy's shape and size errors: PyTorch's RuntimeError
            _raise_shape_error(cls, arrays, error)
        if data.__class__ in SCALAR_TYPES:
            data = ctx.xp.asarray(data)
        out = Tensor.__new__(Tensor)
        out.array = data
        out.grad = None
        if requires_grad and _grad_mode.enabled:
            edges = []
            for x in inputs:
                if x.__class__ is Tensor or isinstance(x, Tensor):
                    if not x.requires_grad:
                        edges.append(None)
                        continue
                    node = x._ctx
                    if node is None:
                        edges.append((x, -1))
                    else:
                        if node._base is not None and _is_stale(node):
                            node = _refresh_view(x)
                        outputs = node._outputs
                        edges.append((node, 0 if outputs is None else outputs.get(id(x), 0)))
                else:
                    edges.append(None)
            ctx.next = edges
            ctx.needs_input_grad = tuple([e is not None for e in edges])
            ctx._base = None
            if getattr(data, "base", None) is not None and arrays and same_buffer(data, arrays[0]):
                # a view of input 0 (kept, as PyTorch's view._base): in-place writes into it reach the base, and
                # an in-place write into the base reaches it (see _refresh_view)
                ctx._base, ctx._base_ctx = inputs[0], inputs[0]._ctx
            ctx.freed = False
            ctx._clock = _clock
            out.requires_grad = True
            out._ctx = ctx
        else:
            out.requires_grad = False
            out._ctx = None
        if _grad_mode.tracer is not None:
            _grad_mode.tracer(cls, ctx, inputs, options, out)
        return out

    def forward(self, *arrays: Any, **options: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Any) -> Any:
        raise NotImplementedError

    def _node_backward(self, grads: list) -> tuple:
        if self.freed:
            _raise_freed()
        if _clock > self._clock:
            _check_saved_arrays(self)
        out = self.backward(grads[0])
        return out if isinstance(out, tuple) else (out,)

    def _release(self) -> None:
        hooks = self.__dict__.pop("_hooks", None)
        self.freed = bool(self.__dict__)  # NOTE: a node that saved nothing can run again, as in PyTorch
        self.__dict__.clear()
        if hooks is not None:
            self.__dict__["_hooks"] = hooks

    def name(self) -> str:
        """The node's name in PyTorch's style for built-in ops, ``MulBackward0`` (a PyTorch-style Function of a
        user's is ``FnBackward``, without the 0, as in PyTorch); PyTorch's own name where it calls the op
        differently (``ReluBackward0``, ``NllLossBackward0``, ``AddmmBackward0``: see ``_TORCH_NAMES``)."""
        stem = type(self).__name__.removesuffix("Function")
        known = _TORCH_NAMES.get(stem)
        if callable(known):
            return known(self)
        return known or stem + "Backward0"

    @property
    def next_functions(self) -> tuple:
        return _next_functions(self)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"


def _matmul_name(node: Any) -> str:
    a, b = getattr(node, "a", None), getattr(node, "b", None)
    dims = (getattr(a, "ndim", 2), getattr(b, "ndim", 2))
    return {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0"}.get(dims, "UnsafeViewBackward0")


# Where PyTorch's autograd names a node other than "<our Function's name>Backward0" (what programs print as
# grad_fn): the same op under PyTorch's name, or the name of the kernel PyTorch runs for it.
_TORCH_NAMES: dict = {
    "ReLU": "ReluBackward0", "GELU": "GeluBackward0", "LeakyReLU": "LeakyReluBackward0", "ELU": "EluBackward0",
    "SiLU": "SiluBackward0", "CrossEntropy": "NllLossBackward0", "NLL": "NllLossBackward0",
    "MSE": "MseLossBackward0", "BCE": "BinaryCrossEntropyBackward0",
    "BCEWithLogits": "BinaryCrossEntropyWithLogitsBackward0", "SmoothL1": "SmoothL1LossBackward0",
    "L1": "MeanBackward0", "Conv2d": "ConvolutionBackward0", "Conv1d": "ConvolutionBackward0",
    "ConvTranspose2d": "ConvolutionBackward0", "MaxPool2d": "MaxPool2DWithIndicesBackward0",
    "AvgPool2d": "AvgPool2DBackward0", "BatchNorm": "NativeBatchNormBackward0",
    "LayerNorm": "NativeLayerNormBackward0", "Dropout": "MulBackward0", "_Clone": "CloneBackward0",
    "Reshape": "ViewBackward0", "Amax": "MaxBackward1",
    "Clamp": "ClampBackward1",
    "Linear": lambda node: "AddmmBackward0" if getattr(node, "has_bias", True) else "MmBackward0",
    "MatMul": _matmul_name,
    "Sum": lambda node: "SumBackward1" if getattr(node, "axes", None) is not None else "SumBackward0",
}


class AccumulateGrad:
    """What ``grad_fn.next_functions`` shows for a leaf that requires grad (``.variable`` is the leaf)."""

    next_functions = ()

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


def _next_functions(node: Any) -> tuple:
    """``((node, output number), ...)`` per input, as PyTorch: ``(None, 0)`` for inputs without grad."""
    out = []
    for edge in node.next:
        if edge is None:
            out.append((None, 0))
        elif edge[1] < 0:
            out.append((AccumulateGrad(edge[0]), 0))
        else:
            out.append(edge)
    reorder = getattr(type(node), "_torch_next_functions", None)  # a fused op shown as PyTorch's graph shows it
    return reorder(node, tuple(out)) if reorder is not None else tuple(out)


class TransposeNode:
    """What PyTorch's graph shows between ``F.linear``'s product and its weight: ``TBackward0`` (weight.t())."""

    def __init__(self, edge: tuple) -> None:
        self.next_functions = (edge,)

    def name(self) -> str:
        return "TBackward0"

    def __repr__(self) -> str:
        return f"<TBackward0 object at {hex(id(self))}>"


def _raise_freed() -> None:
    raise RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved tensors after they have "
        "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
        "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or "
        "if you need to access saved tensors after calling backward."
    )


def _raise_shape_error(cls: type, arrays: list, error: Exception) -> None:
    """A ValueError (bad shapes) or MemoryError (a result too large to allocate) from the array library inside an
    op's forward, as the RuntimeError PyTorch raises for the same mistake, naming the op and every input's shape."""
    shapes = ", ".join(str(tuple(a.shape)) for a in arrays if hasattr(a, "shape") and hasattr(a, "dtype"))
    name = cls.__name__.removesuffix("Function")
    raise RuntimeError(f"{name}: {str(error).strip()} (input shapes: {shapes})") from None


def _raise_mixed_devices(cls: type, inputs: tuple) -> None:
    devices = [str(x.device) for x in inputs if isinstance(x, _Tensor)]
    raise RuntimeError(
        f"{cls.__name__}: expected all tensors on the same device, got tensors on {' and '.join(devices)}. "
        "Move them with .to(device) first."
    )


# ---- PyTorch-style Functions --------------------------------------------------------------------------------
class FunctionCtx:
    """The ``ctx`` of a PyTorch-style Function, and the graph node of its call (PyTorch's ``FnBackward``).

    ``ctx.save_for_backward(*tensors)`` / ``ctx.saved_tensors`` (checked against in-place writes since),
    ``ctx.needs_input_grad``, any attribute you set, ``ctx.mark_non_differentiable(*outputs)``,
    ``ctx.set_materialize_grads(bool)`` (default True: ``None`` output gradients arrive as zeros),
    ``ctx.mark_dirty(*inputs)`` (inputs that ``forward`` modified in place and returns).
    """

    _ctx_style = True
    _base = None

    def __init__(self, fn: type) -> None:
        self._fn = fn
        self._saved = ()
        self._saved_versions = ()
        self._non_differentiable = ()
        self._dirty = ()
        self._materialize = True
        self._outputs = None
        self._n_outputs = 1
        self.freed = False
        self._clock = _clock
        self.needs_input_grad = ()
        self.next = ()

    # -- PyTorch's ctx API
    def save_for_backward(self, *tensors: Any) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, _Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {tensors.index(t)} is "
                                f"of type {type(t).__name__}")
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else version_of(t.array) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self.freed:
            _raise_freed()
        for t, version in zip(self._saved, self._saved_versions):
            if t is not None and version_of(t.array) != version:
                what = f"shenjing.{t.dtype} {list(t.shape)}"
                _raise_modified(self, what, version_of(t.array), version)
        return tuple(self._saved)

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._non_differentiable = tuple(id(t) for t in tensors)

    def mark_dirty(self, *tensors: Any) -> None:
        self._dirty = tuple(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = bool(value)

    # -- node protocol
    def name(self) -> str:
        """The node's name, as PyTorch's ``grad_fn.name()``."""
        return self._fn.__name__ + "Backward"

    @property
    def next_functions(self) -> tuple:
        return _next_functions(self)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def _node_backward(self, grads: list) -> tuple:
        if self.freed:
            _raise_freed()
        Tensor = _Tensor
        args = []
        for g, meta in zip(grads, self._output_meta):
            if g is None and self._materialize and meta is not None:
                g = meta[2].zeros(meta[0], dtype=meta[1])
            args.append(None if g is None else Tensor._wrap(g))
        with no_grad():
            result = self._fn.backward(self, *args)
        if not isinstance(result, tuple):
            result = (result,)
        expected = len(self.next)
        if len(result) != expected:
            if len(result) > expected and all(r is None for r in result[expected:]):
                result = result[:expected]
            else:
                raise RuntimeError(
                    f"function {self.name()} returned an incorrect number of gradients (expected {expected}, "
                    f"got {len(result)})"
                )
        out = []
        for i, (g, meta) in enumerate(zip(result, self._input_meta)):
            if g is None:
                out.append(None)
                continue
            if meta is None:
                raise RuntimeError(
                    f"function {self.name()} returned a gradient different than None at position {i + 1}, but the "
                    "corresponding forward input was not a Variable"
                )
            array = g.array if isinstance(g, Tensor) else meta[2].asarray(g)
            if tuple(array.shape) != meta[0]:
                array = _sum_to(array, meta[0], self.name(), i)
            if array.dtype != meta[1]:
                array = array.astype(meta[1])
            out.append(array)
        return tuple(out)

    def _release(self) -> None:
        self.freed = bool(self._saved)
        self._saved = ()


def _sum_to(array: Any, shape: tuple, name: str, index: int) -> Any:
    """``array`` summed over broadcast axes down to ``shape`` (PyTorch's check for custom gradients)."""
    lead = array.ndim - len(shape)
    ok = lead >= 0 and all(s == a or s == 1 for s, a in zip(shape, array.shape[lead:]))
    if not ok:
        raise RuntimeError(
            f"Function {name} returned an invalid gradient at index {index} - got {list(array.shape)} but expected "
            f"shape compatible with {list(shape)}"
        )
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and array.shape[lead + i] != 1)
    return array.sum(axis=axes, keepdims=True).reshape(shape) if axes else array.reshape(shape)


def _apply_ctx_style(cls: type, args: tuple, kwargs: dict) -> Any:
    Tensor = _Tensor
    ctx = FunctionCtx(cls)
    tensors = [a for a in args if isinstance(a, Tensor)]
    record = _grad_mode.enabled and any(t.requires_grad for t in tensors)
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    with no_grad():
        if cls._setup_context_style:
            result = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, result)
        else:
            result = cls.forward(ctx, *args, **kwargs)
    is_tuple = isinstance(result, tuple)
    outputs = list(result) if is_tuple else [result]
    if _grad_mode.tracer is not None:
        _grad_mode.tracer(cls, ctx, args, kwargs, result)
    inputs_by_id = {id(t): t for t in tensors}
    dirty = set(ctx._dirty)
    if not record:
        for o in outputs:
            if isinstance(o, Tensor) and id(o) in dirty:
                bump_version(o.array)
        return tuple(outputs) if is_tuple else outputs[0]
    ctx.next = tuple(_edge(a) if isinstance(a, Tensor) else None for a in args)
    ctx._input_meta = tuple(
        (tuple(a.shape), a.dtype, backend_of(a.array).xp) if isinstance(a, Tensor) else None for a in args
    )
    non_differentiable = set(ctx._non_differentiable)
    metas = []
    numbers = {}
    for i, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            metas.append(None)
            continue
        if id(o) in inputs_by_id:
            if id(o) in dirty:
                if o.requires_grad and o._ctx is None:
                    raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
                bump_version(o.array)  # as PyTorch: mark_dirty counts as one more write
            else:  # an input returned as is: a new tensor on the same data (PyTorch returns a view)
                o = outputs[i] = Tensor._wrap(o.array)
        if id(o) in non_differentiable or o.array.dtype.kind not in "fc":
            o.requires_grad, o._ctx = False, None
            metas.append((tuple(o.shape), o.dtype, backend_of(o.array).xp))
            continue
        o.requires_grad, o._ctx = True, ctx
        numbers[id(o)] = i
        metas.append((tuple(o.shape), o.dtype, backend_of(o.array).xp))
    ctx._output_meta = tuple(metas)
    ctx._n_outputs = len(outputs)
    if len(outputs) > 1:
        ctx._outputs = numbers
    ctx._clock = _clock
    return tuple(outputs) if is_tuple else outputs[0]



def once_differentiable(fn: Any) -> Any:
    """Accepted as in PyTorch: a backward that is not itself differentiable (every backward here is not)."""
    return fn


# ---- hooks --------------------------------------------------------------------------------------------------
_leaf_hooks: dict = {}  # id(leaf tensor) -> list of hooks


def register_hook(tensor: Any, hook: Any) -> Any:
    """``tensor.register_hook(hook)``: ``hook(grad) -> Tensor | None`` runs on the tensor's gradient."""
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    node = tensor._ctx
    if node is None:
        key = id(tensor)
        if key not in _leaf_hooks:
            _leaf_hooks[key] = []
            weakref.finalize(tensor, _leaf_hooks.pop, key, None)
        hooks = _leaf_hooks[key]
        entry = hook
    else:
        nr = 0 if node._outputs is None else node._outputs.get(id(tensor), 0)
        hooks = node.__dict__.setdefault("_hooks", [])
        entry = (nr, hook)
    hooks.append(entry)
    return _RemovableHandle(hooks, entry)


_post_accumulate_hooks: dict = {}  # id(leaf tensor) -> hooks called with the leaf after its .grad is accumulated


def add_post_accumulate_hook(tensor: Any, hook: Any) -> Any:
    """``hook(tensor)`` after each backward pass has accumulated into the leaf's ``.grad`` (PyTorch's
    ``register_post_accumulate_grad_hook``); returns a handle with ``remove()``."""
    key = id(tensor)
    if key not in _post_accumulate_hooks:
        _post_accumulate_hooks[key] = []
        weakref.finalize(tensor, _post_accumulate_hooks.pop, key, None)
    hooks = _post_accumulate_hooks[key]
    hooks.append(hook)
    return _RemovableHandle(hooks, hook)


def _after_accumulate(tensor: Any) -> None:
    for hook in list(_post_accumulate_hooks.get(id(tensor), ())):
        hook(tensor)


def retain_grad(tensor: Any) -> None:
    """Keep ``.grad`` on a non-leaf tensor after backward (a hook that stores the gradient)."""
    if tensor._ctx is None or getattr(tensor, "_retains_grad", False):
        return
    tensor._retains_grad = True
    ref = weakref.ref(tensor)

    def store(grad: Any) -> None:
        t = ref()
        if t is not None:
            if t.grad is None:
                t.grad = _Tensor._wrap(grad.array.copy())
            else:
                t.grad.array = t.grad.array + grad.array

    node = tensor._ctx
    nr = 0 if node._outputs is None else node._outputs.get(id(tensor), 0)
    node.__dict__.setdefault("_hooks", []).append((nr, store))


class _RemovableHandle:
    def __init__(self, hooks: list, entry: Any) -> None:
        self.hooks, self.entry = hooks, entry

    def remove(self) -> None:
        if self.entry in self.hooks:
            self.hooks.remove(self.entry)


def _run_hooks(hooks: list, grad: Any) -> Any:
    for hook in list(hooks):
        out = hook(_Tensor._wrap(grad))
        if out is not None:
            grad = out.array if isinstance(out, _Tensor) else out
    return grad


# ---- the engine ---------------------------------------------------------------------------------------------
def _node_order(roots: list) -> list:
    """Nodes that ``roots`` depend on, inputs before outputs (iterative depth-first search)."""
    order = []
    visited = set()
    stack = [(node, False) for node in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        key = id(node)
        if key in visited:
            continue
        visited.add(key)
        stack.append((node, True))
        for edge in node.next:
            if edge is not None and edge[1] >= 0 and id(edge[0]) not in visited:
                stack.append((edge[0], False))
    return order


def _add_to(buffers: dict, target: Any, nr: int, grad: Any) -> None:
    key = id(target)
    n = target._n_outputs if nr >= 0 else 1
    if n == 1:
        previous = buffers.get(key)
        buffers[key] = grad if previous is None else previous + grad
    else:
        slots = buffers.get(key)
        if slots is None:
            slots = buffers[key] = [None] * n
        slots[nr] = grad if slots[nr] is None else slots[nr] + grad


def _run_engine(roots: list, root_grads: list, retain_graph: bool, capture: list | None = None) -> Any:
    """Propagate ``root_grads`` from ``roots`` (Tensors). Accumulate into leaves' ``.grad``, or, with
    ``capture`` (a list of Tensors, for :func:`grad`), return their gradients instead."""
    buffers: dict = {}
    leaves: dict = {}  # id(leaf) -> [leaf, gradient], in the order they were first reached
    nodes = []
    for root, g in zip(roots, root_grads):
        edge = _edge(root)
        if edge[1] < 0:
            slot = leaves.setdefault(id(root), [root, None])
            slot[1] = g if slot[1] is None else slot[1] + g
        else:
            _add_to(buffers, edge[0], edge[1], g)
            nodes.append(edge[0])
    wanted = {}
    if capture is not None:
        for i, t in enumerate(capture):
            edge = _edge(t)
            wanted[(id(edge[0]), edge[1])] = i
        captured = [None] * len(capture)
    xp = None
    for node in reversed(_node_order(nodes)):
        buffer = buffers.pop(id(node), None)
        if buffer is None:
            continue
        grads = buffer if node._n_outputs > 1 else [buffer]
        hooks = node.__dict__.get("_hooks")
        if hooks:
            for nr, hook in list(hooks):
                if grads[nr] is not None:
                    grads[nr] = _run_hooks([hook], grads[nr])
        if capture is not None:
            for nr, g in enumerate(grads):
                i = wanted.get((id(node), nr))
                if i is not None:
                    captured[i] = g
        input_grads = node._node_backward(grads)
        for edge, g in zip(node.next, input_grads):
            if edge is None or g is None:
                continue
            if g.__class__ in SCALAR_TYPES:
                xp = xp or backend_of(grads[0] if grads[0] is not None else g).xp
                g = xp.asarray(g)
            target, nr = edge
            if nr < 0:
                slot = leaves.setdefault(id(target), [target, None])
                slot[1] = g if slot[1] is None else slot[1] + g
            elif target._n_outputs == 1:
                key = id(target)
                previous = buffers.get(key)
                buffers[key] = g if previous is None else previous + g
            else:
                _add_to(buffers, target, nr, g)
        if not retain_graph:
            node._release()
    if capture is not None:
        for key, (leaf, g) in leaves.items():
            i = wanted.get((key, -1))
            if i is not None:
                hooks = _leaf_hooks.get(key)
                captured[i] = _run_hooks(hooks, g) if hooks else g
        return captured
    stolen: set = set()
    for key, (leaf, g) in leaves.items():
        hooks = _leaf_hooks.get(key)
        if hooks:
            g = _run_hooks(hooks, g)
        _accumulate_leaf(leaf, g, stolen)
        if _post_accumulate_hooks:
            _after_accumulate(leaf)
    return None


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, _Tensor):
        return (x,)
    return tuple(x)


def _root_grads(outputs: tuple, grads: tuple, caller: str) -> list:
    out = []
    for i, root in enumerate(outputs):
        g = grads[i] if i < len(grads) else None
        if not root.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn: the tensor was made "
                "without requires_grad=True inputs, or under no_grad()."
            )
        xp = backend_of(root.array).xp
        if g is None:
            if root.array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs: {caller} on a tensor of shape "
                    f"{tuple(root.shape)} needs a gradient of the same shape, e.g. out.backward(ones_like(out)), "
                    "or reduce it first with out.sum() or out.mean()."
                )
            g = xp.ones(root.array.shape, dtype=root.array.dtype)
        else:
            g = g.array if isinstance(g, _Tensor) else xp.asarray(g, dtype=root.array.dtype)
            if g.shape != root.array.shape:
                raise RuntimeError(
                    f"{caller}: expected a gradient of shape {tuple(root.shape)} (the tensor's), got {tuple(g.shape)}"
                )
            g = g.copy()  # NOTE: never let a leaf's .grad alias the caller's array
        out.append(g)
    return out


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
             grad_variables: Any = None, inputs: Any = None) -> None:
    """Accumulate ∂tensors/∂leaf into ``leaf.grad`` for every leaf that requires grad (``root.backward()``).

    As ``torch.autograd.backward``: ``tensors`` one Tensor or a sequence, ``grad_tensors`` the matching
    δ = ∂L/∂tensor (None for scalars); ``inputs`` restricts accumulation to those leaves.
    """
    if create_graph:
        raise NotImplementedError("backward(create_graph=True): higher-order gradients are not supported; the "
                                  "engine's backward formulas run on arrays.")
    outputs = _as_tuple(tensors)
    given = grad_tensors if grad_tensors is not None else grad_variables
    if isinstance(tensors, _Tensor) or isinstance(given, _Tensor) or given is None:
        grads = (given,)  # one tensor: its gradient as given (a Tensor, an array, a list of numbers, or None)
    else:
        grads = tuple(given)
    root_grads = _root_grads(outputs, grads, "backward")
    if inputs is not None:
        only = _as_tuple(inputs)
        found = _run_engine(list(outputs), root_grads, bool(retain_graph), capture=list(only))
        stolen: set = set()
        for t, g in zip(only, found):
            if g is not None:
                _accumulate_leaf(t, g, stolen)
                if _post_accumulate_hooks:
                    _after_accumulate(t)
        return
    _run_engine(list(outputs), root_grads, bool(retain_graph))


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """∂outputs/∂inputs as a tuple of Tensors, without touching any ``.grad`` (``torch.autograd.grad``)."""
    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): higher-order gradients are not supported; "
                                  "the engine's backward formulas run on arrays.")
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported")
    if allow_unused is None:
        allow_unused = materialize_grads
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if isinstance(outputs, _Tensor) or isinstance(grad_outputs, _Tensor) or grad_outputs is None:
        grads = (grad_outputs,)
    else:
        grads = tuple(grad_outputs)
    root_grads = _root_grads(outs, grads, "grad")
    found = _run_engine(list(outs), root_grads, bool(retain_graph), capture=list(ins))
    result = []
    for i, (t, g) in enumerate(zip(ins, found)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in the graph. Set "
                    "allow_unused=True if this is the desired behavior."
                )
            result.append(_Tensor._wrap(backend_of(t.array).xp.zeros_like(t.array)) if materialize_grads else None)
            continue
        if g.dtype != t.array.dtype:
            g = g.astype(t.array.dtype)
        result.append(_Tensor._wrap(g.reshape(t.array.shape)))
    return tuple(result)


def _accumulate_leaf(tensor: Any, grad: Any, stolen: set) -> None:
    data = tensor.array
    if grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)
    if grad.shape != data.shape:
        grad = grad.reshape(data.shape) if grad.size == data.size else None
        if grad is None:
            raise RuntimeError(f"backward: gradient shape does not match tensor of shape {tuple(data.shape)}")
    if tensor.grad is None:
        if grad.strides != data.strides:  # NOTE: PyTorch's layout contract: .grad has its leaf's strides, so
            grad = _in_layout_of(data, grad)  # an optimizer's element-wise passes run on dense memory
        elif grad.base is not None or id(grad) in stolen:
            grad = grad.copy()  # a view or an array another leaf holds: give this leaf its own
        stolen.add(id(grad))
        tensor.grad = _Tensor._wrap(grad)
    else:
        total = tensor.grad.array + grad
        tensor.grad.array = total if total.strides == data.strides else _in_layout_of(data, total)


def _in_layout_of(data: Any, grad: Any) -> Any:
    """A copy of ``grad`` laid out in memory as ``data`` (a transposed gradient made dense in the leaf's order)."""
    out = backend_of(data).xp.empty_like(data)
    out[...] = grad
    return out


# ---- anomaly detection (accepted) ---------------------------------------------------------------------------
class detect_anomaly:
    """Accepted as PyTorch's (context manager or decorator); NOTE: it checks nothing extra here."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, fn: Any) -> Any:
        return fn


class set_detect_anomaly(detect_anomaly):
    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.mode, self.check_nan = bool(mode), check_nan


# ---- legacy -------------------------------------------------------------------------------------------------
class _VariableMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _Tensor)


class Variable(metaclass=_VariableMeta):
    """Legacy ``Variable(data, requires_grad=False, volatile=False)``: returns a Tensor (``volatile`` ignored)."""

    def __new__(cls, data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:
        if isinstance(data, _Tensor):
            out = _Tensor._wrap(data.array)
        else:
            from ..tensor import tensor

            out = tensor(data)
        if requires_grad:
            out.requires_grad_(True)
        return out


from . import function  # noqa: E402,F401  (shenjing.autograd.function, as torch.autograd.function)
