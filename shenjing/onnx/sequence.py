"""Converters of the sequence layers: RNN, LSTM and GRU as ONNX's RNN/LSTM/GRU ops, Embedding as Gather.

One ONNX recurrent node per layer, both directions in it (``direction="bidirectional"``). The weights are
PyTorch's, re-stacked in ONNX's gate order:

    LSTM: PyTorch (i, f, g, o) → ONNX (i, o, f, c);   GRU: PyTorch (r, z, n) → ONNX (z, r, h), with
    linear_before_reset=1 (PyTorch's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)));   RNN: one gate, Tanh or Relu.

W = [W_ih] (D, G·H, I), R = [W_hh] (D, G·H, H), B = [b_ih, b_hh] (D, 2·G·H); ONNX's Y (T, D, N, H) becomes
PyTorch's (T, N, D·H) by a Transpose and a Reshape, and the layers' Y_h (and Y_c) are concatenated into h_n (c_n).
"""

from __future__ import annotations

from typing import Any

import numpy  # host-side: weights are copied into the ONNX file (no math here)

from ._graph import Graph, host, register_converter, unsupported

_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}
_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _gates(array: Any, order: list) -> numpy.ndarray:
    """Rows re-stacked gate by gate: blocks of H rows (the first axis) in ``order``."""
    blocks = numpy.split(numpy.asarray(host(array)), len(order), axis=0)
    return numpy.concatenate([blocks[i] for i in order], axis=0)


def _state(g: Graph, name: str | None, layer: int, D: int, batched: bool, path: str) -> str | None:
    """Layer ``layer``'s slice (D, N, H) of an initial state (num_layers·D, N, H)."""
    if name is None:
        return None
    if not batched:
        name = g.node("Unsqueeze", [name, g.ints(f"{path}.axes", [1])], path)
    return g.node("Slice", [name, g.ints(f"{path}.starts", [layer * D]), g.ints(f"{path}.ends", [(layer + 1) * D]),
                            g.ints(f"{path}.axes", [0])], path)


@register_converter("RNN", "LSTM", "GRU")
def _recurrent(g: Graph, m: Any, x: str, path: str) -> Any:
    mode = m.mode
    if mode == "LSTM" and m.proj_size:
        raise unsupported(m, path, f"proj_size={m.proj_size}: ONNX's LSTM op has no output projection")
    hx = g.args[1] if len(g.args) > 1 else g.kwargs.get("hx")
    h0, c0 = (hx if hx is not None else (None, None)) if mode == "LSTM" else (hx, None)
    batched, D, H = g.rank == 3, 2 if m.bidirectional else 1, m.hidden_size
    if not batched:
        x = g.node("Unsqueeze", [x, g.ints(f"{path}.axes", [1])], path)
    elif m.batch_first:
        x = g.node("Transpose", [x], path, perm=[1, 0, 2])  # (T, N, I)
    order, op = _ORDER[mode], _OP[mode]
    attrs: dict = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
    if mode == "GRU":
        attrs["linear_before_reset"] = 1
    if op == "RNN":
        attrs["activations"] = ["Relu" if mode == "RNN_RELU" else "Tanh"] * D
    h_n, c_n = [], []
    for layer in range(m.num_layers):
        suffixes = [f"_l{layer}", f"_l{layer}_reverse"][:D]
        name = f"{path}.l{layer}"
        W = numpy.stack([_gates(getattr(m, "weight_ih" + s), order) for s in suffixes])
        R = numpy.stack([_gates(getattr(m, "weight_hh" + s), order) for s in suffixes])
        inputs = [x, g.const(f"{name}.W", W), g.const(f"{name}.R", R)]
        if m.bias:
            B = numpy.stack([numpy.concatenate([_gates(getattr(m, "bias_ih" + s), order),
                                                _gates(getattr(m, "bias_hh" + s), order)]) for s in suffixes])
            inputs.append(g.const(f"{name}.B", B))
        else:
            inputs.append(None)
        inputs += [None, _state(g, h0, layer, D, batched, name)]  # no sequence_lens: every sequence is T long
        if mode == "LSTM":
            inputs.append(_state(g, c0, layer, D, batched, name))
        while inputs[-1] is None:
            inputs.pop()
        outs = g.node(op, inputs, name, n_out=3 if mode == "LSTM" else 2, **attrs)
        y = g.node("Transpose", [outs[0]], name, perm=[0, 2, 1, 3])  # (T, D, N, H) → (T, N, D, H)
        x = g.node("Reshape", [y, g.ints(f"{name}.shape", [0, 0, -1])], name)  # (T, N, D·H)
        h_n.append(outs[1])
        if mode == "LSTM":
            c_n.append(outs[2])
    states = [g.node("Concat", s, path, axis=0) if len(s) > 1 else s[0] for s in ([h_n, c_n] if c_n else [h_n])]
    out = x
    if not batched:
        axes = g.ints(f"{path}.axes", [1])
        out = g.node("Squeeze", [out, axes], path)
        states = [g.node("Squeeze", [s, axes], path) for s in states]
    elif m.batch_first:
        out = g.node("Transpose", [out], path, perm=[1, 0, 2])
    return (out, tuple(states)) if mode == "LSTM" else (out, states[0])


@register_converter("Embedding")
def _embedding(g: Graph, m: Any, x: str, path: str) -> str:
    """out = W[idx]: Gather(W, idx, axis=0)."""
    if m.max_norm is not None:
        raise unsupported(m, path, "max_norm renormalises the looked-up rows in place at every call")
    idx = g.cast(x, numpy.int64, path)
    return g.node("Gather", [g.param(f"{path}.weight", m.weight), idx], path, axis=0)
