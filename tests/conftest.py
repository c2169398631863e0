import os
from pathlib import Path

import numpy as np
import pytest

import shenjing


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same seeds and the default dtype."""
    shenjing.manual_seed(0)
    np.random.seed(0)
    shenjing.set_default_dtype(shenjing.float32)
    yield
    shenjing.set_default_dtype(shenjing.float32)


def mnist_dir() -> Path:
    """The real MNIST IDX files: $SHENJING_DATA (or its mnist/), else ../shared/datasets/mnist beside the checkout."""
    env = os.environ.get("SHENJING_DATA")
    for folder in [Path(env), Path(env) / "mnist"] if env else []:
        if (folder / "train-images-idx3-ubyte.gz").exists():
            return folder
    return Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
