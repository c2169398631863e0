"""Issue 9's ops (gather, scatter, sort, topk, cumsum, einsum, ...) through the registry: PyTorch parity in
float32 and float64, central finite differences, the fake-GPU seam, and PyTorch's errors and return types."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from fake_cupy import FakeGPUBackend
from helpers import check_gradients, check_torch, torch

import shenjing
import shenjing.nn.functional as F
from shenjing import backend

rng = np.random.default_rng(0)


def randn(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def distinct(*shape: int) -> np.ndarray:
    """Spread-out values without ties, so sorting has one answer and finite differences never swap places."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)


def ints(high: int, *shape: int) -> np.ndarray:
    return rng.integers(0, high, shape).astype(np.int64)


def perm_rows(n: int, rows: int, cols: int) -> np.ndarray:
    """Per column, ``rows`` distinct indices below ``n`` (scatter without repeats has one answer)."""
    return np.stack([rng.permutation(n)[:rows] for _ in range(cols)], axis=1).astype(np.int64)


@dataclass
class Op:
    name: str
    sj: Callable
    torch: Callable
    inputs: Callable[[], list]
    fd: bool = True
    tol: dict = field(default_factory=dict)


def same(fn: Callable) -> tuple:
    """The same lambda for both libraries (method calls that PyTorch and shenjing spell alike)."""
    return fn, fn


def einsum_pair(equation: str) -> tuple:
    return (lambda *xs: shenjing.einsum(equation, *xs)), (lambda *xs: torch.einsum(equation, *xs))


OPS = [
    Op("gather_dim0", *same(lambda a, i: a.gather(0, i)), lambda: [randn(4, 3), ints(4, 6, 3)]),
    Op("gather_dim1_smaller", *same(lambda a, i: a.gather(1, i)), lambda: [randn(4, 5), ints(5, 3, 7)]),
    Op("gather_neg_dim_3d", *same(lambda a, i: a.gather(-1, i)), lambda: [randn(2, 3, 4), ints(4, 2, 3, 2)]),
    Op("torch_gather", lambda a, i: shenjing.gather(a, 1, i), lambda a, i: torch.gather(a, 1, i),
       lambda: [randn(3, 4), ints(4, 3, 4)]),
    Op("take_along_dim", *same(lambda a, i: a.take_along_dim(i, 1)), lambda: [randn(3, 4), ints(4, 1, 2)]),
    Op("take_along_dim_flat", *same(lambda a, i: a.take_along_dim(i)), lambda: [randn(3, 4), ints(12, 5)]),
    Op("scatter_src", *same(lambda a, s, i: a.scatter(0, i, s)),
       lambda: [randn(5, 3), randn(2, 3), perm_rows(5, 2, 3)]),
    Op("scatter_value", *same(lambda a, i: a.scatter(1, i.T, 2.5)), lambda: [randn(3, 5), perm_rows(5, 2, 3)]),
    Op("scatter_add", *same(lambda a, s, i: a.scatter_add(0, i, s)), lambda: [randn(3, 4), randn(5, 4), ints(3, 5, 4)]),
    Op("scatter_add_dim1", *same(lambda a, s, i: a.scatter_add(1, i, s)),
       lambda: [randn(2, 3), randn(2, 6), ints(3, 2, 6)]),
    Op("scatter_reduce_sum_noself", *same(lambda a, s, i: a.scatter_reduce(0, i, s, "sum", include_self=False)),
       lambda: [randn(4, 3), randn(5, 3), ints(4, 5, 3)]),
    Op("scatter_reduce_mean", *same(lambda a, s, i: a.scatter_reduce(0, i, s, "mean")),
       lambda: [randn(4, 3), randn(5, 3), ints(4, 5, 3)]),
    Op("scatter_reduce_mean_noself", *same(lambda a, s, i: a.scatter_reduce(0, i, s, "mean", include_self=False)),
       lambda: [randn(4, 3), randn(5, 3), ints(4, 5, 3)]),
    Op("scatter_reduce_amax", *same(lambda a, s, i: a.scatter_reduce(0, i, s, "amax")),
       lambda: [distinct(4, 3), distinct(5, 3), ints(4, 5, 3)]),
    Op("scatter_reduce_amin_noself", *same(lambda a, s, i: a.scatter_reduce(1, i, s, "amin", include_self=False)),
       lambda: [distinct(3, 4), distinct(3, 6), ints(4, 3, 6)]),
    Op("scatter_reduce_prod", *same(lambda a, s, i: a.scatter_reduce(0, i, s, "prod")),
       lambda: [randn(4, 3), randn(6, 3), ints(4, 6, 3)]),
    Op("scatter_reduce_prod_noself", *same(lambda a, s, i: a.scatter_reduce(0, i, s, "prod", include_self=False)),
       lambda: [randn(4, 3), randn(6, 3), ints(4, 6, 3)]),
    Op("scatter_reduce_prod_zeros", *same(lambda a, s, i: a.scatter_reduce(0, i, s, "prod")),
       lambda: [np.array([[0.0, 1.5], [2.0, -1.0], [0.5, 0.0]]), np.array([[0.0, 2.0], [1.5, 0.0], [-0.5, 3.0],
                [0.7, 1.1]]), np.array([[0, 2], [0, 2], [1, 1], [2, 0]])], fd=False),
    Op("index_select", *same(lambda a, i: a.index_select(1, i)), lambda: [randn(3, 4, 2), ints(4, 6)]),
    Op("torch_index_select", lambda a, i: shenjing.index_select(a, 0, i), lambda a, i: torch.index_select(a, 0, i),
       lambda: [randn(5, 2), ints(5, 7)]),
    Op("index_add", *same(lambda a, s, i: a.index_add(0, i, s, alpha=0.5)),
       lambda: [randn(4, 3), randn(6, 3), ints(4, 6)]),
    Op("masked_select", *same(lambda a, m: a.masked_select(m > 0)), lambda: [randn(3, 4), randn(4)]),
    Op("masked_select_broadcast_input", *same(lambda a, m: a.masked_select(m > 0)), lambda: [randn(4), randn(3, 4)]),
    Op("masked_fill_broadcast_mask", *same(lambda a, m: a.masked_fill(m > 0, 3.0)), lambda: [randn(3, 4), randn(4)]),
    Op("masked_fill_tensor_value", *same(lambda a, m, v: a.masked_fill(m > 0, v)),
       lambda: [randn(3, 4), randn(3, 1), randn()]),
    Op("sort", *same(lambda a: a.sort()), lambda: [distinct(3, 5)]),
    Op("sort_desc_dim0", *same(lambda a: a.sort(dim=0, descending=True)), lambda: [distinct(4, 3)]),
    Op("torch_sort", lambda a: shenjing.sort(a, 1, True), lambda a: torch.sort(a, 1, True),
       lambda: [distinct(2, 3, 4)]),
    Op("msort", lambda a: shenjing.msort(a), lambda a: torch.msort(a), lambda: [distinct(4, 3)]),
    Op("topk", *same(lambda a: a.topk(3)), lambda: [distinct(4, 6)]),
    Op("topk_smallest_dim0", *same(lambda a: a.topk(2, dim=0, largest=False)), lambda: [distinct(5, 3)]),
    Op("topk_partition_path", *same(lambda a: a.topk(3, dim=0)), lambda: [distinct(20, 3)]),
    Op("topk_partition_path_smallest", *same(lambda a: a.topk(2, largest=False)), lambda: [distinct(3, 17)]),
    Op("torch_topk", lambda a: shenjing.topk(a, 2, 1), lambda a: torch.topk(a, 2, 1), lambda: [distinct(3, 4, 2)]),
    Op("kthvalue", *same(lambda a: a.kthvalue(2, 1)), lambda: [distinct(3, 5)]),
    Op("kthvalue_keepdim", lambda a: shenjing.kthvalue(a, 3, 0, True), lambda a: torch.kthvalue(a, 3, 0, True),
       lambda: [distinct(4, 2)]),
    Op("median_all_even", *same(lambda a: a.median()), lambda: [distinct(2, 3)]),
    Op("median_dim", *same(lambda a: a.median(-1)), lambda: [distinct(3, 5)]),
    Op("median_dim_even_keepdim", lambda a: shenjing.median(a, 0, keepdim=True),
       lambda a: torch.median(a, 0, keepdim=True), lambda: [distinct(4, 3)]),
    Op("take", lambda a, i: shenjing.take(a, i), lambda a, i: torch.take(a, i), lambda: [randn(3, 4), ints(12, 2, 5)]),
    Op("trace", lambda a: shenjing.trace(a), lambda a: torch.trace(a), lambda: [randn(4, 3)]),
    Op("index_fill", *same(lambda a, i: a.index_fill(1, i, -2.0)), lambda: [randn(3, 4, 2), np.array([0, 2])]),
    Op("cumsum", *same(lambda a: a.cumsum(1)), lambda: [randn(3, 5)]),
    Op("torch_cumsum_dim0", lambda a: shenjing.cumsum(a, dim=0), lambda a: torch.cumsum(a, dim=0),
       lambda: [randn(4, 2, 3)]),
    Op("cumprod", *same(lambda a: a.cumprod(1)), lambda: [randn(3, 5)]),
    Op("cumprod_with_zeros", *same(lambda a: (a * (a.detach().abs() > 0.5)).cumprod(-1)),
       lambda: [np.array([[0.2, 1.3, -0.9, 0.7], [1.1, 0.8, -1.2, 0.1], [0.9, 1.5, 0.6, -0.7]])]),
    Op("tril", *same(lambda a: a.tril()), lambda: [randn(4, 5)]),
    Op("tril_k", *same(lambda a: a.tril(-1)), lambda: [randn(2, 4, 4)]),
    Op("triu_k", lambda a: shenjing.triu(a, 1), lambda a: torch.triu(a, 1), lambda: [randn(3, 5)]),
    Op("diagonal", *same(lambda a: a.diagonal()), lambda: [randn(4, 3)]),
    Op("diagonal_offset_dims", *same(lambda a: a.diagonal(1, 0, 2)), lambda: [randn(3, 2, 4)]),
    Op("diagonal_negative", *same(lambda a: a.diagonal(-1, -2, -1)), lambda: [randn(2, 4, 4)]),
    Op("diag_vector", lambda a: shenjing.diag(a, 1), lambda a: torch.diag(a, 1), lambda: [randn(3)]),
    Op("diag_matrix", lambda a: shenjing.diag(a), lambda a: torch.diag(a), lambda: [randn(3, 4)]),
    Op("diag_embed", lambda a: shenjing.diag_embed(a), lambda a: torch.diag_embed(a), lambda: [randn(2, 3)]),
    Op("diag_embed_offset_dims", *same(lambda a: a.diag_embed(-1, 0, 2)), lambda: [randn(2, 3)]),
    Op("diag_embed_dims_swapped", *same(lambda a: a.diag_embed(1, -1, -2)), lambda: [randn(3)]),
    Op("outer", lambda a, b: shenjing.outer(a, b), lambda a, b: torch.outer(a, b), lambda: [randn(3), randn(4)]),
    Op("roll", *same(lambda a: a.roll(2, 1)), lambda: [randn(3, 5)]),
    Op("roll_flat", *same(lambda a: a.roll(-3)), lambda: [randn(3, 4)]),
    Op("roll_dims", *same(lambda a: a.roll((1, -2), (0, 2))), lambda: [randn(3, 2, 4)]),
    Op("repeat_interleave_int", *same(lambda a: a.repeat_interleave(2, dim=0)), lambda: [randn(3, 2)]),
    Op("repeat_interleave_flat", *same(lambda a: a.repeat_interleave(3)), lambda: [randn(2, 2)]),
    Op("repeat_interleave_tensor", *same(lambda a, r: a.repeat_interleave(r, dim=1)),
       lambda: [randn(2, 3), np.array([1, 0, 3])]),
    Op("einsum_matmul", lambda a, b: shenjing.einsum("ij,jk->ik", a, b), lambda a, b: torch.einsum("ij,jk->ik", a, b),
       lambda: [randn(3, 4), randn(4, 5)]),
    Op("einsum_implicit", lambda a, b: shenjing.einsum("ij,kj", a, b), lambda a, b: torch.einsum("ij,kj", a, b),
       lambda: [randn(3, 4), randn(5, 4)]),
    Op("einsum_batch_ellipsis", lambda a, b: shenjing.einsum("...ij,...jk->...ik", a, b),
       lambda a, b: torch.einsum("...ij,...jk->...ik", a, b), lambda: [randn(2, 3, 4), randn(2, 4, 2)]),
    Op("einsum_ellipsis_broadcast", lambda a, b: shenjing.einsum("...ij,...jk", a, b),
       lambda a, b: torch.einsum("...ij,...jk", a, b), lambda: [randn(2, 1, 3, 4), randn(3, 4, 2)]),
    Op("einsum_trace", lambda a: shenjing.einsum("ii", a), lambda a: torch.einsum("ii", a), lambda: [randn(4, 4)]),
    Op("einsum_diag", lambda a: shenjing.einsum("ii->i", a), lambda a: torch.einsum("ii->i", a), lambda: [randn(3, 3)]),
    Op("einsum_sum_only_in_one", *einsum_pair("ij,k->k"), lambda: [randn(2, 3), randn(4)]),
    Op("einsum_three_list", lambda a, b, c: shenjing.einsum("bi,bj,bk->bijk", [a, b, c]),
       lambda a, b, c: torch.einsum("bi,bj,bk->bijk", [a, b, c]), lambda: [randn(2, 3), randn(2, 2), randn(2, 4)]),
    Op("einsum_attention", lambda q, k: shenjing.einsum("b h i d, b h j d -> b h i j", q, k),
       lambda q, k: torch.einsum("b h i d, b h j d -> b h i j", q, k), lambda: [randn(2, 2, 3, 4), randn(2, 2, 5, 4)]),
    Op("einsum_transpose_outer", *einsum_pair("i,j->ji"), lambda: [randn(3), randn(2)]),
    Op("einsum_repeated_in_two", *einsum_pair("iij,jk->ik"), lambda: [randn(3, 3, 2), randn(2, 4)]),
    Op("einsum_uppercase_no_output", *einsum_pair("Ab,bA->"), lambda: [randn(3, 2), randn(2, 3)]),
    # a composite as in GPT programs: causal mask from tril, masked_fill with -inf, softmax, attention product
    Op("causal_attention", lambda q, k, v: (q @ k.transpose(-2, -1)).masked_fill(
        shenjing.tril(shenjing.ones(4, 4)) == 0, float("-inf")).softmax(-1) @ v,
       lambda q, k, v: (q @ k.transpose(-2, -1)).masked_fill(
        torch.tril(torch.ones(4, 4)) == 0, float("-inf")).softmax(-1) @ v,
       lambda: [randn(2, 4, 3), randn(2, 4, 3), randn(2, 4, 3)]),
    Op("bmm", lambda a, b: shenjing.bmm(a, b), lambda a, b: torch.bmm(a, b), lambda: [randn(2, 3, 4), randn(2, 4, 5)]),
    Op("baddbmm", lambda c, a, b: shenjing.baddbmm(c, a, b, beta=0.5, alpha=2.0),
       lambda c, a, b: torch.baddbmm(c, a, b, beta=0.5, alpha=2.0),
       lambda: [randn(2, 3, 5), randn(2, 3, 4), randn(2, 4, 5)]),
    Op("addmm", lambda c, a, b: shenjing.addmm(c, a, b, alpha=0.3), lambda c, a, b: torch.addmm(c, a, b, alpha=0.3),
       lambda: [randn(5), randn(3, 4), randn(4, 5)]),
]


def inputs_of(op: Op) -> list:
    global rng
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    return op.inputs()


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_matches_torch(op: Op) -> None:
    check_torch(op.sj, op.torch, inputs_of(op), tol=op.tol)


@pytest.mark.parametrize("op", [op for op in OPS if op.fd], ids=[op.name for op in OPS if op.fd])
def test_finite_differences(op: Op) -> None:
    check_gradients(op.sj, inputs_of(op))


# ---- the fake-GPU seam: the same numbers when every array is a device array that NumPy may not touch -------------
@pytest.fixture
def gpu():
    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    fake = FakeGPUBackend()
    backend.register_backend(fake)
    yield fake
    backend._backends.clear()
    backend._backends.update(saved_backends)
    backend._by_array_type.clear()
    backend._by_array_type.update(saved_types)


def _host(t: shenjing.Tensor) -> np.ndarray:
    return backend.backend_of(t.array).to_host(t.array)


def _run(fn: Callable, arrays: list, device: str) -> tuple:
    tensors = [shenjing.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(*tensors)
    outs = list(out) if isinstance(out, tuple | list) else [out]
    total = None
    for k, o in enumerate(outs):
        if o.requires_grad:
            w = shenjing.tensor(np.random.default_rng(k).standard_normal(o.shape), device=device)
            term = (o * w).sum()
            total = term if total is None else total + term
    total.backward()
    return [_host(o) for o in outs], [None if t.grad is None else _host(t.grad) for t in tensors]


SEAM_SKIP: set = set()


@pytest.mark.parametrize("op", [op for op in OPS if op.name not in SEAM_SKIP],
                         ids=[op.name for op in OPS if op.name not in SEAM_SKIP])
def test_op_runs_through_the_seam(gpu, op: Op) -> None:
    arrays = [np.asarray(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x)
              for x in inputs_of(op)]
    cpu_out, cpu_grads = _run(op.sj, arrays, "cpu")
    gpu_out, gpu_grads = _run(op.sj, arrays, "cuda")
    for a, b in zip(cpu_out + cpu_grads, gpu_out + gpu_grads):
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_non_differentiable_ops_run_through_the_seam(gpu) -> None:
    x = shenjing.tensor(np.array([[0.0, 1.5, 0.0], [2.0, 0.0, 2.0]]), device="cuda")
    assert _host(x.nonzero()).tolist() == [[0, 1], [1, 0], [1, 2]]
    values, inverse, counts = x.unique(return_inverse=True, return_counts=True)
    assert _host(values).tolist() == [0.0, 1.5, 2.0] and _host(counts).tolist() == [3, 1, 2]
    assert _host(inverse).tolist() == [[0, 1, 0], [2, 0, 2]]
    labels = shenjing.tensor(np.array([2, 0, 2]), device="cuda")
    assert _host(F.one_hot(labels, 4)).tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 0]]
    assert _host(labels.bincount(minlength=4)).tolist() == [1, 0, 2, 0]
    assert _host(shenjing.repeat_interleave(shenjing.tensor(np.array([1, 2]), device="cuda"))).tolist() == [0, 1, 1]
    draws = shenjing.multinomial(shenjing.tensor(np.array([[1.0, 0.0, 3.0]]), device="cuda"), 2)
    assert sorted(_host(draws)[0].tolist()) == [0, 2]
    z = shenjing.zeros(2, 3, device="cuda").scatter_(1, shenjing.tensor(np.array([[2], [0]]), device="cuda"), 1.0)
    assert _host(z).tolist() == [[0, 0, 1], [1, 0, 0]]


# ---- return types, dtypes, and values where there is no gradient ------------------------------------------------
def test_sort_and_topk_return_named_tuples() -> None:
    x = shenjing.tensor([[3.0, 1.0, 2.0]])
    values, indices = x.sort()
    assert x.sort().values.tolist() == [[1.0, 2.0, 3.0]] and x.sort().indices.tolist() == [[1, 2, 0]]
    assert indices.dtype == shenjing.int64 and values.dtype == shenjing.float32
    top = shenjing.topk(x, 2)
    assert top.values.tolist() == [[3.0, 2.0]] and top.indices.tolist() == [[0, 2]]
    assert x.argsort().tolist() == [[1, 2, 0]]
    data = np.random.default_rng(3).permutation(15).reshape(5, 3)
    for kwargs in ({}, {"dim": 0}, {"dim": 0, "descending": True}):
        assert shenjing.tensor(data).argsort(**kwargs).tolist() == torch.tensor(data).argsort(**kwargs).tolist()


def test_topk_of_ints_and_with_nan_matches_torch() -> None:
    data = np.random.default_rng(2).permutation(40).reshape(2, 20)
    for kwargs in ({"k": 3}, {"k": 4, "largest": False}):
        want = torch.tensor(data).topk(**kwargs).indices.tolist()
        assert shenjing.tensor(data).topk(**kwargs).indices.tolist() == want
    with_nan = np.array([1.0, np.nan, 3.0, 0.5, 2.0, 7.0, -1.0, 4.0, 0.0])
    got, want = shenjing.tensor(with_nan).topk(2), torch.tensor(with_nan).topk(2)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    assert got.indices.tolist() == want.indices.tolist()


@pytest.mark.parametrize("descending", [False, True])
def test_stable_sort_with_ties_and_nan_matches_torch(descending: bool) -> None:
    data = np.array([2.0, np.nan, 1.0, 2.0, 1.0, np.nan, 0.0, 2.0], dtype=np.float32)
    got = shenjing.tensor(data).sort(descending=descending, stable=True)
    want = torch.tensor(data).sort(descending=descending, stable=True)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())


def test_masked_fill_dtypes_and_broadcasting_follow_torch() -> None:
    for lib in (shenjing, torch):
        assert lib.tensor([[1, 2], [3, 4]]).masked_fill(lib.tensor([True, False]), 2.7).tolist() == [[2, 2], [2, 4]]
        assert lib.tensor([1, 2]).masked_fill(lib.tensor([True, False]), 2.7).dtype == lib.int64
        wide = lib.tensor([1.0, 2.0]).masked_fill(lib.tensor([[True, False], [False, True]]), 0.0)
        assert tuple(wide.shape) == (2, 2) and wide.tolist() == [[0.0, 2.0], [1.0, 0.0]]
        value = lib.tensor(3.0, dtype=lib.float64)
        assert lib.tensor([1.0]).masked_fill(lib.tensor([True]), value).dtype == lib.float32


def test_cumsum_dtypes_follow_torch() -> None:
    for data in ([1, 2, 3], [True, False, True]):
        got, want = shenjing.tensor(data).cumsum(0), torch.tensor(data).cumsum(0)
        assert got.tolist() == want.tolist() and str(got.dtype) == str(want.dtype).replace("torch.", "shenjing.")
    got = shenjing.tensor([1, 2, 3]).cumsum(0, dtype=shenjing.float64)
    assert got.dtype == shenjing.float64 and got.tolist() == [1.0, 3.0, 6.0]


def test_one_hot_matches_torch() -> None:
    labels = np.array([[0, 3], [1, 1]])
    for classes in (-1, 5):
        got = F.one_hot(shenjing.tensor(labels), classes)
        want = torch.nn.functional.one_hot(torch.tensor(labels), classes)
        assert got.dtype == shenjing.int64 and got.tolist() == want.tolist()
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(shenjing.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(shenjing.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(shenjing.tensor([-1, 0]))


def test_nonzero_argwhere_unique_bincount_match_torch() -> None:
    data = np.array([[0, 2, 2], [3, 0, 2]])
    s, t = shenjing.tensor(data), torch.tensor(data)
    assert s.nonzero().tolist() == t.nonzero().tolist() and shenjing.argwhere(s).tolist() == torch.argwhere(t).tolist()
    assert [i.tolist() for i in s.nonzero(as_tuple=True)] == [i.tolist() for i in t.nonzero(as_tuple=True)]
    for kwargs in ({}, {"return_inverse": True}, {"return_counts": True},
                   {"return_inverse": True, "return_counts": True},
                   {"dim": 0, "return_inverse": True}, {"dim": 1, "return_counts": True}):
        got, want = shenjing.unique(s, **kwargs), torch.unique(t, **kwargs)
        got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
        assert [g.tolist() for g in got] == [w.tolist() for w in want], kwargs
    flat = np.array([1, 4, 1, 0, 4, 4])
    want = torch.bincount(torch.tensor(flat), minlength=7).tolist()
    assert shenjing.bincount(shenjing.tensor(flat), minlength=7).tolist() == want
    weights = np.linspace(0, 1, 6).astype(np.float32)
    got = shenjing.tensor(flat).bincount(shenjing.tensor(weights))
    want = torch.tensor(flat).bincount(torch.tensor(weights))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "shenjing.")


def test_repeat_interleave_of_counts_and_in_place_forms_match_torch() -> None:
    want = torch.repeat_interleave(torch.tensor([2, 0, 1])).tolist()
    assert shenjing.repeat_interleave(shenjing.tensor([2, 0, 1])).tolist() == want
    index = np.array([[1, 0], [2, 1]])
    got = shenjing.zeros(2, 3).scatter_(1, shenjing.tensor(index), 1.0)
    want = torch.zeros(2, 3).scatter_(1, torch.tensor(index), 1.0)
    assert got.tolist() == want.tolist()
    got = shenjing.zeros(3).scatter_add_(0, shenjing.tensor([0, 0, 2]), shenjing.tensor([1.0, 2.0, 3.0]))
    assert got.tolist() == [3.0, 0.0, 3.0]
    got = shenjing.ones(3, 2).index_add_(0, shenjing.tensor([2, 2]), shenjing.ones(2, 2))
    assert got.tolist() == [[1, 1], [1, 1], [3, 3]]
    x = shenjing.tensor([1.0, -2.0, 3.0])
    assert x.masked_fill_(x < 0, 0.0) is x and x.tolist() == [1.0, 0.0, 3.0]
    got = shenjing.ones(3, 3).triu_(1)
    assert got.tolist() == torch.ones(3, 3).triu_(1).tolist()


def test_in_place_ops_on_a_graph_tensor_record_the_gradient() -> None:
    a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = shenjing.tensor(a.detach().numpy(), requires_grad=True)
    index = np.array([[0, 1], [3, 2], [1, 1]])
    outs = []
    for lib, x in ((torch, a), (shenjing, b)):
        y = x * 2
        y.masked_fill_(y > 1, 0.5)
        y.scatter_add_(1, lib.tensor(index), x[:, :2] ** 2)
        (y * lib.arange(12).reshape(3, 4)).sum().backward()
        outs.append(y)
    np.testing.assert_allclose(outs[1].detach().numpy(), outs[0].detach().numpy())
    np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy())
    with pytest.raises(RuntimeError, match="leaf Variable"):
        b.scatter_(0, shenjing.tensor([[0, 0, 0, 0]]), 1.0)


def test_tril_and_triu_indices_match_torch() -> None:
    for args in ((3, 3), (4, 3, 1), (3, 5, -1)):
        assert shenjing.tril_indices(*args).tolist() == torch.tril_indices(*args).tolist()
        assert shenjing.triu_indices(*args).tolist() == torch.triu_indices(*args).tolist()
    assert shenjing.tril_indices(3, 3).dtype == shenjing.int64


def test_searchsorted_and_bucketize_match_torch() -> None:
    seq = np.array([1.0, 2.0, 2.0, 4.0])
    rows = np.array([[1.0, 3.0, 5.0], [0.0, 2.0, 2.0]])
    values = np.array([[0.5, 2.0], [2.0, 6.0]])
    for right in (False, True):
        for lib in (torch,):
            want = lib.searchsorted(lib.tensor(seq), lib.tensor(values), right=right).tolist()
            assert shenjing.searchsorted(shenjing.tensor(seq), shenjing.tensor(values), right=right).tolist() == want
            want = lib.searchsorted(lib.tensor(rows), lib.tensor(values), right=right).tolist()
            assert shenjing.searchsorted(shenjing.tensor(rows), shenjing.tensor(values), right=right).tolist() == want
            want = lib.bucketize(lib.tensor(values), lib.tensor(seq), right=right, out_int32=True)
            got = shenjing.bucketize(shenjing.tensor(values), shenjing.tensor(seq), right=right, out_int32=True)
            assert got.tolist() == want.tolist() and got.dtype == shenjing.int32


def test_multinomial_frequencies() -> None:
    shenjing.manual_seed(0)
    weights = shenjing.tensor([[1.0, 0.0, 2.0, 5.0], [4.0, 4.0, 0.0, 0.0]])
    draws = shenjing.multinomial(weights, 20000, replacement=True)
    assert draws.shape == (2, 20000) and draws.dtype == shenjing.int64
    counts = np.stack([np.bincount(row, minlength=4) for row in draws.numpy()]) / 20000
    expected = weights.numpy() / weights.numpy().sum(1, keepdims=True)
    np.testing.assert_allclose(counts, expected, atol=0.015)  # ±4.5σ for 20 000 draws
    # without replacement: no repeats, zero weights never drawn, first draw ∝ weights
    first = []
    for _ in range(4000):
        row = shenjing.multinomial(shenjing.tensor([1.0, 0.0, 2.0, 5.0]), 3).numpy()
        assert len(set(row.tolist())) == 3 and 1 not in row
        first.append(row[0])
    np.testing.assert_allclose(np.bincount(first, minlength=4) / 4000, [1 / 8, 0, 2 / 8, 5 / 8], atol=0.035)


def test_multinomial_many_categories_and_draws() -> None:
    shenjing.manual_seed(1)
    weights = shenjing.tensor(np.r_[np.zeros(3000), np.ones(2)])
    draws = shenjing.multinomial(weights, 2000, replacement=True).numpy()  # the row-by-row search path
    assert set(np.unique(draws).tolist()) == {3000, 3001} and abs((draws == 3000).mean() - 0.5) < 0.06


def test_multinomial_uses_a_generator_object() -> None:
    class Gen:
        def __init__(self, seed: int) -> None:
            self.rng = np.random.default_rng(seed)

    w = shenjing.tensor([1.0, 2.0, 3.0, 4.0])
    a = shenjing.multinomial(w, 10, replacement=True, generator=Gen(5)).tolist()
    assert a == shenjing.multinomial(w, 10, replacement=True, generator=Gen(5)).tolist()


def _same_error(sj_call: Callable, torch_call: Callable) -> None:
    with pytest.raises(Exception) as want:
        torch_call()
    with pytest.raises(want.type):
        sj_call()


@pytest.mark.parametrize("call", [
    lambda lib: lib.multinomial(lib.tensor([1.0, -1.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([1.0, 2.0]), 3),
    lambda lib: lib.tensor([[1.0, 2.0]]).gather(0, lib.tensor([[0.0]])),
    lambda lib: lib.tensor([[1.0, 2.0]]).gather(1, lib.tensor([[2]])),
    lambda lib: lib.tensor([[1.0, 2.0]]).gather(1, lib.tensor([2])),
    lambda lib: lib.tensor([[1.0, 2.0]]).gather(2, lib.tensor([[0]])),
    lambda lib: lib.tensor([1.0, 2.0]).index_select(0, lib.tensor([5])),
    lambda lib: lib.tensor([1.0, 2.0]).topk(3),
    lambda lib: lib.tensor([1.0, 2.0]).kthvalue(3),
    lambda lib: lib.tensor([1.0, 2.0]).masked_fill_(lib.tensor([[True, False], [False, True]]), 0.0),
    lambda lib: lib.zeros(3, dtype=lib.int64).scatter_(0, lib.tensor([1]), lib.tensor([2.5])),
    lambda lib: lib.zeros(3).scatter_add(0, lib.tensor([1]), lib.tensor([2.5], dtype=lib.float64)),
    lambda lib: lib.zeros(3).index_add(0, lib.tensor([1]), lib.tensor([2])),
    lambda lib: lib.tensor([1.0, 2.0]).take(lib.tensor([2])),
    lambda lib: lib.randn(2, 2, 2).trace(),
    lambda lib: lib.tensor([1.0, 2.0]).tril(),
    lambda lib: lib.randn(2, 2, 2).diag(),
    lambda lib: lib.tensor([1.0]).masked_select(lib.tensor([1.0])),
    lambda lib: lib.tensor([1.0, 2.0]).masked_fill(lib.tensor([1.0, 0.0]), 0.0),
    lambda lib: lib.tensor([1.0, 2.0]).masked_fill(lib.tensor([True, False]), lib.tensor([1.0, 2.0])),
    lambda lib: lib.einsum("ij,jk->ik", lib.randn(2, 3), lib.randn(4, 2)),
    lambda lib: lib.einsum("ij->ik", lib.randn(2, 3)),
    lambda lib: lib.bmm(lib.randn(2, 3), lib.randn(3, 2)),
], ids=lambda call: "")
def test_errors_are_torchs_classes(call: Callable) -> None:
    _same_error(lambda: call(shenjing), lambda: call(torch))


def test_a_zero_d_index_picks_one_place_of_a_1d_tensor_as_torch() -> None:
    """The tutorials' one-hot target: ``zeros(10).scatter_(0, tensor(y), value=1)`` (it once wrote every place)."""
    for make in (lambda m: m.zeros(10).scatter_(0, m.tensor(3), value=1),
                 lambda m: m.zeros(10).scatter(0, m.tensor(7), m.tensor(5.0)),
                 lambda m: m.zeros(10).scatter_add(0, m.tensor(2), m.tensor(2.0)),
                 lambda m: m.arange(10.0).gather(0, m.tensor(4))):
        got, want = make(shenjing), make(torch)
        assert got.shape == tuple(want.shape) and got.tolist() == want.tolist()
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        shenjing.zeros(2, 3).scatter_(0, shenjing.tensor(1), value=1)
