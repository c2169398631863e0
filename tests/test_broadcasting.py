"""Random broadcast shapes (hypothesis): every binary op's gradients against finite differences and torch."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import check_gradients, check_torch

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "where_max": lambda a, b: (a * b).maximum(a - b + 0.123),
}


@st.composite
def broadcast_pair(draw) -> tuple:
    """Two shapes that broadcast: a random shape, and a copy with some axes set to 1 or dropped in front."""
    shape = draw(st.lists(st.integers(1, 4), min_size=0, max_size=4))
    other = [draw(st.sampled_from([s, 1])) for s in shape]
    drop = draw(st.integers(0, len(other)))
    other = other[drop:]
    if draw(st.booleans()):
        shape, other = other, shape
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(other), draw(st.sampled_from(sorted(BINARY)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broadcast_pair())
def test_broadcast_gradients(case) -> None:
    a, b, name = case
    fn = BINARY[name]
    check_gradients(fn, [a, b])
    check_torch(fn, fn, [a, b], dtypes=("float64",))
