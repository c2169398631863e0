"""``model.explain``: the textbook's two examples number for number, conv/pool/norm layers, the optimizer view."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import shenjing
from shenjing import nn
from shenjing.explain import explain, format_array

f64 = shenjing.float64
close = lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6)  # noqa: E731 - 6 decimals, as the textbook


def two_layer() -> nn.Sequential:
    layer1, layer2 = nn.Linear(2, 2, dtype=f64), nn.Linear(2, 1, dtype=f64)
    layer1.load_state_dict({"weight": [[0.1, 0.2], [0.3, 0.4]], "bias": [0.1, 0.2]})
    layer2.load_state_dict({"weight": [[0.5, 0.6]], "bias": [0.3]})
    return nn.Sequential(layer1, nn.Sigmoid(), layer2, nn.Sigmoid())


def coat() -> nn.Sequential:
    hidden, output = nn.Linear(3, 2, dtype=f64), nn.Linear(2, 1, dtype=f64)
    hidden.load_state_dict({"weight": [[-0.5, 1.0, 0.5], [-1.0, 0.5, 0.5]], "bias": [0.0, 1.0]})
    output.load_state_dict({"weight": [[0.8, -0.5]], "bias": [0.2]})
    return nn.Sequential(hidden, nn.ReLU(), output, nn.Sigmoid())


def test_two_layer_textbook_numbers_in_the_records() -> None:
    e = two_layer().explain([[0.5, 0.1]], [[1.0]], lr=0.1)
    one, two = e.layer(1), e.layer(2)
    close(one["z"], [0.17, 0.39])  # the source prints 0.35
    close(one["a"], [0.542398, 0.596283])
    close(two["z"], [0.928969])
    close(two["a"], [0.716866])
    close(e.loss, 0.040082)
    close(two["delta"], [-0.057467])
    close(one["delta"], [-0.007132, -0.008300])
    close(two["dW"], [[-0.031170, -0.034267]])
    close(one["dW"], [[-0.003566, -0.000713], [-0.004150, -0.000830]])
    close(two["db"], [-0.057467])
    close(one["db"], [-0.007132, -0.008300])
    close(two["W_new"], [[0.503117, 0.603427]])
    close(two["b_new"], [0.305747])
    close(one["W_new"], [[0.100357, 0.200071], [0.300415, 0.400083]])
    close(one["b_new"], [0.100713, 0.200830])


def test_two_layer_textbook_table_as_text() -> None:
    text = str(two_layer().explain([[0.5, 0.1]], [[1.0]], lr=0.1))
    expected_lines = [
        "z⁽¹⁾ = W⁽¹⁾a⁽⁰⁾ + b⁽¹⁾ = [0.170000, 0.390000]",
        "a⁽¹⁾ = σ(z⁽¹⁾), σ(z) = 1/(1 + e⁻ᶻ) = [0.542398, 0.596283]",
        "z⁽²⁾ = W⁽²⁾a⁽¹⁾ + b⁽²⁾ = 0.928969",
        "a⁽²⁾ = σ(z⁽²⁾), σ(z) = 1/(1 + e⁻ᶻ) = 0.716866",
        "L = ½ Σ (a⁽²⁾ − y)² = 0.040082",
        "δ⁽²⁾ = ∂L/∂z⁽²⁾ = ∂L/∂a⁽²⁾ ⊙ σ′(z⁽²⁾) = -0.057467",
        "∂L/∂W⁽²⁾ = δ⁽²⁾a⁽¹⁾ᵀ = [[-0.031170, -0.034267]]",
        "δ⁽¹⁾ = ∂L/∂z⁽¹⁾ = (W⁽²⁾ᵀδ⁽²⁾) ⊙ σ′(z⁽¹⁾) = [-0.007132, -0.008300]",
        "∂L/∂W⁽¹⁾ = δ⁽¹⁾a⁽⁰⁾ᵀ = [[-0.003566, -0.000713], [-0.004150, -0.000830]]",
        "W⁽¹⁾ = new value = [[0.100357, 0.200071], [0.300415, 0.400083]]",
        "b⁽¹⁾ = new value = [0.100713, 0.200830]",
        "W⁽²⁾ = new value = [[0.503117, 0.603427]]",
        "b⁽²⁾ = new value = 0.305747",
    ]
    lines = [line.strip() for line in text.splitlines()]
    for line in expected_lines:
        assert line in lines, line
    assert "0.350000" not in text  # the source's misprint is not reproduced


def test_model_is_left_as_it_was_unless_asked() -> None:
    model = two_layer()
    before = {k: v.array.copy() for k, v in model.state_dict().items()}
    model.explain([[0.5, 0.1]], [[1.0]], lr=0.1)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.array, before[key])
        assert model.get_parameter(key).grad is None
    model.explain([[0.5, 0.1]], [[1.0]], lr=0.1, apply_update=True)
    close(model[0].weight.array, [[0.100357, 0.200071], [0.300415, 0.400083]])


def test_coat_mlp_shows_both_dead_relus() -> None:
    e = coat().explain([[10.0, 1.0, 1.0]])
    close(e.layer(1)["z"], [-3.5, -8.0])  # the source prints −7
    close(e.layer(1)["a"], [0.0, 0.0])
    close(e.layer(2)["a"], [0.549834])
    assert e.layer(1).dead_units == [0, 1]
    assert e.loss is None
    text = e.to_text()
    assert "z⁽¹⁾ = W⁽¹⁾a⁽⁰⁾ + b⁽¹⁾ = [-3.500000, -8.000000]" in text
    assert "dead ReLUs (units) = 2 of 2 (units 0, 1)" in text
    assert "a⁽²⁾ = σ(z⁽²⁾), σ(z) = 1/(1 + e⁻ᶻ) = 0.549834" in text


def test_coat_mlp_backward_no_gradient_through_dead_units() -> None:
    e = coat().explain([[10.0, 1.0, 1.0]], [[1.0]], lr=0.1)
    close(e.layer(1)["dW"], np.zeros((2, 3)))
    close(e.layer(1)["W_new"], [[-0.5, 1.0, 0.5], [-1.0, 0.5, 0.5]])
    a2 = 1 / (1 + np.exp(-0.2))
    close(e.layer(2)["delta"], [(a2 - 1) * a2 * (1 - a2)])


def test_markdown_and_html_carry_the_same_numbers() -> None:
    e = two_layer().explain([[0.5, 0.1]], [[1.0]], lr=0.1)
    md, page = e.to_markdown(), e.to_html()
    for number in ("0.390000", "-0.057467", "0.503117", "0.305747"):
        assert number in md and number in page
    assert "| z⁽¹⁾ | W⁽¹⁾a⁽⁰⁾ + b⁽¹⁾ | [0.170000, 0.390000] |" in md
    assert "<td>z⁽¹⁾</td><td>W⁽¹⁾a⁽⁰⁾ + b⁽¹⁾</td><td>[0.170000, 0.390000]</td>" in page
    assert e.render("md") == md and e.render("html") == page
    with pytest.raises(ValueError, match="format"):
        e.render("pdf")


def test_large_layers_are_summarised() -> None:
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 10))
    x = shenjing.randn(1, 784)
    e = model.explain(x, shenjing.tensor([3]), lr=0.1)
    w = model[0].weight.array
    text = e.to_text()
    assert f"shape (16, 784), ‖·‖ = {np.linalg.norm(w.astype(np.float64)):.6f}" in text
    assert "a⁽⁰⁾ = x = shape (784,)" in text
    assert e.loss_name == "CrossEntropyLoss"  # integer targets
    assert format_array(np.arange(3.0)) == "[0.000000, 1.000000, 2.000000]"
    assert format_array(np.array(1e-9)) == "1.00000e-09"  # tiny gradients are not printed as 0.000000


def test_against_torch_for_a_tiny_batch() -> None:
    shenjing.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x, y = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32), np.array([0, 1])
    e = model.explain(x, y, loss=nn.CrossEntropyLoss(), lr=0.5)
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    t.load_state_dict({k: torch.tensor(v.array) for k, v in model.state_dict().items()})
    z1 = t[0](torch.tensor(x))
    z1.retain_grad()
    loss = torch.nn.functional.cross_entropy(t[2](t[1](z1)), torch.tensor(y))
    loss.backward()
    np.testing.assert_allclose(e.layer(1)["z"], z1.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e.layer(1)["delta"], z1.grad.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(e.layer(1)["dW"], t[0].weight.grad.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(e.layer(2)["W_new"], (t[2].weight - 0.5 * t[2].weight.grad).detach().numpy(),
                               rtol=1e-5, atol=1e-7)
    close(e.loss, loss.item())


def test_optimizer_view_sgd_velocity() -> None:
    model = two_layer()
    opt = shenjing.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    e = model.explain([[0.5, 0.1]], [[1.0]], optimizer=opt, watch="2.weight")
    view = e.optimizer_view
    close(view["velocity"], [[-0.031170, -0.034267]])  # first step: v = g
    close(view["step"], [[0.003117, 0.003427]])
    assert "Optimizer view — 2.weight (SGD)" in e.to_text()
    assert "momentum μ = 0.9" in e.to_text()
    assert len(opt.state) == 0 or all(not s for s in opt.state.values())  # restored


def test_optimizer_view_adam_moments() -> None:
    model = two_layer()
    opt = shenjing.optim.Adam(model.parameters(), lr=0.01)
    e = model.explain([[0.5, 0.1]], [[1.0]], optimizer=opt, watch="2.weight")
    g = np.array([[-0.031170, -0.034267]])
    view = e.optimizer_view
    assert view["t"] == 1
    np.testing.assert_allclose(view["m"], 0.1 * g, atol=1e-6)
    np.testing.assert_allclose(view["v"], 0.001 * g**2, rtol=1e-3)
    np.testing.assert_allclose(view["m_hat"], g, atol=1e-6)
    np.testing.assert_allclose(view["v_hat"], g**2, rtol=1e-3)
    np.testing.assert_allclose(view["step"], [[0.01, 0.01]], rtol=1e-5)  # −η m̂/(√v̂ + ε) ≈ η·sign(−g)
    text = e.to_text()
    assert "m̂ = m/(1 − β₁^1)" in text and "v̂ = v/(1 − β₂^1)" in text
    with pytest.raises(KeyError, match="no parameter 'nope'"):
        model.explain([[0.5, 0.1]], [[1.0]], optimizer=opt, watch="nope")


def test_conv_pool_norm_in_their_own_terms() -> None:
    shenjing.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.BatchNorm2d(2), nn.Flatten(),
                          nn.Linear(2, 1))
    x = shenjing.randn(3, 1, 4, 4)
    e = model.explain(x, shenjing.randn(3, 1), lr=0.1)
    kinds = [r.kind for r in e.layers]
    assert kinds == ["conv", "pool", "norm", "other", "affine"]
    text = e.to_text()
    assert "W⁽¹⁾ ⋆ a⁽⁰⁾ + b⁽¹⁾" in text and "cross-correlation: 2 kernels of 1×3×3" in text
    assert "the maximum of a⁽¹⁾ over each window" in text
    assert "each window's δ goes to the input that was its maximum" in text
    pooled = e.layer(2)["z"]
    np.testing.assert_allclose(e.layer(3)["mean"], pooled.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(e.layer(3)["var"], pooled.var(axis=(0, 2, 3)), rtol=1e-4)
    assert "∂L/∂γ⁽³⁾" in text
    # running statistics untouched (restored), as the parameters
    np.testing.assert_array_equal(model[3].running_mean.array, np.zeros(2, dtype=np.float32))


def test_loss_by_name() -> None:
    e = explain(two_layer(), [[0.5, 0.1]], [[1.0]], loss="mse")
    close(e.loss, (0.716866 - 1) ** 2)
    with pytest.raises(ValueError, match="unknown loss"):
        explain(two_layer(), [[0.5, 0.1]], [[1.0]], loss="nonsense")


def test_dead_relu_channels_of_a_convolution() -> None:
    conv = nn.Conv2d(1, 3, 1)
    conv.load_state_dict({"weight": np.array([1.0, -1.0, 0.0], dtype=np.float32).reshape(3, 1, 1, 1),
                          "bias": np.array([0.0, 0.0, -1.0], dtype=np.float32)})
    x = np.abs(np.random.default_rng(0).normal(size=(2, 1, 3, 3))).astype(np.float32) + 0.1
    e = nn.Sequential(conv, nn.ReLU()).explain(x)
    assert e.layer(1).dead_units == [1, 2]  # −x < 0 everywhere, and 0·x − 1 < 0: channels 1 and 2
    assert "dead ReLUs (channels) = 2 of 3 (units 1, 2)" in e.to_text()


def test_example_script_prints_both_textbook_examples(capsys, monkeypatch) -> None:
    import runpy
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "examples" / "explain_textbook.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--format", "markdown"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "| δ⁽¹⁾ | ∂L/∂z⁽¹⁾ = (W⁽²⁾ᵀδ⁽²⁾) ⊙ σ′(z⁽¹⁾) | [-0.007132, -0.008300] |" in out
    assert "| dead ReLUs (units) | 2 of 2 (units 0, 1)" in out


def test_optimizer_state_of_a_trained_optimizer_is_put_back() -> None:
    model = two_layer()
    opt = shenjing.optim.Adam(model.parameters(), lr=0.01)
    loss = nn.HalfSquaredErrorLoss()(model(shenjing.tensor([[0.5, 0.1]], dtype=f64)), shenjing.tensor([[1.0]],
                                                                                                      dtype=f64))
    loss.backward()
    opt.step()
    before = {id(p): (s["step"], s["exp_avg"].copy()) for p, s in opt.state.items()}
    weights = model[0].weight.array.copy()
    e = model.explain([[0.5, 0.1]], [[1.0]], optimizer=opt, watch="0.weight")
    assert e.optimizer_view["t"] == 2  # the view continues from the optimizer's real state
    assert {id(p) for p in opt.state} == set(before)  # same parameter objects as keys
    for p, s in opt.state.items():
        assert s["step"] == before[id(p)][0]
        np.testing.assert_array_equal(s["exp_avg"], before[id(p)][1])
    np.testing.assert_array_equal(model[0].weight.array, weights)
