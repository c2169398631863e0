"""The graph being built (nodes, initializers, fresh names), the converter registry and the exporter's errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy  # host-side: weights are copied into the ONNX file (no math here)

__all__ = ["UnsupportedLayerError", "register_converter", "CONVERTERS", "supported_layers", "Graph"]

INT64_MAX = 2**63 - 1


class UnsupportedLayerError(RuntimeError):
    """A layer, an op or an option that the ONNX exporter cannot express; the message names it and where it is."""


def onnx_module() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install onnx (or shenjing[onnx])") from None
    return onnx


def host(value: Any) -> Any:
    """A Tensor, CuPy or NumPy array, or number → something numpy.asarray takes (CuPy arrays copied to the host)."""
    array = getattr(value, "array", value)
    return array.get() if hasattr(array, "get") else array


class Graph:
    """The nodes, initializers and fresh names of the graph being built.

    Converters also read what the exporter knows about the value they convert: ``tensor`` (the example's value
    there), ``shape``, ``rank``, ``dynamic`` (its axes that vary with the input's dynamic axes), ``args`` and
    ``kwargs`` (the ONNX names of the module call's tensor arguments, None where not a tensor), and the export's
    ``quant_format`` ("QOperator" or "QDQ").
    """

    def __init__(self, onnx: Any, dtype: numpy.dtype, opset: int, quant_format: str = "QOperator") -> None:
        self.onnx, self.helper, self.dtype, self.opset = onnx, onnx.helper, dtype, opset
        self.quant_format = quant_format
        self.nodes: list = []
        self.initializers: list = []
        self.dtypes: dict[str, numpy.dtype] = {}  # name → element type, where known
        self.shapes: dict[str, tuple] = {}  # name → (its shape in the example's run, in the second run)
        self._count: dict[str, int] = {}
        self._by_id: dict[int, str] = {}  # id of a parameter → its initializer (stored once)
        self.tensor: Any = None
        self.shape: list = []
        self.rank = 0
        self.dynamic: set = set()
        self.args: list = []
        self.kwargs: dict = {}

    def name(self, hint: str) -> str:
        n = self._count.get(hint, 0)
        self._count[hint] = n + 1
        return hint if n == 0 else f"{hint}_{n}"

    def const(self, hint: str, value: Any, dtype: Any = None) -> str:
        """An initializer holding ``value`` (a Tensor, array or number), in the graph's dtype unless ``dtype``."""
        array = numpy.asarray(host(value), dtype=dtype if dtype is not None else self.dtype)
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        self.dtypes[name] = array.dtype
        return name

    def param(self, hint: str, tensor: Any) -> str:
        """The initializer of a parameter or buffer, in its own dtype, stored once however often it is used."""
        key = id(tensor)
        if key not in self._by_id:
            array = numpy.asarray(host(tensor))
            self._by_id[key] = self.const(hint, array, array.dtype)
        return self._by_id[key]

    def ints(self, hint: str, values: Any) -> str:
        return self.const(hint, list(values), numpy.int64)

    def node(self, op: str, inputs: list, hint: str, n_out: int = 1, **attrs: Any) -> Any:
        outputs = [self.name(f"{hint}/{op}" + ("" if n_out == 1 else f"_{i}")) for i in range(n_out)]
        inputs = ["" if i is None else i for i in inputs]
        self.nodes.append(self.helper.make_node(op, inputs, outputs, name=self.name(f"{hint}/{op}_node"), **attrs))
        return outputs[0] if n_out == 1 else outputs

    def cast(self, x: str, dtype: Any, hint: str) -> str:
        """``x`` as ``dtype`` (a Cast node only where its dtype is known to differ)."""
        dtype = numpy.dtype(dtype)
        if self.dtypes.get(x) == dtype:
            return x
        out = self.node("Cast", [x], hint, to=self.helper.np_dtype_to_tensor_dtype(dtype))
        self.dtypes[out] = dtype
        return out

    def reduce(self, op: str, x: str, axes: Any, keepdims: bool, hint: str) -> str:
        """Reduce{Sum,Mean,Max,…} over ``axes`` (None: all): ReduceSum takes axes as an input from opset 13, the
        others from opset 18 (an attribute before)."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.node(op, [x], hint, keepdims=keep)
        axes = [int(a) for a in (axes if isinstance(axes, tuple | list) else (axes,))]
        if op == "ReduceSum" or self.opset >= 18:
            return self.node(op, [x, self.ints(f"{hint}.axes", axes)], hint, keepdims=keep)
        return self.node(op, [x], hint, axes=axes, keepdims=keep)


Converter = Callable[[Graph, Any, str, str], Any]  # (graph, layer, input name, layer path) → output name(s)
CONVERTERS: dict[str, Converter] = {}


def register_converter(*class_names: str) -> Callable[[Converter], Converter]:
    """Decorator: ``fn(graph, layer, x, path) -> output name`` converts layers of these class names.

    A layer whose forward returns several tensors returns their names in the same structure (e.g. an LSTM's
    ``(y, (h_n, c_n))``); further tensor arguments of the call are in ``graph.args`` / ``graph.kwargs``.
    """

    def decorate(fn: Converter) -> Converter:
        for name in class_names:
            CONVERTERS[name] = fn
        return fn

    return decorate


def converter_for(layer: Any) -> Converter | None:
    """The converter of ``layer``'s class, or of a parent class whose forward it keeps (a subclass that changes
    forward is traced instead)."""
    for cls in type(layer).__mro__:
        converter = CONVERTERS.get(cls.__name__)
        if converter is not None and (cls is type(layer) or type(layer).forward is cls.forward):
            if "forward" in getattr(layer, "__dict__", {}):
                return None
            return converter
    return None


def supported_layers() -> list[str]:
    """Layers with a converter of their own; any other module is traced through its forward (see trace.py)."""
    return sorted(CONVERTERS) + ["Sequential"]


def unsupported(layer: Any, path: str, why: str) -> UnsupportedLayerError:
    return UnsupportedLayerError(f"cannot export {path} ({type(layer).__name__}) to ONNX: {why}")
