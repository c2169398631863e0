"""The methods of ``_tensor_extra.py`` against PyTorch (values and gradients, float64): indexed writes, quantiles
with every interpolation and NaN, nanmedian, cov / corrcoef with weights, fused products, unique_consecutive,
gcd / lcm, random draws, ``new``, ``resize_``, the post-accumulate grad hook, and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing

rng = np.random.default_rng(31)


def _parity(make, *arrays, grad: bool = True) -> None:
    ours = [shenjing.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out, want = make(shenjing, *ours), make(torch, *theirs)
    if isinstance(want, tuple):
        for o, w in zip(out, want):
            np.testing.assert_allclose(o.numpy(), w.numpy(), rtol=1e-12, atol=1e-14)
        return
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-14)
    if grad and want.requires_grad:
        g = rng.standard_normal(tuple(want.shape))
        out.backward(shenjing.tensor(g))
        want.backward(torch.tensor(g))
        for o, w in zip(ours, theirs):
            if w.grad is not None:
                np.testing.assert_allclose(o.grad.numpy(), w.grad.numpy(), rtol=1e-12, atol=1e-14)


X = rng.standard_normal((4, 5))
MASK = rng.random((4, 5)) > 0.5
CASES = {
    "index_copy": (lambda m, a, b: a.index_copy(1, m.tensor([3, 0]), b), (X, rng.standard_normal((4, 2)))),
    "index_put_accumulate": (lambda m, a, v: a.index_put((m.tensor([0, 2, 2]), m.tensor([1, 3, 3])), v,
                                                         accumulate=True), (X, rng.standard_normal(3))),
    "index_put_rows": (lambda m, a, v: a.index_put((m.tensor([1, 3]),), v), (X, rng.standard_normal((2, 5)))),
    "index_put_mask": (lambda m, a, v: a.index_put((m.tensor(MASK),), v), (X, rng.standard_normal(1))),
    "masked_scatter": (lambda m, a, s: a.masked_scatter(m.tensor(MASK), s), (X, rng.standard_normal((5, 5)))),
    "put": (lambda m, a, s: a.put(m.tensor([0, 7, 19]), s), (X, rng.standard_normal(3))),
    "put_accumulate": (lambda m, a, s: a.put(m.tensor([0, 7, 7]), s, accumulate=True), (X, rng.standard_normal(3))),
    "addmv": (lambda m, s, a, v: m.addmv(s, a, v, beta=0.5, alpha=2), (rng.standard_normal(4), X,
                                                                        rng.standard_normal(5))),
    "addr": (lambda m, s, a, v: m.addr(s, a, v), (X, rng.standard_normal(4), rng.standard_normal(5))),
    "addbmm": (lambda m, s, a, v: m.addbmm(s, a, v), (X, rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 2, 5)))),
    "cov": (lambda m, a: m.cov(a), (rng.standard_normal((3, 7)),)),
    "cov_weights": (lambda m, a: m.cov(a, correction=0, fweights=m.tensor([1, 2, 1, 3, 1, 1, 2]),
                                       aweights=m.tensor(np.linspace(0.1, 1, 7))), (rng.standard_normal((3, 7)),)),
    "cov_1d": (lambda m, a: m.cov(a), (rng.standard_normal(7),)),
    "corrcoef": (lambda m, a: m.corrcoef(a), (rng.standard_normal((3, 7)),)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name: str) -> None:
    make, arrays = CASES[name]
    _parity(make, *arrays)


Z = rng.standard_normal((3, 7))
Z[1, 2] = np.nan


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantiles_match_torch_with_nan_rows(interpolation: str) -> None:
    q = np.array([0.1, 0.5, 0.9])
    _parity(lambda m, a: a.quantile(m.tensor(q), dim=1, interpolation=interpolation), Z[[0, 2]])
    _parity(lambda m, a: a.quantile(0.5, dim=1, interpolation=interpolation), Z)  # NaN row: NaN, as PyTorch
    _parity(lambda m, a: a.nanquantile(0.3, dim=1, keepdim=True, interpolation=interpolation), Z)
    _parity(lambda m, a: m.quantile(a, 0.25, interpolation=interpolation), Z[[0, 2]])


def test_nanmedian_and_unique_consecutive_match_torch() -> None:
    _parity(lambda m, a: a.nanmedian(), Z)
    _parity(lambda m, a: a.nanmedian(1), Z, grad=False)
    u = np.array([1, 1, 2, 2, 3, 1, 1, 2])
    for kwargs in ({}, {"return_inverse": True}, {"return_counts": True}, {"return_inverse": True,
                                                                          "return_counts": True}):
        got, want = shenjing.tensor(u).unique_consecutive(**kwargs), torch.tensor(u).unique_consecutive(**kwargs)
        got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
        assert [g.tolist() for g in got] == [w.tolist() for w in want], kwargs
    rows = np.array([[1, 2], [1, 2], [3, 4], [1, 2]])
    got = shenjing.tensor(rows).unique_consecutive(dim=0, return_counts=True)
    want = torch.tensor(rows).unique_consecutive(dim=0, return_counts=True)
    assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_finite_differences() -> None:
    check_gradients(lambda a: a.quantile(shenjing.tensor([0.2, 0.7], dtype=shenjing.float64), dim=1),
                    [rng.standard_normal((3, 6))])
    check_gradients(lambda a, v: a.index_put((shenjing.tensor([0, 2]), shenjing.tensor([1, 1])), v, accumulate=True),
                    [X, rng.standard_normal(2)])
    check_gradients(lambda a: shenjing.corrcoef(a), [rng.standard_normal((3, 6))])


def test_in_place_forms_and_fill_diagonal() -> None:
    for wrap in (False, True):
        for shape in ((7, 3), (3, 5), (4, 4)):
            ours = shenjing.zeros(*shape).fill_diagonal_(5, wrap=wrap)
            assert ours.tolist() == torch.zeros(*shape).fill_diagonal_(5, wrap=wrap).tolist(), (shape, wrap)
    assert shenjing.zeros(3, 3, 3).fill_diagonal_(1).sum().item() == 3
    a, b = shenjing.tensor(X), torch.tensor(X)
    a.index_put_((shenjing.tensor([1]),), shenjing.tensor(2.0))
    b.index_put_((torch.tensor([1]),), torch.tensor(2.0, dtype=torch.float64))
    a.masked_scatter_(shenjing.tensor(MASK), shenjing.ones(20, dtype=shenjing.float64))
    b.masked_scatter_(torch.tensor(MASK), torch.ones(20, dtype=torch.float64))
    a.cumsum_(1)
    b.cumsum_(1)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    leaf = shenjing.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.index_put_((shenjing.tensor([0]),), shenjing.tensor(1.0))


def test_gcd_lcm_new_resize_and_random_draws() -> None:
    a, b = [12, 18, -4], [8, 27, 6]
    assert shenjing.gcd(shenjing.tensor(a), shenjing.tensor(b)).tolist() == torch.gcd(torch.tensor(a),
                                                                                     torch.tensor(b)).tolist()
    assert shenjing.lcm(shenjing.tensor(a), shenjing.tensor(b)).tolist() == torch.lcm(torch.tensor(a),
                                                                                     torch.tensor(b)).tolist()
    x = shenjing.ones(2, dtype=shenjing.float64)
    assert x.new(3, 2).shape == (3, 2) and x.new(3, 2).dtype == shenjing.float64
    assert x.new([1, 2]).tolist() == [1.0, 2.0] and x.new(shenjing.Size([4])).shape == (4,)
    t = shenjing.arange(6.0)
    assert t.resize_(2, 2).tolist() == [[0.0, 1.0], [2.0, 3.0]] and t.resize_(5).tolist()[:4] == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        shenjing.zeros(2, requires_grad=True).resize_(3)
    shenjing.manual_seed(0)
    draws = shenjing.full((20000,), 0.3).bernoulli()
    assert set(np.unique(draws.numpy())) <= {0.0, 1.0} and abs(draws.mean().item() - 0.3) < 0.02
    assert abs(shenjing.empty(20000).geometric_(0.25).mean().item() - 4.0) < 0.15
    assert abs(np.log(shenjing.empty(20000).log_normal_(1.0, 0.5).numpy()).mean() - 1.0) < 0.02
    assert abs(np.median(shenjing.empty(20000).cauchy_(2.0, 1.0).numpy()) - 2.0) < 0.05


def test_post_accumulate_grad_hook_runs_once_per_backward_after_accumulation() -> None:
    ours, theirs = shenjing.nn.Parameter(shenjing.ones(3)), torch.nn.Parameter(torch.ones(3))
    seen: dict = {"ours": [], "theirs": []}
    handle = ours.register_post_accumulate_grad_hook(lambda p: seen["ours"].append(p.grad.sum().item()))
    torch_handle = theirs.register_post_accumulate_grad_hook(lambda p: seen["theirs"].append(p.grad.sum().item()))
    for p in (ours, theirs):
        ((p * 2).sum() + (p * 1).sum()).backward()  # two uses, one accumulation
        (p * 3).sum().backward()
    handle.remove()
    torch_handle.remove()
    (ours * 3).sum().backward()
    assert seen["ours"] == seen["theirs"] == [9.0, 18.0]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (ours * 2).register_post_accumulate_grad_hook(lambda p: None)


def test_huge_and_broken_sizes_are_clear_errors() -> None:
    with pytest.raises(RuntimeError, match="resize_: cannot allocate a tensor of 10000000000000 elements"):
        shenjing.zeros(2).resize_(10**13)
    with pytest.raises(RuntimeError, match="new: cannot allocate a tensor of"):
        shenjing.zeros(2).new(10**7, 10**7)
    with pytest.raises(RuntimeError, match="negative dimension"):
        shenjing.zeros(2).resize_(-3)
