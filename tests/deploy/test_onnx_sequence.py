"""ONNX export of the recurrent and attention families and of custom modules (traced): onnx.checker passes and
onnxruntime agrees with shenjing within 1e-5 (float32), for the example and for a larger batch."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

import shenjing
import shenjing.nn as nn

onnx = pytest.importorskip("onnx", reason="ONNX export tests need the onnx package (pip install shenjing[onnx])")
ort = pytest.importorskip("onnxruntime", reason="ONNX parity tests need onnxruntime (pip install shenjing[onnx])")

from shenjing.onnx import UnsupportedLayerError, export, to_model  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _leaves(value):
    if isinstance(value, tuple | list):
        return [t for item in value for t in _leaves(item)]
    return [] if value is None else [value]


def _ours(model, args):
    model.eval()
    with shenjing.no_grad():
        return [t.array for t in _leaves(model(*args))]


def _parity(model, args, dynamic=None, more=(), tol=1e-5):
    """Export ``model`` for ``args`` (a tuple of positional arguments), check it, and compare onnxruntime with
    shenjing on ``args`` and on each tuple in ``more`` (other sizes along the dynamic axes). Returns the proto."""
    proto = to_model(model, args, dynamic_axes=dynamic)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for case in (args, *more):
        feeds = {i.name: t.array for i, t in zip(session.get_inputs(), _leaves(case), strict=True)}
        got, expected = session.run(None, feeds), _ours(model, case)
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, atol=tol, rtol=tol)
    return proto


def _ops(proto):
    return {n.op_type for n in proto.graph.node}


def _randn(*shape, seed=0):
    return shenjing.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


# ---- recurrent layers: every option --------------------------------------------------------------------------------
RECURRENT = list(itertools.product(["LSTM", "GRU", "RNN"], [1, 2], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("kind,layers,bidirectional,batch_first,initial", RECURRENT,
                         ids=["-".join(str(v) for v in case) for case in RECURRENT])
def test_recurrent_parity(kind, layers, bidirectional, batch_first, initial):
    shenjing.manual_seed(0)
    layer = getattr(nn, kind)(4, 5, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    T, I, D = 6, 4, 2 if bidirectional else 1

    def inputs(n, seed):
        x = _randn(*((n, T, I) if batch_first else (T, n, I)), seed=seed)
        if not initial:
            return (x,)
        h = _randn(layers * D, n, 5, seed=seed + 1)
        return (x, (h, _randn(layers * D, n, 5, seed=seed + 2))) if kind == "LSTM" else (x, h)

    batch = 0 if batch_first else 1
    dynamic = {"input": {batch: "batch"}, "output": {batch: "batch"}}
    if initial:
        dynamic.update({name: {1: "batch"} for name in ("input_1", "input_2")[: 2 if kind == "LSTM" else 1]})
    proto = _parity(layer, inputs(3, 0), dynamic, more=[inputs(5, 10)])
    assert {"LSTM": "LSTM", "GRU": "GRU", "RNN": "RNN"}[kind] in _ops(proto)
    outputs = [o.name for o in proto.graph.output]
    assert outputs == (["output", "output_1", "output_2"] if kind == "LSTM" else ["output", "output_1"])
    assert proto.graph.input[0].type.tensor_type.shape.dim[batch].dim_param == "batch"


def test_recurrent_variants():
    shenjing.manual_seed(0)
    _parity(nn.RNN(3, 4, nonlinearity="relu", bias=False), (_randn(5, 2, 3),))
    _parity(nn.GRU(3, 4, bias=False, bidirectional=True), (_randn(5, 2, 3),))
    _parity(nn.LSTM(3, 4, num_layers=2), (_randn(5, 3),))  # unbatched (L, H_in)


def test_lstm_proj_size_is_a_clear_error():
    with pytest.raises(UnsupportedLayerError, match=r"model \(LSTM\).*proj_size=2.*no output projection"):
        to_model(nn.LSTM(3, 4, proj_size=2), (_randn(5, 2, 3),))


class RowLSTM(nn.Module):
    """An MNIST row classifier: each image row is a time step; the last step's state is classified."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 16, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        out, _ = self.lstm(x.reshape(x.shape[0], 28, 28))
        return self.head(out[:, -1])


def test_row_lstm_classifier():
    shenjing.manual_seed(0)
    proto = _parity(RowLSTM(), (_randn(2, 1, 28, 28),), {"input": {0: "batch"}}, more=[(_randn(5, 1, 28, 28),)])
    assert {"LSTM", "Reshape", "Slice", "Squeeze", "MatMul"} <= _ops(proto)
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


# ---- embedding, attention, transformers ------------------------------------------------------------------------------
def _ids(*shape, vocab=11, seed=0):
    return shenjing.tensor(np.random.default_rng(seed).integers(0, vocab, shape))


def test_embedding_gather():
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Embedding(11, 4, padding_idx=0), nn.Flatten(), nn.Linear(12, 2))
    proto = _parity(model, (_ids(2, 3),), {"input": {0: "batch"}}, more=[(_ids(5, 3, seed=1),)])
    assert "Gather" in _ops(proto)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    with pytest.raises(UnsupportedLayerError, match="max_norm"):
        to_model(nn.Embedding(11, 4, max_norm=1.0), (_ids(2, 3),))


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention(need_weights):
    shenjing.manual_seed(0)

    class Attend(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, q, kv):
            mask = shenjing.tensor(np.triu(np.ones((4, 6), dtype=bool), 3))  # a constant float mask after −∞
            return self.attn(q, kv, kv, attn_mask=mask, need_weights=need_weights)

    dynamic = {"input": {0: "b"}, "input_1": {0: "b"}}
    _parity(Attend(), (_randn(2, 4, 8), _randn(2, 6, 8, seed=1)), dynamic,
            more=[(_randn(3, 4, 8, seed=2), _randn(3, 6, 8, seed=3))])


MHA_CASES = {
    "seq_first": ({}, {}),
    "kdim_vdim": ({"kdim": 5, "vdim": 3}, {}),
    "per_head_weights": ({}, {"average_attn_weights": False}),
    "mask_3d_float": ({}, {"attn_mask": "3d"}),
    "padding_no_bias": ({"bias": False}, {"key_padding_mask": True}),
}


@pytest.mark.parametrize("case", sorted(MHA_CASES))
def test_multihead_attention_options(case):
    shenjing.manual_seed(0)
    options, call = MHA_CASES[case]
    attn = nn.MultiheadAttention(8, 2, **options)
    kdim, vdim = options.get("kdim", 8), options.get("vdim", 8)
    n = 3

    class Attend(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = attn

        def forward(self, q, k, v):
            kw = dict(call)
            if kw.get("attn_mask") == "3d":
                kw["attn_mask"] = shenjing.tensor(np.random.default_rng(4).standard_normal((n * 2, 4, 6)).astype(
                    np.float32))
            if kw.get("key_padding_mask"):
                kw["key_padding_mask"] = shenjing.tensor(np.arange(6)[None, :] >= np.array([[6], [4], [2]]))
            return self.attn(q, k, v, **kw)

    _parity(Attend(), (_randn(4, n, 8), _randn(6, n, kdim, seed=1), _randn(6, n, vdim, seed=2)))


def test_multihead_attention_unbatched():
    shenjing.manual_seed(0)
    x = _randn(5, 8)
    _parity(nn.MultiheadAttention(8, 4), (x, x, x))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_causal(norm_first):
    shenjing.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, activation="gelu", batch_first=True,
                                       norm_first=norm_first)
    encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)

    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, x):
            mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
            return self.encoder(x, mask=mask, is_causal=True)

    proto = _parity(Causal(), (_randn(2, 5, 8),), {"input": {0: "batch", 1: "time"}},
                    more=[(_randn(4, 5, 8, seed=1),), (_randn(1, 7, 8, seed=2),)])  # the mask follows the time axis
    assert {"LayerNormalization", "Softmax", "Erf"} <= _ops(proto)
    _parity(encoder, (_randn(5, 2, 8).transpose(0, 1),))  # no mask, straight from the container


def _example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vit_of_the_example():
    shenjing.manual_seed(0)
    vit = _example("vit_mnist").build(shenjing, width=16, depth=2, heads=2, mlp=32)
    proto = _parity(vit, (_randn(2, 1, 28, 28),), {"input": {0: "batch"}}, more=[(_randn(5, 1, 28, 28, seed=1),)])
    assert "Shape" in _ops(proto)  # the reshape(N, …) and expand(N, …) read the batch size at run time


def test_tiny_gpt_forward():
    shenjing.manual_seed(0)
    gpt = _example("gpt_char").build(shenjing, vocab_size=11, n_layer=2, n_head=2, n_embd=16, block_size=8)
    # batch and sequence length both dynamic: arange(T) → Range, the causal mask → Trilu over Shape(q), Shape(k)
    proto = _parity(gpt, (_ids(2, 6),), {"input": {0: "batch", 1: "time"}},
                    more=[(_ids(3, 8, seed=1),), (_ids(1, 2, seed=2),)])
    assert {"Range", "Trilu"} <= _ops(proto)
    tied = [i for i in proto.graph.initializer if tuple(i.dims) in ((11, 16), (16, 11))]
    assert [i.name for i in tied] == ["model.wte.weight"]  # the tied embedding / lm_head weight is stored once
    assert [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim] == \
        ["batch", "time", 11]


@pytest.mark.parametrize("make", [lambda: nn.RMSNorm(6), lambda: nn.RMSNorm((2, 6), eps=1e-3),
                                  lambda: nn.LayerNorm(6), lambda: nn.GELU(), lambda: nn.GELU(approximate="tanh")],
                         ids=["rmsnorm", "rmsnorm_2d", "layernorm", "gelu", "gelu_tanh"])
def test_norms_and_gelu(make):
    shenjing.manual_seed(0)
    _parity(nn.Sequential(make()), (_randn(3, 2, 6),), {"input": {0: "batch"}}, more=[(_randn(4, 2, 6, seed=1),)])


# ---- traced ops -----------------------------------------------------------------------------------------------------
class Ops(nn.Module):
    """A forward with many traced ops: arithmetic with numbers, reductions, indexing, cat/stack, softmax …"""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.register_buffer("offset", shenjing.arange(6).float() / 10)

    def forward(self, x, y):
        z = self.fc(x) * 2 - y / 3 + self.offset
        z = shenjing.cat([z, z.flip(-1).exp().log()], dim=-1)[..., ::2]  # (N, 4, 6)
        s = shenjing.stack([z.sum(1), z.mean(1), z.amax(1), z.var(1)], dim=1)  # (N, 4, 6)
        w = (s.softmax(-1) @ z.transpose(1, 2)).abs().sqrt()  # (N, 4, 4)
        pick = w[:, None, 1:3, shenjing.tensor([0, 2, 3])].squeeze(1)  # (N, 2, 3)
        bounded = shenjing.maximum(pick, -pick).clamp(-0.7, 0.7) - shenjing.minimum(pick, 0.2 * pick)
        return bounded.relu().tanh(), z.permute(2, 0, 1)


def test_traced_ops_and_two_inputs():
    shenjing.manual_seed(0)
    args = (_randn(2, 4, 6), _randn(2, 4, 6, seed=1))
    more = [(_randn(5, 4, 6, seed=2), _randn(5, 4, 6, seed=3))]
    proto = _parity(Ops(), args, {"input": {0: "n"}, "input_1": {0: "n"}}, more=more)
    dims = [d.dim_param or d.dim_value for d in proto.graph.output[1].type.tensor_type.shape.dim]
    assert dims == [6, "n", 4]  # the batch axis followed through the permute


def test_computed_outside_the_graph_is_an_error():
    class Sign(nn.Module):
        def forward(self, x):
            return x * shenjing.Tensor._wrap(np.sign(x.array))  # array code: invisible to the tracer

    with pytest.raises(UnsupportedLayerError, match=r"model.*computed from the input outside the traced ops"):
        to_model(Sign(), (_randn(2, 3),))

    class Drop(nn.Module):
        def forward(self, x, mask):
            return x * 2, mask.array.sum()

    with pytest.raises(UnsupportedLayerError):
        to_model(Drop(), (_randn(2, 3), _randn(2, 3)))


def test_sizes_that_follow_the_input():
    """zeros/ones/full/arange whose sizes come from x.shape follow the dynamic axes (Expand, Range); the same made
    by array code cannot, and says so."""

    class Made(nn.Module):
        def forward(self, x):
            N, T = x.shape
            return x + shenjing.zeros(x.shape) + shenjing.ones(N, 1) * shenjing.arange(T).float() + \
                shenjing.full((N, T), 0.5)

    _parity(Made(), (_randn(2, 3),), {"input": [0, 1]}, more=[(_randn(4, 5, seed=1),)])

    class Wrapped(nn.Module):
        def forward(self, x):
            return x + shenjing.Tensor._wrap(np.zeros(x.shape, np.float32))

    to_model(Wrapped(), (_randn(2, 3),))  # fine without dynamic axes: the zeros are a constant
    with pytest.raises(UnsupportedLayerError, match="computed from the input"):
        to_model(Wrapped(), (_randn(2, 3),), dynamic_axes={"input": [0]})


def test_export_file_and_names(tmp_path):
    shenjing.manual_seed(0)
    path = tmp_path / "lstm.onnx"
    export(nn.LSTM(3, 4), _randn(5, 2, 3), path, input_names=["x"], output_names=["y", "h", "c"],
           dynamic_axes={"x": {1: "batch"}})
    proto = onnx.load(str(path))
    assert [o.name for o in proto.graph.output] == ["y", "h", "c"]
    assert proto.graph.output[1].type.tensor_type.shape.dim[1].dim_param == "batch"
    with pytest.raises(ValueError, match="returns 3 tensors but 1 output names"):
        to_model(nn.LSTM(3, 4), _randn(5, 2, 3), output_names=["y"])


def test_cli_export_of_saved_sequence_models(tmp_path, capsys):
    from shenjing.cli import main

    shenjing.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, batch_first=True)
    shenjing.save(gru, tmp_path / "gru.safetensors", input_shape=[5, 3])
    out = tmp_path / "gru.onnx"
    assert main(["export", str(tmp_path / "gru.safetensors"), "--onnx", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    x = _randn(3, 5, 3)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["output", "output_1"]
    for got, expected in zip(session.run(None, {"input": x.array}), _ours(gru, (x,)), strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)

    tagger = nn.Sequential(nn.Embedding(11, 4), nn.Flatten(), nn.Linear(12, 3))
    shenjing.save(tagger, tmp_path / "tagger.safetensors", input_shape=[3])
    out = tmp_path / "tagger.onnx"
    assert main(["export", str(tmp_path / "tagger.safetensors"), "--onnx", str(out)]) == 0  # int64 ids
    ids = _ids(4, 3)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": ids.array})[0]
    np.testing.assert_allclose(got, _ours(tagger, (ids,))[0], atol=1e-5, rtol=1e-5)

    shenjing.save(nn.LSTM(3, 4, proj_size=2), tmp_path / "proj.safetensors", input_shape=[5, 3])
    assert main(["export", str(tmp_path / "proj.safetensors"), "--onnx", str(out)]) == 2
    assert "proj_size" in capsys.readouterr().err


def test_comparisons_and_masks_are_traced():
    """Comparisons, logical ops, // and % are not autograd Functions, but the tracer sees them: a padding mask made
    from token ids (a second, integer input) stays a graph computation."""

    class Masked(nn.Module):
        def forward(self, x, ids):
            y = x.masked_fill((ids == 0)[..., None], -1.0)
            z = shenjing.where((x > 0.3) & ~(x < -0.5), x, x * 0.1)
            return y + z + x // 0.5 + x % 0.7, ids % 3 + (ids != 2)

    ids = shenjing.tensor(np.array([[0, 1, 2, 0], [3, 0, 5, 6]]))
    more = [(_randn(3, 4, 3, seed=1), shenjing.tensor(np.array([[0, 0, 2, 1], [3, 0, 0, 6], [1, 2, 3, 4]])))]
    proto = _parity(Masked(), (_randn(2, 4, 3), ids), {"input": [0], "input_1": [0]}, more=more)
    assert {"Equal", "Greater", "Less", "And", "Not", "Where", "Floor", "Mod"} <= _ops(proto)


@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell", "RNNCell", "RNNCell-relu"])
def test_cells_in_a_loop(cell):
    """A forward that steps a cell itself (a decoder's loop): each step is one traced recurrence Function."""
    shenjing.manual_seed(0)
    name, _, act = cell.partition("-")

    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = getattr(nn, name)(3, 4, **({"nonlinearity": act} if act else {}))

        def forward(self, x, h):
            state = (h, h * 0.5) if name == "LSTMCell" else h
            outputs = []
            for t in range(x.shape[1]):
                state = self.cell(x[:, t], state)
                outputs.append(state[0] if name == "LSTMCell" else state)
            return shenjing.stack(outputs, 1)

    args = (_randn(2, 3, 3), _randn(2, 4, seed=1))
    more = [(_randn(5, 3, 3, seed=2), _randn(5, 4, seed=3))]
    _parity(Loop(), args, {"input": [0], "input_1": [0]}, more=more)


def test_float64_traced():
    shenjing.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.encoder = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
            self.norm = nn.RMSNorm(4)

        def forward(self, x):
            return self.norm(self.encoder(self.fc(x))).mean(1)

    model = Block().double()
    x = shenjing.tensor(np.random.default_rng(0).standard_normal((2, 5, 3)))
    proto = to_model(model, (x,))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x.array})[0], _ours(model, (x,))[0], rtol=1e-10,
                               atol=1e-12)


def test_padding_mask_from_token_ids():
    """Token ids and a padding mask as two graph inputs, through Embedding, a TransformerEncoder (its attention's
    converter takes masks that are graph values) and masked mean pooling."""
    shenjing.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(11, 8)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(8, 3)

        def forward(self, ids, pad):
            x = self.encoder(self.embed(ids), src_key_padding_mask=pad)
            keep = (~pad).float()[..., None]
            return self.head((x * keep).sum(1) / keep.sum(1))

    def case(n, seed):
        lengths = np.random.default_rng(seed).integers(1, 6, n)
        return _ids(n, 5, seed=seed), shenjing.tensor(np.arange(5)[None, :] >= lengths[:, None])

    proto = _parity(Classifier(), case(2, 0), {"input": [0], "input_1": [0]}, more=[case(4, 1)])
    assert proto.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.BOOL


def test_scaled_dot_product_attention_traced():
    """F.scaled_dot_product_attention in a custom forward: the fused Function, with a constant mask."""
    F = nn.functional

    class Attend(nn.Module):
        def forward(self, q, k):
            mask = shenjing.tensor(np.tril(np.ones((4, 6), dtype=bool), 2))
            return F.scaled_dot_product_attention(q, k, k, attn_mask=mask) + \
                F.scaled_dot_product_attention(q, k[:, :, :4], q, is_causal=True, scale=0.3)

    args = (_randn(2, 3, 4, 5), _randn(2, 3, 6, 5, seed=1))
    proto = _parity(Attend(), args, {"input": [0], "input_1": [0]},
                    more=[(_randn(3, 3, 4, 5, seed=2), _randn(3, 3, 6, 5, seed=3))])
    assert _ops(proto) >= {"Softmax", "MatMul", "Add"}


def test_functional_cnn_traced():
    """F.conv2d / max_pool2d / avg_pool2d / batch_norm called in a custom forward."""
    F = nn.functional
    shenjing.manual_seed(0)

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(shenjing.randn(4, 2, 3, 3) * 0.3)
            self.bn = nn.BatchNorm2d(4)
            self.bn.running_mean.array[...] = np.linspace(-0.5, 0.5, 4)
            self.bn.running_var.array[...] = np.linspace(0.5, 2.0, 4)

        def forward(self, x):
            y = F.conv2d(x, self.w, None, stride=1, padding=(1, 2), dilation=(1, 2), groups=1)
            y = F.batch_norm(y, self.bn.running_mean, self.bn.running_var, self.bn.weight, self.bn.bias, False)
            return F.max_pool2d(y, 2) + F.avg_pool2d(y, 3, stride=2, padding=1)[..., :4, :4]

    _parity(Functional(), (_randn(2, 2, 8, 8),), {"input": [0]}, more=[(_randn(3, 2, 8, 8, seed=1),)])
    with pytest.raises(UnsupportedLayerError, match="convert it first"):
        from shenjing.quantize import prepare_qat

        to_model(prepare_qat(nn.Sequential(nn.Linear(3, 2))), (_randn(2, 3),))
