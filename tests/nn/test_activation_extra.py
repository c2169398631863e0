"""The further activations: one table row each — PyTorch parity, finite differences, kinks, extreme values."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
import shenjing.nn.functional as F
from shenjing import nn

rng = np.random.default_rng(17)
SMOOTH = rng.standard_normal((45, 65)) * 2
AWAY = np.sign(SMOOTH) * (np.abs(SMOOTH) + 0.05)  # no value near the kink at 0


def away_from(x: np.ndarray, *kinks: float) -> np.ndarray:
    """``x`` with every value within 0.05 of a kink moved 0.1 away from it."""
    for k in kinks:
        near = np.abs(x - k) < 0.05
        x = np.where(near, k + 0.1 * np.where(x >= k, 1, -1), x)
    return x


WIDE = rng.uniform(-8, 8, (45, 65))
# name: (shenjing module, torch module, inputs that avoid kinks)
ACTIVATIONS = {
    "selu": (nn.SELU(), torch.nn.SELU(), AWAY),
    "celu": (nn.CELU(), torch.nn.CELU(), AWAY),
    "celu_0.5": (nn.CELU(0.5), torch.nn.CELU(0.5), AWAY),
    "gelu": (nn.GELU(), torch.nn.GELU(), WIDE),
    "gelu_tanh": (nn.GELU("tanh"), torch.nn.GELU("tanh"), WIDE),
    "mish": (nn.Mish(), torch.nn.Mish(), WIDE),
    "softsign": (nn.Softsign(), torch.nn.Softsign(), SMOOTH),
    "hardtanh": (nn.Hardtanh(), torch.nn.Hardtanh(), away_from(SMOOTH, -1, 1)),
    "hardtanh_-2_3": (nn.Hardtanh(-2.0, 3.0), torch.nn.Hardtanh(-2.0, 3.0), away_from(SMOOTH, -2, 3)),
    "relu6": (nn.ReLU6(), torch.nn.ReLU6(), away_from(WIDE, 0, 6)),
    "logsigmoid": (nn.LogSigmoid(), torch.nn.LogSigmoid(), WIDE),
    "hardsigmoid": (nn.Hardsigmoid(), torch.nn.Hardsigmoid(), away_from(WIDE, -3, 3)),
    "hardswish": (nn.Hardswish(), torch.nn.Hardswish(), away_from(WIDE, -3, 3)),
    "tanhshrink": (nn.Tanhshrink(), torch.nn.Tanhshrink(), SMOOTH),
    "softshrink": (nn.Softshrink(), torch.nn.Softshrink(), away_from(SMOOTH, -0.5, 0.5)),
    "softshrink_1": (nn.Softshrink(1.0), torch.nn.Softshrink(1.0), away_from(SMOOTH, -1, 1)),
    "hardshrink": (nn.Hardshrink(), torch.nn.Hardshrink(), away_from(SMOOTH, -0.5, 0.5)),
    "threshold": (nn.Threshold(0.3, -2.0), torch.nn.Threshold(0.3, -2.0), away_from(SMOOTH, 0.3)),
    "glu": (nn.GLU(), torch.nn.GLU(), SMOOTH[:, :64]),
    "glu_dim0": (nn.GLU(0), torch.nn.GLU(0), SMOOTH[:44]),
    "rrelu_eval": (nn.RReLU(0.1, 0.3).eval(), torch.nn.RReLU(0.1, 0.3).eval(), AWAY),
    "softmin": (nn.Softmin(dim=1), torch.nn.Softmin(dim=1), SMOOTH),
    "softmin_dim0": (nn.Softmin(dim=0), torch.nn.Softmin(dim=0), SMOOTH),
}


# NOTE: torch's hardsigmoid backward multiplies by the float32 constant 1.0f/6.0f even in float64 (relative
# error 3e-8); ours uses the exact 1/6 (the finite differences confirm it)
TOLERANCE = {"hardsigmoid": {"float64": dict(grad_rtol=1e-7)}}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_matches_torch(name: str) -> None:
    ours, theirs, x = ACTIVATIONS[name]
    check_torch(ours, theirs, [x], tol=TOLERANCE.get(name))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_finite_differences(name: str) -> None:
    ours, _, x = ACTIVATIONS[name]
    check_gradients(ours, [x[:6, :8]])


KINKS = np.array([-6.0, -3.0, -1.0, -0.5, 0.0, 0.3, 0.5, 1.0, 3.0, 6.0])


@pytest.mark.parametrize("name", ["hardtanh", "relu6", "hardsigmoid", "hardswish", "softshrink",
                                  "hardshrink", "threshold"])
def test_kinks_match_torch_exactly(name: str) -> None:
    ours, theirs, _ = ACTIVATIONS[name]
    exact = {"float64": dict(grad_atol=0, grad_rtol=1e-7 if name == "hardsigmoid" else 0)}
    check_torch(ours, theirs, [KINKS], tol=exact)


@pytest.mark.parametrize("name", ["selu", "celu", "celu_0.5"])
def test_exponential_kink_at_zero_matches_torch(name: str) -> None:
    ours, theirs, _ = ACTIVATIONS[name]
    check_torch(ours, theirs, [KINKS])


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "mish", "logsigmoid", "softsign", "selu", "celu"])
def test_extreme_values_stay_finite_and_match_torch(name: str) -> None:
    ours, theirs, _ = ACTIVATIONS[name]
    extreme = np.array([-1e4, -400.0, -40.0, -9.0, -5.0, -2.6, -2.4, 0.0, 2.4, 9.0, 40.0, 400.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        check_torch(ours, theirs, [extreme])


@pytest.mark.parametrize("shape, num_parameters", [((6, 4), 1), ((6, 4), 4), ((3, 4, 5, 2), 4), ((7,), 1),
                                                   ((3, 2, 5), 2)])
def test_prelu_matches_torch_with_weight_gradient(shape: tuple, num_parameters: int) -> None:
    x = away_from(rng.standard_normal(shape), 0)
    w = rng.uniform(0.05, 0.5, num_parameters)
    check_torch(F.prelu, torch.nn.functional.prelu, [x, w])
    check_gradients(F.prelu, [x, w])
    ours, theirs = nn.PReLU(num_parameters), torch.nn.PReLU(num_parameters)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()] == ["weight"]
    assert ours.weight.array.tolist() == theirs.weight.tolist()
    out = ours(shenjing.tensor(x.astype(np.float32)))
    expected = theirs(torch.tensor(x.astype(np.float32))).detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6)


def test_errors() -> None:
    with pytest.raises(RuntimeError, match="Halving dimension must be even.*size 5"):
        F.glu(shenjing.randn(3, 5))
    with pytest.raises(RuntimeError, match="found 3 weights.*4 channels"):
        F.prelu(shenjing.randn(2, 4), shenjing.ones(3))
    with pytest.raises(ValueError, match="cannot be greater"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(shenjing.randn(3), approximate="erf")


def test_configs_and_repr() -> None:
    assert nn.Hardtanh(-2.0, 2.0).get_config() == {"min_val": -2.0, "max_val": 2.0}
    assert nn.GELU("tanh").get_config() == {"approximate": "tanh"}
    assert repr(nn.Threshold(0.1, 20.0)) == "Threshold(threshold=0.1, value=20.0)"
    assert nn.PReLU(3).get_config() == {"num_parameters": 3, "init": 0.25}


def test_gelu_without_scipy_uses_the_series_and_still_matches_torch(monkeypatch):
    """SciPy's erfc is the fast path; without it the backend-only series gives the same values."""
    from helpers import torch as _torch

    import shenjing
    from shenjing import backend

    x = np.linspace(-9, 9, 1001)
    fast = shenjing.nn.functional.gelu(shenjing.tensor(x)).array
    monkeypatch.setattr(backend.Backend, "special", lambda self, name: None)
    slow = shenjing.nn.functional.gelu(shenjing.tensor(x)).array
    np.testing.assert_allclose(slow, fast, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(slow, _torch.nn.functional.gelu(_torch.tensor(x)).numpy(), rtol=1e-9, atol=1e-15)
