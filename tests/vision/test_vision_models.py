"""shenjing.vision.models against torchvision 0.28: the same state-dict keys and shapes, parameter counts, and the
same logits and input gradients with every weight set by one formula (the reference values were written by
tests/vision/make_resnet_reference.py with torchvision; torchvision is not needed here)."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import shenjing
from shenjing import nn
from shenjing.vision import models

HERE = Path(__file__).resolve().parent
REFERENCE = json.loads((HERE / "resnet_reference.json").read_text(encoding="utf-8"))
_spec = importlib.util.spec_from_file_location("make_resnet_reference", HERE / "make_resnet_reference.py")
_maker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_maker)  # its fill() and image(); torch and torchvision are imported only by its main()
fill, image = _maker.fill, _maker.image


def _built(name: str):
    entry = REFERENCE[name]
    shenjing.manual_seed(0)
    model = getattr(models, name)(**entry["kwargs"]).double()
    state = model.state_dict()
    model.load_state_dict({k: shenjing.tensor(fill(k, tuple(v.shape), i)).to(v.dtype)
                           for i, (k, v) in enumerate(state.items())})
    return model, entry


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_state_dict_keys_shapes_and_parameter_count_are_torchvisions(name: str) -> None:
    entry = REFERENCE[name]
    model = getattr(models, name)(**entry["kwargs"])
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == entry["keys"]
    assert sum(p.numel() for p in model.parameters()) == entry["parameters"]


@pytest.mark.parametrize("name", ["resnet18", "resnext50_32x4d", "resnet34"])
def test_eval_logits_match_torchvision(name: str) -> None:
    model, entry = _built(name)
    with shenjing.no_grad():
        np.testing.assert_allclose(model.eval()(shenjing.tensor(image())).numpy(), entry["eval"], rtol=1e-9,
                                   atol=1e-9)


@pytest.mark.parametrize("name", ["resnet18", "resnext50_32x4d"])
def test_train_logits_and_input_gradient_match_torchvision(name: str) -> None:
    """Train mode normalises by batch statistics of as few as 8 values (2 images of 2 x 2 at layer4): the float64
    rounding of both libraries is amplified up to ~1e-7 relative (resnet18's input gradients reach 7e5); a wrong
    rule would be off by order one."""
    model, entry = _built(name)
    x = shenjing.tensor(image(), requires_grad=True)
    logits = model.train()(x)
    reference = np.asarray(entry["train"])
    np.testing.assert_allclose(logits.detach().numpy(), reference, rtol=0, atol=1e-6 * np.abs(reference).max())
    logits.sum().backward()
    for n, c, h, w, value in entry["grad_probes"]:
        assert abs(x.grad[n, c, h, w].item() - value) <= 1e-6 * abs(value)
    np.testing.assert_allclose(model.bn1.running_mean[:4].numpy(), entry["running_mean_after"], rtol=1e-9)


def test_resnet50_eval_logits_match_torchvision() -> None:
    model, entry = _built("resnet50")
    with shenjing.no_grad():
        np.testing.assert_allclose(model.eval()(shenjing.tensor(image())).numpy(), entry["eval"], rtol=1e-9,
                                   atol=1e-9)


def test_initialisation_is_torchvisions() -> None:
    shenjing.manual_seed(0)
    model = models.resnet18(zero_init_residual=True)
    conv = model.layer2[0].conv1.weight.detach().numpy()  # Kaiming normal, fan_out = 128 * 9, gain sqrt(2)
    assert abs(conv.std() - np.sqrt(2 / (128 * 9))) < 0.05 * np.sqrt(2 / (128 * 9))
    assert (model.bn1.weight.detach().numpy() == 1).all() and (model.bn1.bias.detach().numpy() == 0).all()
    assert (model.layer1[1].bn2.weight.detach().numpy() == 0).all()  # zero_init_residual: each block starts as identity
    bound = 1 / np.sqrt(512)
    assert np.abs(model.fc.weight.detach().numpy()).max() <= bound


def test_saves_and_loads_as_structure(tmp_path: Path) -> None:
    shenjing.manual_seed(1)
    model = models.resnext50_32x4d(num_classes=3).eval()
    x = shenjing.randn(1, 3, 32, 32)
    shenjing.save(model, tmp_path / "r.safetensors")
    back = shenjing.load(tmp_path / "r.safetensors").eval()
    assert isinstance(back, models.ResNet) and back.layer3[0].conv2.groups == 32
    with shenjing.no_grad():
        np.testing.assert_array_equal(back(x).numpy(), model(x).numpy())


def test_siamese_style_surgery_trains() -> None:
    """pytorch/examples siamese_network: a one-channel conv1 and the children up to the pool in a Sequential."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = models.resnet18(pretrained=False)
    assert any("'pretrained' is deprecated" in str(w.message) for w in caught)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
    features = nn.Sequential(*(list(net.children())[:-1]))
    out = features(shenjing.randn(4, 1, 28, 28))
    assert out.shape == (4, 512, 1, 1)
    out.sum().backward()
    assert net.conv1.weight.grad is not None and net.conv1.weight.grad.shape == (64, 1, 7, 7)


def test_trained_weights_get_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="never unpickles"):
        models.resnet18(weights="DEFAULT")
    with pytest.raises(RuntimeError, match="never unpickles"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models.resnet50(pretrained=True)
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1"):
        models.resnet18(groups=2)
    with pytest.raises(ValueError, match="4 stages"):
        models.ResNet("BasicBlock", [2, 2])
