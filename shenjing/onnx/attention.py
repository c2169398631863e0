"""The converter of MultiheadAttention: whole, so that its masks may be graph values (token ids → padding mask).

On (L, N, E) inputs (batch_first transposed first), h heads of size d = E/h, as ``nn.MultiheadAttention``:

    q = query W_qᵀ + b_q, k = key W_kᵀ + b_k, v = value W_vᵀ + b_v           (in_proj_weight's three blocks)
    S = q_h k_hᵀ / √d + M,   P = softmax(S),   O = [P v_h]_h W_oᵀ + b_o       per head, (N, h, L, S)
    M = attn_mask (bool True = masked → −∞, float added; (L, S) or (N·h, L, S))
      + key_padding_mask (N, S) broadcast over the heads and queries

need_weights returns P averaged over the heads (average_attn_weights) or per head. A row whose keys are all masked
gives zeros in shenjing and NaN in ONNX's Softmax.
"""

from __future__ import annotations

import math
from typing import Any

import numpy  # host-side: weights are copied into the ONNX file (no math here)

from ._graph import Graph, host, register_converter, unsupported


def _additive(g: Graph, mask: str, path: str) -> str:
    """A bool mask (True = masked) as 0 / −∞, or a float mask as it is, in the graph's dtype."""
    if g.dtypes.get(mask) == numpy.dtype(bool):
        return g.node("Where", [mask, g.const(f"{path}.masked", -numpy.inf), g.const(f"{path}.allowed", 0.0)], path)
    return g.cast(mask, g.dtype, path)


def _project(g: Graph, x: str, w: Any, b: Any, path: str, hint: str) -> str:
    y = g.node("MatMul", [x, g.const(f"{path}.{hint}_weight_t", numpy.asarray(host(w)).T)], path)
    return y if b is None else g.node("Add", [y, g.const(f"{path}.{hint}_bias", b)], path)


@register_converter("MultiheadAttention")
def _multihead_attention(g: Graph, m: Any, x: str, path: str) -> Any:
    names = ["query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
             "is_causal"]
    call = dict(zip(names, g.args, strict=False)) | g.kwargs
    query, key, value = call["query"], call.get("key", call["query"]), call.get("value", call["query"])
    if m.bias_k is not None or m.add_zero_attn:
        raise unsupported(m, path, "add_bias_kv / add_zero_attn are not exported")
    batched = g.rank == 3
    if batched and m.batch_first:
        query, key, value = (g.node("Transpose", [t], path, perm=[1, 0, 2]) for t in (query, key, value))
    elif not batched:
        axes = g.ints(f"{path}.axes", [1])
        query, key, value = (g.node("Unsqueeze", [t, axes], path) for t in (query, key, value))
    E, h, d = m.embed_dim, m.num_heads, m.head_dim
    b = None if m.in_proj_bias is None else numpy.asarray(host(m.in_proj_bias))
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
    if m._qkv_same_embed_dim:
        W = numpy.asarray(host(m.in_proj_weight))
        wq, wk, wv = W[:E], W[E : 2 * E], W[2 * E :]
    else:
        wq, wk, wv = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
    heads = g.ints(f"{path}.heads", [0, 0, h, d])  # (L, N, E) → (L, N, h, d); 0 copies L and N (dynamic or not)
    split = [g.node("Reshape", [_project(g, t, w, bias, path, hint), heads], path)
             for t, w, bias, hint in ((query, wq, bq, "q"), (key, wk, bk, "k"), (value, wv, bv, "v"))]
    q = g.node("Transpose", [split[0]], path, perm=[1, 2, 0, 3])  # (N, h, L, d)
    k_t = g.node("Transpose", [split[1]], path, perm=[1, 2, 3, 0])  # (N, h, d, S)
    v = g.node("Transpose", [split[2]], path, perm=[1, 2, 0, 3])  # (N, h, S, d)
    s = g.node("Mul", [g.node("MatMul", [q, k_t], path), g.const(f"{path}.scale", 1 / math.sqrt(d))], path)
    attn_mask, padding = call.get("attn_mask"), call.get("key_padding_mask")
    if isinstance(attn_mask, str):
        mask = _additive(g, attn_mask, path)
        shape = g.shapes.get(attn_mask, ((),))[0]
        if len(shape) == 3:  # (N·h, L, S) → (N, h, L, S)
            L, S = shape[1:]
            mask = g.node("Reshape", [mask, g.ints(f"{path}.mask_shape", [-1, h, L, S])], path)
        s = g.node("Add", [s, mask], path)
    if isinstance(padding, str):
        if not batched:
            padding = g.node("Unsqueeze", [padding, g.ints(f"{path}.axes", [0])], path)
        pad = g.node("Unsqueeze", [_additive(g, padding, path), g.ints(f"{path}.pad_axes", [1, 2])], path)
        s = g.node("Add", [s, pad], path)  # (N, 1, 1, S) over the heads and the queries
    p = g.node("Softmax", [s], path, axis=-1)
    o = g.node("Transpose", [g.node("MatMul", [p, v], path)], path, perm=[2, 0, 1, 3])  # (L, N, h, d)
    o = g.node("Reshape", [o, g.ints(f"{path}.merge", [0, 0, E])], path)
    o = _project(g, o, m.out_proj.weight, m.out_proj.bias, path, "out_proj")
    if batched and m.batch_first:
        o = g.node("Transpose", [o], path, perm=[1, 0, 2])
    elif not batched:
        o = g.node("Squeeze", [o, g.ints(f"{path}.axes", [1])], path)
    if not call.get("need_weights", True):
        return o, None
    weights = g.reduce("ReduceMean", p, [1], False, path) if call.get("average_attn_weights", True) else p
    if not batched:
        weights = g.node("Squeeze", [weights, g.ints(f"{path}.axes", [0])], path)
    return o, weights

