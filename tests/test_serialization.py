"""shenjing.save / shenjing.load: what PyTorch programs torch.save, round-tripped without pickle."""

from __future__ import annotations

import io
import math
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shenjing
from shenjing import nn, optim
from shenjing.io import ModelFileError


def _same(a, b) -> bool:
    if isinstance(a, shenjing.Tensor):
        return isinstance(b, shenjing.Tensor) and a.dtype == b.dtype and np.array_equal(a.array, b.array, equal_nan=True)
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, dict):
        return type(a) is type(b) and list(a) == list(b) and all(type(k) is type(j) for k, j in zip(a, b)) and all(
            _same(a[k], b[k]) for k in a
        )
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _round_trip(obj, **kwargs):
    buffer = io.BytesIO()
    shenjing.save(obj, buffer)
    buffer.seek(0)
    return shenjing.load(buffer, **kwargs)


_arrays = st.sampled_from(["float32", "float64", "float16", "int64", "int32", "uint8", "bool"]).flatmap(
    lambda dtype: st.lists(st.integers(-3, 3), min_size=0, max_size=6).map(lambda v: np.array(v).astype(dtype))
)
_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | _arrays
    | _arrays.map(shenjing.from_numpy)
)
_keys = st.text(max_size=5) | st.integers(-5, 5)
_values = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.lists(inner, max_size=4).map(tuple)
    | st.dictionaries(_keys, inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4).map(OrderedDict),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_values)
def test_nested_structures_round_trip_exactly(obj) -> None:
    assert _same(obj, _round_trip(obj))


def test_a_training_checkpoint_round_trips_and_training_continues_bit_for_bit(tmp_path) -> None:
    def make():
        shenjing.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        return model, optim.Adam(model.parameters(), lr=0.01)

    x, y = shenjing.randn(16, 4), shenjing.randn(16, 2)

    def step(model, opt):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()

    model, opt = make()
    for _ in range(3):
        step(model, opt)
    path = tmp_path / "ckpt.pt"
    shenjing.save({"epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(), "loss": 0.3}, path)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~_umask())
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    for _ in range(3):
        step(model, opt)

    state = shenjing.load(path, weights_only=True, map_location="cpu")
    assert state["epoch"] == 3 and state["loss"] == 0.3 and list(state["optimizer"]["state"]) == [0, 1, 2, 3]
    model2, opt2 = make()
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optimizer"])
    for _ in range(3):
        step(model2, opt2)
    for a, b in zip(model.parameters(), model2.parameters()):
        assert np.array_equal(a.array, b.array)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_state_dict_loads_into_the_model_and_is_a_plain_safetensors_file(tmp_path) -> None:
    from safetensors.numpy import load_file

    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    shenjing.save(model.state_dict(), tmp_path / "x.pt")
    loaded = shenjing.load(tmp_path / "x.pt")
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(model.state_dict())
    model.load_state_dict(loaded)
    assert set(load_file(tmp_path / "x.pt")) == set(model.state_dict())


def test_map_location_accepts_what_torch_load_accepts() -> None:
    obj = {"w": shenjing.ones(2)}
    for location in ("cpu", shenjing.device("cpu"), {"cuda:0": "cpu"}, {"cpu": "cpu"}, lambda s, loc: s, None):
        assert _same(_round_trip(obj, map_location=location), obj)
    with pytest.raises(TypeError, match="map_location"):
        _round_trip(obj, map_location=3)


def test_aliased_tensors_are_stored_once() -> None:
    t = shenjing.ones(1000)
    buffer = io.BytesIO()
    shenjing.save({"a": t, "b": t}, buffer)
    assert len(buffer.getvalue()) < 4000 * 1.5
    buffer.seek(0)
    loaded = shenjing.load(buffer)
    assert loaded["a"].array is loaded["b"].array


class Net(nn.Module):
    pass


@pytest.mark.parametrize(
    "obj, where, kind",
    [
        ({"model": Net()}, r"obj\['model'\]", "Net"),
        ({"f": lambda x: x}, r"obj\['f'\]", "function"),
        ([1, {"x": object()}], r"obj\[1\]\['x'\]", "object"),
        ({"s": {1, 2}}, r"obj\['s'\]", "set"),
        ({object(): 1}, "dict key", "object"),
    ],
)
def test_objects_that_need_pickle_are_refused_naming_where_they_sit(obj, where, kind) -> None:
    with pytest.raises(TypeError, match=where) as error:
        shenjing.save(obj, io.BytesIO())
    assert kind in str(error.value) and "pickle" in str(error.value)


def test_pytorch_pt_files_and_pickles_are_refused_without_unpickling(tmp_path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02cos\nsystem\n(S'echo pwned'\ntR.")
    with pytest.raises(ModelFileError, match="torch.load.*save_file"):
        shenjing.load(path)
    with pytest.raises(ModelFileError, match="never unpickles"):
        shenjing.load(io.BytesIO(b"\x80\x04\x95" + b"\x00" * 20))
