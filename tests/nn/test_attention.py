"""Scaled dot-product attention, MultiheadAttention and the Transformer layers against PyTorch 2.13."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing
from shenjing import nn
from shenjing.nn.attention import scaled_dot_product_attention as sdpa

TF = torch.nn.functional


def both(a, grad=True):
    return torch.tensor(a, requires_grad=grad), shenjing.tensor(a, requires_grad=grad)


MASKS = ["none", "bool", "float", "causal", "bool_broadcast"]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_sdpa_matches_torch(mask, dtype, scale):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in [(2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)])
    (qt, qs), (kt, ks), (vt, vs) = both(q), both(k), both(v)
    kw_t, kw_s = {}, {}
    if mask == "bool":
        m = rng.random((5, 7)) > 0.3
        m[:, 0] = True
        kw_t["attn_mask"], kw_s["attn_mask"] = torch.tensor(m), shenjing.tensor(m)
    elif mask == "bool_broadcast":
        m = rng.random((2, 1, 1, 7)) > 0.3
        m[..., 0] = True
        kw_t["attn_mask"], kw_s["attn_mask"] = torch.tensor(m), shenjing.tensor(m)
    elif mask == "float":
        m = rng.standard_normal((5, 7)).astype(dtype)
        kw_t["attn_mask"], kw_s["attn_mask"] = torch.tensor(m), shenjing.tensor(m)
    elif mask == "causal":
        kw_t["is_causal"] = kw_s["is_causal"] = True
    ot = TF.scaled_dot_product_attention(qt, kt, vt, scale=scale, **kw_t)
    os_ = sdpa(qs, ks, vs, scale=scale, **kw_s)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), **tol)
    w = rng.standard_normal(ot.shape).astype(dtype)
    (ot * torch.tensor(w)).sum().backward()
    (os_ * shenjing.tensor(w)).sum().backward()
    gtol = tol if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    for a, b in [(qs, qt), (ks, kt), (vs, vt)]:
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), **gtol)


def test_sdpa_finite_differences_with_mask():
    rng = np.random.default_rng(1)
    m = shenjing.tensor(rng.random((4, 6)) > 0.4) | shenjing.tensor(np.eye(4, 6, dtype=bool))
    check_gradients(lambda q, k, v: sdpa(q, k, v, attn_mask=m),
                    [rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 5))])
    check_gradients(lambda q, k, v: sdpa(q, k, v, is_causal=True),
                    [rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))])


def test_sdpa_dropout_keeps_expectation_and_errors():
    shenjing.manual_seed(0)
    q = shenjing.randn(1, 200, 8)
    v = shenjing.ones(1, 200, 4)
    out = sdpa(q, q, v, dropout_p=0.5)
    assert abs(float(out.mean().item()) - 1.0) < 0.05  # inverted dropout: E[P ⊙ D] = P, rows of P sum to 1
    with pytest.raises(RuntimeError, match="is_causal"):
        sdpa(q, q, v, attn_mask=shenjing.ones(200, 200), is_causal=True)
    with pytest.raises(RuntimeError, match="same embedding size"):
        sdpa(shenjing.randn(2, 3), shenjing.randn(2, 4), shenjing.randn(2, 4))
    with pytest.raises(RuntimeError, match="broadcast"):
        sdpa(q, q, v, attn_mask=shenjing.ones(3, 3).bool())


def mha_pair(dtype="float64", **kw):
    t = torch.nn.MultiheadAttention(8, 2, **kw).to(getattr(torch, dtype))
    s = nn.MultiheadAttention(8, 2, dtype=getattr(shenjing, dtype), **kw)
    assert list(s.state_dict()) == list(t.state_dict())
    s.load_state_dict({k: shenjing.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, s


@pytest.mark.parametrize("variant", ["self", "cross", "kdim", "bias_kv", "zero_attn", "no_bias"])
@pytest.mark.parametrize("masks", ["none", "attn_bool", "attn_float", "padding", "both", "attn_3d"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(variant, masks, batch_first):
    kw = {"batch_first": batch_first}
    if variant == "kdim":
        kw.update(kdim=5, vdim=3)
    elif variant == "bias_kv":
        kw["add_bias_kv"] = True
    elif variant == "zero_attn":
        kw["add_zero_attn"] = True
    elif variant == "no_bias":
        kw["bias"] = False
    t, s = mha_pair(**kw)
    rng = np.random.default_rng(3)
    L, S, N = 4, 6 if variant != "self" else 4, 3
    def shape(T, E):
        return (N, T, E) if batch_first else (T, N, E)
    q = rng.standard_normal(shape(L, 8))
    k = q if variant == "self" else rng.standard_normal(shape(S, kw.get("kdim", 8)))
    v = q if variant == "self" else rng.standard_normal(shape(S, kw.get("vdim", 8)))
    (qt, qs) = both(q)
    (kt, ks), (vt, vs) = ((qt, qs), (qt, qs)) if variant == "self" else (both(k), both(v))
    kt_kw, ks_kw = {}, {}
    if masks in ("attn_bool", "both"):
        m = rng.random((L, S)) > 0.7
        m[:, 0] = False
        kt_kw["attn_mask"], ks_kw["attn_mask"] = torch.tensor(m), shenjing.tensor(m)
    if masks == "attn_float":
        m = rng.standard_normal((L, S))
        kt_kw["attn_mask"], ks_kw["attn_mask"] = torch.tensor(m), shenjing.tensor(m)
    if masks == "attn_3d":
        m = rng.standard_normal((N * 2, L, S))
        kt_kw["attn_mask"], ks_kw["attn_mask"] = torch.tensor(m), shenjing.tensor(m)
    if masks in ("padding", "both"):
        p = np.zeros((N, S), dtype=bool)
        p[0, -2:] = True
        p[2, -1] = True
        kt_kw["key_padding_mask"], ks_kw["key_padding_mask"] = torch.tensor(p), shenjing.tensor(p)
    ot, wt = t(qt, kt, vt, **kt_kw)
    os_, ws = s(qs, ks, vs, **ks_kw)
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ws.array, wt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(ot.shape)
    ((ot * torch.tensor(g)).sum() + (wt**2).sum()).backward()
    ((os_ * shenjing.tensor(g)).sum() + (ws**2).sum()).backward()
    for a, b in [(qs, qt)] + ([] if variant == "self" else [(ks, kt), (vs, vt)]):
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=1e-9, atol=1e-11)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(s.get_parameter(name).grad.array, p.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)


def test_multihead_attention_weights_per_head_and_unbatched():
    t, s = mha_pair()
    x = np.random.default_rng(4).standard_normal((5, 8))
    ot, wt = t(torch.tensor(x), torch.tensor(x), torch.tensor(x), average_attn_weights=False)
    os_, ws = s(shenjing.tensor(x), shenjing.tensor(x), shenjing.tensor(x), average_attn_weights=False)
    assert tuple(ws.shape) == tuple(wt.shape) == (2, 5, 5)
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ws.array, wt.detach().numpy(), rtol=1e-10)
    o2, w2 = s(shenjing.tensor(x), shenjing.tensor(x), shenjing.tensor(x), need_weights=False)
    assert w2 is None
    np.testing.assert_allclose(o2.array, os_.array, rtol=1e-12)


def test_multihead_attention_errors():
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2)
    x = shenjing.randn(4, 2, 8)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        m(x, x, x, attn_mask=shenjing.zeros(3, 4))
    with pytest.raises(RuntimeError, match="embedding dimension of 8"):
        m(shenjing.randn(4, 2, 6), x, x)
    with pytest.raises(RuntimeError, match="key_padding_mask"):
        m(x, x, x, key_padding_mask=shenjing.zeros(2, 5).bool())
    with pytest.raises(TypeError, match="bool or float"):
        m(x, x, x, attn_mask=shenjing.zeros(4, 4).long())


def copy_from_torch(t, s):
    keys = list(t.state_dict())
    assert list(s.state_dict()) == keys
    s.load_state_dict({k: shenjing.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "callable"])
def test_transformer_encoder_matches_torch(norm_first, batch_first, activation):
    act_t = TF.relu if activation == "relu" else (lambda x: torch.tanh(x) * 2)
    act_s = "relu" if activation == "relu" else (lambda x: shenjing.tanh(x) * 2)
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=act_t, norm_first=norm_first,
                                               batch_first=batch_first)
    t = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False).double()
    s_layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=act_s, norm_first=norm_first,
                                         batch_first=batch_first, dtype=shenjing.float64)
    s = nn.TransformerEncoder(s_layer, 2, norm=nn.LayerNorm(8, dtype=shenjing.float64))
    copy_from_torch(t, s)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 5, 8))
    pad = np.zeros((3, 5), dtype=bool) if batch_first else np.zeros((5, 3), dtype=bool)
    pad = np.zeros((3, 5), dtype=bool)
    pad[1, -2:] = True
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    smask = nn.Transformer.generate_square_subsequent_mask(5, dtype=shenjing.float64)
    np.testing.assert_array_equal(smask.array, mask.numpy())
    xt, xs = both(x if batch_first else x.transpose(1, 0, 2).copy())
    ot = t(xt, mask=mask, src_key_padding_mask=torch.tensor(pad))
    os_ = s(xs, mask=smask, src_key_padding_mask=shenjing.tensor(pad))
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), rtol=1e-9, atol=1e-10)
    g = rng.standard_normal(ot.shape)
    (ot * torch.tensor(g)).sum().backward()
    (os_ * shenjing.tensor(g)).sum().backward()
    np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(s.get_parameter(name).grad.array, p.grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=name)


@pytest.mark.parametrize("norm_first", [False, True])
def test_full_transformer_matches_torch(norm_first):
    t = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, norm_first=norm_first).double()
    s = nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, norm_first=norm_first, dtype=shenjing.float64)
    copy_from_torch(t, s)
    rng = np.random.default_rng(6)
    src, tgt = rng.standard_normal((6, 2, 8)), rng.standard_normal((4, 2, 8))
    (st, ss), (tt, ts) = both(src), both(tgt)
    mt = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    ms = nn.Transformer.generate_square_subsequent_mask(4, dtype=shenjing.float64)
    mem_pad = np.zeros((2, 6), dtype=bool)
    mem_pad[0, -1] = True
    ot = t(st, tt, tgt_mask=mt, memory_key_padding_mask=torch.tensor(mem_pad))
    os_ = s(ss, ts, tgt_mask=ms, memory_key_padding_mask=shenjing.tensor(mem_pad))
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), rtol=1e-9, atol=1e-10)
    ot.pow(2).sum().backward()
    os_.pow(2).sum().backward()
    np.testing.assert_allclose(ss.grad.array, st.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ts.grad.array, tt.grad.numpy(), rtol=1e-8, atol=1e-10)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(s.get_parameter(name).grad.array, p.grad.numpy(), rtol=1e-7, atol=1e-9,
                                   err_msg=name)


def test_transformer_init_and_errors():
    s = nn.Transformer(16, 4, 1, 1, 32)
    w = s.encoder.layers[0].linear1.weight.array
    bound = np.sqrt(6 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound  # Xavier-uniform, as PyTorch
    with pytest.raises(AssertionError, match="divisible"):
        nn.TransformerEncoderLayer(10, 3)
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
    with pytest.raises(RuntimeError, match="batch number"):
        s(shenjing.randn(3, 2, 16), shenjing.randn(3, 5, 16))
    with pytest.raises(RuntimeError, match="d_model=16"):
        s(shenjing.randn(3, 2, 16), shenjing.randn(3, 2, 8))


def test_encoder_model_file_round_trip(tmp_path):
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True), 2,
                                norm=nn.LayerNorm(8))
    path = tmp_path / "enc.safetensors"
    shenjing.io.save_model(enc, path)
    back = shenjing.io.load(path)
    enc.eval()
    back.eval()
    x = shenjing.randn(2, 5, 8)
    np.testing.assert_array_equal(back(x).array, enc(x).array)


@pytest.mark.parametrize("shape,eps,affine", [(8, None, True), ((4, 8), 1e-5, True), (8, 1e-6, False)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rms_norm_matches_torch(shape, eps, affine, dtype):
    t = torch.nn.RMSNorm(shape, eps=eps, elementwise_affine=affine).to(getattr(torch, dtype))
    s = nn.RMSNorm(shape, eps=eps, elementwise_affine=affine, dtype=getattr(shenjing, dtype))
    rng = np.random.default_rng(8)
    if affine:
        w = rng.standard_normal(t.weight.shape)
        t.weight.data = torch.tensor(w, dtype=getattr(torch, dtype))
        s.weight.array[...] = w
    x = rng.standard_normal((3, 4, 8)).astype(dtype)
    xt, xs = both(x)
    ot, os_ = t(xt), s(xs)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), **tol)
    g = rng.standard_normal(x.shape).astype(dtype)
    (ot * torch.tensor(g)).sum().backward()
    (os_ * shenjing.tensor(g)).sum().backward()
    np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), **tol)
    if affine:
        np.testing.assert_allclose(s.weight.grad.array, t.weight.grad.numpy(), **tol)


def test_rms_norm_finite_differences():
    from shenjing.nn.functional import rms_norm

    rng = np.random.default_rng(9)
    check_gradients(lambda x, w: rms_norm(x, (5,), w, 1e-5), [rng.standard_normal((3, 5)), rng.standard_normal(5)])


@pytest.mark.parametrize("mask", ["none", "causal", "bool", "float_rows", "fully_masked_row"])
def test_blocked_attention_equals_the_direct_form(mask):
    """The long-sequence path (query blocks, P recomputed in backward) against the one-shot Function and torch."""
    from shenjing.nn.attention import BlockedAttentionFunction, ScaledDotProductAttentionFunction, _mask_to_bias

    rng = np.random.default_rng(10)
    q, k, v = rng.standard_normal((2, 300, 4)), rng.standard_normal((2, 260, 4)), rng.standard_normal((2, 260, 3))
    kw = {"causal": mask == "causal", "scale": 0.5}
    m = None
    if mask in ("bool", "fully_masked_row"):
        m = rng.random((300, 260)) > 0.5
        if mask == "fully_masked_row":
            m[7] = False
    elif mask == "float_rows":
        m = rng.standard_normal((2, 300, 260))
    bias = None if m is None else _mask_to_bias(m, np.float64, "test", allow_when_true=True)
    grads = []
    for fn, extra in ((BlockedAttentionFunction, {"block": 64}), (ScaledDotProductAttentionFunction, {})):
        ts = [shenjing.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = fn.apply(*ts, bias=bias, **kw, **extra)
        (out * shenjing.tensor(np.cos(np.arange(out.numel())).reshape(out.shape))).sum().backward()
        grads.append([out.array] + [t.grad.array for t in ts])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if mask == "fully_masked_row":
        assert not grads[0][0][:, 7].any()
    if mask in ("none", "causal"):
        qt, kt, vt = (torch.tensor(a) for a in (q, k, v))
        ref = TF.scaled_dot_product_attention(qt, kt, vt, is_causal=mask == "causal", scale=0.5)
        np.testing.assert_allclose(grads[0][0], ref.numpy(), rtol=1e-10, atol=1e-12)


def test_long_sequences_take_the_blocked_path():
    from shenjing.nn.attention import BlockedAttentionFunction

    q = shenjing.randn(1, 300, 8, requires_grad=True)
    out = sdpa(q, q, q, is_causal=True)
    assert isinstance(out._ctx, BlockedAttentionFunction)
