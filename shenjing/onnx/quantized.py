"""int8 layers (shenjing.quantize) in ONNX: onnxruntime's integer ops ("QOperator") or Q/DQ pairs ("QDQ").

QOperator: MatMulInteger / ConvInteger on the int8 weight (MatMulInteger's stored as uint8 + 128, zero point 128)
and the uint8 input, then one float rescale, as shenjing computes it. QDQ: the float MatMul / Conv between DequantizeLinear nodes (the int8 weights stored as
uint8 W_q + 128 with zero points 128 and one scale per output channel — axis 0 of a Conv weight, axis 1 of the
(in, out) MatMul weight W_qᵀ; activations uint8), the form quantization tools exchange:

    x_dq = s_x·(x_q − z_x),   W_dq[o] = s_w[o]·W_q[o],   y = x_dq W_dqᵀ + b      (= shenjing's y, up to rounding)

NOTE: onnxruntime (1.32) fuses the static Conv pattern into QLinearConv; for the dynamically quantized
Linear it folds DequantizeLinear(W) into a float weight and runs a float Gemm (its dynamic int8 kernel,
DynamicQuantizeMatMul, comes from the QOperator form). Why uint8 weights: its uint8 × int8 kernels on x86 CPUs
without VNNI add pairs of products in saturating int16 and were off by up to 4·10⁴ in the integer sums (0.05 on
this test's outputs, AVX2); uint8 × uint8 gives the exact sums everywhere, the same integers as shenjing's.
"""

from __future__ import annotations

from typing import Any

import numpy  # host-side: weights are copied into the ONNX file (no math here)

from ._graph import Graph, host, register_converter, unsupported


def _check(g: Graph, m: Any, path: str) -> None:
    if g.dtype != numpy.float32:
        raise unsupported(m, path, "quantized layers take float32 input")


def _weight_dq(g: Graph, m: Any, path: str, weight: Any, axis: int) -> str:
    """DequantizeLinear(W_q; s_w per channel on ``axis``, zero points 0) → float32 W."""
    n = weight.shape[axis]
    w = g.const(f"{path}.weight", numpy.asarray(host(weight)).astype(numpy.int16) + 128, numpy.uint8)
    scale = g.const(f"{path}.weight_scale", numpy.asarray(host(m.weight_scale)).reshape(n), numpy.float32)
    zero = g.const(f"{path}.weight_zero_point", numpy.full(n, 128), numpy.uint8)
    return g.node("DequantizeLinear", [w, scale, zero], path, axis=axis)


@register_converter("QuantizedLinear")
def _quantized_linear(g: Graph, m: Any, x: str, path: str) -> str:
    """QOperator: DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_qᵀ, z_x) → Cast → × s_x·s_w (+ b).
    QDQ: DynamicQuantizeLinear(x) → DequantizeLinear → MatMul with DequantizeLinear(W_qᵀ, axis=1) (+ b)."""
    _check(g, m, path)
    xq, xs, xz = g.node("DynamicQuantizeLinear", [x], path, n_out=3)
    w_t = numpy.ascontiguousarray(numpy.asarray(host(m.weight)).T)  # (in, out): the output channel is axis 1
    if g.quant_format == "QDQ":
        x_dq = g.node("DequantizeLinear", [xq, xs, xz], path)
        y = g.node("MatMul", [x_dq, _weight_dq(g, m, path, w_t, 1)], path)
    else:
        # NOTE: the weight goes in as uint8 W_q + 128 with zero point 128: the same integer products, while
        # onnxruntime's uint8 x int8 kernel on x86 without VNNI sums pairs in saturating int16 (vpmaddubsw) and
        # was off by up to 4·10⁴ on full-range weights (onnxruntime 1.32, AVX2); uint8 x uint8 is exact there
        w_u8 = (w_t.astype(numpy.int16) + 128).astype(numpy.uint8)
        acc = g.node("MatMulInteger", [xq, g.const(f"{path}.weight_t", w_u8, numpy.uint8), xz,
                                       g.const(f"{path}.weight_zero_point", 128, numpy.uint8)], path)
        y = g.node("Cast", [acc], path, to=g.onnx.TensorProto.FLOAT)
        y = g.node("Mul", [y, g.node("Mul", [xs, g.const(f"{path}.weight_scale", m.weight_scale)], path)], path)
    return y if m.bias is None else g.node("Add", [y, g.const(f"{path}.bias", m.bias, numpy.float32)], path)


@register_converter("QuantizedConv1d", "QuantizedConv2d")
def _quantized_conv(g: Graph, m: Any, x: str, path: str) -> str:
    """QOperator: QuantizeLinear(x; s_x, z_x) → ConvInteger(x_q, W_q, z_x) → Cast → × s_x·s_w[o] (+ b[o]).
    QDQ: QuantizeLinear → DequantizeLinear → Conv(x_dq, DequantizeLinear(W_q, axis=0), b)."""
    n = len(m.kernel_size)
    _check(g, m, path)
    if g.rank != n + 2:
        raise unsupported(m, path, f"only batched input (rank {n + 2}) is exported, the example has rank {g.rank}")
    pads = list(m.padding) * 2
    scale = float(host(m.input_scale)[0])
    zero = int(host(m.input_zero_point)[0])
    xs = g.const(f"{path}.input_scale", scale, numpy.float32)
    xz = g.const(f"{path}.input_zero_point", zero, numpy.uint8)
    xq = g.node("QuantizeLinear", [x, xs, xz], path)
    conv = {"kernel_shape": list(m.kernel_size), "strides": list(m.stride), "pads": pads,
            "dilations": list(m.dilation), "group": int(m.groups)}
    if g.quant_format == "QDQ":
        inputs = [g.node("DequantizeLinear", [xq, xs, xz], path), _weight_dq(g, m, path, host(m.weight), 0)]
        if m.bias is not None:
            inputs.append(g.const(f"{path}.bias", m.bias, numpy.float32))
        return g.node("Conv", inputs, path, **conv)
    w = g.const(f"{path}.weight", m.weight, numpy.int8)
    acc = g.node("ConvInteger", [xq, w, xz], path, **conv)
    y = g.node("Cast", [acc], path, to=g.onnx.TensorProto.FLOAT)
    per_channel = numpy.asarray(host(m.weight_scale)) * numpy.float32(scale)
    y = g.node("Mul", [y, g.const(f"{path}.scale", per_channel.reshape((-1,) + (1,) * n))], path)
    if m.bias is not None:
        y = g.node("Add", [y, g.const(f"{path}.bias", numpy.asarray(host(m.bias)).reshape((-1,) + (1,) * n))], path)
    return y
