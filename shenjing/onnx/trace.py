"""The tracer: a model run on the example input, every op it records mapped to ONNX nodes (as torch.onnx's).

A module with a converter (``register_converter``) is emitted by it, whole; any other module (a custom ``Module``
subclass with its own ``forward``, ``Sequential``, ``TransformerEncoderLayer`` …) is run, and each op its forward
calls — every :class:`~shenjing.autograd.Function` applied, seen through the autograd's tracer hook — is mapped by
the Function converter of its class (``FUNCTIONS`` in functions.py). Parameters and buffers become initializers
(each stored once, weight tying included), tensors made inside forward become constants.

The model runs twice: on the example, and on a second input with new values and, along each dynamic axis, one
more element. Both runs must call the same ops. Sizes that differ between them (a ``reshape(N, -1, C)``, an
``expand(N, …)``) are read at run time from the input's shape (``Shape``), and a constant that differs between
them was computed from the input outside the traced ops (a comparison, ``.sign()``, a mask turned into an
array): that raises :class:`UnsupportedLayerError` instead of baking one example's values into the file.
"""

from __future__ import annotations

from typing import Any

import numpy  # host-side: example inputs and constants (no math here)

from ._graph import Graph, UnsupportedLayerError, converter_for, host

__all__ = ["Call", "record", "Emitter"]


class Call:
    """One recorded call: an op (a Function class) or a module with a converter, its inputs and its output."""

    __slots__ = ("kind", "target", "path", "ctx", "inputs", "options", "output")

    def __init__(self, kind: str, target: Any, path: str, ctx: Any, inputs: tuple, options: dict, output: Any):
        self.kind, self.target, self.path, self.ctx = kind, target, path, ctx
        self.inputs, self.options, self.output = inputs, options, output

    @property
    def label(self) -> str:
        return self.target.__name__ if self.kind == "op" else type(self.target).__name__


def record(model: Any, args: tuple) -> tuple[list, Any]:
    """Run ``model(*args)`` (eval mode, no grad) and return (the calls it made, its output)."""
    from ..autograd import _grad_mode, no_grad

    calls: list = []
    stack = ["model"]

    def hook(cls: type, ctx: Any, inputs: tuple, options: dict, output: Any) -> None:
        calls.append(Call("op", cls, stack[-1], ctx, tuple(inputs), dict(options), output))

    def wrap(module: Any, path: str, forward: Any) -> Any:
        if converter_for(module) is not None:
            def converted(*a: Any, **k: Any) -> Any:
                active = _grad_mode.tracer
                _grad_mode.tracer = None  # the module is emitted whole: the ops inside it are not recorded
                try:
                    out = forward(*a, **k)
                finally:
                    _grad_mode.tracer = active
                if active is hook:
                    calls.append(Call("module", module, path, None, a, k, out))
                return out
            return converted

        def traced(*a: Any, **k: Any) -> Any:
            stack.append(path)
            try:
                return forward(*a, **k)
            finally:
                stack.pop()
        return traced

    patched = []
    for name, module in model.named_modules():
        path = f"model.{name}" if name else "model"
        own = module.__dict__.get("forward")
        module.__dict__["forward"] = wrap(module, path, own if own is not None else module.forward)
        patched.append((module, own))
    was, active = model.training, _grad_mode.tracer
    model.eval()
    _grad_mode.tracer = hook
    try:
        with no_grad():
            out = model(*args)
    finally:
        _grad_mode.tracer = active
        model.train(was)
        for module, own in patched:
            if own is None:
                del module.__dict__["forward"]
            else:
                module.__dict__["forward"] = own
    return calls, out


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, numpy.generic)


def _same(a: Any, b: Any) -> bool:
    """Whether an option has the same value in both runs (arrays compared by shape and values)."""
    if _is_array(a) or _is_array(b):
        if not (_is_array(a) and _is_array(b)) or tuple(a.shape) != tuple(b.shape):
            return False
        return bool(numpy.array_equal(numpy.asarray(host(a)), numpy.asarray(host(b)), equal_nan=True))
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, slice) and isinstance(b, slice):
        return _same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


class Emitter:
    """Maps the values of two aligned runs to ONNX names and emits each call's nodes."""

    def __init__(self, g: Graph, model: Any) -> None:
        self.g = g
        self.names: dict[int, str] = {}  # id of a Tensor (or of its array) of run A → its ONNX name
        self.shapes: dict[str, tuple] = g.shapes  # name → (shape in run A, shape in run B)
        self.inputs: dict[str, Any] = {}  # graph input name → its dtype
        self.params = {id(p): f"model.{n}" for n, p in model.named_parameters(remove_duplicate=False)}
        self.params.update({id(b): f"model.{n}" for n, b in model.named_buffers() if b is not None})
        self.keep: list = []  # values whose ids are in self.names stay alive

    # ---- values ---------------------------------------------------------------------------------------------
    def bind(self, a: Any, b: Any, name: str) -> None:
        self.keep += [a, b]
        self.names[id(a)] = name
        array = getattr(a, "array", None)
        if array is not None:
            self.names[id(array)] = name
            self.keep.append(array)
        self.shapes[name] = (tuple(a.shape), tuple(b.shape))
        self.g.dtypes[name] = numpy.dtype(getattr(a, "array", a).dtype)

    def bind_structure(self, a: Any, b: Any, names: Any, where: str) -> None:
        if a is None:
            return
        if _is_array(getattr(a, "array", a)) and not isinstance(a, tuple | list):
            if not isinstance(names, str):
                raise UnsupportedLayerError(f"cannot export {where}: its converter gave {names!r} for a tensor")
            self.bind(a, b, names)
            return
        if isinstance(a, tuple | list) and isinstance(names, tuple | list) and len(names) == len(a):
            for x, y, n in zip(a, b, names, strict=True):
                self.bind_structure(x, y, n, where)
            return
        raise UnsupportedLayerError(f"cannot export {where}: its output {type(a).__name__} does not match what its "
                                    f"converter gave ({names!r})")

    def lookup(self, value: Any) -> str | None:
        name = self.names.get(id(value))
        if name is None and hasattr(value, "array"):
            name = self.names.get(id(value.array))
        return name

    def resolve(self, a: Any, b: Any, where: str) -> Any:
        """The ONNX name of a tensor or array input (a graph value, an initializer or a constant); other
        values (numbers, None, …) as they are."""
        if isinstance(a, tuple | list) and isinstance(b, tuple | list) and len(a) == len(b):
            return type(a)(self.resolve(x, y, where) for x, y in zip(a, b, strict=True))
        if not (_is_array(a) or _is_array(getattr(a, "array", None))):
            return a
        name = self.lookup(a)
        if name is not None:
            return name
        if id(a) in self.params:
            name = self.g.param(self.params[id(a)], a)
        else:
            if not _same(getattr(a, "array", a), getattr(b, "array", b)):
                raise UnsupportedLayerError(
                    f"cannot export {where}: a tensor of shape {tuple(a.shape)} there was computed from the input "
                    "outside the traced ops (array code, a comparison, .sign(), a mask turned into an array …), "
                    "so the file would hold one example's values; compute it with tensor ops (or give the module a "
                    "converter with shenjing.onnx.register_converter)")
            array = numpy.asarray(host(a))
            name = self.g.const(f"{where}.const", array, array.dtype)
        self.bind(a, a, name)
        return name

    def dynamic(self, name: str) -> set:
        a, b = self.shapes.get(name, ((), ()))
        return {i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y}

    def size_source(self, value_a: int, value_b: int, preferred: list) -> tuple[str, int] | None:
        """A (name, axis) whose size is ``value_a`` in run A and ``value_b`` in run B: an axis that varies."""
        for name in [*preferred, *self.inputs]:
            a, b = self.shapes.get(name, ((), ()))
            for axis, (x, y) in enumerate(zip(a, b, strict=False)):
                if x == value_a and y == value_b:
                    return name, axis
        return None

    # ---- calls ----------------------------------------------------------------------------------------------
    def emit(self, a: Call, b: Call) -> None:
        from .functions import FUNCTIONS, Op

        if a.kind == "op":
            convert = FUNCTIONS.get(a.target.__name__)
            if convert is None:
                raise UnsupportedLayerError(
                    f"cannot export {a.path} to ONNX: its forward calls the op {a.target.__name__}, which has no ONNX "
                    f"mapping (ops with one: {', '.join(sorted(FUNCTIONS))}); give the module a converter with "
                    "shenjing.onnx.register_converter")
            op = Op(self, a, b)
            names = convert(op)
            self.bind_structure(a.output, b.output, names, f"{a.path} ({a.label})")
            return
        self._emit_module(a, b)

    def _emit_module(self, a: Call, b: Call) -> None:
        g, module = self.g, a.target
        where = f"{a.path} ({type(module).__name__})"
        args = [self.resolve(x, y, a.path) for x, y in zip(a.inputs, b.inputs, strict=True)]
        kwargs = {k: self.resolve(v, b.options.get(k), a.path) for k, v in a.options.items()}
        if not args or not isinstance(args[0], str):
            raise UnsupportedLayerError(f"cannot export {where}: its first argument is a {type(a.inputs[0]).__name__}, "
                                        "not a tensor (a PackedSequence: pad the sequences instead)")
        if self.inputs.get(args[0], numpy.dtype("float32")).kind not in "f" and "Embedding" not in where:
            raise TypeError(f"{where}: the example input must be float32 or float64 (integer indices only for an "
                            f"Embedding), got {self.inputs[args[0]]}")
        g.tensor = a.inputs[0]
        g.shape, g.rank = list(g.tensor.shape), g.tensor.ndim
        g.dynamic = self.dynamic(args[0])
        g.args, g.kwargs = args, kwargs
        names = converter_for(module)(g, module, args[0], a.path)
        self.bind_structure(a.output, b.output, names, where)


def align(calls_a: list, calls_b: list) -> None:
    """Both runs must have called the same ops and modules, in the same order."""
    for i, (a, b) in enumerate(zip(calls_a, calls_b, strict=False)):
        if a.kind != b.kind or a.target is not b.target:
            raise UnsupportedLayerError(
                f"cannot export the model: its forward calls different ops for a second input (call {i}: "
                f"{a.path} {a.label} vs {b.path} {b.label}): control flow that depends on the input's values or "
                "on the sizes of dynamic_axes cannot be traced; export without dynamic_axes, or give the module a "
                "converter")
    if len(calls_a) != len(calls_b):
        raise UnsupportedLayerError(
            f"cannot export the model: its forward made {len(calls_a)} calls on the example and {len(calls_b)} on "
            "a second input: control flow that depends on the input cannot be traced")


def second_input(array: Any, dynamic: set, seed: int = 0) -> Any:
    """The run-B input: new values (a permutation of integer indices, fresh floats), one more element on each
    dynamic axis."""
    rng = numpy.random.default_rng(seed)
    b = numpy.asarray(array)
    for axis in sorted(dynamic):
        b = numpy.concatenate([b, numpy.take(b, [0], axis=axis)], axis=axis)
    if b.dtype.kind == "f":  # fresh values with the example's mean and spread
        spread = float(numpy.std(array)) if numpy.size(array) > 1 else 1.0
        b = (numpy.mean(array) + rng.standard_normal(b.shape) * (spread or 1.0)).astype(b.dtype)
    elif b.size:
        b = rng.permutation(b.reshape(-1)).reshape(b.shape)
    return b
