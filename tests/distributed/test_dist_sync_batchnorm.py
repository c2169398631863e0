"""SyncBatchNorm in one process: the formulas against torch's batch norm (a one-rank group), conversion, fallback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import shenjing
from shenjing import nn
from shenjing.distributed import LocalGroup
from shenjing.nn.sync_batchnorm import SyncBatchNormFunction


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4), (2, 3, 2, 2, 3)])
def test_function_matches_torch_batch_norm(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    w, b, g = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(shape)
    rm, rv = np.zeros(3), np.ones(3)
    xs = shenjing.tensor(x, requires_grad=True)
    ws, bs = shenjing.tensor(w, requires_grad=True), shenjing.tensor(b, requires_grad=True)
    y = SyncBatchNormFunction.apply(xs, ws, bs, rm, rv, momentum=0.1, eps=1e-5, group=LocalGroup(10))
    y.backward(shenjing.tensor(g))
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    yt = torch.nn.functional.batch_norm(xt, rmt, rvt, wt, bt, training=True, momentum=0.1, eps=1e-5)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-13)
    for ours, theirs in ((xs, xt), (ws, wt), (bs, bt)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(rm, rmt.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, rvt.numpy(), rtol=1e-12)


def test_convert_keeps_weights_order_and_keys():
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.BatchNorm1d(12))
    model[1].running_mean.array[...] = 0.5
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert [type(m).__name__ for m in converted] == ["Conv2d", "SyncBatchNorm", "ReLU", "Flatten", "SyncBatchNorm"]
    after = converted.state_dict()
    assert list(after) == list(before)
    for k, v in before.items():
        np.testing.assert_array_equal(after[k].detach().numpy(), v)
    theirs = torch.nn.SyncBatchNorm(3).state_dict()
    assert list(nn.SyncBatchNorm(3).state_dict()) == list(theirs)


def test_without_a_group_it_is_batchnorm():
    x = shenjing.randn(8, 3, 2, 2)
    sync, plain = nn.SyncBatchNorm(3), nn.BatchNorm2d(3)
    np.testing.assert_array_equal(sync(x).detach().numpy(), plain(x).detach().numpy())
    np.testing.assert_array_equal(sync.running_var.numpy(), plain.running_var.numpy())
    with pytest.raises(ValueError, match="at least 2D"):
        sync(shenjing.randn(3))
