"""examples/mnist1d.py: the paper's four models built from the same code in shenjing and PyTorch agree, and the
recipe takes consecutive batches as the mnist1d repository does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import shenjing

torch = pytest.importorskip("torch")

# NOTE: loaded from its file under another name: a module called mnist1d would shadow the mnist1d package
_spec = importlib.util.spec_from_file_location(
    "mnist1d_example", Path(__file__).resolve().parents[1] / "examples" / "mnist1d.py"
)
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)

PARAMETERS = {"logistic": 410, "mlp": 4100 + 10100 + 1010, "cnn": 150 + 1900 + 1900 + 1260, "gru": 2 * 162 + 4810}


@pytest.mark.parametrize("kind", ["logistic", "mlp", "cnn", "gru"])
def test_models_match_pytorch_built_by_the_same_code(kind: str) -> None:
    ours, theirs = example.build(kind, shenjing), example.build(kind, torch)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters()) == PARAMETERS[kind]
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 40)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.tensor(x)).numpy()
    got = ours(shenjing.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_mlp_is_the_repositorys_residual_mlp() -> None:
    model = example.build("mlp", shenjing)
    x = shenjing.tensor(np.random.default_rng(1).standard_normal((3, 40)).astype(np.float32))
    h = model.linear1(x).relu()
    expected = model.linear3(h + model.linear2(h).relu())
    np.testing.assert_allclose(model(x).detach().numpy(), expected.detach().numpy(), rtol=1e-6)


def test_train_reads_consecutive_batches_and_both_libraries_agree() -> None:
    rng = np.random.default_rng(2)
    xtr, xte = rng.standard_normal((300, 40)).astype(np.float32), rng.standard_normal((50, 40)).astype(np.float32)
    ytr, yte = rng.integers(0, 10, 300), rng.integers(0, 10, 50)
    seen = []
    original = example.build

    def recording_build(kind: str, lib: object) -> object:
        model = original(kind, lib)
        forward = model.forward
        model.forward = lambda x: (seen.append(np.asarray(x.detach().numpy() if lib is shenjing else x.numpy())),
                                   forward(x))[1]
        return model

    example.build = recording_build
    try:
        best, _, init = example.train("logistic", shenjing, (xtr, ytr, xte, yte), steps=4, seed=0)
        best_torch, _, _ = example.train("logistic", torch, (xtr, ytr, xte, yte), steps=4, seed=0, init=init)
    finally:
        example.build = original
    batches = [b for b in seen if b.shape[0] == 100]
    np.testing.assert_array_equal(batches[0], xtr[:100])
    np.testing.assert_array_equal(batches[2], xtr[200:300])
    np.testing.assert_array_equal(batches[3], xtr[:100])  # wraps around after 300 signals, as bix = 100k mod N
    assert 0 <= best <= 100 and best == pytest.approx(best_torch, abs=2.0 + 1e-9)  # at most one of 50 differs


def test_adamw_option_decays_the_weights_in_both_libraries_alike() -> None:
    rng = np.random.default_rng(3)
    xtr, xte = rng.standard_normal((200, 40)).astype(np.float32), rng.standard_normal((50, 40)).astype(np.float32)
    ytr, yte = rng.integers(0, 10, 200), rng.integers(0, 10, 50)
    data = (xtr, ytr, xte, yte)
    built = []  # the models train() builds, in order
    original = example.build

    def keeping_build(kind: str, lib: object) -> object:
        model = original(kind, lib)
        built.append(model)
        return model

    example.build = keeping_build
    try:
        _, _, init = example.train("logistic", shenjing, data, steps=3, seed=0, optimizer="adamw")
        example.train("logistic", torch, data, steps=3, seed=0, init=init, optimizer="adamw")
        example.train("logistic", shenjing, data, steps=3, seed=0, init=init, optimizer="adam")
        with pytest.raises(ValueError, match="adamw"):
            example.train("logistic", shenjing, data, steps=1, seed=0, optimizer="sgd")
    finally:
        example.build = original
    ours, theirs, plain = (m.weight.detach().numpy() for m in built)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)  # AdamW = torch.optim.AdamW on the same batches
    # decoupled decay: each of the 3 steps multiplies w by (1 − lr·λ) before Adam's step, so AdamW's weights are
    # Adam's shrunk by about (1 − 1e-4)³ plus the drift of Adam's own update; they differ, by little
    assert not np.allclose(ours, plain, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours, plain, atol=1e-3)
