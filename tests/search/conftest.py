"""The search tests: a tiny digits configuration with a [search] section (``search_doc(**search_keys)``)."""

import copy

import pytest

BASE = {
    "name": "tiny",
    "seed": 0,
    "loss": "cross_entropy",
    "data": {"dataset": "digits", "val": 0.2, "test": 0.2},
    "model": {
        "layers": [
            {"type": "Linear", "in_features": 64, "out_features": 16},
            "ReLU",
            {"type": "Linear", "in_features": 16, "out_features": 10},
        ]
    },
    "optimizer": {"type": "adam", "lr": 1e-3},
    "train": {"epochs": 2, "batch_size": 64},
    "search": {
        "sampler": "random",
        "trials": 3,
        "seed": 0,
        "space": {
            "optimizer.lr": {"float": [1e-4, 1e-1], "log": True},
            "hidden": {"choice": [8, 16, 32], "keys": ["model.layers[0].out_features", "model.layers[2].in_features"]},
        },
    },
}


def document(**search):
    """The base document with ``search`` keys replaced (``space=...`` replaces the whole space)."""
    doc = copy.deepcopy(BASE)
    doc["search"].update(search)
    return doc


@pytest.fixture
def search_doc():
    return document
