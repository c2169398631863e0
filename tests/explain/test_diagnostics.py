"""The Diagnostics callback on constructed networks whose dead share, saturation and norms are known."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing
from shenjing import nn
from shenjing.train import Trainer
from shenjing.train.diagnostics import Diagnostics, activation_stats

f64 = shenjing.float64


def constructed() -> nn.Sequential:
    """4 → 4 ReLU → 1: hidden units 0 and 1 have weights −1 (dead on positive inputs), units 2, 3 weights +1."""
    hidden, out = nn.Linear(4, 4, dtype=f64), nn.Linear(4, 1, dtype=f64)
    hidden.load_state_dict({"weight": np.array([[-1.0] * 4, [-1.0] * 4, [1.0] * 4, [1.0] * 4]), "bias": np.zeros(4)})
    out.load_state_dict({"weight": np.array([[1.0, 1.0, 1.0, 1.0]]), "bias": np.zeros(1)})
    return nn.Sequential(hidden, nn.ReLU(), out)


def data() -> tuple:
    x = np.ones((4, 4))  # positive inputs
    y = np.zeros((4, 1))
    return shenjing.tensor(x, dtype=f64), shenjing.tensor(y, dtype=f64)


def test_norms_dead_share_and_update_ratio_are_the_known_values() -> None:
    model = constructed()
    diag = Diagnostics()
    optimizer = shenjing.optim.SGD(model.parameters(), lr=0.01)
    Trainer(model, nn.HalfSquaredErrorLoss(), optimizer, callbacks=[diag], verbose=0).fit(data(), epochs=1,
                                                                                          batch_size=4, shuffle=False)
    record = diag.history[0]
    assert record["step"] == 1 and record["epoch"] == 1
    # output = 2·4 = 8 for each of the 4 examples; L = ½ Σ (8 − 0)² → ∂L/∂out = 8 per example
    # ∂L/∂W_out = Σ_examples 8·a = 4·8·[0, 0, 4, 4] → norm 128·√2; ∂L/∂b_out = 32
    p = record["parameters"]
    assert p["2.weight"]["grad_norm"] == pytest.approx(128 * np.sqrt(2))
    assert p["2.bias"]["grad_norm"] == pytest.approx(32.0)
    # hidden: δ = 8 for the live units 2, 3 (0 for the dead), ∂L/∂W = Σ δ xᵀ = 32 per entry → norm √(8·32²)
    assert p["0.weight"]["grad_norm"] == pytest.approx(np.sqrt(8 * 32**2))
    # ‖ΔW‖/‖W‖ with W before the step (norm 4): ‖ΔW‖ = η‖∂L/∂W‖ for plain SGD
    assert p["0.weight"]["update_ratio"] == pytest.approx(0.01 * np.sqrt(8 * 32**2) / 4.0)
    assert record["activations"]["1 (ReLU)"]["dead_share"] == 0.5
    assert record["activations"]["1 (ReLU)"]["zero_share"] == 0.5


def test_weight_norm_is_after_the_step() -> None:
    model = constructed()
    diag = Diagnostics()
    Trainer(model, nn.HalfSquaredErrorLoss(), shenjing.optim.SGD(model.parameters(), lr=0.01), callbacks=[diag],
            verbose=0).fit(data(), epochs=1, batch_size=4, shuffle=False)
    w_after = np.array([[-1.0] * 4, [-1.0] * 4, [1 - 0.32] * 4, [1 - 0.32] * 4])  # live rows moved by −0.01·32
    assert diag.history[0]["parameters"]["0.weight"]["weight_norm"] == pytest.approx(np.linalg.norm(w_after))
    text = diag.report()
    assert "0.weight" in text and "1 (ReLU)" in text and "dead 50.0%" in text


def test_saturated_sigmoid_and_tanh_shares() -> None:
    z = np.array([[-10.0, -1.0, 0.0, 10.0]])
    sig = 1 / (1 + np.exp(-z))
    assert activation_stats("Sigmoid", sig)["saturated_share"] == 0.5
    assert activation_stats("Tanh", np.tanh(z))["saturated_share"] == 0.5
    assert activation_stats("ReLU", np.maximum(z, 0)) == {"dead_share": 0.75, "zero_share": 0.75}
    images = np.zeros((2, 3, 2, 2))
    images[1, 0, 1, 1] = 1.0  # channel 0 alive at one position of one example; channels 1, 2 dead
    assert activation_stats("ReLU", images)["dead_share"] == pytest.approx(2 / 3)


def test_sigmoid_saturation_measured_in_training() -> None:
    layer = nn.Linear(1, 2, dtype=f64)
    layer.load_state_dict({"weight": np.array([[100.0], [0.0]]), "bias": np.zeros(2)})
    model = nn.Sequential(layer, nn.Sigmoid(), nn.Linear(2, 1, dtype=f64))
    diag = Diagnostics(every=2)
    x, y = shenjing.tensor(np.ones((2, 1)), dtype=f64), shenjing.tensor(np.zeros((2, 1)), dtype=f64)
    Trainer(model, nn.MSELoss(), shenjing.optim.SGD(model.parameters(), lr=1e-6), callbacks=[diag],
            verbose=0).fit((x, y), epochs=3, batch_size=2, shuffle=False)
    assert [r["step"] for r in diag.history] == [2]  # steps 1, 2, 3: every second one
    assert diag.history[0]["activations"]["1 (Sigmoid)"]["saturated_share"] == 0.5  # unit 0: σ(100) ≈ 1


def test_vanishing_gradient_warning_names_the_layer() -> None:
    model = constructed()
    with shenjing.no_grad():
        model[0].weight.array[...] = -1.0  # every hidden unit dead: no gradient reaches layer 0
    diag = Diagnostics()
    with pytest.warns(RuntimeWarning, match=r"vanishing gradient in layer 0 \(Linear\).*0\.weight"):
        Trainer(model, nn.HalfSquaredErrorLoss(), shenjing.optim.SGD(model.parameters(), lr=0.01),
                callbacks=[diag], verbose=0).fit(data(), epochs=2, batch_size=2, shuffle=False)
    # both weights get no gradient (a⁽¹⁾ = 0 too): once per layer and epoch, not every step
    assert [w.split(":")[0] for w in diag.warnings] == ["vanishing gradient in layer 0 (Linear)",
                                                         "vanishing gradient in layer 2 (Linear)"] * 2
    assert diag.history[0]["activations"]["1 (ReLU)"]["dead_share"] == 1.0


def test_exploding_gradient_warning_names_the_layer() -> None:
    model = constructed()
    diag = Diagnostics(explode=100.0)
    with pytest.warns(RuntimeWarning, match=r"exploding gradient in layer 2 \(Linear\).*2\.weight"):
        Trainer(model, nn.HalfSquaredErrorLoss(), shenjing.optim.SGD(model.parameters(), lr=1e-4),
                callbacks=[diag], verbose=0).fit(data(), epochs=1, batch_size=4, shuffle=False)
    assert any("2.weight" in w for w in diag.warnings)


def test_hooks_removed_after_training_and_every_checked() -> None:
    model = constructed()
    diag = Diagnostics()
    Trainer(model, nn.HalfSquaredErrorLoss(), shenjing.optim.SGD(model.parameters(), lr=0.01), callbacks=[diag],
            verbose=0).fit(data(), epochs=1, batch_size=4)
    assert not model[1]._forward_hooks
    with pytest.raises(ValueError, match="every"):
        Diagnostics(every=0)
