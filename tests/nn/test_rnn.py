"""RNN, LSTM, GRU and their cells against PyTorch 2.13 (outputs, final states, every gradient) and finite differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing
from shenjing import nn
from shenjing.nn.utils import rnn as rnn_utils

LAYERS = ["RNN", "RNN_relu", "LSTM", "LSTM_proj", "LSTM_nobias", "GRU"]


def make_pair(kind: str, dtype: str, **kw):
    name, extra = kind.split("_") if "_" in kind else (kind, None)
    if extra == "relu":
        kw["nonlinearity"] = "relu"
    if extra == "proj":
        kw["proj_size"] = 3
    if extra == "nobias":
        kw["bias"] = False
    t = getattr(torch.nn, name)(5, 7, **kw).to(getattr(torch, dtype))
    s = getattr(nn, name)(5, 7, dtype=getattr(shenjing, dtype), **kw)
    s.load_state_dict({k: shenjing.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, s


def both(array, requires_grad=True):
    return torch.tensor(array, requires_grad=requires_grad), shenjing.tensor(array, requires_grad=requires_grad)


def final_states(h, lstm):
    return [h[0], h[1]] if lstm else [h]


def loss_of(out, states, weights):
    total = (out * weights[0]).sum()
    for h, w in zip(states, weights[1:]):
        total = total + (h * w).sum()
    return total


def compare(t_out, s_out, t_states, s_states, tol):
    assert tuple(s_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(s_out.array, t_out.detach().numpy(), **tol)
    for a, b in zip(s_states, t_states):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.array, b.detach().numpy(), **tol)


TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-5)}


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (1, True), (2, True)])
@pytest.mark.parametrize("batch_first,with_state", [(False, False), (True, True)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, with_state, dtype):
    rng = np.random.default_rng(hash((kind, num_layers, bidirectional, batch_first)) % 2**32)
    t, s = make_pair(kind, dtype, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    T, N = 6, 3
    x = rng.standard_normal((N, T, 5) if batch_first else (T, N, 5)).astype(dtype)
    xt, xs = both(x)
    lstm = kind.startswith("LSTM")
    D = 2 if bidirectional else 1
    P = 3 if kind == "LSTM_proj" else 7
    args_t, args_s = (), ()
    hs0 = []
    if with_state:
        h0 = rng.standard_normal((num_layers * D, N, P)).astype(dtype)
        h0t, h0s = both(h0)
        hs0 = [(h0t, h0s)]
        if lstm:
            c0 = rng.standard_normal((num_layers * D, N, 7)).astype(dtype)
            c0t, c0s = both(c0)
            hs0.append((c0t, c0s))
            args_t, args_s = ((h0t, c0t),), ((h0s, c0s),)
        else:
            args_t, args_s = (h0t,), (h0s,)
    ot, ht = t(xt, *args_t)
    os_, hs = s(xs, *args_s)
    compare(ot, os_, final_states(ht, lstm), final_states(hs, lstm), TOL[dtype])
    weights = [rng.standard_normal(tuple(ot.shape))] + [rng.standard_normal(tuple(h.shape))
                                                        for h in final_states(ht, lstm)]
    loss_of(ot, final_states(ht, lstm), [torch.tensor(w.astype(dtype)) for w in weights]).backward()
    loss_of(os_, final_states(hs, lstm), [shenjing.tensor(w.astype(dtype)) for w in weights]).backward()
    gtol = TOL[dtype] if dtype == "float64" else dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), **gtol)
    for a, b in hs0:
        np.testing.assert_allclose(b.grad.array, a.grad.numpy(), **gtol)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(s, name).grad.array, p.grad.numpy(), err_msg=name, **gtol)


@pytest.mark.parametrize("batch", [63, 64])
def test_lstm_weight_gradients_both_ways_of_summing(batch):
    """LSTMFunction sums ∂L/∂W step by step from 64 sequences on, in one product after the loop below: both
    give PyTorch's gradients (float64)."""
    rng = np.random.default_rng(batch)
    t, s = make_pair("LSTM", "float64", num_layers=2)
    x = rng.standard_normal((5, batch, 5))
    xt, xs = both(x)
    w = rng.standard_normal((5, batch, 7))
    (t(xt)[0] * torch.tensor(w)).sum().backward()
    (s(xs)[0] * shenjing.tensor(w)).sum().backward()
    np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), **TOL["float64"])
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(s, name).grad.array, p.grad.numpy(), err_msg=name, **TOL["float64"])


@pytest.mark.parametrize("frozen", ["weight_hh_l0", "weight_ih_l0", "bias_ih_l0"])
def test_lstm_partial_gradients_match_torch(frozen):
    """Input without gradient (data), one parameter frozen: the rest of the gradients as PyTorch's (float64)."""
    rng = np.random.default_rng(7)
    t, s = make_pair("LSTM", "float64", batch_first=True)
    getattr(t, frozen).requires_grad_(False)
    getattr(s, frozen).requires_grad_(False)
    x = rng.standard_normal((4, 6, 5))
    w = torch.tensor(rng.standard_normal((4, 7)))
    (t(torch.tensor(x))[0][:, -1] * w).sum().backward()
    (s(shenjing.tensor(x))[0][:, -1] * shenjing.tensor(w.numpy())).sum().backward()
    for name, p in t.named_parameters():
        if name == frozen:
            assert getattr(s, name).grad is None
            continue
        np.testing.assert_allclose(getattr(s, name).grad.array, p.grad.numpy(), err_msg=name, **TOL["float64"])


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_input_matches_torch_and_each_sequence_alone(kind, bidirectional, enforce_sorted):
    rng = np.random.default_rng(7)
    t, s = make_pair(kind, "float64", num_layers=2, bidirectional=bidirectional)
    lengths = [6, 4, 4, 1] if enforce_sorted else [3, 6, 1, 4]
    x = rng.standard_normal((6, 4, 5))
    xt, xs = both(x)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=enforce_sorted)
    ps = rnn_utils.pack_padded_sequence(xs, lengths, enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(ps.batch_sizes.array, pt.batch_sizes.numpy())
    np.testing.assert_allclose(ps.data.array, pt.data.detach().numpy())
    ot, ht = t(pt)
    os_, hs = s(ps)
    lstm = kind.startswith("LSTM")
    pad_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(ot)
    pad_s, len_s = rnn_utils.pad_packed_sequence(os_)
    np.testing.assert_array_equal(len_s.array, len_t.numpy())
    compare(pad_t, pad_s, final_states(ht, lstm), final_states(hs, lstm), TOL["float64"])
    w = rng.standard_normal(tuple(pad_t.shape))
    loss_of(pad_t, final_states(ht, lstm), [torch.tensor(w)] + [1.0] * 2).backward()
    loss_of(pad_s, final_states(hs, lstm), [shenjing.tensor(w)] + [1.0] * 2).backward()
    np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(s, name).grad.array, p.grad.numpy(), rtol=1e-10, atol=1e-12)
    # each sequence alone gives the same final state as the packed batch
    for b, n in enumerate(lengths):
        _, alone = s(shenjing.tensor(x[:n, b : b + 1]))
        for a, packed in zip(final_states(alone, lstm), final_states(hs, lstm)):
            np.testing.assert_allclose(a.array[:, 0], packed.array[:, b], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", LAYERS)
def test_unbatched_input(kind):
    t, s = make_pair(kind, "float64", num_layers=2)
    x = np.random.default_rng(3).standard_normal((4, 5))
    ot, ht = t(torch.tensor(x))
    os_, hs = s(shenjing.tensor(x))
    lstm = kind.startswith("LSTM")
    compare(ot, os_, final_states(ht, lstm), final_states(hs, lstm), TOL["float64"])


def test_dropout_between_layers_only_in_training():
    s = nn.LSTM(5, 7, num_layers=3, dropout=0.5)
    x = shenjing.randn(4, 2, 5)
    s.eval()
    a, _ = s(x)
    b, _ = s(x)
    np.testing.assert_array_equal(a.array, b.array)
    s.train()
    c, _ = s(x)
    assert not np.allclose(a.array, c.array)
    one = nn.LSTM(5, 7, num_layers=1, dropout=0.0)
    one.train()
    d, _ = one(x)
    e, _ = one(x)
    np.testing.assert_array_equal(d.array, e.array)


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(cell, batched):
    torch.manual_seed(0)  # the same weights every run: rtol without atol must not meet a random near-zero value
    t = getattr(torch.nn, cell)(5, 7).double()
    s = getattr(nn, cell)(5, 7, dtype=shenjing.float64)
    s.load_state_dict({k: shenjing.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    rng = np.random.default_rng(11)
    shape = (3, 5) if batched else (5,)
    hshape = (3, 7) if batched else (7,)
    x, h, c = rng.standard_normal(shape), rng.standard_normal(hshape), rng.standard_normal(hshape)
    xt, xs = both(x)
    ht, hs = both(h)
    if cell == "LSTMCell":
        ct, cs = both(c)
        ot, st = t(xt, (ht, ct))
        os_, ss = s(xs, (hs, cs))
        (ot.sum() + 2 * st.sum()).backward()
        (os_.sum() + 2 * ss.sum()).backward()
        np.testing.assert_allclose(ss.array, st.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(cs.grad.array, ct.grad.numpy(), rtol=1e-10)
    else:
        ot, os_ = t(xt, ht), s(xs, hs)
        (ot**2).sum().backward()
        (os_**2).sum().backward()
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(hs.grad.array, ht.grad.numpy(), rtol=1e-10)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(s, name).grad.array, p.grad.numpy(), rtol=1e-10, err_msg=name)


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell", "RNNCell_relu"])
def test_cells_against_finite_differences(cell):
    """The BPTT rules, checked without torch: a cell unrolled over 3 steps in float64, every input and weight."""
    rng = np.random.default_rng(5)
    name, relu = cell.split("_")[0], cell.endswith("relu")
    layer = getattr(nn, name)(3, 4, dtype=shenjing.float64, **({"nonlinearity": "relu"} if relu else {}))
    names = [n for n, _ in layer.named_parameters()]
    weights = [p.array.copy() for p in layer.parameters()]

    def run(x, h0, *ws):
        saved = dict(layer._parameters)
        layer._parameters.update(zip(names, ws))  # differentiate with respect to the weights given
        try:
            h, c = h0, h0 * 0.5
            out = 0
            for t in range(3):
                if name == "LSTMCell":
                    h, c = layer(x[t], (h, c))
                else:
                    h = layer(x[t], h)
                out = out + h * (t + 1)
            return out
        finally:
            layer._parameters.update(saved)

    x = rng.standard_normal((3, 2, 3))
    h0 = rng.standard_normal((2, 4))
    check_gradients(run, [x, h0, *weights])
    tensors = [shenjing.tensor(a, requires_grad=True) for a in [x, h0, *weights]]
    run(*tensors).sum().backward()
    assert all(np.abs(t.grad.array).max() > 1e-3 for t in tensors)  # no vacuous zero gradients


def test_state_dict_keys_and_shapes_match_torch():
    for kw in [dict(num_layers=2, bidirectional=True), dict(num_layers=3, proj_size=2), dict(bias=False)]:
        t = torch.nn.LSTM(5, 7, **kw)
        s = nn.LSTM(5, 7, **kw)
        assert list(s.state_dict()) == list(t.state_dict())
        assert [tuple(v.shape) for v in s.state_dict().values()] == [tuple(v.shape) for v in t.state_dict().values()]
    for name in ["RNN", "GRU"]:
        t, s = getattr(torch.nn, name)(4, 6, 2, bidirectional=True), getattr(nn, name)(4, 6, 2, bidirectional=True)
        assert list(s.state_dict()) == list(t.state_dict())


def test_init_range_is_one_over_sqrt_hidden():
    s = nn.GRU(30, 100, 2)
    for p in s.parameters():
        assert np.abs(p.array).max() <= 0.1
        assert np.abs(p.array).max() > 0.09


def test_weights_load_back_into_torch():
    s = nn.GRU(5, 7, 2, batch_first=True)
    t = torch.nn.GRU(5, 7, 2, batch_first=True).double()
    t.load_state_dict({k: torch.tensor(v.array.astype("float64")) for k, v in s.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 5))
    np.testing.assert_allclose(s(shenjing.tensor(x.astype("float32")))[0].array,
                               t(torch.tensor(x))[0].detach().numpy(), rtol=1e-4, atol=1e-5)


def test_model_file_round_trip(tmp_path):
    model = nn.Sequential(nn.Embedding(20, 5))
    lstm = nn.LSTM(5, 6, 2, batch_first=True, bidirectional=True)
    path = tmp_path / "lstm.safetensors"
    shenjing.io.save_model(lstm, path)
    back = shenjing.io.load(path)
    assert isinstance(back, nn.LSTM) and back.bidirectional and back.num_layers == 2 and back.batch_first
    x = shenjing.randn(2, 3, 5)
    np.testing.assert_array_equal(back(x)[0].array, lstm(x)[0].array)
    shenjing.io.save_model(model, tmp_path / "emb.safetensors")
    again = shenjing.io.load(tmp_path / "emb.safetensors")
    idx = shenjing.tensor([[1, 2, 19]])
    np.testing.assert_array_equal(again(idx).array, model(idx).array)


BAD = [
    (lambda: nn.LSTM(5, 7)(shenjing.randn(4, 2, 6)), RuntimeError, "input_size. Expected 5, got 6"),
    (lambda: nn.GRU(5, 7, 2)(shenjing.randn(4, 2, 5), shenjing.zeros(1, 2, 7)), RuntimeError, "(2, 2, 7)"),
    (lambda: nn.LSTM(5, 7)(shenjing.randn(4, 2, 5), shenjing.zeros(1, 2, 7)), TypeError, "tuple"),
    (lambda: nn.LSTM(5, 7)(shenjing.randn(4, 2, 5), (shenjing.zeros(1, 2, 7), shenjing.zeros(1, 3, 7))),
     RuntimeError, "cell"),
    (lambda: nn.RNN(5, 7)(shenjing.randn(4, 5, 2, 5)), ValueError, "4D"),
    (lambda: nn.LSTM(5, 7)(shenjing.randn(0, 2, 5)), RuntimeError, "sequence length to be larger than 0"),
    (lambda: nn.GRU(5, 7, batch_first=True)(shenjing.randn(2, 0, 5)), RuntimeError, "larger than 0"),
    (lambda: nn.RNN(5, 7, nonlinearity="sigmoid"), ValueError, "nonlinearity"),
    (lambda: nn.LSTM(5, 7, proj_size=7), ValueError, "proj_size"),
    (lambda: nn.GRU(5, 7, proj_size=2), TypeError, "proj_size"),
    (lambda: nn.LSTM(5, 0), ValueError, "hidden_size"),
    (lambda: nn.LSTM(5, "7"), TypeError, "hidden_size"),
    (lambda: nn.LSTM(5, 7, dropout=5), ValueError, "dropout"),
    (lambda: nn.GRUCell(5, 7)(shenjing.randn(3, 4)), RuntimeError, "input_size"),
    (lambda: rnn_utils.pack_padded_sequence(shenjing.randn(4, 3, 2), [3, 4, 1]), RuntimeError, "sorted"),
    (lambda: rnn_utils.pack_padded_sequence(shenjing.randn(4, 3, 2), [9, 2, 1]), RuntimeError, "longer"),
    (lambda: rnn_utils.pack_padded_sequence(shenjing.randn(4, 3, 2), [4, 2, 0]), RuntimeError, "greater than 0"),
    (lambda: rnn_utils.pack_padded_sequence(shenjing.randn(4, 3, 2), [4, 2]), ValueError, "3 lengths"),
]


@pytest.mark.parametrize("call,error,text", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_is_a_clear_error(call, error, text):
    with pytest.raises(error, match=None) as info:
        call()
    assert text in str(info.value)


@pytest.mark.parametrize("batch_first,side", list(itertools.product([False, True], ["right", "left"])))
def test_pad_sequence_and_pack_sequence(batch_first, side):
    rng = np.random.default_rng(2)
    seqs = [rng.standard_normal((n, 3)) for n in (5, 2, 4)]
    t = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in seqs], batch_first=batch_first,
                                        padding_value=-1.0, padding_side=side)
    ss = [shenjing.tensor(a, requires_grad=True) for a in seqs]
    s = rnn_utils.pad_sequence(ss, batch_first=batch_first, padding_value=-1.0, padding_side=side)
    np.testing.assert_array_equal(s.array, t.numpy())
    s.sum().backward()
    assert all(np.array_equal(x.grad.array, np.ones_like(x.array)) for x in ss)
    pt = torch.nn.utils.rnn.pack_sequence([torch.tensor(a) for a in seqs], enforce_sorted=False)
    ps = rnn_utils.pack_sequence([shenjing.tensor(a) for a in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(ps.data.array, pt.data.numpy())
    np.testing.assert_array_equal(ps.sorted_indices.array, pt.sorted_indices.numpy())
    back = rnn_utils.unpack_sequence(ps)
    for a, b in zip(back, seqs):
        np.testing.assert_array_equal(a.array, b)
