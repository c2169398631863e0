"""Activations: one table row each — PyTorch parity, finite differences, extreme values."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
import shenjing.nn.functional as F
from shenjing import nn

rng = np.random.default_rng(7)
SMOOTH = rng.standard_normal((45, 65))
AWAY = np.sign(SMOOTH) * (np.abs(SMOOTH) + 0.05)  # no value near the kink at 0
EXTREME = np.array([-400.0, -300.0, -30.0, -1.0, 0.5, 30.0, 300.0, 400.0])

# name: (shenjing module, torch module, inputs that avoid kinks)
ACTIVATIONS = {
    "sigmoid": (nn.Sigmoid(), torch.nn.Sigmoid(), SMOOTH),
    "tanh": (nn.Tanh(), torch.nn.Tanh(), SMOOTH),
    "relu": (nn.ReLU(), torch.nn.ReLU(), AWAY),
    "leaky_relu": (nn.LeakyReLU(), torch.nn.LeakyReLU(), AWAY),
    "leaky_relu_0.2": (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2), AWAY),
    "softmax": (nn.Softmax(dim=1), torch.nn.Softmax(dim=1), SMOOTH),
    "softmax_dim0": (nn.Softmax(dim=0), torch.nn.Softmax(dim=0), SMOOTH),
    "log_softmax": (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1), SMOOTH),
    "silu": (nn.SiLU(), torch.nn.SiLU(), SMOOTH),
    "elu": (nn.ELU(), torch.nn.ELU(), AWAY),
    "softplus": (nn.Softplus(), torch.nn.Softplus(), SMOOTH),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_matches_torch(name: str) -> None:
    ours, theirs, x = ACTIVATIONS[name]
    check_torch(ours, theirs, [x])


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_finite_differences(name: str) -> None:
    ours, _, x = ACTIVATIONS[name]
    check_gradients(ours, [x[:6, :7]])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "silu"])
def test_extreme_values_stay_finite_and_match_torch(name: str) -> None:
    ours, theirs, _ = ACTIVATIONS[name]
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):  # no overflow
        check_torch(ours, theirs, [EXTREME])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_finite_for_huge_logits(name: str) -> None:
    ours, theirs, _ = ACTIVATIONS[name]
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [5.0, 5.0, 5.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        check_torch(ours, theirs, [logits])


def test_kinks_match_torch() -> None:
    kinks = np.array([-1.0, 0.0, 1.0])
    check_torch(nn.ReLU(), torch.nn.ReLU(), [kinks])  # ReLU′(0) = 0
    check_torch(nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1), [kinks])
    check_torch(nn.ELU(), torch.nn.ELU(), [kinks])


def test_step_is_the_textbook_threshold_with_zero_gradient() -> None:
    z = shenjing.tensor([4.0, 5.0, 5.5, 7.0], requires_grad=True)
    a = nn.Step(threshold=5)(z)
    np.testing.assert_array_equal(a.detach().numpy(), [0, 0, 1, 1])  # 1 if z > 5, 0 if z ≤ 5
    a.sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [0, 0, 0, 0])


def test_sigmoid_with_large_k_approaches_the_step() -> None:
    z = shenjing.tensor([1.0, 4.0, 4.9, 5.1, 6.0, 7.0, 11.0])
    k = 100
    smooth = F.sigmoid(k * (z - 5)).numpy()
    step = F.step(z, 5).numpy()
    away = np.abs(z.numpy() - 5) >= 0.1
    np.testing.assert_allclose(smooth[away], step[away], atol=1e-4)


def test_functional_and_method_forms_agree() -> None:
    x = shenjing.randn(3, 4)
    np.testing.assert_array_equal(F.relu(x).numpy(), x.relu().numpy())
    np.testing.assert_array_equal(F.softmax(x, dim=-1).numpy(), x.softmax(-1).numpy())
    np.testing.assert_array_equal(shenjing.sigmoid(x).numpy(), nn.Sigmoid()(x).numpy())


def test_reprs_match_torch() -> None:
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"


@pytest.mark.parametrize("slope", [0.01, 0.2, 0.0, 1.0, 1.5, -0.5])
def test_leaky_relu_on_channels_last_memory_matches_torch(slope: float) -> None:
    # an NCHW view of channels-last memory (what a convolution outputs): the memory-order paths, every slope
    z = np.ascontiguousarray(rng.standard_normal((3, 5, 6, 4)).astype(np.float32)).transpose(0, 3, 1, 2)
    z[0, 0, 0, :3] = [0.0, -0.0, np.inf]
    grad = rng.standard_normal((3, 5, 6, 4)).astype(np.float32).transpose(0, 3, 1, 2)
    x = shenjing.from_numpy(z).requires_grad_()
    a = nn.LeakyReLU(slope)(x)
    a.backward(shenjing.from_numpy(grad))
    xt = torch.from_numpy(z.copy()).requires_grad_()
    at = torch.nn.functional.leaky_relu(xt, slope)
    at.backward(torch.from_numpy(grad.copy()))
    np.testing.assert_array_equal(a.detach().numpy(), at.detach().numpy())
    np.testing.assert_array_equal(np.signbit(a.detach().numpy()), np.signbit(at.detach().numpy()))
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_implicit_softmax_dim_warns_at_the_callers_line_as_torch(name: str) -> None:
    """dim=None picks PyTorch's legacy axis (0 for 0-, 1- and 3-D input, else 1) with PyTorch's UserWarning,
    pointing at the line that called it, for the function and for its module; an explicit dim is silent."""
    import warnings

    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    ours_fn, theirs_fn = getattr(F, name), getattr(torch.nn.functional, name)
    module = {"softmax": "Softmax", "log_softmax": "LogSoftmax", "softmin": "Softmin"}[name]
    for ours_call, theirs_call in [
        (lambda a: ours_fn(a), lambda a: theirs_fn(a)),
        (lambda a: getattr(nn, module)()(a), lambda a: getattr(torch.nn, module)()(a)),
    ]:
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name} has been deprecated") as got:
            ours = ours_call(shenjing.tensor(x))
        assert [w.filename for w in got] == [__file__]
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
            theirs = theirs_call(torch.tensor(x))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours_fn(shenjing.tensor(x), dim=1)
        ours_fn(shenjing.tensor(x), 1)
