"""Magnitude pruning against torch.nn.utils.prune (same masks), fine-tuning keeps zeros, shrink gives smaller models."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing
import shenjing.nn as nn
from shenjing import prune

torch = pytest.importorskip("torch", reason="pruning masks are compared with torch.nn.utils.prune")
import torch.nn.utils.prune as tprune  # noqa: E402


def _pair(make_ours, make_theirs, seed=0):
    shenjing.manual_seed(seed)
    ours = make_ours()
    theirs = make_theirs()
    theirs.load_state_dict({k: torch.tensor(np.asarray(v.array)) for k, v in ours.state_dict().items()})
    return ours, theirs


def _mask(module, name="weight"):
    return np.asarray(getattr(module, name + "_mask").array)


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.75, 5])
def test_l1_unstructured_as_torch(amount):
    ours, theirs = _pair(lambda: nn.Linear(12, 7), lambda: torch.nn.Linear(12, 7))
    prune.l1_unstructured(ours, "weight", amount)
    tprune.l1_unstructured(theirs, "weight", amount)
    np.testing.assert_array_equal(_mask(ours), theirs.weight_mask.numpy())
    np.testing.assert_allclose(ours.weight.array, theirs.weight.detach().numpy())
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    # pruning again prunes among the survivors, as PyTorch
    prune.l1_unstructured(ours, "weight", 0.5)
    tprune.l1_unstructured(theirs, "weight", 0.5)
    np.testing.assert_array_equal(_mask(ours), theirs.weight_mask.numpy())


@pytest.mark.parametrize("n, dim", [(2, 0), (1, 0), (2, 1), ("inf", 0)])
def test_ln_structured_as_torch(n, dim):
    ours, theirs = _pair(lambda: nn.Conv2d(3, 8, 3), lambda: torch.nn.Conv2d(3, 8, 3))
    prune.ln_structured(ours, "weight", 0.4, n=n, dim=dim)
    tprune.ln_structured(theirs, "weight", 0.4, n=float("inf") if n == "inf" else n, dim=dim)
    np.testing.assert_array_equal(_mask(ours), theirs.weight_mask.numpy())


def test_global_unstructured_as_torch():
    ours, theirs = _pair(
        lambda: nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 4)),
        lambda: torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 4)),
    )
    prune.global_unstructured([(ours[0], "weight"), (ours[2], "weight")], prune.L1Unstructured, amount=0.6)
    tprune.global_unstructured([(theirs[0], "weight"), (theirs[2], "weight")], tprune.L1Unstructured, amount=0.6)
    for i in (0, 2):
        np.testing.assert_array_equal(_mask(ours[i]), theirs[i].weight_mask.numpy())
    assert abs(prune.sparsity(ours) - 0.6) < 1e-9
    x = np.random.default_rng(0).standard_normal((3, 10)).astype(np.float32)
    np.testing.assert_allclose(ours(shenjing.tensor(x)).array, theirs(torch.tensor(x)).detach().numpy(), atol=1e-6)


def test_fine_tuning_keeps_pruned_weights_zero():
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    prune.l1_unstructured(model[0], "weight", 0.5)
    mask = _mask(model[0])
    names = [n for n, _ in model.named_parameters()]
    assert "0.weight_orig" in names and "0.weight" not in names
    opt = shenjing.optim.SGD(model.parameters(), lr=0.5)
    x, y = shenjing.randn(16, 6), shenjing.randn(16, 2)
    for _ in range(3):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        np.testing.assert_array_equal(model[0].weight_orig.grad.array * (1 - mask), 0)  # no gradient where pruned
        opt.step()
    model(x)
    assert (model[0].weight.array[mask == 0] == 0).all()
    import copy

    twin = copy.deepcopy(model)  # between calls a pruned model holds no autograd graph: it copies (and quantizes)
    np.testing.assert_array_equal(twin(x).array, model(x).array)
    from shenjing.quantize import quantize_dynamic

    assert (quantize_dynamic(model)[0].weight.array[mask == 0] == 0).all()
    prune.remove(model[0], "weight")
    assert not prune.is_pruned(model[0])
    assert sorted(model[0].state_dict()) == ["bias", "weight"]
    assert (model[0].weight.array[mask == 0] == 0).all()
    with pytest.raises(ValueError, match="has to be pruned"):
        prune.remove(model[0], "weight")


def test_bad_amounts():
    layer = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="range"):
        prune.l1_unstructured(layer, "weight", 1.5)
    with pytest.raises(ValueError, match="between"):
        prune.l1_unstructured(layer, "weight", 10)
    with pytest.raises(TypeError):
        prune.l1_unstructured(layer, "weight", "half")
    with pytest.raises(AttributeError, match="no parameter"):
        prune.l1_unstructured(layer, "scale", 0.5)


def test_shrink_mlp_and_cnn(tmp_path):
    shenjing.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Dropout(0.1), nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3))
    small = prune.shrink(mlp, 0.5)
    assert [(m.in_features, m.out_features) for m in small if type(m).__name__ == "Linear"] == [(10, 10), (10, 8),
                                                                                                 (8, 3)]
    assert mlp[0].out_features == 20  # the original is untouched
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    shenjing.manual_seed(1)
    cnn = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 5),
    ).eval()
    small = prune.shrink(cnn, 0.5, example=shenjing.tensor(x))
    assert small[0].out_channels == 4 and small[1].num_features == 4 and small[4].in_channels == 4
    assert small[4].out_channels == 3 and small[7].in_features == 3 * 16
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in cnn.parameters()) / 1.8
    assert not small.training and not small[1].training
    shenjing.save(small, tmp_path / "small.safetensors")
    back = shenjing.load(tmp_path / "small.safetensors")
    with shenjing.no_grad():
        np.testing.assert_allclose(back(shenjing.tensor(x)).array, small(shenjing.tensor(x)).array, atol=1e-6)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_shrink_drops_exactly_the_weak_units(kind):
    """Units whose output nobody reads can go without changing the answer: shrink must pick exactly those."""
    shenjing.manual_seed(2)
    rng = np.random.default_rng(0)
    weak = [1, 4, 6, 7]
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
        x = rng.standard_normal((4, 5)).astype(np.float32)
        model[2].weight.array[:, weak] = 0
    else:
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(8 * 4 * 4, 3)).eval()
        x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
        cols = (np.array(weak)[:, None] * 16 + np.arange(16)).reshape(-1)
        model[-1].weight.array[:, cols] = 0
    model[0].weight.array[weak] *= 1e-3  # the weakest by L1 norm
    small = prune.shrink(model, 0.5)
    with shenjing.no_grad():
        np.testing.assert_allclose(small(shenjing.tensor(x)).array, model(shenjing.tensor(x)).array, atol=1e-5)
    assert small[0].weight.shape[0] == 4


def test_shrink_refuses():
    with pytest.raises(TypeError, match="Sequential"):
        prune.shrink(nn.Linear(3, 3), 0.5)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    prune.l1_unstructured(model[0], "weight", 0.5)
    with pytest.raises(ValueError, match="remove"):
        prune.shrink(model, 0.5)
    with pytest.raises(ValueError, match="amount"):
        prune.shrink(nn.Sequential(nn.Linear(3, 3)), 1.0)


def test_pruned_and_shrunk_models_export_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    pytest.importorskip("onnx", reason="needs onnx")
    from shenjing.onnx import export

    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    prune.global_unstructured([(model[0], "weight"), (model[2], "weight")], prune.L1Unstructured, amount=0.7)
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    for variant in (model, prune.shrink(copy_removed(model), 0.5)):
        export(variant, shenjing.tensor(x), tmp_path / "p.onnx", dynamic_axes={"input": [0]})
        got = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"]).run(None, {"input": x})
        with shenjing.no_grad():
            np.testing.assert_allclose(got[0], variant(shenjing.tensor(x)).array, atol=1e-5)


def copy_removed(model):
    import copy

    done = copy.deepcopy(model)
    for m in done:
        if prune.is_pruned(m):
            prune.remove(m, "weight")
    return done
