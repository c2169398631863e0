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
