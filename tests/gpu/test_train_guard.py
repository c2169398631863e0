"""The training loop's nan/inf guard on the GPU: the check stays on the device (one host sync per update) and the
last finite weights come back, as on the CPU (tests/train/test_hardening.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shenjing
from shenjing import nn, optim
from shenjing.train import Trainer


class PoisonAfter(optim.SGD):
    def __init__(self, params, lr, at: int, target) -> None:
        super().__init__(params, lr=lr)
        self.at, self.count, self.target = at, 0, target

    def step(self, closure=None):
        super().step(closure)
        self.count += 1
        if self.count == self.at:
            self.target.array[0, 0] = math.nan


@pytest.mark.parametrize("at, epochs_done", [(2, 0), (6, 1)])  # mid first epoch; the last step of epoch 2
def test_non_finite_weights_on_the_gpu_are_caught_and_rolled_back(at, epochs_done, capsys) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 5)).astype(np.float32)
    Y = (X[:, 0] > 0).astype(np.int64)
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)).to("cuda")
    optimizer = PoisonAfter(model.parameters(), 0.05, at, model[2].weight)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, verbose=0, device="cuda")
    history = trainer.fit((X, Y), epochs=3, batch_size=32, shuffle=False)
    assert history.stop_reason == "nan" and len(history) == epochs_done and trainer.weights_epoch == epochs_done
    assert "first non-finite layer: 2.weight" in capsys.readouterr().err
    for name, p in model.named_parameters():
        assert p.device.type == "cuda", name
        assert np.isfinite(p.detach().cpu().numpy()).all(), name
