"""A checkpoint whose training state around the weights is malformed, and a config nested too deeply: clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing
from shenjing import nn
from shenjing.data import DataLoader, TensorDataset
from shenjing.io import ModelFileError
from shenjing.train import Trainer
from shenjing.train.config import ConfigError, load_config


def make_trainer(generator=None):
    shenjing.manual_seed(0)
    model = nn.Linear(3, 2)
    x = np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 2, 20)
    trainer = Trainer(model, nn.CrossEntropyLoss(), shenjing.optim.SGD(model.parameters(), lr=0.1), verbose=0,
                      interrupt_checkpoint=None)
    trainer.loader = DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True, generator=generator)
    return trainer


@pytest.mark.parametrize("extra", [
    {"history": "not a table"},
    {"loader_rng": {"bit_generator": "nonsense"}},
    {"loader_rng": 7},
    {"callbacks": "x"},
])
def test_malformed_training_state_is_a_model_file_error(tmp_path, extra):
    trainer = make_trainer(generator=shenjing.Generator().manual_seed(3))
    path = tmp_path / "bad.ckpt"
    shenjing.io.save_checkpoint(path, trainer.model, trainer.optimizer, epoch=1, **extra)
    with pytest.raises(ModelFileError, match="bad.ckpt"):
        trainer.load_checkpoint(path)


@pytest.mark.parametrize("generator", [None, 5, np.random.default_rng(4), shenjing.Generator().manual_seed(9)])
def test_checkpoint_round_trip_restores_the_loader_shuffling(tmp_path, generator):
    trainer = make_trainer(generator)
    trainer.epoch = 2
    path = tmp_path / "ok.ckpt"
    trainer.save_checkpoint(path)
    order = [y.array.tolist() for _, y in trainer.loader]
    again = make_trainer(generator)
    again.load_checkpoint(path)
    assert again.epoch == 2
    if generator is not None:
        assert [y.array.tolist() for _, y in again.loader] == order


@pytest.mark.parametrize("text", ["a = " + "[" * 5000 + "]" * 5000, "x = 1\n" + "[t]\n" * 3])
def test_deep_or_broken_toml_is_a_config_error(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="deep.toml"):
        load_config(path)
