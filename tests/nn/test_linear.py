"""Linear: PyTorch layout, parity, finite differences, init distribution and error messages."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
from shenjing import nn

rng = np.random.default_rng(11)


@pytest.mark.parametrize("shape", [(45, 65), (1, 65), (3, 4, 65), (65,)])
@pytest.mark.parametrize("bias", [True, False])
def test_functional_linear_matches_torch(shape: tuple, bias: bool) -> None:
    inputs = [rng.standard_normal(shape), rng.standard_normal((7, 65))] + ([rng.standard_normal(7)] if bias else [])
    check_torch(nn.functional.linear, torch.nn.functional.linear, inputs)
    check_gradients(nn.functional.linear, [inputs[0][:3] if inputs[0].ndim > 1 else inputs[0]] + inputs[1:])


def test_module_weights_copy_both_ways_by_state_dict_key() -> None:
    theirs = torch.nn.Linear(65, 7).double()
    ours = nn.Linear(65, 7, dtype=shenjing.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((5, 65))
    xs, xt = shenjing.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ys, yt = ours(xs), theirs(xt)
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    (ys * ys).sum().backward()
    (yt * yt).sum().backward()
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    back = torch.nn.Linear(65, 7).double()
    back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    np.testing.assert_array_equal(back.weight.detach().numpy(), ours.weight.detach().numpy())


def test_layout_and_default_init_match_torch() -> None:
    layer = nn.Linear(784, 16)
    assert layer.weight.shape == (16, 784) and layer.bias.shape == (16,)
    assert layer.weight.dtype == shenjing.float32
    bound = 1 / np.sqrt(784)
    w = nn.Linear(400, 300).weight.detach().numpy()
    b400 = 1 / np.sqrt(400)
    assert np.abs(w).max() <= b400 and np.abs(w).max() > 0.99 * b400
    # U(−b, b) has standard deviation b/√3
    assert w.std() == pytest.approx(b400 / np.sqrt(3), rel=0.02)
    assert np.abs(layer.bias.detach().numpy()).max() <= bound


def test_init_is_reproducible_under_manual_seed() -> None:
    shenjing.manual_seed(5)
    a = nn.Linear(10, 3).weight.detach().numpy().copy()
    shenjing.manual_seed(5)
    np.testing.assert_array_equal(a, nn.Linear(10, 3).weight.detach().numpy())


def test_wrong_width_names_the_layer_and_both_shapes() -> None:
    layer = nn.Linear(784, 16)
    with pytest.raises(RuntimeError) as info:
        layer(shenjing.zeros(2, 785))
    message = str(info.value)
    assert message.startswith(
        "Linear(in_features=784, out_features=16, bias=True): input has 785 features in its last dimension, "
        "expected 784"
    )
    assert "(2, 785)" in message and "(16, 784)" in message


def test_wrong_dtype_names_both_dtypes() -> None:
    with pytest.raises(RuntimeError, match="input dtype float64 does not match the layer's float32"):
        nn.Linear(3, 2)(shenjing.zeros(1, 3, dtype=shenjing.float64))


def test_no_bias_and_repr() -> None:
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and len(list(layer.parameters())) == 1
    assert repr(layer) == repr(torch.nn.Linear(3, 2, bias=False))
    assert layer.get_config() == {"in_features": 3, "out_features": 2, "bias": False}


def test_flatten_and_identity() -> None:
    x = shenjing.randn(2, 1, 28, 28)
    assert nn.Flatten()(x).shape == (2, 784)
    assert nn.Unflatten(1, (1, 28, 28))(nn.Flatten()(x)).shape == (2, 1, 28, 28)
    assert nn.Identity()(x) is x
