"""BatchNorm1d/2d and LayerNorm: torch parity in train and eval over several steps, finite differences, buffers."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
from shenjing import nn

F = nn.functional
rng = np.random.default_rng(5)


def _pair(name: str, *args, **kwargs) -> tuple:
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nn, name)(*args, **kwargs, dtype=shenjing.float64)
    with torch.no_grad():
        for p in theirs.parameters():  # non-trivial γ and β
            p.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, p.shape)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _compare_step(ours, theirs, x: np.ndarray) -> None:
    xs, xt = shenjing.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ys, yt = ours(xs), theirs(xt)
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(x.shape)
    (ys * shenjing.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
        p.grad, tp.grad = None, None
    for (name, b), (_, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
        np.testing.assert_allclose(b.numpy(), tb.numpy(), rtol=1e-12, err_msg=name)
        assert b.dtype == tb.numpy().dtype, name


@pytest.mark.parametrize(
    "name, shape, kwargs",
    [
        ("BatchNorm1d", (8, 5), {}),
        ("BatchNorm1d", (4, 3, 7), {"momentum": 0.3}),
        ("BatchNorm1d", (6, 4), {"momentum": None}),
        ("BatchNorm1d", (6, 4), {"affine": False}),
        ("BatchNorm2d", (4, 3, 5, 6), {}),
        ("BatchNorm2d", (2, 3, 4, 5), {"eps": 1e-3, "momentum": None}),
        ("BatchNorm2d", (3, 2, 4, 4), {"affine": False}),
        ("BatchNorm2d", (3, 2, 4, 4), {"track_running_stats": False}),
        ("BatchNorm2d", (3, 2, 4, 4), {"bias": False}),
    ],
)
def test_batch_norm_train_then_eval_matches_torch_over_steps(name: str, shape: tuple, kwargs: dict) -> None:
    ours, theirs = _pair(name, shape[1], **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for _ in range(3):  # training: batch statistics, running averages updated each step
        _compare_step(ours, theirs, rng.standard_normal(shape) * 2 + 1)
    ours.eval()
    theirs.eval()
    for _ in range(2):  # evaluation: running statistics, nothing updated
        _compare_step(ours, theirs, rng.standard_normal(shape) * 2 + 1)


def test_batch_norm_buffers_and_state_dict_as_torch() -> None:
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    assert list(ours.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.num_batches_tracked.dtype == shenjing.int64 and ours.num_batches_tracked.shape == ()
    ours(shenjing.randn(4, 3, 2, 2))
    ours(shenjing.randn(4, 3, 2, 2))
    assert int(ours.num_batches_tracked.item()) == 2
    back = torch.nn.BatchNorm2d(3)
    back.load_state_dict({k: torch.from_numpy(np.asarray(v.numpy())) for k, v in ours.state_dict().items()})
    np.testing.assert_array_equal(back.running_var.numpy(), ours.running_var.numpy())
    assert int(back.num_batches_tracked) == 2
    ours.reset_running_stats()
    assert ours.running_mean.numpy().tolist() == [0, 0, 0] and int(ours.num_batches_tracked.item()) == 0


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 4, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm_parity_and_finite_differences(shape: tuple, training: bool) -> None:
    C = shape[1]
    mean, var = rng.standard_normal(C), rng.uniform(0.5, 2, C)

    def ours(x, w, b):
        return F.batch_norm(
            x, shenjing.tensor(mean.astype(x.dtype)), shenjing.tensor(var.astype(x.dtype)), w, b, training=training
        )

    def theirs(x, w, b):
        return torch.nn.functional.batch_norm(
            x, torch.tensor(mean, dtype=x.dtype), torch.tensor(var, dtype=x.dtype), w, b, training=training
        )

    inputs = [rng.standard_normal(shape), rng.uniform(0.5, 1.5, C), rng.standard_normal(C)]
    check_torch(ours, theirs, inputs)
    check_gradients(ours, inputs)


@pytest.mark.parametrize(
    "shape, normalized, kwargs",
    [
        ((4, 10), 10, {}),
        ((2, 3, 6), (6,), {}),
        ((2, 3, 4, 5), (4, 5), {}),
        ((3, 7), 7, {"elementwise_affine": False}),
        ((3, 7), 7, {"bias": False}),
        ((5,), 5, {"eps": 1e-3}),
    ],
)
def test_layer_norm_matches_torch_and_finite_differences(shape: tuple, normalized, kwargs: dict) -> None:
    ours, theirs = _pair("LayerNorm", normalized, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    for _ in range(2):
        _compare_step(ours, theirs, rng.standard_normal(shape) * 3 - 1)
    params = list(ours.parameters())

    def functional(x, *wb):
        weight = wb[0] if wb else None
        bias = wb[1] if len(wb) > 1 else None
        return F.layer_norm(x, normalized, weight, bias, eps=ours.eps)

    inputs = [rng.standard_normal(shape)] + [p.detach().numpy().copy() for p in params]
    check_gradients(functional, inputs)
    tf = lambda x, *wb: torch.nn.functional.layer_norm(x, ours.normalized_shape, *wb, eps=ours.eps)  # noqa: E731
    if len(params) == 1:
        tf = lambda x, w: torch.nn.functional.layer_norm(x, ours.normalized_shape, w, None, eps=ours.eps)  # noqa: E731
    check_torch(functional, tf, inputs)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.BatchNorm1d(10),
        lambda m: m.BatchNorm1d(10, bias=False),
        lambda m: m.BatchNorm2d(3, eps=1e-3, momentum=None, affine=False, track_running_stats=False),
        lambda m: m.LayerNorm((4, 5), elementwise_affine=False),
        lambda m: m.LayerNorm(8, bias=False),
    ],
)
def test_repr_and_config(make) -> None:
    layer = make(nn)
    assert repr(layer) == repr(make(torch.nn))
    rebuilt = type(layer)(**layer.get_config())
    assert repr(rebuilt) == repr(layer)
    assert list(rebuilt.state_dict()) == list(layer.state_dict())


def test_errors_name_the_layer_with_torch_classes() -> None:
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*expected 4D input.*got 3D input of shape \(3, 4, 4\)"):
        nn.BatchNorm2d(3)(shenjing.zeros(3, 4, 4))
    with pytest.raises(ValueError):
        torch.nn.BatchNorm2d(3)(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(shenjing.zeros(2, 3, 4, 4))
    with pytest.raises(RuntimeError, match=r"input has 4 channels in dimension 1 \(input shape \(2, 4, 5, 5\)\)"):
        nn.BatchNorm2d(3)(shenjing.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(shenjing.zeros(1, 3))
    with pytest.raises(ValueError):
        torch.nn.BatchNorm1d(3)(torch.zeros(1, 3))
    nn.BatchNorm1d(3).eval()(shenjing.zeros(1, 3))  # one sample is fine in eval
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[5\], expected input with shape \[\*, 5\]"):
        nn.LayerNorm(5)(shenjing.zeros(2, 4))
    with pytest.raises(RuntimeError):
        torch.nn.LayerNorm(5)(torch.zeros(2, 4))
