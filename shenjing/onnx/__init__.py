"""ONNX export: a shenjing model as an ONNX graph (opset 17) that onnxruntime and other runtimes can run.

    import shenjing
    model = shenjing.load("runs/mnist_cnn/model.safetensors")
    shenjing.onnx.export(model, shenjing.zeros(1, 1, 28, 28), "mnist_cnn.onnx",
                         input_names=["image"], output_names=["logits"], dynamic_axes={"image": {0: "batch"}})

Like ``torch.onnx.export(model, args, f, ...)``, with the same argument names and order. The graph is built with
the ``onnx`` package's helpers (``onnx.helper.make_node`` …) layer by layer: containers (``Sequential``) are walked,
and every other layer needs a converter (``CONVERTERS``, keyed by class name; add your own with
:func:`register_converter`). The model is exported in eval mode (Dropout is the identity, BatchNorm uses its running
statistics), its state is restored afterwards. A layer without a converter, or with options ONNX cannot express,
raises :class:`UnsupportedLayerError` (a RuntimeError) naming the layer's path and class.

The example input fixes the input's shape and dtype (float32 or float64); ``dynamic_axes`` names axes that may vary
({"input": {0: "batch"}} or {"input": [0]}), as PyTorch. Every exported file is checked with ``onnx.checker``
(full check, shape inference included) before ``export`` returns; tests run each file in onnxruntime and compare with
the model's own output (within 1e-5).

Needs the optional ``onnx`` package (``pip install shenjing[onnx]``); importing shenjing does not import it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy  # host-side: weights are copied into the ONNX file (no math here)

__all__ = ["export", "UnsupportedLayerError", "register_converter", "CONVERTERS", "supported_layers", "to_model"]

DEFAULT_OPSET = 17


class UnsupportedLayerError(RuntimeError):
    """A layer (or a layer option) that the ONNX exporter cannot express; the message names the layer."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install onnx (or shenjing[onnx])") from None
    return onnx


def _host(value: Any) -> Any:
    """A Tensor, CuPy or NumPy array, or number → something numpy.asarray takes (CuPy arrays copied to the host)."""
    array = getattr(value, "array", value)
    return array.get() if hasattr(array, "get") else array


class _Graph:
    """The nodes, initializers and fresh names of the graph being built."""

    def __init__(self, onnx: Any, dtype: numpy.dtype, opset: int) -> None:
        self.onnx, self.helper, self.dtype, self.opset = onnx, onnx.helper, dtype, opset
        self.nodes: list = []
        self.initializers: list = []
        self._count: dict[str, int] = {}

    def name(self, hint: str) -> str:
        n = self._count.get(hint, 0)
        self._count[hint] = n + 1
        return hint if n == 0 else f"{hint}_{n}"

    def const(self, hint: str, value: Any, dtype: Any = None) -> str:
        """An initializer holding ``value`` (a Tensor, array or number), in the graph's dtype unless ``dtype``."""
        array = numpy.asarray(_host(value), dtype=dtype if dtype is not None else self.dtype)
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list, hint: str, n_out: int = 1, **attrs: Any) -> Any:
        outputs = [self.name(f"{hint}/{op}" + ("" if n_out == 1 else f"_{i}")) for i in range(n_out)]
        self.nodes.append(self.helper.make_node(op, inputs, outputs, name=self.name(f"{hint}/{op}_node"), **attrs))
        return outputs[0] if n_out == 1 else outputs

    def start(self, example: Any) -> None:
        from ..creation import tensor

        self.tensor = example if hasattr(example, "array") else tensor(example)
        self.shape, self.rank = list(self.tensor.shape), self.tensor.ndim

    def advance(self, layer: Any) -> None:
        """Run ``layer`` on the current value so that the next converter knows its input's shape."""
        self.tensor = _call(layer, self.tensor)
        self.shape, self.rank = list(self.tensor.shape), self.tensor.ndim


Converter = Callable[[_Graph, Any, str, str], str]  # (graph, layer, input name, layer path) → output name
CONVERTERS: dict[str, Converter] = {}


def register_converter(*class_names: str) -> Callable[[Converter], Converter]:
    """Decorator: ``fn(graph, layer, x, path) -> output name`` converts layers of these class names."""

    def decorate(fn: Converter) -> Converter:
        for name in class_names:
            CONVERTERS[name] = fn
        return fn

    return decorate


def supported_layers() -> list[str]:
    return sorted(CONVERTERS) + ["Sequential"]


def _unsupported(layer: Any, path: str, why: str | None = None) -> UnsupportedLayerError:
    kind = type(layer).__name__
    if why is None:
        why = (
            f"no ONNX converter for {kind} (a layer with its own forward cannot be traced); supported layers: "
            + ", ".join(supported_layers())
            + "; add one with shenjing.onnx.register_converter"
        )
    return UnsupportedLayerError(f"cannot export {path} ({kind}) to ONNX: {why}")


def _emit(graph: _Graph, layer: Any, x: str, path: str) -> str:
    kind = type(layer).__name__
    if kind == "Sequential":
        for name, child in layer.named_children():
            x = _emit(graph, child, x, f"{path}.{name}")
        return x
    for cls in type(layer).__mro__:
        converter = CONVERTERS.get(cls.__name__)
        if converter is not None and (cls is type(layer) or type(layer).forward is cls.forward):
            out = converter(graph, layer, x, path)
            graph.advance(layer)
            return out
    raise _unsupported(layer, path)


# ---- converters: linear, shape ------------------------------------------------------------------------------------
@register_converter("Linear")
def _linear(g: _Graph, m: Any, x: str, path: str) -> str:
    """y = x Wᵀ + b as MatMul(x, Wᵀ) + b: works for any (…, in) input (Gemm wants 2-D)."""
    w_t = g.const(f"{path}.weight_t", numpy.asarray(_host(m.weight)).T)
    y = g.node("MatMul", [x, w_t], path)
    return y if m.bias is None else g.node("Add", [y, g.const(f"{path}.bias", m.bias)], path)


@register_converter("Identity", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")
def _identity(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("Identity", [x], path)


@register_converter("Flatten")
def _flatten(g: _Graph, m: Any, x: str, path: str) -> str:
    rank = g.rank
    start, end = m.start_dim % rank, m.end_dim % rank
    if start == 1 and end == rank - 1:
        return g.node("Flatten", [x], path, axis=1)
    if any(i in g.dynamic for i in range(end + 1, rank)):
        raise _unsupported(m, path, "end_dim before the last axis with a dynamic axis after it")
    shape = [0] * start + [-1] + [g.shape[i] for i in range(end + 1, rank)]  # Reshape: 0 copies that axis
    return g.node("Reshape", [x, g.const(f"{path}.shape", shape, numpy.int64)], path)


# ---- activations --------------------------------------------------------------------------------------------------
_SIMPLE = {"ReLU": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Softsign": "Softsign", "SELU": "Selu"}


def _simple(op: str) -> Converter:
    return lambda g, m, x, path: g.node(op, [x], path)


for _kind, _op in _SIMPLE.items():
    register_converter(_kind)(_simple(_op))


@register_converter("LeakyReLU")
def _leaky(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("LeakyRelu", [x], path, alpha=float(m.negative_slope))


@register_converter("ELU")
def _elu(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("Elu", [x], path, alpha=float(m.alpha))


@register_converter("CELU")
def _celu(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("Celu", [x], path, alpha=float(m.alpha))


def _axis(m: Any, path: str, dim: Any, rank: int) -> int:
    if dim is None:  # PyTorch's legacy implicit dim: 0 for 0-, 1- and 3-D input, else 1
        dim = 0 if rank in (0, 1, 3) else 1
    return int(dim) % rank


@register_converter("Softmax")
def _softmax(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("Softmax", [x], path, axis=_axis(m, path, m.dim, g.rank))


@register_converter("LogSoftmax")
def _log_softmax(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("LogSoftmax", [x], path, axis=_axis(m, path, m.dim, g.rank))


@register_converter("SiLU")
def _silu(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("Mul", [x, g.node("Sigmoid", [x], path)], path)


@register_converter("Softplus")
def _softplus(g: _Graph, m: Any, x: str, path: str) -> str:
    """(1/β) log(1 + e^(βz)), and z itself where βz > threshold (as PyTorch)."""
    beta = float(m.beta)
    bx = x if beta == 1 else g.node("Mul", [x, g.const(f"{path}.beta", beta)], path)
    soft = g.node("Softplus", [bx], path)
    if beta != 1:
        soft = g.node("Div", [soft, g.const(f"{path}.beta", beta)], path)
    above = g.node("Greater", [bx, g.const(f"{path}.threshold", float(m.threshold))], path)
    return g.node("Where", [above, x, soft], path)


@register_converter("Mish")
def _mish(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x], path)], path)], path)


@register_converter("GELU")
def _gelu(g: _Graph, m: Any, x: str, path: str) -> str:
    """½z(1 + erf(z/√2)), or ½z(1 + tanh(√(2/π)(z + 0.044715z³))) for approximate='tanh' (no Gelu op in opset 17)."""
    half = g.node("Mul", [x, g.const(f"{path}.half", 0.5)], path)
    if m.approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x], path), x], path)
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(f"{path}.c", 0.044715)], path)], path)
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(f"{path}.k", math.sqrt(2 / math.pi))], path)], path)
    else:
        t = g.node("Erf", [g.node("Mul", [x, g.const(f"{path}.k", 1 / math.sqrt(2))], path)], path)
    return g.node("Mul", [half, g.node("Add", [t, g.const(f"{path}.one", 1.0)], path)], path)


def _clip(g: _Graph, x: str, path: str, low: float, high: float) -> str:
    return g.node("Clip", [x, g.const(f"{path}.min", low), g.const(f"{path}.max", high)], path)


@register_converter("Hardtanh")
def _hardtanh(g: _Graph, m: Any, x: str, path: str) -> str:
    return _clip(g, x, path, float(m.min_val), float(m.max_val))


@register_converter("ReLU6")
def _relu6(g: _Graph, m: Any, x: str, path: str) -> str:
    return _clip(g, x, path, 0.0, 6.0)


@register_converter("Hardsigmoid")
def _hardsigmoid(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("HardSigmoid", [x], path, alpha=1 / 6, beta=0.5)


@register_converter("Hardswish")
def _hardswish(g: _Graph, m: Any, x: str, path: str) -> str:
    return g.node("HardSwish", [x], path)


@register_converter("LogSigmoid")
def _log_sigmoid(g: _Graph, m: Any, x: str, path: str) -> str:
    """log σ(z) = −softplus(−z)."""
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [x], path)], path)], path)


@register_converter("PReLU")
def _prelu(g: _Graph, m: Any, x: str, path: str) -> str:
    w = m.weight.array
    shape = [w.shape[0]] + [1] * max(0, g.rank - 2) if g.rank >= 2 and w.shape[0] > 1 else [w.shape[0]]
    return g.node("PRelu", [x, g.const(f"{path}.weight", numpy.asarray(w).reshape(shape))], path)


# ---- convolution and pooling ---------------------------------------------------------------------------------------
def _conv_pads(pads: tuple) -> list[int]:
    """shenjing's (lo₀, hi₀, lo₁, hi₁, …) → ONNX's (lo₀, lo₁, …, hi₀, hi₁, …)."""
    return list(pads[0::2]) + list(pads[1::2])


@register_converter("Conv1d", "Conv2d")
def _conv(g: _Graph, m: Any, x: str, path: str) -> str:
    n = len(m.kernel_size)
    if g.rank != n + 2:
        raise _unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
    pads = _conv_pads(m._pads)
    if m.padding_mode != "zeros" and any(pads):
        modes = {"reflect": "reflect", "replicate": "edge"}
        if m.padding_mode not in modes:
            raise _unsupported(m, path, f"padding_mode={m.padding_mode!r} needs opset 19 (Pad mode 'wrap')")
        full = [0, 0] + pads[:n] + [0, 0] + pads[n:]
        x = g.node("Pad", [x, g.const(f"{path}.pads", full, numpy.int64)], path, mode=modes[m.padding_mode])
        pads = [0] * (2 * n)
    inputs = [x, g.const(f"{path}.weight", m.weight)]
    if m.bias is not None:
        inputs.append(g.const(f"{path}.bias", m.bias))
    return g.node(
        "Conv", inputs, path, kernel_shape=list(m.kernel_size), strides=list(m.stride), pads=pads,
        dilations=list(m.dilation), group=int(m.groups),
    )


@register_converter("ConvTranspose1d", "ConvTranspose2d")
def _conv_transpose(g: _Graph, m: Any, x: str, path: str) -> str:
    n = len(m.kernel_size)
    if g.rank != n + 2:
        raise _unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
    inputs = [x, g.const(f"{path}.weight", m.weight)]
    if m.bias is not None:
        inputs.append(g.const(f"{path}.bias", m.bias))
    return g.node(
        "ConvTranspose", inputs, path, kernel_shape=list(m.kernel_size), strides=list(m.stride),
        pads=list(m.padding) * 2, dilations=list(m.dilation), group=int(m.groups),
        output_padding=list(m.output_padding),
    )


def _nd(value: Any, n: int) -> list[int]:
    return [int(v) for v in value] if isinstance(value, tuple | list) else [int(value)] * n


@register_converter("MaxPool1d", "MaxPool2d")
def _max_pool(g: _Graph, m: Any, x: str, path: str) -> str:
    n = 1 if type(m).__name__.endswith("1d") else 2
    if g.rank != n + 2:
        raise _unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
    kernel, padding = _nd(m.kernel_size, n), _nd(m.padding, n)
    return g.node(
        "MaxPool", [x], path, kernel_shape=kernel, strides=_nd(m.stride, n), pads=padding * 2,
        dilations=_nd(m.dilation, n), ceil_mode=int(bool(m.ceil_mode)),
    )


@register_converter("AvgPool1d", "AvgPool2d")
def _avg_pool(g: _Graph, m: Any, x: str, path: str) -> str:
    n = 1 if type(m).__name__.endswith("1d") else 2
    if g.rank != n + 2:
        raise _unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
    if getattr(m, "divisor_override", None) is not None:
        raise _unsupported(m, path, "divisor_override has no ONNX AveragePool equivalent")
    if m.ceil_mode and any(_nd(m.padding, n)) and m.count_include_pad:
        raise _unsupported(m, path, "ceil_mode with padding and count_include_pad differs between ONNX runtimes")
    return g.node(
        "AveragePool", [x], path, kernel_shape=_nd(m.kernel_size, n), strides=_nd(m.stride, n),
        pads=_nd(m.padding, n) * 2, ceil_mode=int(bool(m.ceil_mode)), count_include_pad=int(bool(m.count_include_pad)),
    )


@register_converter("AdaptiveAvgPool1d", "AdaptiveAvgPool2d")
def _adaptive_avg_pool(g: _Graph, m: Any, x: str, path: str) -> str:
    n = 1 if type(m).__name__.endswith("1d") else 2
    size = m.output_size
    sizes = list(size) if isinstance(size, tuple | list) else [size] * n
    spatial = g.shape[-n:]
    if all(s == 1 for s in sizes):
        return g.node("GlobalAveragePool", [x], path)
    if all(s is None or s == h for s, h in zip(sizes, spatial, strict=True)):
        return g.node("Identity", [x], path)
    if any(s is None or h % s for s, h in zip(sizes, spatial, strict=True)) or g.dynamic & set(range(g.rank - n, g.rank)):
        raise _unsupported(m, path, f"output_size {size} must divide the input size {tuple(spatial)} (or be 1)")
    kernel = [h // s for s, h in zip(sizes, spatial, strict=True)]
    return g.node("AveragePool", [x], path, kernel_shape=kernel, strides=kernel)


@register_converter("AdaptiveMaxPool2d")
def _adaptive_max_pool(g: _Graph, m: Any, x: str, path: str) -> str:
    size = m.output_size
    sizes = list(size) if isinstance(size, tuple | list) else [size] * 2
    if all(s == 1 for s in sizes):
        return g.node("GlobalMaxPool", [x], path)
    raise _unsupported(m, path, "only output_size 1 (global max pooling) is exported")


# ---- normalisation --------------------------------------------------------------------------------------------------
@register_converter("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")
def _batch_norm(g: _Graph, m: Any, x: str, path: str) -> str:
    if m.running_mean is None:
        raise _unsupported(m, path, "track_running_stats=False normalises with batch statistics in eval mode too")
    c = m.num_features
    ones, zeros = numpy.ones(c), numpy.zeros(c)
    scale = g.const(f"{path}.weight", m.weight if m.weight is not None else ones)
    bias = g.const(f"{path}.bias", m.bias if getattr(m, "bias", None) is not None else zeros)
    mean, var = g.const(f"{path}.running_mean", m.running_mean), g.const(f"{path}.running_var", m.running_var)
    if g.rank == 1 or (g.rank == 2 and type(m).__name__ != "BatchNorm1d"):
        raise _unsupported(m, path, f"input of rank {g.rank}")
    return g.node("BatchNormalization", [x, scale, bias, mean, var], path, epsilon=float(m.eps))


@register_converter("LayerNorm")
def _layer_norm(g: _Graph, m: Any, x: str, path: str) -> str:
    shape = list(m.normalized_shape)
    ones, zeros = numpy.ones(shape), numpy.zeros(shape)
    scale = g.const(f"{path}.weight", m.weight if m.weight is not None else ones)
    inputs = [x, scale]
    bias = getattr(m, "bias", None)
    inputs.append(g.const(f"{path}.bias", bias if bias is not None else zeros))
    return g.node("LayerNormalization", inputs, path, axis=-len(shape), epsilon=float(m.eps))


# ---- int8 layers (shenjing.quantize): onnxruntime's integer kernels --------------------------------------------------
@register_converter("QuantizedLinear")
def _quantized_linear(g: _Graph, m: Any, x: str, path: str) -> str:
    """DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_qᵀ, z_x) → Cast → × s_x·s_w (+ b): as shenjing computes it."""
    if g.dtype != numpy.float32:
        raise _unsupported(m, path, "quantized layers take float32 input")
    xq, xs, xz = g.node("DynamicQuantizeLinear", [x], path, n_out=3)
    w_t = g.const(f"{path}.weight_t", numpy.ascontiguousarray(numpy.asarray(_host(m.weight)).T), numpy.int8)
    acc = g.node("MatMulInteger", [xq, w_t, xz], path)
    y = g.node("Cast", [acc], path, to=g.onnx.TensorProto.FLOAT)
    y = g.node("Mul", [y, g.node("Mul", [xs, g.const(f"{path}.weight_scale", m.weight_scale)], path)], path)
    return y if m.bias is None else g.node("Add", [y, g.const(f"{path}.bias", m.bias)], path)


@register_converter("QuantizedConv1d", "QuantizedConv2d")
def _quantized_conv(g: _Graph, m: Any, x: str, path: str) -> str:
    """QuantizeLinear(x; s_x, z_x) → ConvInteger(x_q, W_q, z_x) → Cast → × s_x·s_w[o] (+ b[o])."""
    n = len(m.kernel_size)
    if g.dtype != numpy.float32:
        raise _unsupported(m, path, "quantized layers take float32 input")
    if g.rank != n + 2:
        raise _unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
    pads = list(m.padding) * 2
    scale = float(_host(m.input_scale)[0])
    zero = int(_host(m.input_zero_point)[0])
    xs = g.const(f"{path}.input_scale", scale, numpy.float32)
    xz = g.const(f"{path}.input_zero_point", zero, numpy.uint8)
    xq = g.node("QuantizeLinear", [x, xs, xz], path)
    w = g.const(f"{path}.weight", m.weight, numpy.int8)
    acc = g.node(
        "ConvInteger", [xq, w, xz], path, kernel_shape=list(m.kernel_size), strides=list(m.stride), pads=pads,
        dilations=list(m.dilation), group=int(m.groups),
    )
    y = g.node("Cast", [acc], path, to=g.onnx.TensorProto.FLOAT)
    per_channel = numpy.asarray(_host(m.weight_scale)) * numpy.float32(scale)
    y = g.node("Mul", [y, g.const(f"{path}.scale", per_channel.reshape((-1,) + (1,) * n))], path)
    if m.bias is not None:
        y = g.node("Add", [y, g.const(f"{path}.bias", numpy.asarray(_host(m.bias)).reshape((-1,) + (1,) * n))], path)
    return y


# ---- export ---------------------------------------------------------------------------------------------------------
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


def to_model(
    model: Any,
    args: Any,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    opset_version: int | None = None,
    dynamic_axes: dict | None = None,
    check: bool = True,
) -> Any:
    """The ``onnx.ModelProto`` of ``model`` for inputs like ``args`` (see :func:`export`), checked."""
    onnx = _onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < 17:
        raise ValueError(f"opset_version={opset}: this exporter writes opset 17 or later (LayerNormalization)")
    example = args[0] if isinstance(args, tuple | list) and len(args) == 1 else args
    if isinstance(example, tuple | list):
        raise UnsupportedLayerError(f"models with {len(example)} inputs cannot be exported yet: give one input")
    array = getattr(example, "array", example)
    if hasattr(array, "get"):
        array = array.get()
    array = numpy.asarray(array)
    if array.dtype not in (numpy.float32, numpy.float64):
        raise TypeError(f"the example input must be float32 or float64, got {array.dtype}")
    input_names = list(input_names or ["input"])
    output_names = list(output_names or ["output"])
    if len(input_names) != 1 or len(output_names) != 1:
        raise ValueError(f"one input and one output name expected, got {input_names} and {output_names}")
    dynamic_axes = dict(dynamic_axes or {})
    unknown = set(dynamic_axes) - set(input_names) - set(output_names)
    if unknown:
        raise ValueError(f"dynamic_axes names {sorted(unknown)}, not among inputs {input_names} / outputs {output_names}")

    graph = _Graph(onnx, array.dtype, opset)
    in_dims, graph.dynamic = _dims(array.shape, dynamic_axes.get(input_names[0]), input_names[0])
    out_shape = _run(model, example)
    graph.start(example)
    was = model.training
    model.eval()
    try:
        out = _emit(graph, model, input_names[0], "model")
    finally:
        model.train(was)
    graph.nodes.append(onnx.helper.make_node("Identity", [out], [output_names[0]], name="output"))
    out_dims, _ = _dims(out_shape, dynamic_axes.get(output_names[0]), output_names[0])
    for axis in graph.dynamic:  # an axis that varies at the input (the batch) varies at the output too
        if axis < len(out_dims) and out_shape[axis] == array.shape[axis] and not isinstance(out_dims[axis], str):
            out_dims[axis] = in_dims[axis]
    elem = onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
    proto = onnx.helper.make_graph(
        graph.nodes,
        type(model).__name__,
        [onnx.helper.make_tensor_value_info(input_names[0], elem, in_dims)],
        [onnx.helper.make_tensor_value_info(output_names[0], elem, out_dims)],
        graph.initializers,
    )
    from .. import __version__

    result = onnx.helper.make_model(
        proto, opset_imports=[onnx.helper.make_opsetid("", opset)], producer_name="shenjing",
        producer_version=__version__,
    )
    result.ir_version = min(result.ir_version, 9)  # readable by onnxruntime ≥ 1.16
    if check:
        onnx.checker.check_model(result, full_check=True)
    return result


def _call(layer: Any, x: Any) -> Any:
    from ..autograd import no_grad

    with no_grad():
        return layer(x)


def _run(model: Any, example: Any) -> tuple:
    from ..autograd import no_grad
    from ..creation import tensor

    x = example if hasattr(example, "array") else tensor(example)
    was = model.training
    model.eval()
    try:
        with no_grad():
            out = model(x)
    finally:
        model.train(was)
    return tuple(out.shape)


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
) -> None:
    """Write ``model`` as an ONNX file ``f`` (opset 17 by default), as ``torch.onnx.export``.

    Args:
        model: a layer or a ``Sequential`` of supported layers (see :func:`supported_layers`).
        args: an example input (a Tensor or array, or a 1-tuple of one): fixes the input's shape and dtype.
        f: the output path.
        input_names, output_names: one name each (default "input" and "output").
        opset_version: 17 (default) or later.
        dynamic_axes: {name: {axis: label}} or {name: [axis, …]}: axes whose size may vary, e.g. the batch.

    Raises:
        UnsupportedLayerError: a layer that ONNX cannot express (the message names it).
        onnx.checker.ValidationError: never expected; the model is checked before it is written.
    """
    if not export_params:
        raise ValueError("export_params=False is not supported: the weights are always stored in the file")
    proto = to_model(model, args, input_names, output_names, opset_version, dynamic_axes)
    from ..io import atomic_write_bytes

    atomic_write_bytes(f, proto.SerializeToString())
    if verbose:
        print(_onnx().helper.printable_graph(proto.graph))
