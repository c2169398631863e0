"""Function converters of the fused ops: linear, layer norm, attention, embedding lookups and the recurrences."""

from __future__ import annotations

from typing import Any

import numpy  # host-side: constants (no math here)

from .functions import Op, register_function

# ---- linear, normalisation, attention, embedding -------------------------------------------------------------
@register_function("LinearFunction")
def _linear(op: Op) -> str:
    """z = a_prev Wᵀ + b: MatMul(a_prev, Transpose(W)) + b (any leading axes)."""
    y = op.node("MatMul", [op.x(0), op.node("Transpose", [op.x(1)], perm=[1, 0])])
    return y if op.a.inputs[2] is None else op.node("Add", [y, op.x(2)])


@register_function("LayerNormFunction")
def _layer_norm(op: Op) -> str:
    n = int(op.opt("n", 1))
    shape = op.shape(0)[-n:]
    gamma = op.x(1) if op.a.inputs[1] is not None else op.g.const(f"{op.path}.ones", numpy.ones(shape), op.out_dtype)
    beta = op.x(2) if op.a.inputs[2] is not None else op.g.const(f"{op.path}.zeros", numpy.zeros(shape), op.out_dtype)
    return op.node("LayerNormalization", [op.x(0), gamma, beta], axis=-n, epsilon=float(op.opt("eps", 1e-5)))


@register_function("ScaledDotProductAttentionFunction", "BlockedAttentionFunction")
def _attention(op: Op) -> str:
    """S = q kᵀ · scale (+ M) (+ the causal mask), P = softmax(S), O = P v; with_weights: [O, P] side by side."""
    q, k, v = op.x(0), op.x(1), op.x(2)
    rank_k = len(op.shape(1))
    perm = list(range(rank_k - 2)) + [rank_k - 1, rank_k - 2]
    s = op.node("MatMul", [q, op.node("Transpose", [k], perm=perm)])
    s = op.node("Mul", [s, op.g.const(f"{op.path}.scale", float(op.opt("scale", 1.0)), op.out_dtype)])
    bias = op.value("bias")
    if bias is not None:
        s = op.node("Add", [s, op.g.cast(bias, op.out_dtype, op.path)])
    if op.opt("causal", False):
        L, S = op.shape(0)[-2], op.shape(1)[-2]
        if {len(op.shape(0)) - 2} & op.e.dynamic(q) or {rank_k - 2} & op.e.dynamic(k):  # −∞ above the diagonal
            sizes = op.node("Concat", [op.node("Shape", [q], start=-2, end=-1), op.node("Shape", [k], start=-2, end=-1)],
                            axis=0)
            full = op.node("Expand", [op.g.const(f"{op.path}.masked", -numpy.inf, op.out_dtype), sizes])
            mask = op.node("Trilu", [full, op.g.const(f"{op.path}.k", 1, numpy.int64)], upper=1)
        else:
            mask = op.g.const(f"{op.path}.causal_mask", numpy.triu(numpy.full((L, S), -numpy.inf), 1), op.out_dtype)
        s = op.node("Add", [s, mask])
    p = op.node("Softmax", [s], axis=-1)
    if float(op.opt("dropout_p", 0.0)) > 0:
        raise op.fail("attention dropout is on (the model is in training mode inside its forward?)")
    out = op.node("MatMul", [p, v])
    if not op.opt("with_weights", False):
        return out
    return op.node("Concat", [out, p], axis=-1)


@register_function("EmbeddingFunction")
def _embedding(op: Op) -> str:
    return op.node("Gather", [op.x(0), op.g.cast(op.x(1), numpy.int64, op.path)], axis=0)


@register_function("IndexSelect")
def _index_select(op: Op) -> str:
    index = op.g.cast(op.value("index"), numpy.int64, op.path)
    return op.node("Gather", [op.x(0), index], axis=int(op.opt("dim", 0)))


@register_function("Gather")
def _gather(op: Op) -> str:
    index = op.g.cast(op.value("index"), numpy.int64, op.path)
    return op.node("GatherElements", [op.x(0), index], axis=int(op.opt("dim", 0)))


@register_function("Triangle")
def _triangle(op: Op) -> str:
    k = op.g.const(f"{op.path}.k", int(op.opt("diagonal", 0)), numpy.int64)
    return op.node("Trilu", [op.x(0), k], upper=int(bool(op.opt("upper", False))))


@register_function("Einsum")
def _einsum(op: Op) -> str:
    return op.node("Einsum", [op.x(i, op.out_dtype) for i in range(op.n_inputs)], equation=op.opt("equation"))


@register_function("Cumsum")
def _cumsum(op: Op) -> str:
    return op.node("CumSum", [op.x(0), op.g.const(f"{op.path}.axis", int(op.opt("axis", 0)), numpy.int64)])


# ---- the recurrences themselves (RNNCell, LSTMCell, GRUCell, or a forward that calls them) ----------------------
def _recurrence(op: Op, kind: str, order: list, state_inputs: int) -> str:
    """One ONNX RNN/LSTM/GRU node. RNN and GRU: over the precomputed xw = x W_ihᵀ + b_ih, W the (gate-reordering)
    identity, R and B the reordered W_hh and [0, b_hh]; LSTM: over x, W, R, B the reordered W_ih, W_hh and
    [b_ih, b_hh]. See sequence.py for the gate orders."""
    if op.a.inputs[1] is not None:
        raise op.fail("a mask (packed sequences) is not exported; pad the sequences")
    # NOTE: LSTMFunction takes x and W_ih, b_ih itself (x, mask, h0, c0, W_ih, b_ih, W_hh, b_hh, W_hr); RNN and GRU
    # take the precomputed xw (xw, mask, h0, W_hh, b_hh), so their ONNX W is the (gate-reordering) identity
    own_input = kind == "LSTM"
    if own_input and op.a.inputs[8] is not None:
        raise op.fail("proj_size: ONNX's LSTM op has no output projection")
    g, dtype = op.g, op.out_dtype
    first = g.ints(f"{op.path}.axes", [0])
    hh = 2 + state_inputs + (2 if own_input else 0)  # the index of W_hh
    G = op.a.inputs[hh].shape[0]
    T, N = op.shape(0)[:2]
    H = G // len(order)
    rows = numpy.concatenate([numpy.arange(i * H, (i + 1) * H) for i in order])  # ONNX's gate order
    take = g.ints(f"{op.path}.gate_order", rows)

    def reordered(index: int) -> str:
        return op.node("Gather", [op.x(index), take], axis=0)

    if own_input:
        W = op.node("Unsqueeze", [reordered(2 + state_inputs), first])
    else:
        W = g.const(f"{op.path}.W", numpy.eye(G)[rows][None], dtype)
    R = op.node("Unsqueeze", [reordered(hh), first])
    B = None
    if op.a.inputs[hh + 1] is not None:
        if own_input:
            b_in = reordered(hh - 1)
        else:
            b_in = g.const(f"{op.path}.zeros", numpy.zeros(G), dtype)
        B = op.node("Unsqueeze", [op.node("Concat", [b_in, reordered(hh + 1)], axis=0), first])
    states = [op.node("Unsqueeze", [op.x(2 + i), first]) for i in range(state_inputs)]  # (1, N, H)
    attrs: dict = {"hidden_size": H}
    if kind == "GRU":
        attrs["linear_before_reset"] = 1
    if kind == "RNN":
        attrs["activations"] = ["Relu" if op.opt("relu", False) else "Tanh"]
    outs = op.node(kind, [op.x(0), W, R, B, None, *states], n_out=3 if kind == "LSTM" else 2, **attrs)
    y = op.node("Squeeze", [outs[0], g.ints(f"{op.path}.axes", [1])])  # (T, N, H)
    if kind != "LSTM":
        return y
    if T != 1:
        raise op.fail(f"an LSTMFunction over {T} steps outside nn.LSTM (ONNX gives the cell state of the last step "
                      "only); use nn.LSTM, whose converter exports every option")
    return op.node("Concat", [y, outs[2]], axis=-1)  # [h_t, c_t] as LSTMFunction returns them


register_function("LSTMFunction")(lambda op: _recurrence(op, "LSTM", [0, 3, 1, 2], 2))
register_function("GRUFunction")(lambda op: _recurrence(op, "GRU", [1, 0, 2], 1))
register_function("RNNTanhFunction")(lambda op: _recurrence(op, "RNN", [0], 1))


# ---- functional convolution, pooling and batch norm (F.conv2d … in a custom forward) ------------------------------
def _batched(op: Op, build: Any) -> str:
    """``build(x)`` on (N, C, H, W): an unbatched (C, H, W) input gets a batch axis of 1 around it."""
    x = op.x(0)
    if len(op.shape(0)) == 4:
        return build(x)
    axes = op.g.ints(f"{op.path}.axes", [0])
    return op.node("Squeeze", [build(op.node("Unsqueeze", [x, axes])), axes])


@register_function("Conv2dFunction")
def _conv2d(op: Op) -> str:
    pads = op.opt("padding", (0, 0, 0, 0))  # (top, bottom, left, right) → ONNX's (top, left, bottom, right)
    attrs = {"strides": list(op.opt("stride", (1, 1))), "pads": [pads[0], pads[2], pads[1], pads[3]],
             "dilations": list(op.opt("dilation", (1, 1))), "group": int(op.opt("groups", 1)),
             "kernel_shape": list(op.shape(1)[2:])}
    inputs = [op.x(1)] + ([op.x(2)] if op.a.inputs[2] is not None else [])
    return _batched(op, lambda x: op.node("Conv", [x, *inputs], **attrs))


@register_function("MaxPool2dFunction", "AvgPool2dFunction")
def _pool2d(op: Op) -> str:
    padding = list(op.opt("padding", (0, 0)))
    attrs = {"kernel_shape": list(op.opt("kernel")), "strides": list(op.opt("stride")), "pads": padding * 2,
             "ceil_mode": int(bool(op.opt("ceil_mode", False)))}
    if op.a.target.__name__ == "MaxPool2dFunction":
        return _batched(op, lambda x: op.node("MaxPool", [x], dilations=list(op.opt("dilation", (1, 1))), **attrs))
    if op.opt("divisor_override") is not None:
        raise op.fail("divisor_override has no ONNX AveragePool equivalent")
    include = int(bool(op.opt("count_include_pad", True)))
    return _batched(op, lambda x: op.node("AveragePool", [x], count_include_pad=include, **attrs))


@register_function("BatchNormFunction")
def _batch_norm(op: Op) -> str:
    if op.opt("training", True) or op.a.inputs[3] is None:
        raise op.fail("batch statistics (training=True, or no running statistics) are not exported")
    C = op.shape(0)[1]
    dtype = op.out_dtype
    gamma = op.x(1) if op.a.inputs[1] is not None else op.g.const(f"{op.path}.ones", numpy.ones(C), dtype)
    beta = op.x(2) if op.a.inputs[2] is not None else op.g.const(f"{op.path}.zeros", numpy.zeros(C), dtype)
    stats = [op.g.cast(op.x(i), dtype, op.path) for i in (3, 4)]
    return op.node("BatchNormalization", [op.x(0), gamma, beta, *stats], epsilon=float(op.opt("eps", 1e-5)))


@register_function("FakeQuantizeFunction")
def _fake_quantize(op: Op) -> str:
    raise op.fail("fake quantization (a quantization-aware model): convert it first with shenjing.quantize.convert, "
                  "then export it (quant_format='QDQ' writes Quantize/DequantizeLinear pairs)")
