"""Every generic op through the registry: PyTorch parity (float32 and float64) and finite differences."""

from __future__ import annotations

import zlib

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing

rng = np.random.default_rng(1234)


def randn(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def away_from_zero(*shape: int) -> np.ndarray:
    """Values with |x| ≥ 0.1, so finite differences never straddle a kink at 0."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (np.abs(x) + 0.1)


def positive(*shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def distinct(*shape: int) -> np.ndarray:
    """A permutation of spread-out values: no ties, so max/min have a unique winner."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)


@dataclass
class Op:
    name: str
    sj: Callable
    torch: Callable
    inputs: Callable[[], list]
    fd: bool = True  # also check against finite differences
    tol: dict = field(default_factory=dict)


OPS = [
    # arithmetic, with broadcasting pairs (45, 65)+(45, 1) and (45, 1)+(1, 65)
    Op("add", lambda a, b: a + b, lambda a, b: a + b, lambda: [randn(45, 65), randn(45, 1)]),
    Op("add_outer", lambda a, b: a + b, lambda a, b: a + b, lambda: [randn(45, 1), randn(1, 65)]),
    Op("add_scalar", lambda a: a + 2.5, lambda a: a + 2.5, lambda: [randn(4, 5)]),
    Op("radd_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, lambda: [randn(4, 5)]),
    Op("sub", lambda a, b: a - b, lambda a, b: a - b, lambda: [randn(45, 65), randn(65)]),
    Op("rsub_scalar", lambda a: 1.0 - a, lambda a: 1.0 - a, lambda: [randn(7)]),
    Op("mul", lambda a, b: a * b, lambda a, b: a * b, lambda: [randn(45, 65), randn(45, 1)]),
    Op("mul_0d", lambda a, b: a * b, lambda a, b: a * b, lambda: [randn(), randn(3, 4)]),
    Op("div", lambda a, b: a / b, lambda a, b: a / b, lambda: [randn(45, 65), positive(1, 65)]),
    Op("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, lambda: [positive(5, 3)]),
    Op("pow_scalar", lambda a: a**3, lambda a: a**3, lambda: [randn(5, 6)]),
    Op("pow_half", lambda a: a**0.5, lambda a: a**0.5, lambda: [positive(5, 6)]),
    Op("pow_tensor", lambda a, b: a**b, lambda a, b: a**b, lambda: [positive(4, 5), randn(4, 5)]),
    Op("rpow", lambda a: 2.0**a, lambda a: 2.0**a, lambda: [randn(4, 5)]),
    Op("neg", lambda a: -a, lambda a: -a, lambda: [randn(3, 4)]),
    Op("exp", lambda a: a.exp(), lambda a: a.exp(), lambda: [randn(45, 65)]),
    Op("log", lambda a: a.log(), lambda a: a.log(), lambda: [positive(45, 65)]),
    Op("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), lambda: [positive(45, 65)]),
    Op("abs", lambda a: a.abs(), lambda a: a.abs(), lambda: [away_from_zero(45, 65)]),
    Op("sin", lambda a: a.sin(), lambda a: a.sin(), lambda: [randn(6, 7)]),
    Op("cos", lambda a: a.cos(), lambda a: a.cos(), lambda: [randn(6, 7)]),
    Op("square", lambda a: a.square(), lambda a: a.square(), lambda: [randn(6, 7)]),
    Op("clamp", lambda a: a.clamp(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5),
       lambda: [np.array([-1.3, -0.7, -0.2, 0.1, 0.3, 0.9, 1.7])]),
    Op("clamp_min", lambda a: a.clamp(min=0.2), lambda a: a.clamp(min=0.2), lambda: [np.array([-1.0, 0.1, 0.5, 2.0])]),
    Op("where", lambda c, a, b: shenjing.where(c > 0, a, b), lambda c, a, b: torch.where(c > 0, a, b),
       lambda: [randn(5, 6), randn(5, 6), randn(1, 6)]),
    Op("maximum", lambda a, b: shenjing.maximum(a, b), lambda a, b: torch.maximum(a, b),
       lambda: [distinct(5, 6), distinct(5, 6) + 0.05]),
    Op("minimum", lambda a, b: shenjing.minimum(a, b), lambda a, b: torch.minimum(a, b),
       lambda: [distinct(5, 6), distinct(5, 6) + 0.05]),
    # matrix products
    # NOTE: float32 products sum 65 terms of size ~1: absolute error ~1e-5 where the result is near 0
    Op("matmul", lambda a, b: a @ b, lambda a, b: a @ b, lambda: [randn(45, 65), randn(65, 7)],
       tol={"float32": {"fwd_atol": 1e-5}}),
    Op("matmul_batched", lambda a, b: a @ b, lambda a, b: a @ b, lambda: [randn(3, 4, 5), randn(5, 6)]),
    Op("matmul_broadcast", lambda a, b: a @ b, lambda a, b: a @ b, lambda: [randn(2, 1, 4, 5), randn(3, 5, 2)]),
    Op("matmul_vec", lambda a, b: a @ b, lambda a, b: a @ b, lambda: [randn(4, 5), randn(5)]),
    Op("vec_matmul", lambda a, b: a @ b, lambda a, b: a @ b, lambda: [randn(5), randn(5, 3)]),
    Op("dot", lambda a, b: a @ b, lambda a, b: a @ b, lambda: [randn(5), randn(5)]),
    # reductions over every axis, with and without keepdim
    Op("sum", lambda a: a.sum(), lambda a: a.sum(), lambda: [randn(45, 65)]),
    Op("sum_0", lambda a: a.sum(0), lambda a: a.sum(0), lambda: [randn(45, 65)]),
    Op("sum_1_keep", lambda a: a.sum(1, keepdim=True), lambda a: a.sum(1, keepdim=True), lambda: [randn(4, 5, 6)]),
    Op("sum_axes", lambda a: a.sum((0, 2)), lambda a: a.sum((0, 2)), lambda: [randn(4, 5, 6)]),
    Op("sum_neg", lambda a: a.sum(-1), lambda a: a.sum(-1), lambda: [randn(4, 5, 6)]),
    Op("mean", lambda a: a.mean(), lambda a: a.mean(), lambda: [randn(45, 65)]),
    Op("mean_1", lambda a: a.mean(1), lambda a: a.mean(1), lambda: [randn(45, 65)]),
    Op("mean_keep", lambda a: a.mean((0, 1), keepdim=True), lambda a: a.mean((0, 1), keepdim=True),
       lambda: [randn(3, 4, 5)]),
    Op("max", lambda a: a.max(), lambda a: a.max(), lambda: [distinct(6, 7)]),
    Op("max_dim", lambda a: a.max(1), lambda a: tuple(a.max(1)), lambda: [distinct(6, 7)]),
    Op("max_dim_keep", lambda a: a.max(0, keepdim=True)[0], lambda a: a.max(0, keepdim=True)[0],
       lambda: [distinct(6, 7)]),
    Op("min_dim", lambda a: a.min(-1)[0], lambda a: a.min(-1)[0], lambda: [distinct(3, 4, 5)]),
    Op("amax", lambda a: a.amax((0, 2)), lambda a: a.amax((0, 2)), lambda: [distinct(3, 4, 5)]),
    Op("amin", lambda a: a.amin(1, keepdim=True), lambda a: a.amin(1, keepdim=True), lambda: [distinct(3, 4, 5)]),
    Op("var", lambda a: a.var(), lambda a: a.var(), lambda: [randn(45, 65)]),
    Op("var_dim_biased", lambda a: a.var(0, unbiased=False), lambda a: a.var(0, unbiased=False),
       lambda: [randn(45, 65)]),
    Op("var_keep", lambda a: a.var(1, keepdim=True), lambda a: a.var(1, keepdim=True), lambda: [randn(4, 5, 6)]),
    Op("std", lambda a: a.std(1), lambda a: a.std(1), lambda: [randn(4, 5)]),
    Op("logsumexp", lambda a: a.logsumexp(1), lambda a: a.logsumexp(1), lambda: [randn(45, 65)]),
    Op("logsumexp_keep", lambda a: a.logsumexp(0, keepdim=True), lambda a: a.logsumexp(0, keepdim=True),
       lambda: [randn(5, 6)]),
    Op("norm", lambda a: a.norm(), lambda a: a.norm(), lambda: [randn(5, 6)]),
    # shapes
    Op("reshape", lambda a: a.reshape(6, -1), lambda a: a.reshape(6, -1), lambda: [randn(3, 4, 5)]),
    Op("view", lambda a: a.view(2, 30), lambda a: a.view(2, 30), lambda: [randn(3, 4, 5)]),
    Op("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), lambda: [randn(3, 4, 5)]),
    Op("T", lambda a: a.T * 1.0, lambda a: a.T * 1.0, lambda: [randn(3, 4)]),
    Op("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), lambda: [randn(3, 4, 5)]),
    Op("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), lambda: [randn(3, 4, 5)]),
    Op("squeeze", lambda a: a.squeeze(1), lambda a: a.squeeze(1), lambda: [randn(3, 1, 5)]),
    Op("unsqueeze", lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1), lambda: [randn(3, 5)]),
    Op("expand", lambda a: a.expand(4, 3, 5), lambda a: a.expand(4, 3, 5), lambda: [randn(3, 1)]),
    Op("repeat", lambda a: a.repeat(2, 3), lambda a: a.repeat(2, 3), lambda: [randn(3, 4)]),
    Op("repeat_new_axis", lambda a: a.repeat(2, 1, 2), lambda a: a.repeat(2, 1, 2), lambda: [randn(3, 4)]),
    Op("flip", lambda a: a.flip(0), lambda a: a.flip(0), lambda: [randn(3, 4)]),
    Op("index_int", lambda a: a[1], lambda a: a[1], lambda: [randn(4, 5)]),
    Op("slice", lambda a: a[1:3, ::2], lambda a: a[1:3, ::2], lambda: [randn(4, 5)]),
    Op("index_array_repeated", lambda a: a[np.array([0, 2, 0, 0])], lambda a: a[torch.tensor([0, 2, 0, 0])],
       lambda: [randn(4, 5)]),
    Op("index_pairs", lambda a: a[np.array([0, 1, 1]), np.array([2, 3, 3])],
       lambda a: a[torch.tensor([0, 1, 1]), torch.tensor([2, 3, 3])], lambda: [randn(4, 5)]),
    Op("index_mask", lambda a: a[a.detach() > 0], lambda a: a[a.detach() > 0], lambda: [away_from_zero(4, 5)]),
    Op("cat", lambda a, b: shenjing.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1),
       lambda: [randn(3, 4), randn(3, 2)]),
    Op("stack", lambda a, b: shenjing.stack([a, b], -1), lambda a, b: torch.stack([a, b], -1),
       lambda: [randn(3, 4), randn(3, 4)]),
    Op("split", lambda a: a.split(2, 1), lambda a: a.split(2, 1), lambda: [randn(3, 5)]),
    Op("chunk", lambda a: a.chunk(2, 0), lambda a: a.chunk(2, 0), lambda: [randn(5, 3)]),
    Op("unbind", lambda a: a.unbind(1), lambda a: a.unbind(1), lambda: [randn(3, 4)]),
    Op("masked_fill", lambda a: a.masked_fill(a.detach() > 0.5, -1.0), lambda a: a.masked_fill(a.detach() > 0.5, -1.0),
       lambda: [away_from_zero(4, 5)]),
    # a composite: reused nodes must accumulate in topological order
    Op("reuse", lambda a: (a * a + a).exp().sum(0) * a.sum(0), lambda a: (a * a + a).exp().sum(0) * a.sum(0),
       lambda: [randn(3, 4) * 0.3]),
]


def inputs_of(op: Op) -> list:
    """The op's sample inputs, drawn from a generator seeded by its name (the same whatever the test order)."""
    global rng
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    return op.inputs()


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_matches_torch(op: Op) -> None:
    check_torch(op.sj, op.torch, inputs_of(op), tol=op.tol)


@pytest.mark.parametrize("op", [op for op in OPS if op.fd], ids=[op.name for op in OPS if op.fd])
def test_finite_differences(op: Op) -> None:
    check_gradients(op.sj, inputs_of(op))


# ---- gradient conventions where libraries differ (exact values, against torch) ------------------------------------
def test_max_ties_split_evenly_like_torch() -> None:
    x = shenjing.tensor([1.0, 1.0, 0.0, 1.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 / 3, 1 / 3, 0, 1 / 3])


def test_max_along_dim_sends_gradient_to_first_maximum() -> None:
    x = shenjing.tensor([[1.0, 1.0], [0.0, 2.0]], requires_grad=True)
    values, indices = x.max(1)
    values.sum().backward()
    np.testing.assert_array_equal(indices.numpy(), [0, 1])
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0], [0, 1]])


def test_kinks_match_torch() -> None:
    kinks = np.array([-1.0, 0.0, 1.0, 2.0])
    check_torch(lambda a: a.abs(), lambda a: a.abs(), [kinks])
    check_torch(lambda a: a.clamp(0, 1), lambda a: a.clamp(0, 1), [kinks])  # gradient 1 at the boundary
    check_torch(lambda a: shenjing.maximum(a, shenjing.tensor([0.0, 0.0, 1.0, 1.0], dtype=a.dtype)),
                lambda a: torch.maximum(a, torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=a.dtype)), [kinks])


def test_exp_log_of_inf_and_nan_match_numpy() -> None:
    x = shenjing.tensor([np.inf, -np.inf, np.nan, 0.0])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(x.exp().numpy(), np.exp(x.numpy()))
        np.testing.assert_array_equal(x.log().numpy(), np.log(x.numpy()))


def test_logsumexp_is_finite_for_huge_logits() -> None:
    x = shenjing.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], requires_grad=True)
    out = x.logsumexp(1)
    np.testing.assert_allclose(out.detach().numpy(), [1e4, -1e4 + np.log(3)], rtol=1e-6)
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
