"""Module: registration, state dicts (PyTorch keys both ways), train/eval, dtype conversion, repr."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import shenjing
from shenjing import nn


def textbook_mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))


def test_textbook_mnist_mlp_has_13002_parameters() -> None:
    assert sum(p.numel() for p in textbook_mlp().parameters()) == 13_002  # 784·16+16 + 16·16+16 + 16·10+10


def test_state_dict_keys_match_torch() -> None:
    theirs = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.Sigmoid(), torch.nn.Linear(16, 16),
                                 torch.nn.Sigmoid(), torch.nn.Linear(16, 10))
    ours = textbook_mlp()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    result = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    np.testing.assert_allclose(ours(shenjing.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})


def test_load_state_dict_accepts_tensors_and_torch_tensors() -> None:
    a, b = nn.Linear(2, 3), nn.Linear(2, 3)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    b.load_state_dict({"weight": torch.ones(3, 2), "bias": torch.zeros(3)})
    assert b.weight.detach().numpy().sum() == 6


def test_load_state_dict_reports_every_problem() -> None:
    model = nn.Linear(2, 3)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict({"weight": np.zeros((3, 3)), "extra": np.zeros(1)})
    message = str(info.value)
    assert "Missing key(s) in state_dict: \"bias\"" in message
    assert "Unexpected key(s) in state_dict: \"extra\"" in message
    assert "size mismatch for weight: copying a param with shape (3, 3) from checkpoint, the shape in current " \
           "model is (3, 2)." in message
    result = model.load_state_dict({"weight": np.ones((3, 2)), "x": np.zeros(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["x"]
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict({"weight": np.zeros((2, 2)), "bias": np.zeros(3)}, strict=False)


def test_state_dict_shares_memory_and_load_copies() -> None:
    model = nn.Linear(2, 2)
    sd = model.state_dict()
    with shenjing.no_grad():
        model.weight.fill_(3.0)
    assert sd["weight"].numpy()[0, 0] == 3.0


def test_train_eval_and_dropout_switch() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    assert model.training and model[1].training
    model.eval()
    assert not model.training and not model[1].training
    x = shenjing.ones(2, 4)
    np.testing.assert_array_equal(model(x).detach().numpy(), model[0](x).detach().numpy())


def test_to_double_converts_parameters_in_place() -> None:
    model = textbook_mlp()
    weight = model[0].weight
    model.double()
    assert weight.dtype == shenjing.float64 and model[0].weight is weight
    assert model(shenjing.zeros(1, 784, dtype=shenjing.float64)).dtype == shenjing.float64
    model.to(shenjing.float32)
    assert all(p.dtype == shenjing.float32 for p in model.parameters())
    with pytest.raises(TypeError, match="floating point"):
        model.to(shenjing.int64)


def test_dtype_argument_on_layers() -> None:
    assert nn.Linear(2, 2, dtype=shenjing.float64).weight.dtype == shenjing.float64


def test_zero_grad_sets_none_like_torch() -> None:
    model = nn.Linear(2, 1)
    model(shenjing.ones(1, 2)).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad()
    assert model.weight.grad is None


def test_custom_module_registration_and_repr() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.scale = nn.Parameter(shenjing.ones(1))
            self.layers = nn.ModuleList([nn.ReLU(), nn.Tanh()])
            self.register_buffer("count", shenjing.zeros(1))

        def forward(self, x):
            return self.layers[1](self.layers[0](self.fc(x))) * self.scale

    block = Block()
    assert [n for n, _ in block.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    assert list(block.state_dict()) == ["scale", "count", "fc.weight", "fc.bias"]
    assert block(shenjing.ones(2, 3)).shape == (2, 3)
    assert repr(block) == (
        "Block(\n  (fc): Linear(in_features=3, out_features=3, bias=True)\n  (layers): ModuleList(\n"
        "    (0): ReLU()\n    (1): Tanh()\n  )\n)"
    )
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'nope'"):
        _ = block.nope


def test_sequential_repr_matches_torch() -> None:
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.5))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Dropout(0.5))
    assert repr(ours) == repr(theirs)
    assert len(ours) == 3 and isinstance(ours[1], nn.ReLU) and len(ours[:2]) == 2


def test_shared_parameters_counted_once() -> None:
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2


def test_forward_hooks() -> None:
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append(out.shape))
    layer(shenjing.ones(5, 2))
    handle.remove()
    layer(shenjing.ones(5, 2))
    assert seen == [(5, 2)]


def test_reassigning_a_child_or_parameter_keeps_its_place():
    import shenjing
    from shenjing import nn

    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    setattr(seq, "0", nn.Linear(2, 2, bias=False))
    assert list(seq._modules) == ["0", "1", "2"]
    layer = nn.Linear(2, 3)
    layer.weight = nn.Parameter(shenjing.zeros(3, 2))
    assert list(dict(layer.named_parameters())) == ["weight", "bias"]
