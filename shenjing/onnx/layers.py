"""Converters of the layers with a fixed ONNX form: linear, activations, convolution, pooling, normalisation."""

from __future__ import annotations

import math
from typing import Any

import numpy  # host-side: weights are copied into the ONNX file (no math here)

from ._graph import Converter, Graph, register_converter, unsupported

# ---- converters: linear, shape ------------------------------------------------------------------------------------
@register_converter("Linear")
def _linear(g: Graph, m: Any, x: str, path: str) -> str:
    """y = x Wᵀ + b as MatMul(x, Wᵀ) + b: works for any (…, in) input (Gemm wants 2-D).

    The weight is stored as it is (once, when tied to another layer's, as GPT's lm_head to its embedding) and
    transposed by a node, which runtimes fold into the constant when they load the file."""
    w_t = g.node("Transpose", [g.param(f"{path}.weight", m.weight)], path, perm=[1, 0])
    y = g.node("MatMul", [x, w_t], path)
    return y if m.bias is None else g.node("Add", [y, g.param(f"{path}.bias", m.bias)], path)


@register_converter("Identity", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")
def _identity(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("Identity", [x], path)


@register_converter("Flatten")
def _flatten(g: Graph, m: Any, x: str, path: str) -> str:
    rank = g.rank
    start, end = m.start_dim % rank, m.end_dim % rank
    if start == 1 and end == rank - 1:
        return g.node("Flatten", [x], path, axis=1)
    if any(i in g.dynamic for i in range(end + 1, rank)):
        raise unsupported(m, path, "end_dim before the last axis with a dynamic axis after it")
    shape = [0] * start + [-1] + [g.shape[i] for i in range(end + 1, rank)]  # Reshape: 0 copies that axis
    return g.node("Reshape", [x, g.const(f"{path}.shape", shape, numpy.int64)], path)


# ---- activations --------------------------------------------------------------------------------------------------
_SIMPLE = {"ReLU": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Softsign": "Softsign", "SELU": "Selu"}


def _simple(op: str) -> Converter:
    return lambda g, m, x, path: g.node(op, [x], path)


for _kind, _op in _SIMPLE.items():
    register_converter(_kind)(_simple(_op))


@register_converter("LeakyReLU")
def _leaky(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("LeakyRelu", [x], path, alpha=float(m.negative_slope))


@register_converter("ELU")
def _elu(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("Elu", [x], path, alpha=float(m.alpha))


@register_converter("CELU")
def _celu(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("Celu", [x], path, alpha=float(m.alpha))


def _axis(m: Any, path: str, dim: Any, rank: int) -> int:
    if dim is None:  # PyTorch's legacy implicit dim: 0 for 0-, 1- and 3-D input, else 1
        dim = 0 if rank in (0, 1, 3) else 1
    return int(dim) % rank


@register_converter("Softmax")
def _softmax(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("Softmax", [x], path, axis=_axis(m, path, m.dim, g.rank))


@register_converter("LogSoftmax")
def _log_softmax(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("LogSoftmax", [x], path, axis=_axis(m, path, m.dim, g.rank))


@register_converter("SiLU")
def _silu(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("Mul", [x, g.node("Sigmoid", [x], path)], path)


@register_converter("Softplus")
def _softplus(g: Graph, m: Any, x: str, path: str) -> str:
    """(1/β) log(1 + e^(βz)), and z itself where βz > threshold (as PyTorch)."""
    beta = float(m.beta)
    bx = x if beta == 1 else g.node("Mul", [x, g.const(f"{path}.beta", beta)], path)
    soft = g.node("Softplus", [bx], path)
    if beta != 1:
        soft = g.node("Div", [soft, g.const(f"{path}.beta", beta)], path)
    above = g.node("Greater", [bx, g.const(f"{path}.threshold", float(m.threshold))], path)
    return g.node("Where", [above, x, soft], path)


@register_converter("Mish")
def _mish(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x], path)], path)], path)


@register_converter("GELU")
def _gelu(g: Graph, m: Any, x: str, path: str) -> str:
    """½z(1 + erf(z/√2)), or ½z(1 + tanh(√(2/π)(z + 0.044715z³))) for approximate='tanh' (no Gelu op in opset 17)."""
    half = g.node("Mul", [x, g.const(f"{path}.half", 0.5)], path)
    if m.approximate == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x], path), x], path)
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(f"{path}.c", 0.044715)], path)], path)
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(f"{path}.k", math.sqrt(2 / math.pi))], path)], path)
    else:
        t = g.node("Erf", [g.node("Mul", [x, g.const(f"{path}.k", 1 / math.sqrt(2))], path)], path)
    return g.node("Mul", [half, g.node("Add", [t, g.const(f"{path}.one", 1.0)], path)], path)


def _clip(g: Graph, x: str, path: str, low: float, high: float) -> str:
    return g.node("Clip", [x, g.const(f"{path}.min", low), g.const(f"{path}.max", high)], path)


@register_converter("Hardtanh")
def _hardtanh(g: Graph, m: Any, x: str, path: str) -> str:
    return _clip(g, x, path, float(m.min_val), float(m.max_val))


@register_converter("ReLU6")
def _relu6(g: Graph, m: Any, x: str, path: str) -> str:
    return _clip(g, x, path, 0.0, 6.0)


@register_converter("Hardsigmoid")
def _hardsigmoid(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("HardSigmoid", [x], path, alpha=1 / 6, beta=0.5)


@register_converter("Hardswish")
def _hardswish(g: Graph, m: Any, x: str, path: str) -> str:
    return g.node("HardSwish", [x], path)


@register_converter("LogSigmoid")
def _log_sigmoid(g: Graph, m: Any, x: str, path: str) -> str:
    """log σ(z) = −softplus(−z)."""
    return g.node("Neg", [g.node("Softplus", [g.node("Neg", [x], path)], path)], path)


@register_converter("PReLU")
def _prelu(g: Graph, m: Any, x: str, path: str) -> str:
    w = m.weight.array
    shape = [w.shape[0]] + [1] * max(0, g.rank - 2) if g.rank >= 2 and w.shape[0] > 1 else [w.shape[0]]
    return g.node("PRelu", [x, g.const(f"{path}.weight", numpy.asarray(w).reshape(shape))], path)


# ---- convolution and pooling ---------------------------------------------------------------------------------------
def _conv_pads(pads: tuple) -> list[int]:
    """shenjing's (lo₀, hi₀, lo₁, hi₁, …) → ONNX's (lo₀, lo₁, …, hi₀, hi₁, …)."""
    return list(pads[0::2]) + list(pads[1::2])


@register_converter("Conv1d", "Conv2d")
def _conv(g: Graph, m: Any, x: str, path: str) -> str:
    n = len(m.kernel_size)
    if g.rank != n + 2:
        raise unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
    pads = _conv_pads(m._pads)
    if m.padding_mode != "zeros" and any(pads):
        modes = {"reflect": "reflect", "replicate": "edge"}
        if m.padding_mode not in modes:
            raise unsupported(m, path, f"padding_mode={m.padding_mode!r} needs opset 19 (Pad mode 'wrap')")
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
def _conv_transpose(g: Graph, m: Any, x: str, path: str) -> str:
    n = len(m.kernel_size)
    if g.rank != n + 2:
        raise unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
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
def _max_pool(g: Graph, m: Any, x: str, path: str) -> str:
    n = 1 if type(m).__name__.endswith("1d") else 2
    if g.rank != n + 2:
        raise unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
    kernel, padding = _nd(m.kernel_size, n), _nd(m.padding, n)
    return g.node(
        "MaxPool", [x], path, kernel_shape=kernel, strides=_nd(m.stride, n), pads=padding * 2,
        dilations=_nd(m.dilation, n), ceil_mode=int(bool(m.ceil_mode)),
    )


@register_converter("AvgPool1d", "AvgPool2d")
def _avg_pool(g: Graph, m: Any, x: str, path: str) -> str:
    n = 1 if type(m).__name__.endswith("1d") else 2
    if g.rank != n + 2:
        raise unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
    if getattr(m, "divisor_override", None) is not None:
        raise unsupported(m, path, "divisor_override has no ONNX AveragePool equivalent")
    if m.ceil_mode and any(_nd(m.padding, n)) and m.count_include_pad:
        raise unsupported(m, path, "ceil_mode with padding and count_include_pad differs between ONNX runtimes")
    return g.node(
        "AveragePool", [x], path, kernel_shape=_nd(m.kernel_size, n), strides=_nd(m.stride, n),
        pads=_nd(m.padding, n) * 2, ceil_mode=int(bool(m.ceil_mode)), count_include_pad=int(bool(m.count_include_pad)),
    )


@register_converter("AdaptiveAvgPool1d", "AdaptiveAvgPool2d")
def _adaptive_avg_pool(g: Graph, m: Any, x: str, path: str) -> str:
    n = 1 if type(m).__name__.endswith("1d") else 2
    size = m.output_size
    sizes = list(size) if isinstance(size, tuple | list) else [size] * n
    spatial = g.shape[-n:]
    if all(s == 1 for s in sizes):
        return g.node("GlobalAveragePool", [x], path)
    if all(s is None or s == h for s, h in zip(sizes, spatial, strict=True)):
        return g.node("Identity", [x], path)
    if any(s is None or h % s for s, h in zip(sizes, spatial, strict=True)) or g.dynamic & set(range(g.rank - n, g.rank)):
        raise unsupported(m, path, f"output_size {size} must divide the input size {tuple(spatial)} (or be 1)")
    kernel = [h // s for s, h in zip(sizes, spatial, strict=True)]
    return g.node("AveragePool", [x], path, kernel_shape=kernel, strides=kernel)


@register_converter("AdaptiveMaxPool2d")
def _adaptive_max_pool(g: Graph, m: Any, x: str, path: str) -> str:
    size = m.output_size
    sizes = list(size) if isinstance(size, tuple | list) else [size] * 2
    if all(s == 1 for s in sizes):
        return g.node("GlobalMaxPool", [x], path)
    raise unsupported(m, path, "only output_size 1 (global max pooling) is exported")


# ---- normalisation --------------------------------------------------------------------------------------------------
@register_converter("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")
def _batch_norm(g: Graph, m: Any, x: str, path: str) -> str:
    if m.running_mean is None:
        raise unsupported(m, path, "track_running_stats=False normalises with batch statistics in eval mode too")
    c = m.num_features
    ones, zeros = numpy.ones(c), numpy.zeros(c)
    scale = g.const(f"{path}.weight", m.weight if m.weight is not None else ones)
    bias = g.const(f"{path}.bias", m.bias if getattr(m, "bias", None) is not None else zeros)
    mean, var = g.const(f"{path}.running_mean", m.running_mean), g.const(f"{path}.running_var", m.running_var)
    if g.rank == 1 or (g.rank == 2 and type(m).__name__ != "BatchNorm1d"):
        raise unsupported(m, path, f"input of rank {g.rank}")
    return g.node("BatchNormalization", [x, scale, bias, mean, var], path, epsilon=float(m.eps))


@register_converter("LayerNorm")
def _layer_norm(g: Graph, m: Any, x: str, path: str) -> str:
    shape = list(m.normalized_shape)
    ones, zeros = numpy.ones(shape), numpy.zeros(shape)
    scale = g.const(f"{path}.weight", m.weight if m.weight is not None else ones)
    inputs = [x, scale]
    bias = getattr(m, "bias", None)
    inputs.append(g.const(f"{path}.bias", bias if bias is not None else zeros))
    return g.node("LayerNormalization", inputs, path, axis=-len(shape), epsilon=float(m.eps))
