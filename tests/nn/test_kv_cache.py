"""nn.KVCache (incremental decoding) against causal attention over the whole sequence, and the GPT example's cache."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest
from helpers import torch

import shenjing
from shenjing import nn

EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "gpt_char.py"


def _gpt_module():
    spec = importlib.util.spec_from_file_location("gpt_char_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("chunks", [[1] * 9, [4, 1, 1, 3], [9]])
def test_cache_equals_causal_attention_over_the_whole_sequence(dtype, chunks):
    rng = np.random.default_rng(0)
    N, H, T, D = 2, 3, 9, 5
    q, k, v = (rng.standard_normal((N, H, T, D)).astype(dtype) for _ in range(3))
    expected = torch.nn.functional.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v),
                                                                is_causal=True).numpy()
    cache = nn.KVCache(N, H, 12, D, dtype=getattr(shenjing, dtype))
    buffers = cache.k, cache.v
    parts, t0 = [], 0
    with shenjing.no_grad():
        for n in chunks:
            sl = slice(t0, t0 + n)
            parts.append(cache.attend(shenjing.tensor(q[:, :, sl]), shenjing.tensor(k[:, :, sl]),
                                      shenjing.tensor(v[:, :, sl])).numpy())
            t0 += n
            assert len(cache) == t0
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.concatenate(parts, 2), expected, **tol)
    assert cache.k is buffers[0] and cache.v is buffers[1]  # written in place, never re-allocated
    np.testing.assert_array_equal(cache.keys.numpy(), k)
    np.testing.assert_array_equal(cache.values.numpy(), v)
    cache.reset()
    assert len(cache) == 0 and cache.keys.shape == (N, H, 0, D)


def test_cache_scale_and_no_graph():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, 2, 4, 3)) for _ in range(3))
    expected = torch.nn.functional.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v),
                                                                is_causal=True, scale=0.7).numpy()
    cache = nn.KVCache(1, 2, 4, 3, dtype=shenjing.float64)
    out = cache.attend(shenjing.tensor(q), shenjing.tensor(k), shenjing.tensor(v), scale=0.7)  # no grad needed
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    assert not out.requires_grad and out._ctx is None


def test_cache_errors():
    cache = nn.KVCache(1, 2, 4, 3)
    x = shenjing.zeros(1, 2, 3, 3)
    with pytest.raises(RuntimeError, match=r"KVCache.attend: k must have shape \(N, H, T, D\) = \(1, 2, T, 3\)"):
        cache.attend(x, shenjing.zeros(1, 2, 3, 4), x)
    with pytest.raises(RuntimeError, match="q must have shape"):
        cache.attend(shenjing.zeros(2, 3), x, x)
    cache.attend(x, x, x)
    with pytest.raises(ValueError, match=r"3 cached \+ 3 new positions exceed max_len=4"):
        cache.attend(x, x, x)
    with pytest.raises(TypeError, match="cache's dtype float32"):
        nn.KVCache(1, 2, 4, 3).attend(*(shenjing.zeros(1, 2, 1, 3, dtype=shenjing.float64),) * 3)
    w = shenjing.zeros(1, 2, 1, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="under shenjing.no_grad"):
        nn.KVCache(1, 2, 4, 3).attend(w, w, w)
    with pytest.raises(TypeError, match="q must be a shenjing.Tensor"):
        nn.KVCache(1, 2, 4, 3).attend(np.zeros((1, 2, 1, 3)), w, w)
    with pytest.raises(ValueError, match="max_len must be a positive int"):
        nn.KVCache(1, 2, 0, 3)


def test_gpt_cached_logits_equal_uncached_logits():
    gpt = _gpt_module()
    shenjing.manual_seed(0)
    model = gpt.build(shenjing, 20, n_layer=2, n_head=2, n_embd=16, block_size=12)
    model = model.to(shenjing.float64).eval()
    ids = np.random.default_rng(0).integers(0, 20, 12).tolist()
    with shenjing.no_grad():
        full = model(shenjing.tensor([ids])).numpy()
        caches = [nn.KVCache(1, 2, 12, 8, dtype=shenjing.float64) for _ in model.h]
        parts = [model(shenjing.tensor([ids[:5]]), caches).numpy()]  # a prompt of 5, then one token at a time
        parts += [model(shenjing.tensor([[i]]), caches).numpy() for i in ids[5:]]
    np.testing.assert_allclose(np.concatenate(parts, 1), full, rtol=1e-10, atol=1e-12)


def test_gpt_generate_with_and_without_cache():
    gpt = _gpt_module()
    shenjing.manual_seed(0)
    model = gpt.build(shenjing, 20, n_layer=2, n_head=2, n_embd=16, block_size=12).to(shenjing.float64)
    prompt = [1, 2, 3]
    # inside the first window the cached and uncached logits agree, so the same seed draws the same tokens
    cached = gpt.generate(model, prompt, 9, top_k=5, cache=True, seed=3)
    plain = gpt.generate(model, prompt, 9, top_k=5, cache=False, seed=3)
    assert cached == plain and len(cached) == 12
    longer = gpt.generate(model, prompt, 30, top_k=5, cache=True, seed=3, shift=4)  # the window moves on
    assert len(longer) == 33 and longer[:12] == cached and all(0 <= i < 20 for i in longer)
    with pytest.raises(ValueError, match="shift must be between 1 and block_size - 1 = 11"):
        gpt.generate(model, prompt, 2, shift=12)
