"""The textbook's worked examples (examples/textbook.py), number for number, with the corrected values."""

from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

# NOTE: loaded from its file, not by putting examples/ on sys.path: examples/mnist1d.py would then shadow the
# mnist1d package for every later test in the process.
_spec = importlib.util.spec_from_file_location("textbook", Path(__file__).resolve().parents[1] / "examples" / "textbook.py")
textbook = importlib.util.module_from_spec(_spec)
sys.modules["textbook"] = textbook
_spec.loader.exec_module(textbook)


def test_umbrella_neuron() -> None:
    assert textbook.umbrella_neuron() == {"z": -2.0, "a": 0.0}


def test_cheese_festival_neuron_and_its_smooth_step() -> None:
    out = textbook.cheese_festival_neuron()
    assert out["z"] == 7.0 and out["step"] == 1.0
    assert out["sigmoid_k100"] == pytest.approx(1.0, abs=1e-12)


def test_coat_mlp_with_corrected_hidden_value() -> None:
    out = textbook.coat_mlp()
    assert out["z1"] == [-3.5, -8.0]  # the source prints −7
    assert out["a1"] == [0.0, 0.0]
    assert out["output"] == pytest.approx(0.549834, abs=1e-6)
    assert out["parameters"] == 11


def test_two_layer_backprop_one_step() -> None:
    out = textbook.two_layer_backprop()
    close = lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6)  # noqa: E731 - 6 decimals, as the issue
    close(out["z1"], [0.17, 0.39])
    close(out["a1"], [0.542398, 0.596283])
    close(out["z2"], 0.928969)
    close(out["a2"], 0.716866)
    close(out["loss"], 0.040082)
    close(out["delta2"], -0.057467)
    close(out["delta1"], [-0.007132, -0.008300])
    close(out["dW2"], [-0.031170, -0.034267])
    close(out["dW1"], [[-0.003566, -0.000713], [-0.004150, -0.000830]])
    close(out["W2_new"], [0.503117, 0.603427])
    close(out["b2_new"], 0.305747)
    close(out["W1_new"], [[0.100357, 0.200071], [0.300415, 0.400083]])
    close(out["b1_new"], [0.100713, 0.200830])


def test_mnist_mlp_has_13002_parameters() -> None:
    assert textbook.mnist_mlp_parameters() == 13_002


def test_example_script_runs(capsys: pytest.CaptureFixture) -> None:
    runpy.run_path(str(Path(textbook.__file__)), run_name="__main__")
    printed = capsys.readouterr().out
    assert "no umbrella" in printed and "13002" in printed
