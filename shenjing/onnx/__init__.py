"""ONNX export: a shenjing model as an ONNX graph (opset 17) that onnxruntime and other runtimes can run.

    import shenjing
    model = shenjing.load("runs/mnist_cnn/model.safetensors")
    shenjing.onnx.export(model, shenjing.zeros(1, 1, 28, 28), "mnist_cnn.onnx",
                         input_names=["image"], output_names=["logits"], dynamic_axes={"image": {0: "batch"}})

Like ``torch.onnx.export(model, args, f, ...)``, with the same argument names and order, and like its tracer: the
model runs on the example input, and what it does becomes the graph (built with the ``onnx`` package's helpers):

* a layer with a converter (``CONVERTERS``, keyed by class name; add your own with :func:`register_converter`) is
  emitted whole by it: Linear, activations, Conv/ConvTranspose, pooling, BatchNorm/LayerNorm, Dropout, Flatten,
  RNN/LSTM/GRU (ONNX's RNN, LSTM and GRU ops: bidirectional, stacked, batch_first, initial states), Embedding
  (Gather), MultiheadAttention (its masks may be graph inputs), the int8 layers of ``shenjing.quantize``;
* any other module — ``Sequential``, ``TransformerEncoderLayer``/``TransformerEncoder``, ``RMSNorm``, a custom
  ``Module`` with its own ``forward`` (the ViT and GPT of examples/) — is traced: each autograd Function its
  forward applies (matmul, +, reshape, permute, indexing, cat/stack, reductions, softmax, comparisons, the fused
  linear, layer-norm, attention and recurrence Functions, so RNN/LSTM/GRU cells stepped in a loop too) maps to
  ONNX nodes (functions.py, fused.py; add one with ``register_function``); parameters and buffers become
  initializers, stored once (tied weights included).

The model is exported in eval mode (Dropout is the identity, BatchNorm uses its running statistics), its state is
restored afterwards. An op without a mapping, a layer option ONNX cannot express, or a value computed from the
input outside the traced ops raises :class:`UnsupportedLayerError` (a RuntimeError) naming the op and the module
path. Quantized layers export as integer ops (``quant_format="QOperator"``, the default) or as Quantize/
DequantizeLinear pairs around float MatMul/Conv (``quant_format="QDQ"``, per-channel weight scales).

The example input(s) fix the inputs' shapes and dtypes (float32 or float64; integer token ids or bool masks for
a model with an Embedding or beside a float input); several inputs are given as a tuple (nested tuples, as an
LSTM's ``(x, (h_0, c_0))``, are flattened into graph inputs). ``dynamic_axes`` names axes that may vary
({"input": {0: "batch"}} or {"input": [0]}), as PyTorch; the model is traced a second time with those axes one
longer to find which sizes follow them (see trace.py). Every exported file is checked with ``onnx.checker`` (full
check, shape inference included) before ``export`` returns; tests run each file in onnxruntime and compare with
the model's own output (within 1e-5).

Not exported (each a clear error): LSTM proj_size, packed sequences, MultiheadAttention's add_bias_kv and
add_zero_attn, a causal mask over a dynamic sequence axis, values computed by array code outside autograd
(``Tensor._wrap(xp.…)``, argmax indices), control flow that depends on the input's values.
NOTE: onnxruntime runs its RNN/LSTM/GRU ops in float32 only (the float64 file is valid ONNX).

Needs the optional ``onnx`` package (``pip install shenjing[onnx]``); importing shenjing does not import it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy  # host-side: example inputs (no math here)

from . import attention, fused, layers, quantized, sequence  # noqa: F401 - they register their converters
from ._graph import CONVERTERS, Graph, UnsupportedLayerError, host, register_converter, supported_layers
from ._graph import onnx_module as _onnx
from .functions import FUNCTIONS, register_function
from .trace import Emitter, align, record, second_input

__all__ = ["export", "UnsupportedLayerError", "register_converter", "CONVERTERS", "supported_layers", "to_model",
           "register_function", "FUNCTIONS", "supported_ops"]

DEFAULT_OPSET = 17
QUANT_FORMATS = ("QOperator", "QDQ")


def supported_ops() -> list[str]:
    """The autograd Function classes a traced forward may call."""
    return sorted(FUNCTIONS)


# ---- export ---------------------------------------------------------------------------------------------------
def _dims(shape: tuple, axes: Any, name: str) -> tuple[list, set]:
    if axes is None:
        return list(shape), set()
    named = dict(axes) if isinstance(axes, dict) else {int(a): f"{name}_dim{int(a)}" for a in axes}
    dims: list = list(shape)
    dynamic = set()
    for axis, label in named.items():
        a = int(axis)
        if not -len(shape) <= a < len(shape):
            raise ValueError(f"dynamic_axes[{name!r}]: axis {a} is out of range for an input of shape {tuple(shape)}")
        dims[a % len(shape)] = str(label)
        dynamic.add(a % len(shape))
    return dims, dynamic


def _examples(args: Any, model: Any) -> list:
    """The example's tensors (the graph inputs), in order: nested tuples, as (x, (h_0, c_0)), are flattened."""
    from ..creation import tensor

    items = _flatten(list(args) if isinstance(args, tuple | list) else [args])
    # NOTE: integer (or bool) inputs are token ids or masks: for a model with an Embedding, or beside a float input
    indexed = any("Embedding" in type(m).__name__ for m in model.modules()) or any(
        numpy.asarray(host(t)).dtype.kind == "f" for t in items)
    out = []
    for item in items:
        t = item if hasattr(item, "array") else tensor(numpy.asarray(item))
        if any(t is seen for seen in out):  # one tensor given twice (q, k, v = x, x, x): two graph inputs
            t = tensor(numpy.array(host(t)), device=t.device)
        kind = t.array.dtype
        if kind.kind == "f" and kind not in (numpy.float32, numpy.float64) or kind.kind not in "fiub" or \
                kind.kind in "iub" and not indexed:
            raise TypeError(f"the example input must be float32 or float64 (or integer indices for an Embedding), "
                            f"got {kind}")
        out.append(t)
    return out


def _call_args(args: Any, leaves: list) -> tuple:
    """``args`` as the model's positional arguments, with its tensors replaced by ``leaves`` in order."""
    items = iter(leaves)

    def rebuild(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return type(value)(rebuild(v) for v in value)
        return None if value is None else next(items)

    return tuple(rebuild(list(args) if isinstance(args, tuple | list) else [args]))


def _flatten(out: Any) -> list:
    if isinstance(out, tuple | list):
        return [t for item in out for t in _flatten(item)]
    return [] if out is None else [out]


def _graph_dtype(examples: list, model: Any) -> numpy.dtype:
    for t in examples:
        if t.array.dtype.kind == "f":
            return numpy.dtype(t.array.dtype)
    for _, p in model.named_parameters():
        if p.array.dtype.kind == "f":
            return numpy.dtype(p.array.dtype)
    return numpy.dtype(numpy.float32)


def to_model(
    model: Any,
    args: Any,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    opset_version: int | None = None,
    dynamic_axes: dict | None = None,
    check: bool = True,
    quant_format: str = "QOperator",
) -> Any:
    """The ``onnx.ModelProto`` of ``model`` for inputs like ``args`` (see :func:`export`), checked."""
    onnx = _onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < 17:
        raise ValueError(f"opset_version={opset}: this exporter writes opset 17 or later (LayerNormalization)")
    if quant_format not in QUANT_FORMATS:
        raise ValueError(f"quant_format={quant_format!r}: expected one of {QUANT_FORMATS}")
    examples = _examples(args, model)
    input_names = list(input_names or (["input"] + [f"input_{i}" for i in range(1, len(examples))]))
    if len(input_names) != len(examples):
        raise ValueError(f"{len(examples)} example inputs but {len(input_names)} input names: {input_names}")
    dynamic_axes = dict(dynamic_axes or {})
    in_dims, dynamic = [], []
    for name, t in zip(input_names, examples, strict=True):
        dims, axes = _dims(tuple(t.shape), dynamic_axes.get(name), name)
        in_dims.append(dims)
        dynamic.append(axes)

    calls_a, out_a = record(model, _call_args(args, examples))
    from ..creation import tensor

    examples_b = [tensor(second_input(host(t), axes), device=t.device)
                  for t, axes in zip(examples, dynamic, strict=True)]
    calls_b, out_b = record(model, _call_args(args, examples_b))
    align(calls_a, calls_b)
    outs_a, outs_b = _flatten(out_a), _flatten(out_b)
    output_names = list(output_names or (["output"] + [f"output_{i}" for i in range(1, len(outs_a))]))
    if len(output_names) != len(outs_a):
        raise ValueError(f"the model returns {len(outs_a)} tensors but {len(output_names)} output names were given: "
                         f"{output_names}")
    unknown = set(dynamic_axes) - set(input_names) - set(output_names)
    if unknown:
        raise ValueError(f"dynamic_axes names {sorted(unknown)}, not among inputs {input_names} / outputs "
                         f"{output_names}")

    g = Graph(onnx, _graph_dtype(examples, model), opset, quant_format)
    e = Emitter(g, model)
    for name, ta, tb in zip(input_names, examples, examples_b, strict=True):
        e.bind(ta, tb, name)
        e.inputs[name] = numpy.dtype(ta.array.dtype)
    for a, b in zip(calls_a, calls_b, strict=True):
        e.emit(a, b)
    inputs, outputs = [], []
    for name, dims, t in zip(input_names, in_dims, examples, strict=True):
        elem = onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(t.array.dtype))
        inputs.append(onnx.helper.make_tensor_value_info(name, elem, dims))
    labels = {}  # (size in run A, size in run B) → the label of an input axis that has them
    for name, dims in zip(input_names, in_dims, strict=True):
        a, b = e.shapes[name]
        for axis, label in enumerate(dims):
            if isinstance(label, str):
                labels.setdefault((a[axis], b[axis]), label)
    for k, (name, ta, tb) in enumerate(zip(output_names, outs_a, outs_b, strict=True)):
        source = e.lookup(ta)
        if source is None:
            raise UnsupportedLayerError(f"cannot export the model: its output {k} (shape {tuple(ta.shape)}) is not "
                                        "computed by traced ops (array code outside autograd Functions?)")
        g.nodes.append(onnx.helper.make_node("Identity", [source], [name], name=f"output_{k}"))
        dims, _ = _dims(tuple(ta.shape), dynamic_axes.get(name), name)
        for axis, (x, y) in enumerate(zip(ta.shape, tb.shape, strict=True)):
            if x != y and not isinstance(dims[axis], str):
                dims[axis] = labels.get((x, y), f"{name}_dim{axis}")
        elem = onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(getattr(ta, "array", ta).dtype))
        outputs.append(onnx.helper.make_tensor_value_info(name, elem, dims))
    used = {i for node in g.nodes for i in node.input}
    for name in input_names:
        if name not in used:
            raise UnsupportedLayerError(
                f"cannot export the model: its input {name!r} does not reach any traced op (its values were used by "
                "array code outside autograd Functions, e.g. a mask turned into an array, or not at all)")
    proto = onnx.helper.make_graph(g.nodes, type(model).__name__, inputs, outputs, g.initializers)
    from .. import __version__

    result = onnx.helper.make_model(
        proto, opset_imports=[onnx.helper.make_opsetid("", opset)], producer_name="shenjing",
        producer_version=__version__,
    )
    result.ir_version = min(result.ir_version, 9)  # readable by onnxruntime ≥ 1.16
    if check:
        onnx.checker.check_model(result, full_check=True)
    return result


def export(
    model: Any,
    args: Any,
    f: str | os.PathLike,
    export_params: bool = True,
    verbose: bool = False,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    opset_version: int | None = None,
    dynamic_axes: dict | None = None,
    quant_format: str = "QOperator",
) -> None:
    """Write ``model`` as an ONNX file ``f`` (opset 17 by default), as ``torch.onnx.export``.

    Args:
        model: any module: layers with a converter are emitted whole, other modules traced through forward.
        args: an example input (a Tensor or array), or a tuple of them for a model with several inputs: fixes
            their shapes and dtypes.
        f: the output path.
        input_names, output_names: one name per input and per output tensor (default "input", "input_1", …
            and "output", "output_1", …; a model returning (y, (h, c)) has three outputs).
        opset_version: 17 (default) or later.
        dynamic_axes: {name: {axis: label}} or {name: [axis, …]}: axes whose size may vary, e.g. the batch.
        quant_format: how int8 layers are written: "QOperator" (MatMulInteger/ConvInteger) or "QDQ"
            (QuantizeLinear/DequantizeLinear around float MatMul/Conv).

    Raises:
        UnsupportedLayerError: a layer or op that ONNX cannot express (the message names it and its module).
        onnx.checker.ValidationError: never expected; the model is checked before it is written.
    """
    if not export_params:
        raise ValueError("export_params=False is not supported: the weights are always stored in the file")
    proto = to_model(model, args, input_names, output_names, opset_version, dynamic_axes, quant_format=quant_format)
    from ..io import atomic_write_bytes

    atomic_write_bytes(f, proto.SerializeToString())
    if verbose:
        print(_onnx().helper.printable_graph(proto.graph))
