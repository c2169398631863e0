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


MNIST_HINT = "point SHENJING_DATA=/path/to/folder at the folder holding the four MNIST IDX files (or its mnist/)"


def mnist_dir() -> Path:
    """The real MNIST IDX files: $SHENJING_DATA (or its mnist/), else shared/datasets/mnist in a folder above the
    checkout (../shared beside it, or further up for a git worktree)."""
    env = os.environ.get("SHENJING_DATA")
    for folder in [Path(env), Path(env) / "mnist"] if env else []:
        if (folder / "train-images-idx3-ubyte.gz").exists():
            return folder
    here = Path(__file__).resolve()
    for parent in here.parents[2:5]:
        folder = parent / "shared" / "datasets" / "mnist"
        if (folder / "train-images-idx3-ubyte.gz").exists():
            return folder
    return here.parents[2] / "shared" / "datasets" / "mnist"
