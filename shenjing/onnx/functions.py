"""Function converters: each autograd Function class that a traced forward may call, as ONNX nodes.

A converter is ``fn(op) -> name`` (or names, in the structure of the Function's output); ``op`` is an
:class:`Op`: its inputs' names (``op.x(i)``), shapes, options (``op.opt``) and the nodes it adds (``op.node``).
Register one for your own Function with :func:`register_function`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy  # host-side: constants (no math here)

from . import layers
from ._graph import INT64_MAX, UnsupportedLayerError, host
from .trace import Call, Emitter, _is_array, _same

__all__ = ["FUNCTIONS", "Op", "register_function"]


class Op:
    """One recorded Function call as its converter sees it (run A: the example; run B: the second input)."""

    def __init__(self, e: Emitter, a: Call, b: Call) -> None:
        self.e, self.g, self.a, self.b = e, e.g, a, b
        self.path, self.ctx = a.path, a.ctx
        self.out = a.output[0] if isinstance(a.output, tuple) else a.output
        self.where = f"{a.path} ({a.target.__name__})"
        self.differs = {k for k, v in a.options.items() if not _same(v, b.options.get(k))}

    @property
    def out_dtype(self) -> numpy.dtype:
        return numpy.dtype(getattr(self.out, "array", self.out).dtype)

    @property
    def n_inputs(self) -> int:
        return len(self.a.inputs)

    def x(self, i: int, dtype: Any = None) -> str | None:
        """The name of input ``i`` (a number becomes a constant in ``dtype`` or the output's), cast to ``dtype``."""
        value = self.a.inputs[i]
        if value is None:
            return None
        name = self.e.resolve(value, self.b.inputs[i], self.path)
        if not isinstance(name, str):
            return self.g.const(f"{self.path}.scalar", name, dtype if dtype is not None else self.out_dtype)
        return name if dtype is None else self.g.cast(name, dtype, self.path)

    def value(self, key: str) -> str | None:
        """The name of an array passed as an option (a mask, an index array), or None."""
        a = self.opt(key) if key not in self.differs else self.a.options.get(key)
        if a is None:
            return None
        return self.e.resolve(a, self.b.options.get(key), self.path)

    def shape(self, i: int) -> tuple:
        return tuple(self.a.inputs[i].shape)

    def opt(self, key: str, default: Any = None) -> Any:
        if key in self.differs:
            raise self.fail(f"its option {key}={self.a.options[key]!r} changes with the input (it was "
                            f"{self.b.options[key]!r} for the second one); export without dynamic_axes")
        return self.a.options.get(key, default)

    def node(self, op: str, inputs: list, n_out: int = 1, **attrs: Any) -> Any:
        return self.g.node(op, inputs, self.path, n_out, **attrs)

    def fail(self, why: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"cannot export {self.where} to ONNX: {why}")

    def sizes(self, source: str, reshape: bool = False) -> str:
        """The output's shape as an int64 tensor: sizes that vary between the runs are read from ``source`` (or a
        graph input) with Shape; for a Reshape, one that cannot be found becomes −1."""
        shape_a, shape_b = tuple(self.out.shape), tuple(self.b.output.shape)
        varying = [i for i, (x, y) in enumerate(zip(shape_a, shape_b, strict=True)) if x != y]
        if not varying:
            return self.g.ints(f"{self.path}.shape", shape_a)
        pieces, run = [], []
        for i, size in enumerate(shape_a):
            if i not in varying:
                run.append(size)
                continue
            found = self.e.size_source(size, shape_b[i], [source])
            if found is None and not (reshape and len(varying) == 1):
                raise self.fail(f"its output size {size} along axis {i} varies with the input (it was "
                                f"{shape_b[i]} for the second one) but is no input's size: export without "
                                "dynamic_axes")
            if run:
                pieces.append(self.g.ints(f"{self.path}.shape", run))
                run = []
            if found is None:
                pieces.append(self.g.ints(f"{self.path}.shape", [-1]))
            else:
                name, axis = found
                pieces.append(self.node("Shape", [name], start=axis, end=axis + 1))
        if run:
            pieces.append(self.g.ints(f"{self.path}.shape", run))
        return pieces[0] if len(pieces) == 1 else self.node("Concat", pieces, axis=0)


FunctionConverter = Callable[[Op], Any]
FUNCTIONS: dict[str, FunctionConverter] = {}


def register_function(*class_names: str) -> Callable[[FunctionConverter], FunctionConverter]:
    """Decorator: ``fn(op) -> name`` converts the Functions of these class names when a forward is traced."""

    def decorate(fn: FunctionConverter) -> FunctionConverter:
        for name in class_names:
            FUNCTIONS[name] = fn
        return fn

    return decorate


# ---- element-wise --------------------------------------------------------------------------------------------
def _binary(onnx_op: str) -> FunctionConverter:
    def convert(op: Op) -> str:
        t = op.out_dtype  # NOTE: inputs cast to the output's dtype, as NumPy promotes (ONNX does not)
        return op.node(onnx_op, [op.x(0, t), op.x(1, t)])

    return convert


def _unary(onnx_op: str) -> FunctionConverter:
    return lambda op: op.node(onnx_op, [op.x(0, op.out_dtype)])


for _cls, _onnx_op in {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow", "Maximum": "Max",
                       "Minimum": "Min", "MatMul": "MatMul"}.items():
    register_function(_cls)(_binary(_onnx_op))
for _cls, _onnx_op in {"Neg": "Neg", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Abs": "Abs", "Sin": "Sin",
                       "Cos": "Cos", "ReLUFunction": "Relu", "SigmoidFunction": "Sigmoid", "TanhFunction": "Tanh",
                       "SoftsignFunction": "Softsign", "HardswishFunction": "HardSwish", "_Clone": "Identity",
                       "_ToDevice": "Identity", "DropoutFunction": "Identity"}.items():
    register_function(_cls)(_unary(_onnx_op))


@register_function("Where")
def _where(op: Op) -> str:
    t = op.out_dtype
    return op.node("Where", [op.x(0, bool), op.x(1, t), op.x(2, t)])


@register_function("Clamp")
def _clamp(op: Op) -> str:
    """Clip with scalar bounds; Max/Min with tensor bounds (Clip takes scalars only)."""
    x, t = op.x(0, op.out_dtype), op.out_dtype
    for i, onnx_op in ((1, "Max"), (2, "Min")):
        bound = op.a.inputs[i] if i < op.n_inputs else None
        if bound is not None:
            x = op.node(onnx_op, [x, op.x(i, t)])
    return x


@register_function("_Cast")
def _cast(op: Op) -> str:
    return op.g.cast(op.x(0), op.out_dtype, op.path)


# ---- activations (the layer converters' forms) ---------------------------------------------------------------
def _like(layer_converter: Any, **options: Any) -> FunctionConverter:
    def convert(op: Op) -> str:
        values = {k: op.opt(k, v) for k, v in options.items()}
        op.g.rank = op.out.ndim
        return layer_converter(op.g, SimpleNamespace(**values), op.x(0, op.out_dtype), op.path)

    return convert


register_function("LeakyReLUFunction")(
    lambda op: op.node("LeakyRelu", [op.x(0)], alpha=float(op.opt("negative_slope", 0.01))))
register_function("ELUFunction")(lambda op: op.node("Elu", [op.x(0)], alpha=float(op.opt("alpha", 1.0))))
register_function("CELUFunction")(lambda op: op.node("Celu", [op.x(0)], alpha=float(op.opt("alpha", 1.0))))
register_function("SoftmaxFunction")(lambda op: op.node("Softmax", [op.x(0)], axis=int(op.opt("axis", -1))))
register_function("LogSoftmaxFunction")(lambda op: op.node("LogSoftmax", [op.x(0)], axis=int(op.opt("axis", -1))))
register_function("SiLUFunction")(_like(layers._silu))
register_function("SoftplusFunction")(_like(layers._softplus, beta=1.0, threshold=20.0))
register_function("GELUFunction")(_like(layers._gelu, approximate="none"))
register_function("MishFunction")(_like(layers._mish))
register_function("HardsigmoidFunction")(_like(layers._hardsigmoid))
register_function("LogSigmoidFunction")(_like(layers._log_sigmoid))
register_function("HardtanhFunction")(
    lambda op: layers._clip(op.g, op.x(0), op.path, float(op.opt("min_val", -1.0)), float(op.opt("max_val", 1.0))))


@register_function("PReLUFunction")
def _prelu(op: Op) -> str:
    w = op.a.inputs[1]
    rank = op.out.ndim
    shape = [w.shape[0]] + [1] * max(0, rank - 2) if rank >= 2 and w.shape[0] > 1 else [w.shape[0]]
    return op.node("PRelu", [op.x(0), op.node("Reshape", [op.x(1), op.g.ints(f"{op.path}.shape", shape)])])


# ---- reductions ------------------------------------------------------------------------------------------------
def _reduce(onnx_op: str) -> FunctionConverter:
    return lambda op: op.g.reduce(onnx_op, op.x(0), op.opt("axes"), op.opt("keepdim", False), op.path)


register_function("Sum")(_reduce("ReduceSum"))
register_function("Mean")(_reduce("ReduceMean"))
register_function("LogSumExp")(_reduce("ReduceLogSumExp"))


@register_function("Amax")
def _amax(op: Op) -> str:
    kind = "ReduceMin" if op.opt("minimum", False) else "ReduceMax"
    return op.g.reduce(kind, op.x(0), op.opt("axes"), op.opt("keepdim", False), op.path)


@register_function("MaxAlong")
def _max_along(op: Op) -> str:
    kind = "ReduceMin" if op.opt("minimum", False) else "ReduceMax"
    return op.g.reduce(kind, op.x(0), [int(op.opt("axis", 0))], op.opt("keepdim", False), op.path)


@register_function("Var")
def _var(op: Op) -> str:
    """Σ (x − mean)² / (n − correction) over the axes."""
    x, axes = op.x(0), op.opt("axes")
    shape = op.shape(0)
    reduced = range(len(shape)) if axes is None else [a % len(shape) for a in axes]
    if set(reduced) & op.e.dynamic(x):
        raise op.fail("a variance over a dynamic axis is not exported")
    n = math.prod(shape[a] for a in reduced)
    d = op.node("Sub", [x, op.g.reduce("ReduceMean", x, axes, True, op.path)])
    total = op.g.reduce("ReduceSum", op.node("Mul", [d, d]), axes, op.opt("keepdim", False), op.path)
    divisor = max(n - float(op.opt("correction", 1)), 0.0)
    return op.node("Div", [total, op.g.const(f"{op.path}.n", divisor, op.out_dtype)])


# ---- shape ------------------------------------------------------------------------------------------------------
@register_function("Reshape")
def _reshape(op: Op) -> str:
    x = op.x(0)
    return op.node("Reshape", [x, op.sizes(x, reshape=True)])


@register_function("Expand")
def _expand(op: Op) -> str:
    x = op.x(0)
    return op.node("Expand", [x, op.sizes(x)])


@register_function("Permute")
def _permute(op: Op) -> str:
    return op.node("Transpose", [op.x(0)], perm=[int(d) for d in op.opt("dims")])


@register_function("Cat")
def _cat(op: Op) -> str:
    axis = int(op.opt("axis", 0)) % op.out.ndim
    return op.node("Concat", [op.x(i, op.out_dtype) for i in range(op.n_inputs)], axis=axis)


@register_function("Stack")
def _stack(op: Op) -> str:
    axis = int(op.opt("axis", 0)) % op.out.ndim
    axes = op.g.ints(f"{op.path}.axes", [axis])
    parts = [op.node("Unsqueeze", [op.x(i, op.out_dtype), axes]) for i in range(op.n_inputs)]
    return op.node("Concat", parts, axis=axis)


@register_function("Flip")
def _flip(op: Op) -> str:
    axes = [int(a) % op.out.ndim for a in op.opt("axes")]
    ints = op.g.ints
    return op.node("Slice", [op.x(0), ints(f"{op.path}.starts", [-1] * len(axes)),
                             ints(f"{op.path}.ends", [-INT64_MAX] * len(axes)), ints(f"{op.path}.axes", axes),
                             ints(f"{op.path}.steps", [-1] * len(axes))])


@register_function("Tile")
def _tile(op: Op) -> str:
    x, reps, rank = op.x(0), [int(r) for r in op.opt("reps")], len(op.shape(0))
    if len(reps) > rank:
        x = op.node("Unsqueeze", [x, op.g.ints(f"{op.path}.axes", range(len(reps) - rank))])
    reps = [1] * (rank - len(reps)) + reps
    return op.node("Tile", [x, op.g.ints(f"{op.path}.reps", reps)])


@register_function("Pad")
def _pad(op: Op) -> str:
    widths = op.opt("pad_width")
    pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
    value = op.g.const(f"{op.path}.value", float(op.opt("value", 0.0)), op.out_dtype)
    return op.node("Pad", [op.x(0), op.g.ints(f"{op.path}.pads", pads), value], mode="constant")


@register_function("Index")
def _index(op: Op) -> str:
    """x[index] for ints, slices, None, ... and at most one integer array: Slice, then Squeeze (ints), Gather
    (the array), Unsqueeze (None)."""
    index = op.opt("index") if "index" not in op.differs else op.a.options["index"]
    items = list(index) if isinstance(index, tuple) else [index]
    rank = len(op.shape(0))
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise op.fail("an index with more than one Ellipsis")
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in [i for i in items if not _is_array(i)]:
        at = next(k for k, i in enumerate(items) if i is Ellipsis)
        items[at : at + 1] = [slice(None)] * (rank - used)
    starts, ends, axes, steps, squeeze, unsqueeze, arrays = [], [], [], [], [], [], []
    axis = out_axis = 0
    for position, item in enumerate(items):
        if item is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(item, bool) or _is_array(item) and getattr(item, "dtype", None) == bool:
            raise op.fail("a boolean mask index (its result's size depends on the values)")
        if _is_array(item) or isinstance(item, list):
            arrays.append((axis, position, item))
            axis += 1
            out_axis += 1
            continue
        if isinstance(item, int | numpy.integer):
            i = int(item)
            starts.append(i)
            ends.append(i + 1 if i != -1 else INT64_MAX)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        elif isinstance(item, slice):
            if item != slice(None):
                step = 1 if item.step is None else int(item.step)
                lo = item.start if item.start is not None else (0 if step > 0 else INT64_MAX)
                hi = item.stop if item.stop is not None else (INT64_MAX if step > 0 else -INT64_MAX)
                starts.append(int(lo))
                ends.append(int(hi))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:
            raise op.fail(f"an index item of type {type(item).__name__}")
        axis += 1
    if len(arrays) > 1 or arrays and squeeze:
        raise op.fail("an index with more than one integer array, or one beside an int (advanced indexing)")
    if "index" in op.differs and not arrays:
        raise op.fail(f"its index {index!r} changes with the input (it was {op.b.options['index']!r} for the "
                      "second one)")
    x, ints = op.x(0), op.g.ints
    if axes:
        x = op.node("Slice", [x, ints(f"{op.path}.starts", starts), ints(f"{op.path}.ends", ends),
                              ints(f"{op.path}.axes", axes), ints(f"{op.path}.steps", steps)])
    if arrays:
        at, position, item = arrays[0]
        b_item = (list(op.b.options["index"]) if isinstance(op.b.options["index"], tuple)
                  else [op.b.options["index"]])
        b_item = b_item[position] if len(b_item) > position else item
        name = op.e.resolve(numpy.asarray(item) if isinstance(item, list) else item,
                            numpy.asarray(b_item) if isinstance(b_item, list) else b_item, op.path)
        if (numpy.ndim(item) if isinstance(item, list) else item.ndim) != 1:
            raise op.fail("an integer-array index with other than one dimension")
        x = op.node("Gather", [x, op.g.cast(name, numpy.int64, op.path)], axis=at)
    if squeeze:
        x = op.node("Squeeze", [x, ints(f"{op.path}.axes", squeeze)])
    if unsqueeze:
        x = op.node("Unsqueeze", [x, ints(f"{op.path}.axes", unsqueeze)])
    return x


# ---- comparisons and integer arithmetic (unrecorded by autograd; the tracer sees them as tensor.Compare) ---------
_COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual"}
_LOGICAL = {"and_": ("And", "BitwiseAnd"), "or_": ("Or", "BitwiseOr"), "xor": ("Xor", "BitwiseXor")}


@register_function("Compare")
def _compare(op: Op) -> str:
    """==, !=, <, <=, >, >=, &, |, ^, ~ (bool: logical ops, integers: bitwise ops), // and % (Python's floor
    semantics: a − ⌊a / b⌋·b)."""
    name = op.a.options["op"].__name__
    if name == "invert":
        x = op.x(0)
        return op.node("Not" if op.out_dtype == bool else "BitwiseNot", [x])
    kinds = [numpy.dtype(getattr(v, "array", v).dtype) for v in op.a.inputs if hasattr(getattr(v, "array", v), "dtype")]
    common = numpy.result_type(*kinds) if len(kinds) == 2 else (kinds[0] if kinds else op.out_dtype)
    if op.out_dtype.kind == "f" and common.kind != "f":
        common = op.out_dtype
    a, b = op.x(0, common), op.x(1, common)
    if name in _COMPARE:
        return op.node(_COMPARE[name], [a, b])
    if name == "ne":
        return op.node("Not", [op.node("Equal", [a, b])])
    if name in _LOGICAL:
        return op.node(_LOGICAL[name][0 if common == bool else 1], [a, b])
    if name in ("floordiv", "mod") and common.kind == "f":
        floor = op.node("Floor", [op.node("Div", [a, b])])
        return floor if name == "floordiv" else op.node("Sub", [a, op.node("Mul", [floor, b])])
    if name == "mod":
        return op.node("Mod", [a, b], fmod=0)  # NOTE: integer Mod with fmod=0 takes the divisor's sign, as Python
    raise op.fail(f"the operator {name} on {common} tensors (ONNX's integer Div truncates, Python's // floors)")


# ---- tensors made from Python numbers (creation.py's zeros/ones/full/arange; the tracer sees them as Creation) -----
@register_function("Creation")
def _creation(op: Op) -> str:
    """A constant, unless a size follows a dynamic axis: then Expand(value, shape) or Range(start, end, step) with
    the varying numbers read from an input's Shape."""
    if not op.differs and tuple(op.out.shape) == tuple(op.b.output.shape):
        return op.g.const(f"{op.path}.const", host(op.out), op.out_dtype)
    options, dtype = op.a.options, op.out_dtype
    if options["kind"] == "full":
        value = op.g.const(f"{op.path}.value", options["value"], dtype)
        return op.node("Expand", [value, op.sizes(None)])
    scalars = []
    for key in ("start", "end", "step"):
        a, b = options[key], op.b.options[key]
        if a == b:
            scalars.append(op.g.const(f"{op.path}.{key}", a, dtype))
            continue
        found = op.e.size_source(a, b, [])
        if found is None:
            raise op.fail(f"arange's {key}={a} varies with the input ({b} for the second one) but is no input's size")
        size = op.node("Squeeze", [op.node("Shape", [found[0]], start=found[1], end=found[1] + 1)])
        scalars.append(op.g.cast(size, dtype, op.path))
    return op.node("Range", scalars)
