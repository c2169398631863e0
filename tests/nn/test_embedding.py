"""Embedding and EmbeddingBag against PyTorch 2.13 and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing
from shenjing import nn
from shenjing.nn.embedding import embedding, embedding_bag


def pair(cls, *args, dtype="float64", **kw):
    t = getattr(torch.nn, cls)(*args, **kw).to(getattr(torch, dtype))
    s = getattr(nn, cls)(*args, dtype=getattr(shenjing, dtype), **kw)
    s.weight.array[...] = t.weight.detach().numpy()
    return t, s


@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_embedding_forward_and_accumulated_gradient(padding_idx, scale_grad_by_freq, dtype):
    t, s = pair("Embedding", 10, 4, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq, dtype=dtype)
    idx = np.array([[1, 3, 3, 0], [9, 1, 1, 1]])  # repeated indices: gradients accumulate
    ot, os_ = t(torch.tensor(idx)), s(shenjing.tensor(idx))
    np.testing.assert_allclose(os_.array, ot.detach().numpy())
    w = np.random.default_rng(0).standard_normal(ot.shape).astype(dtype)
    (ot * torch.tensor(w)).sum().backward()
    (os_ * shenjing.tensor(w)).sum().backward()
    np.testing.assert_allclose(s.weight.grad.array, t.weight.grad.numpy(), rtol=1e-6, atol=1e-6)
    if padding_idx is not None:
        assert not s.weight.grad.array[padding_idx % 10].any()


def test_embedding_padding_row_starts_at_zero_and_init_is_standard_normal():
    s = nn.Embedding(2000, 50, padding_idx=7)
    assert not s.weight.array[7].any()
    w = np.delete(s.weight.array, 7, axis=0)
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (0.5, 1.0)])
def test_embedding_max_norm_renormalises_looked_up_rows(max_norm, norm_type):
    t, s = pair("Embedding", 6, 3, max_norm=max_norm, norm_type=norm_type)
    idx = np.array([0, 2, 2, 5])
    np.testing.assert_allclose(s(shenjing.tensor(idx)).array, t(torch.tensor(idx)).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.weight.array, t.weight.detach().numpy(), rtol=1e-6)


def test_embedding_finite_differences():
    idx = shenjing.tensor([[0, 2], [2, 4]])
    check_gradients(lambda W: embedding(idx, W), [np.random.default_rng(1).standard_normal((5, 3))])


def test_from_pretrained_freezes_by_default():
    w = shenjing.randn(4, 2)
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(shenjing.tensor([3])).array, w.array[[3]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad


@pytest.mark.parametrize("bad,error,text", [
    ([[0, 10]], IndexError, "index out of range"),
    ([[-1, 2]], IndexError, "index out of range"),
    ([[0.0, 1.0]], RuntimeError, "Long"),
])
def test_embedding_bad_indices(bad, error, text):
    with pytest.raises(error, match=text):
        nn.Embedding(10, 3)(shenjing.tensor(bad))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["2d", "offsets", "last_offset"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_matches_torch(mode, layout, padding_idx):
    t, s = pair("EmbeddingBag", 10, 3, mode=mode, padding_idx=padding_idx,
                include_last_offset=layout == "last_offset")
    rng = np.random.default_rng(4)
    if layout == "2d":
        idx, off = rng.integers(0, 10, (4, 3)), None
    else:
        idx = np.array([1, 2, 4, 5, 4, 3, 2, 9, 2])
        off = np.array([0, 2, 2, 5, 9] if layout == "last_offset" else [0, 2, 2, 5])  # an empty bag too
    ot = t(torch.tensor(idx), None if off is None else torch.tensor(off))
    os_ = s(shenjing.tensor(idx), None if off is None else shenjing.tensor(off))
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), rtol=1e-10)
    w = rng.standard_normal(ot.shape)
    (ot * torch.tensor(w)).sum().backward()
    (os_ * shenjing.tensor(w)).sum().backward()
    np.testing.assert_allclose(s.weight.grad.array, t.weight.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_embedding_bag_per_sample_weights_gradient():
    t, s = pair("EmbeddingBag", 10, 3, mode="sum")
    idx, off = np.array([1, 2, 4, 5, 4]), np.array([0, 2])
    psw = np.random.default_rng(2).standard_normal(5)
    pt, ps = torch.tensor(psw, requires_grad=True), shenjing.tensor(psw, requires_grad=True)
    t(torch.tensor(idx), torch.tensor(off), per_sample_weights=pt).pow(2).sum().backward()
    s(shenjing.tensor(idx), shenjing.tensor(off), per_sample_weights=ps).pow(2).sum().backward()
    np.testing.assert_allclose(ps.grad.array, pt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(s.weight.grad.array, t.weight.grad.numpy(), rtol=1e-10)
    check_gradients(lambda W, w: embedding_bag(shenjing.tensor(idx), W, shenjing.tensor(off), mode="sum",
                                               per_sample_weights=w),
                    [np.random.default_rng(3).standard_normal((10, 3)), psw])


def test_embedding_bag_errors():
    bag = nn.EmbeddingBag(10, 3)
    with pytest.raises(ValueError, match="offsets has to be None"):
        bag(shenjing.tensor([[1, 2]]), shenjing.tensor([0]))
    with pytest.raises(ValueError, match="offsets"):
        bag(shenjing.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        bag(shenjing.tensor([[1, 2]]), per_sample_weights=shenjing.ones(1, 2))
    with pytest.raises(ValueError, match="mode"):
        nn.EmbeddingBag(10, 3, mode="median")
