"""Lazy layers (LazyLinear, LazyConv*, LazyBatchNorm*, LazyInstanceNorm*): the sizes inferred from the first
batch, PyTorch's shapes / keys / initialisation bounds, becoming the eager class, optimizers built before the
first call, loading a checkpoint into an uninitialized model, and PyTorch's errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import torch

import shenjing
from shenjing import nn


def _lenet(m):
    """d2l.ai's LeNet as its PyTorch chapters write it: every layer lazy."""
    return m.nn.Sequential(
        m.nn.LazyConv2d(6, kernel_size=5, padding=2), m.nn.LazyBatchNorm2d(), m.nn.Sigmoid(),
        m.nn.AvgPool2d(kernel_size=2, stride=2),
        m.nn.LazyConv2d(16, kernel_size=5), m.nn.LazyInstanceNorm2d(), m.nn.Sigmoid(),
        m.nn.AvgPool2d(kernel_size=2, stride=2), m.nn.Flatten(),
        m.nn.LazyLinear(120), m.nn.LazyBatchNorm1d(), m.nn.Sigmoid(), m.nn.LazyLinear(10))


def test_lazy_lenet_has_torch_shapes_keys_and_becomes_eager() -> None:
    ours, theirs = _lenet(shenjing), _lenet(torch)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype("float32")
    assert ours(shenjing.tensor(x)).shape == tuple(theirs(torch.tensor(x)).shape) == (4, 10)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]  # Conv2d, BatchNorm2d, ...
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    assert not any(isinstance(m, nn.LazyModuleMixin) for m in ours.modules())


def test_a_torch_checkpoint_loads_into_an_uninitialized_model_and_gives_torch_outputs() -> None:
    theirs = _lenet(torch)
    x = np.random.default_rng(1).standard_normal((3, 1, 28, 28)).astype("float32")
    theirs(torch.tensor(x))
    theirs.eval()
    ours = _lenet(shenjing)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})  # materializes every parameter
    ours.eval()
    np.testing.assert_allclose(ours(shenjing.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    assert isinstance(ours[0], nn.Conv2d) and not isinstance(ours[0], nn.LazyModuleMixin)


def test_an_optimizer_built_before_the_first_call_trains_the_same_parameters() -> None:
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(3))
    ids = [id(p) for p in model.parameters()]
    opt = shenjing.optim.Adam(model.parameters(), lr=0.01)
    x, y = shenjing.randn(16, 5), shenjing.tensor(np.arange(16) % 3)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert [id(p) for p in model.parameters()] == ids and model[0].weight.shape == (8, 5)
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("make,shape,fan_in", [
    (lambda: nn.LazyLinear(64), (300, 200), 200),
    (lambda: nn.LazyConv2d(32, 3), (2, 16, 8, 8), 16 * 9),
    (lambda: nn.LazyConv1d(32, 5, groups=2), (2, 8, 20), 4 * 5),
    (lambda: nn.LazyConvTranspose2d(8, 3), (2, 12, 5, 5), 8 * 9),
])
def test_initialisation_is_the_eager_layers(make, shape, fan_in) -> None:
    layer = make()
    layer(shenjing.randn(*shape))
    w = layer.weight.detach().numpy()
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=√5): U(±1/√fan_in), as PyTorch's eager layers
    assert np.abs(w).max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)
    assert np.abs(layer.bias.detach().numpy()).max() <= bound


def test_unbatched_and_transposed_inputs_infer_the_channel_axis() -> None:
    conv = nn.LazyConv2d(4, 3)
    assert conv(shenjing.randn(3, 9, 9)).shape == (4, 7, 7) and conv.in_channels == 3
    up = nn.LazyConvTranspose1d(6, 4, stride=2)
    assert up(shenjing.randn(2, 5, 7)).shape == tuple(
        torch.nn.LazyConvTranspose1d(6, 4, stride=2)(torch.randn(2, 5, 7)).shape)
    assert up.weight.shape == (5, 6, 4)


def test_errors_before_and_during_initialisation() -> None:
    layer = nn.LazyLinear(4)
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        _ = layer.weight.shape
    with pytest.raises(ValueError, match="uninitialized parameter"):
        layer.weight.numel()
    assert layer.has_uninitialized_params()
    with pytest.raises(ValueError, match=r"layer '0' \(LazyLinear\) has not been initialized yet: run one batch"):
        shenjing.save(nn.Sequential(layer), "unused.safetensors")
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(shenjing.randn(1, 3, 5, 5))
    with pytest.raises(TypeError, match="needs a Tensor input"):
        layer([1.0, 2.0])


def test_an_initialized_lazy_model_saves_and_loads_as_the_eager_one(tmp_path) -> None:
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.Flatten(), nn.LazyLinear(2))
    x = shenjing.randn(2, 3, 6, 6)
    want = model(x).detach().numpy()
    shenjing.save(model, tmp_path / "m.safetensors")
    loaded = shenjing.load(tmp_path / "m.safetensors")
    assert [type(m).__name__ for m in loaded] == ["Conv2d", "Flatten", "Linear"]
    np.testing.assert_allclose(loaded(x).detach().numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("name,args", [("LazyConv3d", (4, 3)), ("LazyConvTranspose3d", (4, 2)),
                                       ("LazyBatchNorm3d", ()), ("LazyInstanceNorm3d", ())])
def test_volumetric_lazy_layers_as_torch(name: str, args: tuple) -> None:
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 5, 6)).astype("float32")
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert ours(shenjing.tensor(x)).shape == tuple(theirs(torch.tensor(x)).shape)
    assert type(ours).__name__ == type(theirs).__name__ == name.removeprefix("Lazy")
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
