"""API pieces real PyTorch programs hit (found by the compatibility suite), each checked against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import torch

import shenjing
from shenjing import nn
from shenjing.nn import functional as F


@pytest.mark.parametrize("size_average,reduce", [(None, None), (True, None), (False, None), (None, False),
                                                 (False, True), (True, False)])
@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy", "mse_loss", "l1_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits"])
def test_legacy_size_average_and_reduce(name, size_average, reduce):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    if name in ("nll_loss", "cross_entropy"):
        y = rng.integers(0, 4, 5)
        x = np.log(np.exp(x) / np.exp(x).sum(1, keepdims=True)) if name == "nll_loss" else x
    elif name == "binary_cross_entropy":
        x, y = 1 / (1 + np.exp(-x)), (rng.random((5, 4)) > 0.5).astype(float)
    else:
        y = rng.standard_normal((5, 4)) if name != "binary_cross_entropy_with_logits" else \
            (rng.random((5, 4)) > 0.5).astype(float)
    kw = {"size_average": size_average, "reduce": reduce}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(y), **kw)
        got = getattr(F, name)(shenjing.tensor(x), shenjing.tensor(y), **kw)
    np.testing.assert_allclose(got.array, want.numpy(), rtol=1e-12)


def test_legacy_arguments_warn_and_modules_take_them_positionally():
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        F.nll_loss(shenjing.randn(3, 4), shenjing.tensor([0, 1, 2]), size_average=False)
    with pytest.warns(UserWarning):
        assert nn.CrossEntropyLoss(None, False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.MSELoss(None, False).reduction == "none"
    assert nn.NLLLoss(ignore_index=1).ignore_index == 1


def test_mm_mv_dot_as_torch():
    rng = np.random.default_rng(1)
    a, b, v = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(4)
    np.testing.assert_allclose(shenjing.mm(shenjing.tensor(a), shenjing.tensor(b)).array, a @ b)
    np.testing.assert_allclose(shenjing.tensor(a).mm(shenjing.tensor(b)).array, a @ b)
    np.testing.assert_allclose(shenjing.mv(shenjing.tensor(a), shenjing.tensor(v)).array, a @ v)
    assert shenjing.dot(shenjing.tensor(v), shenjing.tensor(v)).item() == pytest.approx(float(v @ v))
    for call in (lambda lib: lib.mm(lib.ones(3, 4), lib.ones(3, 4)), lambda lib: lib.mm(lib.ones(2, 3, 4), lib.ones(4, 2)),
                 lambda lib: lib.dot(lib.ones(3), lib.ones(4)), lambda lib: lib.mv(lib.ones(3, 4), lib.ones(3))):
        with pytest.raises(RuntimeError):
            call(torch)
        with pytest.raises(RuntimeError):
            call(shenjing)


@pytest.mark.parametrize("spec", [".4f", "", ">10.2e", "d"])
def test_format_of_a_0d_tensor_is_its_value(spec):
    value = shenjing.tensor(3) if spec == "d" else shenjing.tensor(1.23456)
    reference = torch.tensor(3) if spec == "d" else torch.tensor(1.23456)
    assert format(value, spec) == format(reference, spec)
    assert f"{shenjing.tensor([1.0, 2.0])}" == repr(shenjing.tensor([1.0, 2.0]))
    with pytest.raises(TypeError):
        format(shenjing.tensor([1.0, 2.0]), ".2f")


def test_dropout2d_on_2d_input_warns_and_drops_elements_like_torch():
    x = shenjing.ones(200, 300)
    with pytest.warns(UserWarning, match="2-D input to dropout2d"):
        y = nn.Dropout2d(0.5)(x)
    kept = (y.array != 0).mean()
    assert 0.45 < kept < 0.55  # element-wise: about half of all entries, not whole rows
    rows = (y.array != 0).all(1) | (y.array == 0).all(1)
    assert not rows.all()
    np.testing.assert_array_equal(np.unique(y.array), [0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError):
            F.dropout2d(shenjing.ones(3), 0.5)


def test_torch_utils_data_names_distributed_sampler() -> None:
    """``from torch.utils.data import DistributedSampler`` (DDP programs' first lines), the same sampler."""
    import torch

    from shenjing.utils.data import DistributedSampler, TensorDataset

    ours = DistributedSampler(TensorDataset(shenjing.arange(10)), num_replicas=3, rank=1, shuffle=False)
    theirs = torch.utils.data.DistributedSampler(torch.utils.data.TensorDataset(torch.arange(10)), num_replicas=3,
                                                 rank=1, shuffle=False)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("name", ["det", "logdet", "inverse", "pinverse", "matrix_exp"])
def test_linalg_tensor_methods_and_old_top_level_forms(name: str) -> None:
    """``A.det()``, ``A.inverse()``, ``torch.logdet(A)`` ...: linalg's functions attached as PyTorch has them."""
    a = np.random.default_rng(3).standard_normal((2, 3, 3)) + 3 * np.eye(3)
    ours, theirs = shenjing.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    got, want = getattr(ours, name)(), getattr(torch, name)(theirs)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(getattr(shenjing, name)(shenjing.tensor(a)).numpy(), want.detach().numpy(),
                               rtol=1e-10)
