"""Hostile and broken model files: refused before allocating, with one clear error class, never reaching a device.

Every bad file must end in a ModelFileError (a ValueError) naming the file and what is wrong, quickly and with
bounded memory; never a KeyError, IndexError, TypeError, OverflowError, MemoryError, RecursionError or a NumPy
error. Files written by shenjing carry checksums: a flipped bit anywhere is an error, not a different model.
"""

from __future__ import annotations

import json
import os
import random
import re
import struct
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shenjing
from shenjing import _format, io, nn, optim
from shenjing.io import ModelFileError


# ---- helpers -----------------------------------------------------------------------------------------------------
def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Dropout(0.25), nn.Linear(2, 2))


def raw_file(path, header, body: bytes = b"") -> None:
    """A safetensors-shaped file with exactly this header (a dict, or raw bytes) and body: no checksum."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)


def model_file(path, structure, arrays: dict, **metadata) -> None:
    """A model file with this structure and these arrays, as a hostile writer could make (checksums valid)."""
    io.save_model_state(path, structure, arrays, metadata)


def document_file(path, document: dict, arrays: dict | None = None) -> None:
    """A file whose shenjing document is exactly ``document`` (no checksum: an older or a foreign writer)."""
    arrays = arrays or {}
    header: dict = {"__metadata__": {"shenjing": json.dumps(document)}}
    body = b""
    for key, array in arrays.items():
        data = np.ascontiguousarray(array).tobytes()
        name = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64"}[array.dtype]
        header[key] = {"dtype": name, "shape": list(array.shape), "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    raw_file(path, header, body)


def linear_spec(in_features, out_features, **extra) -> dict:
    return {"type": "Linear", "config": {"in_features": in_features, "out_features": out_features, **extra}}


def small_arrays() -> dict:
    return {"weight": np.zeros((2, 2), np.float32), "bias": np.zeros(2, np.float32)}


def refused(call, match: str, max_bytes: int = 8 << 20) -> ModelFileError:
    """``call()`` raises a ModelFileError matching ``match`` within 2 s at best of 3 tries (a bound for a loaded
    2-core CI machine: the refusals take milliseconds, what is refused would take minutes or gigabytes), tracing at
    most ``max_bytes`` bytes (measured in a further, traced call)."""
    elapsed = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        with pytest.raises(ModelFileError, match=match) as caught:
            call()
        elapsed = min(elapsed, time.perf_counter() - started)
        if elapsed < 0.2:
            break
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=match):
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0, f"took {elapsed:.2f} s to refuse"
    assert peak < max_bytes, f"allocated {peak} bytes to refuse"
    return caught.value


LOADERS = {
    "shenjing.load": lambda p: shenjing.load(p),
    "io.load": lambda p: io.load(p),
    "load_checkpoint": lambda p: io.load_checkpoint(p),
    "info": lambda p: io.info(p),
}


def only_clear_errors(path, loaders=LOADERS) -> None:
    """Every loader either succeeds or raises a ModelFileError naming the file."""
    for name, loader in loaders.items():
        try:
            loader(path)
        except ModelFileError as error:
            assert str(path) in str(error), (name, str(error))


# ---- 1. validate before allocating -------------------------------------------------------------------------------
HUGE_STRUCTURES = {
    "Linear(12000, 12000) with 2x2 weights": linear_spec(12000, 12000),
    "a 10^7 x 10^7 Linear": linear_spec(10**7, 10**7),
    "a 10^12 x 10^12 Linear": linear_spec(10**12, 10**12),
    "a Linear with 2^62 features": linear_spec(2**62, 2),
    "a huge Conv2d": {"type": "Conv2d", "config": {"in_channels": 10**5, "out_channels": 10**5, "kernel_size": 999}},
    "a huge BatchNorm1d": {"type": "BatchNorm1d", "config": {"num_features": 10**11}},
    "a huge LayerNorm": {"type": "LayerNorm", "config": {"normalized_shape": [10**6, 10**6]}},
    "a Sequential of huge layers": {
        "type": "Sequential",
        "children": [["0", linear_spec(10**6, 10**6)], ["1", linear_spec(10**6, 10**6)]],
    },
}


@pytest.mark.parametrize("name", list(HUGE_STRUCTURES))
def test_a_structure_asking_for_more_than_the_file_holds_is_refused_before_allocating(tmp_path, name) -> None:
    path = tmp_path / "m.safetensors"
    model_file(path, HUGE_STRUCTURES[name], small_arrays())
    state = shenjing.get_rng_state()
    refused(lambda: shenjing.load(path), "do not fit the structure|could not build")
    # random initialisation never ran: the global RNG did not move
    assert json.dumps(shenjing.get_rng_state(), default=str) == json.dumps(state, default=str)


@pytest.mark.parametrize(
    ("dtype", "match"),
    [
        ("V1000000000", "unknown dtype"),
        ("float32", "unknown dtype"),
        ("", "unknown dtype"),
        (None, "unknown dtype"),
        (7, "unknown dtype"),
        (["F32"], "unknown dtype"),
        ("F8_E4M3", "cannot hold"),
        ("F8_E5M2", "cannot hold"),
    ],
)
def test_unknown_and_unsupported_dtypes_are_named(tmp_path, dtype, match) -> None:
    path = tmp_path / "m.safetensors"
    raw_file(path, {"w": {"dtype": dtype, "shape": [2], "data_offsets": [0, 2]}}, b"\0\0")
    error = refused(lambda: shenjing.load(path), match)
    assert "'w'" in str(error) and "corrupted" not in str(error)


@pytest.mark.parametrize(
    "shape",
    [[10**7, 10**7], [100000, 100000], [2**40, 2**40], [2**63], [2**64 + 1], [1] * 65, [3, 3]],
)
def test_shapes_larger_than_their_bytes_are_refused(tmp_path, shape) -> None:
    path = tmp_path / "m.safetensors"
    raw_file(path, {"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, 4]}}, b"\0" * 4)
    refused(lambda: shenjing.load(path), "needs .* bytes|shape as a list")


@pytest.mark.parametrize("count", [10**6, 200_000])
def test_a_million_tiny_tensors_are_refused_before_the_header_is_parsed(tmp_path, count) -> None:
    path = tmp_path / "m.safetensors"
    entries = ",".join(f'"{i}":{{"dtype":"U8","shape":[],"data_offsets":[{i},{i + 1}]}}' for i in range(count))
    raw_file(path, ("{" + entries + "}").encode(), b"\1" * count)
    size = path.stat().st_size
    assert count > _format.MAX_TENSORS
    refused(lambda: shenjing.load(path), "tensors|implausible", max_bytes=int(2.2 * size) + (1 << 20))


@pytest.mark.parametrize("shape", [[100000, 100000], [10**9], [2**31, 2], [0], [-1], ["28"], [1.5], "784", [True]])
def test_absurd_input_shape_metadata_is_refused(tmp_path, shape) -> None:
    path = tmp_path / "m.safetensors"
    model = nn.Linear(3, 2)
    document = {"format": "shenjing.model", "format_version": 1, "structure": io.describe(model),
                "metadata": {"input_shape": shape}}
    document_file(path, document, {k: v.detach().numpy() for k, v in model.state_dict().items()})
    refused(lambda: shenjing.load(path), "input_shape")
    refused(lambda: io.info(path), "input_shape")


@pytest.mark.parametrize("depth", [65, 100, 160, 1000, 30_000])
def test_containers_nested_too_deeply_are_refused(tmp_path, depth) -> None:
    spec = '{"type":"Sequential","children":[["0",' * depth + '{"type":"ReLU"}' + "]]}" * depth
    document = '{"format":"shenjing.model","format_version":1,"structure":' + spec + "}"
    path = tmp_path / "m.safetensors"
    raw_file(path, json.dumps({"__metadata__": {"shenjing": document}}).encode())
    loaders = [shenjing.load, io.load] + ([io.info, io.load_checkpoint] if depth > 170 else [])  # too deep JSON
    for loader in loaders:  # memory: a few copies of the file's bytes, never more
        refused(lambda loader=loader: loader(path), "nested", max_bytes=12 * path.stat().st_size + (4 << 20))


def test_too_many_layers_are_refused(tmp_path) -> None:
    count = shenjing._building.MAX_LAYERS + 1
    spec = {"type": "Sequential", "children": [[str(i), {"type": "ReLU"}] for i in range(count)]}
    path = tmp_path / "m.safetensors"
    document_file(path, {"format": "shenjing.model", "format_version": 1, "structure": spec})
    size = path.stat().st_size
    # the structure is parsed (it is valid JSON) but no layer is built
    refused(lambda: shenjing.load(path), f"more than {count - 1} layers", max_bytes=40 * size)


@pytest.mark.parametrize("depth", [1000, 10_000, 100_000])
@pytest.mark.parametrize("where", ["document", "header", "metadata value"])
def test_json_nested_thousands_deep_is_a_clear_error_not_a_recursion_error(tmp_path, depth, where) -> None:
    deep = "[" * depth + "]" * depth
    path = tmp_path / "m.safetensors"
    if where == "header":
        raw_file(path, ('{"a":' + deep + "}").encode())
    elif where == "metadata value":
        raw_file(path, ('{"__metadata__":' + deep + "}").encode())
    else:
        header = '{"__metadata__":{"shenjing":' + json.dumps('{"format_version":1,"x":' + deep + "}") + "}}"
        raw_file(path, header.encode())
    for loader in LOADERS.values():
        refused(lambda loader=loader: loader(path), "nested|__metadata__|expected")


def test_building_from_a_file_does_not_run_random_initialisation(tmp_path) -> None:
    model = nn.Sequential(nn.Linear(50, 40), nn.Conv2d(3, 4, 3), nn.BatchNorm1d(5), nn.LayerNorm(4))
    shenjing.save(model, tmp_path / "m.safetensors")
    shenjing.manual_seed(7)
    expected = shenjing.rand(4).numpy()
    shenjing.manual_seed(7)
    loaded = shenjing.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(shenjing.rand(4).numpy(), expected)  # the RNG was not advanced
    for (key, p), q in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=key)
        assert q.array.flags.writeable
    # the loaded model trains (its arrays are real and writable)
    optimizer = optim.SGD(loaded.parameters(), lr=0.1)
    loaded[0](shenjing.ones(2, 50)).sum().backward()
    optimizer.step()
    assert not np.array_equal(loaded[0].weight.detach().numpy(), model[0].weight.detach().numpy())
    # and nothing leaked: layers built after loading are initialised and allocated as usual
    layer = nn.Linear(3, 4)
    assert layer.weight.array.flags.writeable and layer.weight.array.strides != (0, 0)
    assert np.abs(layer.weight.detach().numpy()).sum() > 0


# ---- 2. a file imports nothing and touches no device -------------------------------------------------------------
def test_a_cuda_device_in_a_file_never_imports_the_gpu_backend(tmp_path) -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    structure = io.describe(model)
    structure["children"][0][1]["config"]["device"] = "cuda"
    structure["children"][1][1]["config"]["device"] = "cuda:1"
    arrays = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    io.save_model_state(tmp_path / "m.safetensors", structure, arrays, {"device": "cuda"})
    rng = dict(shenjing.get_rng_state())
    rng["cuda"] = {"bit_generator": "XORWOW", "state": {"state": 1, "inc": 2}}
    io.save_checkpoint(tmp_path / "c.safetensors", model, epoch=1, rng_state=rng)
    code = f"""
import sys, shenjing
from shenjing import io
m = shenjing.load({str(tmp_path / "m.safetensors")!r}, map_location="cpu")
c = io.load_checkpoint({str(tmp_path / "c.safetensors")!r})
c2 = io.load_checkpoint({str(tmp_path / "c.safetensors")!r}, shenjing.load({str(tmp_path / "m.safetensors")!r}))
io.info({str(tmp_path / "c.safetensors")!r})
shenjing.load({str(tmp_path / "c.safetensors")!r})
bad = [name for name in sys.modules if name.startswith(("cupy", "shenjing._cuda"))]
print(str(m[0].weight.device), str(c["model"][0].weight.device), bad)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["cpu", "cpu", "[]"]


# ---- 3. one clear error class ------------------------------------------------------------------------------------
BAD_ENTRIES = {
    "offsets as strings": {"dtype": "F32", "shape": [1], "data_offsets": ["0", "4"]},
    "offsets as floats": {"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4.0]},
    "offsets as bools": {"dtype": "U8", "shape": [1], "data_offsets": [False, True]},
    "offsets null": {"dtype": "F32", "shape": [1], "data_offsets": None},
    "one offset": {"dtype": "F32", "shape": [1], "data_offsets": [0]},
    "three offsets": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]},
    "negative offsets": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]},
    "reversed offsets": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]},
    "offsets past the end": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]},
    "offsets at 2^64": {"dtype": "F32", "shape": [1], "data_offsets": [2**64, 2**64 + 4]},
    "offsets a dict": {"dtype": "F32", "shape": [1], "data_offsets": {"0": 4}},
    "shape a string": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]},
    "shape negative": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]},
    "shape of floats": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]},
    "shape of bools": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]},
    "shape null": {"dtype": "F32", "shape": None, "data_offsets": [0, 4]},
    "no shape": {"dtype": "F32", "data_offsets": [0, 4]},
    "no dtype": {"shape": [1], "data_offsets": [0, 4]},
    "entry a list": ["F32", [1], [0, 4]],
    "entry a number": 5,
    "entry null": None,
}


@pytest.mark.parametrize("name", list(BAD_ENTRIES))
def test_malformed_tensor_entries_are_clear_errors(tmp_path, name) -> None:
    path = tmp_path / "m.safetensors"
    raw_file(path, {"w": BAD_ENTRIES[name]}, b"\0" * 8)
    for loader in LOADERS.values():
        error = refused(lambda loader=loader: loader(path), "tensor 'w'")
        assert str(path) in str(error)


BAD_HEADERS = {
    "a list": b"[1, 2, 3]",
    "a string": b'"abc"',
    "invalid UTF-8": b'{"\xff\xfe": 1}',
    "not JSON": b"{nope}",
    "metadata a list": b'{"__metadata__": [1]}',
    "metadata with numbers": b'{"__metadata__": {"shenjing": 5}}',
    "document not JSON": b'{"__metadata__": {"shenjing": "{nope"}}',
    "document a list": b'{"__metadata__": {"shenjing": "[1]"}}',
    "document without version": b'{"__metadata__": {"shenjing": "{}"}}',
    "version a string": b'{"__metadata__": {"shenjing": "{\\"format_version\\": \\"1\\"}"}}',
    "version a bool": b'{"__metadata__": {"shenjing": "{\\"format_version\\": true}"}}',
    "checksum not JSON": b'{"__metadata__": {"shenjing_sha256": "{"}}',
    "checksum a list": b'{"__metadata__": {"shenjing_sha256": "[]"}}',
    "checksum wrong": b'{"__metadata__": {"shenjing_sha256": "{\\"data\\": \\"0\\", \\"header\\": \\"0\\"}"}}',
}


@pytest.mark.parametrize("name", list(BAD_HEADERS))
def test_malformed_headers_are_clear_errors(tmp_path, name) -> None:
    path = tmp_path / "m.safetensors"
    raw_file(path, BAD_HEADERS[name])
    for loader in LOADERS.values():
        error = refused(lambda loader=loader: loader(path), ".")
        assert str(path) in str(error)


def test_overlapping_tensors_are_refused(tmp_path) -> None:
    path = tmp_path / "m.safetensors"
    entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    raw_file(path, {"a": entry, "b": {**entry, "data_offsets": [4, 12]}}, b"\0" * 12)
    refused(lambda: shenjing.load(path), "overlap")


def test_bfloat16_tensors_load_as_float32_exactly(tmp_path) -> None:
    from safetensors.torch import save_file

    values = torch.tensor([[1.5, -2.25, 3.0e38], [1e-38, 0.0, -0.0]]).to(torch.bfloat16)
    save_file({"w": values, "b": torch.arange(3, dtype=torch.bfloat16)}, str(tmp_path / "bf16.safetensors"))
    state = shenjing.load(tmp_path / "bf16.safetensors")
    assert state["w"].dtype == shenjing.float32
    np.testing.assert_array_equal(state["w"].numpy(), values.float().numpy())
    np.testing.assert_array_equal(state["b"].numpy(), [0.0, 1.0, 2.0])
    assert any("bfloat16" in note for note in io.info(tmp_path / "bf16.safetensors")["notes"])


def _build_error(tmp_path, spec, arrays=None) -> ModelFileError:
    path = tmp_path / "m.safetensors"
    document_file(path, {"format": "shenjing.model", "format_version": 1, "structure": spec}, arrays)
    return refused(lambda: shenjing.load(path), ".")


BAD_ARGUMENTS = {
    "in_features a string": (linear_spec("6", 2), "in_features.*must be int"),
    "in_features a float": (linear_spec(6.5, 2), "in_features.*must be int"),
    "in_features a bool": (linear_spec(True, 2), "in_features.*must be int"),
    "in_features null": (linear_spec(None, 2), "in_features.*must be int"),
    "in_features a list": (linear_spec([6], 2), "in_features.*must be int"),
    "negative out_features": (linear_spec(3, -2), "out_features"),
    "bias a string": (linear_spec(3, 2, bias="yes"), "bias.*must be bool"),
    "dtype a void": (linear_spec(3, 2, dtype="V1000000000"), "dtype"),
    "dtype an object": (linear_spec(3, 2, dtype="object"), "dtype"),
    "unknown argument": (linear_spec(3, 2, activation="relu"), "unknown argument 'activation'"),
    "missing argument": ({"type": "Linear", "config": {"in_features": 3}}, "could not build Linear"),
    "dropout p = 5": ({"type": "Dropout", "config": {"p": 5}}, "dropout probability"),
    "dropout p = -0.1": ({"type": "Dropout", "config": {"p": -0.1}}, "dropout probability"),
    "dropout p a string": ({"type": "Dropout", "config": {"p": "0.5"}}, "must be float"),
    "conv kernel a string": ({"type": "Conv2d", "config": {"in_channels": 1, "out_channels": 1,
                                                           "kernel_size": "3"}}, "kernel_size"),
    "conv negative channels": ({"type": "Conv2d", "config": {"in_channels": -1, "out_channels": 1,
                                                             "kernel_size": 3}}, "in_channels"),
    "conv zero groups": ({"type": "Conv2d", "config": {"in_channels": 1, "out_channels": 1, "kernel_size": 3,
                                                       "groups": 0}}, "groups"),
    "batchnorm eps a string": ({"type": "BatchNorm1d", "config": {"num_features": 2, "eps": "x"}}, "eps"),
    "batchnorm negative features": ({"type": "BatchNorm1d", "config": {"num_features": -2}}, "num_features"),
    "maxpool kernel null": ({"type": "MaxPool2d", "config": {"kernel_size": None}}, "kernel_size|could not build"),
    "leaky slope a string": ({"type": "LeakyReLU", "config": {"negative_slope": "0.1"}}, "negative_slope"),
    "config a list": ({"type": "ReLU", "config": [1]}, "config"),
    "type a number": ({"type": 5}, "layer description"),
    "no type": ({"config": {}}, "layer description"),
    "a structure that is a string": ("Linear", "structure"),
    "unknown layer": ({"type": "Swish"}, "unknown layer type 'Swish'"),
    "module path": ({"type": "os.system"}, "unknown layer type"),
    "duplicate child names": ({"type": "Sequential", "children": [["0", {"type": "ReLU"}], ["0", {"type": "Tanh"}]]},
                              "'0' appears twice"),
    "dotted child name": ({"type": "Sequential", "children": [["a.b", {"type": "ReLU"}]]}, "without '.'"),
    "empty child name": ({"type": "Sequential", "children": [["", {"type": "ReLU"}]]}, "non-empty"),
    "children a dict": ({"type": "Sequential", "children": {"0": {"type": "ReLU"}}}, "children"),
    "child a triple": ({"type": "Sequential", "children": [["0", {"type": "ReLU"}, 1]]}, "children"),
    "child name a number": ({"type": "Sequential", "children": [[0, {"type": "ReLU"}]]}, "children"),
}


@pytest.mark.parametrize("name", list(BAD_ARGUMENTS))
def test_bad_layer_arguments_and_structures_are_clear_errors(tmp_path, name) -> None:
    spec, match = BAD_ARGUMENTS[name]
    error = _build_error(tmp_path, spec)
    assert str(tmp_path) in str(error)
    assert re.search(match, str(error)), str(error)


BAD_DOCUMENTS = {
    "structure a list": {"structure": [1]},
    "metadata a list": {"metadata": [1]},
    "epoch negative": {"epoch": -1},
    "epoch a string": {"epoch": "3"},
    "state a list": {"state": [1]},
    "format a number": {"format": 5},
    "format unknown": {"format": "shenjing.mystery"},
    "keys not strings": {"format": "shenjing.state_dict", "keys": [1, 2]},
}


@pytest.mark.parametrize("name", list(BAD_DOCUMENTS))
def test_malformed_documents_are_clear_errors(tmp_path, name) -> None:
    path = tmp_path / "m.safetensors"
    document = {"format": "shenjing.checkpoint", "format_version": 1, "structure": None, "state": {}}
    document.update(BAD_DOCUMENTS[name])
    document_file(path, document, {"x": np.zeros(2, np.float32)})
    only_clear_errors(path)


BAD_STATES = {
    "tensor key a number": {"optimizer": {"__tensor__": 5}},
    "tensor missing": {"optimizer": {"__ndarray__": "nope"}},
    "scalar of a void dtype": {"optimizer": {"__scalar__": 1, "dtype": "V1000000000"}},
    "scalar of an object dtype": {"optimizer": {"__scalar__": 1, "dtype": "O"}},
    "scalar a string": {"optimizer": {"__scalar__": "x", "dtype": "<f4"}},
    "scalar overflowing": {"optimizer": {"__scalar__": 10**40, "dtype": "<i8"}},
    "dtype a number": {"optimizer": {"__dtype__": 4}},
    "tuple a number": {"optimizer": {"__tuple__": 4}},
    "dict of non-pairs": {"optimizer": {"__dict__": [[1, 2, 3]]}},
    "dict with an unhashable key": {"optimizer": {"__dict__": [[[1], 2]]}},
    "rng a list": {"rng": [1, 2]},
    "rng malformed": {"rng": {"cpu": {"bit_generator": "PCG64", "state": "x"}}},
    "rng unknown generator": {"rng": {"cpu": {"bit_generator": "Nope"}}},
}


@pytest.mark.parametrize("name", list(BAD_STATES))
def test_malformed_checkpoint_state_is_a_clear_error(tmp_path, name) -> None:
    model = nn.Linear(3, 2)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    path = tmp_path / "c.safetensors"
    document = {"format": "shenjing.checkpoint", "format_version": 1, "structure": io.describe(model), "epoch": 1,
                "state": BAD_STATES[name]}
    document_file(path, document, {"model/" + k: v.detach().numpy() for k, v in model.state_dict().items()})
    with pytest.raises(ModelFileError, match=str(path)):
        io.load_checkpoint(path, model, optimizer)


ARCHITECTURES = {
    "wider": lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.25), nn.Linear(4, 2)),
    "deeper": lambda: nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Dropout(0.25), nn.Linear(2, 2), nn.Linear(2, 2)),
    "shallower": lambda: nn.Sequential(nn.Linear(3, 2)),
    "another layer": lambda: nn.Sequential(nn.Conv1d(3, 2, 1), nn.ReLU(), nn.Dropout(0.25), nn.Linear(2, 2)),
    "renamed": lambda: nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Dropout(0.25), nn.Sequential(nn.Linear(2, 2))),
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_a_checkpoint_of_another_architecture_is_a_clear_error(tmp_path, name) -> None:
    model = mlp()
    io.save_checkpoint(tmp_path / "c.safetensors", model, optim.Adam(model.parameters()), epoch=2)
    other = ARCHITECTURES[name]()
    with pytest.raises(ModelFileError, match="c.safetensors.*does not fit the model"):
        io.load_checkpoint(tmp_path / "c.safetensors", other)


@pytest.mark.parametrize("other", ["more groups", "fewer parameters"])
def test_a_checkpoint_of_another_optimizer_is_a_clear_error(tmp_path, other) -> None:
    model = mlp()
    io.save_checkpoint(tmp_path / "c.safetensors", model, optim.Adam(model.parameters()), epoch=2)
    params = list(model.parameters())
    if other == "more groups":
        optimizer = optim.Adam([{"params": params[:2]}, {"params": params[2:]}])
    else:
        optimizer = optim.Adam(params[:2])
    with pytest.raises(ModelFileError, match="does not fit the optimizer"):
        io.load_checkpoint(tmp_path / "c.safetensors", model, optimizer)


def test_a_model_file_given_to_load_checkpoint_is_a_clear_error(tmp_path) -> None:
    shenjing.save(mlp(), tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match="expected a shenjing checkpoint"):
        io.load_checkpoint(tmp_path / "m.safetensors")


# ---- 3b. fuzz: truncation, flipped bytes, random headers --------------------------------------------------------
def _sample_files(tmp_path) -> dict:
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Linear(2, 2))
    optimizer = optim.Adam(model.parameters())
    model(shenjing.ones(4, 3)).sum().backward()
    optimizer.step()
    shenjing.save(model, tmp_path / "model.safetensors", input_shape=[3], class_names=["a", "b"])
    io.save_checkpoint(tmp_path / "ckpt.safetensors", model, optimizer, epoch=1, history=[{"loss": 0.5}])
    shenjing.save({"epoch": 3, "w": shenjing.ones(2), "t": (1, 2.5, None)}, tmp_path / "obj.safetensors")
    shenjing.save(model.state_dict(), tmp_path / "sd.safetensors")
    return {name: (tmp_path / f"{name}.safetensors").read_bytes() for name in ("model", "ckpt", "obj", "sd")}


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory) -> dict:
    return _sample_files(tmp_path_factory.mktemp("samples"))


@pytest.mark.parametrize("kind", ["model", "ckpt", "obj", "sd"])
def test_every_truncation_is_a_clear_error(tmp_path, sample_files, kind) -> None:
    data = sample_files[kind]
    path = tmp_path / "cut.safetensors"
    for cut in sorted({0, 1, 7, 8, 9, 15, 16, *range(17, len(data), max(1, len(data) // 150)), len(data) - 1}):
        path.write_bytes(data[:cut])
        for loader in LOADERS.values():
            with pytest.raises(ModelFileError, match=str(path)):
                loader(path)


@pytest.mark.parametrize("kind", ["model", "ckpt", "obj", "sd"])
def test_a_flipped_bit_anywhere_in_a_shenjing_file_is_an_error(tmp_path, sample_files, kind) -> None:
    data = sample_files[kind]
    path = tmp_path / "flipped.safetensors"
    rng = random.Random(kind)
    positions = sorted({*range(0, 16), *rng.sample(range(len(data)), min(len(data), 250)), len(data) - 1})
    for position in positions:
        flipped = bytearray(data)
        flipped[position] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(flipped))
        with pytest.raises(ModelFileError, match=str(path)):
            shenjing.load(path)


@pytest.mark.parametrize("region", ["weights", "document", "tensor table"])
def test_checksum_mismatch_names_what_changed(tmp_path, sample_files, region) -> None:
    data = bytearray(sample_files["model"])
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    if region == "weights":
        data[-3] ^= 0x10
        match = "weights checksum mismatch"
    else:
        if region == "document":
            document = json.loads(header["__metadata__"]["shenjing"])
            document["metadata"]["class_names"] = ["b", "a"]  # valid, but not what was written
            header["__metadata__"]["shenjing"] = json.dumps(document)
        else:
            key = next(k for k in header if k != "__metadata__" and len(set(header[k]["shape"])) > 1)
            header[key]["shape"] = header[key]["shape"][::-1]  # the same bytes read as another shape
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        data = bytearray(struct.pack("<Q", len(text)) + text + bytes(data[8 + n :]))
        match = "header checksum mismatch"
    (tmp_path / "m.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=match):
        shenjing.load(tmp_path / "m.safetensors")


@pytest.mark.parametrize("kind", ["model", "ckpt", "obj", "sd"])
def test_random_byte_damage_without_checksums_is_a_clear_error_or_a_load(tmp_path, sample_files, kind) -> None:
    data = bytearray(sample_files[kind])
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header["__metadata__"].pop("shenjing_sha256")
    document = json.loads(header["__metadata__"]["shenjing"])
    header["__metadata__"]["shenjing"] = json.dumps({**document, "format_version": 1})  # as an older shenjing wrote
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    data = struct.pack("<Q", len(text)) + text + bytes(data[8 + n :])
    path = tmp_path / "old.safetensors"
    path.write_bytes(data)
    shenjing.load(path)  # an older file without checksums still loads
    rng = random.Random(kind)
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        path.write_bytes(bytes(damaged))
        only_clear_errors(path)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
_entry = st.fixed_dictionaries(
    {},
    optional={
        "dtype": st.sampled_from(["F32", "F64", "BF16", "U8", "I64", "BOOL", "F8_E4M3", "V9", ""]) | _json,
        "shape": st.lists(st.integers(-3, 2**40), max_size=4) | _json,
        "data_offsets": st.lists(st.integers(-8, 80), min_size=0, max_size=3) | _json,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.dictionaries(st.text(max_size=5), _entry | _json, max_size=4),
    metadata=st.none() | st.dictionaries(st.sampled_from(["shenjing", "shenjing_sha256", "x"]), _json | st.text()),
    body=st.binary(max_size=64),
)
def test_random_headers_give_only_clear_errors(tmp_path, entries, metadata, body) -> None:
    header = dict(entries)
    if metadata is not None:
        header["__metadata__"] = metadata
    path = tmp_path / "random.safetensors"
    raw_file(path, header, body)
    only_clear_errors(path)


_documents = st.fixed_dictionaries(
    {"format_version": st.sampled_from([1, 0, -1]) | _json},
    optional={
        "format": st.sampled_from(["shenjing.model", "shenjing.checkpoint", "shenjing.object", "shenjing.state_dict"])
        | _json,
        "structure": _json
        | st.fixed_dictionaries({"type": st.sampled_from(["Linear", "Sequential", "Dropout", "Conv2d"]) | _json},
                                optional={"config": _json, "children": _json}),
        "state": _json,
        "object": _json,
        "keys": _json,
        "metadata": _json,
        "epoch": _json,
        "dtype": _json,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=_documents)
def test_random_documents_give_only_clear_errors(tmp_path, document) -> None:
    path = tmp_path / "random.safetensors"
    document_file(path, document, {"weight": np.zeros((2, 3), np.float32), "model/bias": np.zeros(2, np.float32)})
    only_clear_errors(path)


# ---- 4. files written: readable by safetensors, checksummed, permissions, no litter --------------------------------
def test_files_are_standard_safetensors_with_checksums(tmp_path) -> None:
    from safetensors.numpy import load_file

    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).double()
    shenjing.save(model, tmp_path / "m.safetensors")
    arrays = load_file(str(tmp_path / "m.safetensors"))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(arrays[key], value.detach().numpy())
        assert arrays[key].dtype == value.detach().numpy().dtype
    data = (tmp_path / "m.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    sums = json.loads(json.loads(data[8 : 8 + n])["__metadata__"]["shenjing_sha256"])
    import hashlib

    assert sums["data"] == hashlib.sha256(data[8 + n :]).hexdigest()


def test_older_files_without_checksums_still_load(tmp_path) -> None:
    from safetensors.numpy import save_file

    model = mlp()
    document = {"format": "shenjing.model", "format_version": 1, "shenjing_version": "0.0.1",
                "structure": io.describe(model), "dtype": "float32", "metadata": {}}
    save_file({k: v.detach().numpy() for k, v in model.state_dict().items()}, str(tmp_path / "old.safetensors"),
              metadata={"shenjing": json.dumps(document)})
    loaded = shenjing.load(tmp_path / "old.safetensors")
    for p, q in zip(model.parameters(), loaded.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
@pytest.mark.parametrize("what", ["model", "checkpoint", "object"])
def test_files_get_the_usual_permissions(tmp_path, umask, what) -> None:
    previous = os.umask(umask)
    try:
        path = tmp_path / "f.safetensors"
        if what == "model":
            shenjing.save(mlp(), path)
        elif what == "checkpoint":
            io.save_checkpoint(path, mlp(), epoch=1)
        else:
            shenjing.save({"a": 1}, path)
    finally:
        os.umask(previous)
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~umask)


def test_a_crash_mid_write_leaves_no_temp_files_after_the_next_write(tmp_path, monkeypatch) -> None:
    path = tmp_path / "model.safetensors"
    shenjing.save(mlp(), path)
    # a writer killed mid-write (SIGKILL: no cleanup) leaves its temp file; simulate two of them
    for suffix in ("abcd1234", "zz_9-xy0"):
        (tmp_path / f".model.safetensors.{suffix}.tmp").write_bytes(b"partial")
    (tmp_path / ".other.safetensors.abcd1234.tmp").write_bytes(b"not ours")  # another target's: kept

    def crash(f, data):
        f.write(data[:10])
        raise OSError("disk full")

    monkeypatch.setattr(io, "_write_all", crash)
    with pytest.raises(OSError, match="disk full"):
        shenjing.save(mlp(), path)
    monkeypatch.undo()
    shenjing.save(mlp(), path)
    assert sorted(os.listdir(tmp_path)) == [".other.safetensors.abcd1234.tmp", "model.safetensors"]
    shenjing.load(path)


def test_a_user_layer_that_writes_into_its_weights_still_rebuilds(tmp_path) -> None:
    @shenjing.nn.register_module("ScaledIdentity")
    class ScaledIdentity(nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.width = width
            self.scale = nn.Parameter(shenjing.ones(width))
            self.scale.array[...] = 2.0  # in-place: impossible on a placeholder
            self.register_buffer("mask", shenjing.ones(width), persistent=False)

        def forward(self, x):
            return x * self.scale

        def get_config(self):
            return {"width": self.width}

    try:
        model = nn.Sequential(ScaledIdentity(3), nn.Linear(3, 2))
        model[0].scale.array[...] = 5.0
        shenjing.save(model, tmp_path / "m.safetensors")
        loaded = shenjing.load(tmp_path / "m.safetensors")
        np.testing.assert_array_equal(loaded[0].scale.detach().numpy(), [5.0, 5.0, 5.0])
        np.testing.assert_array_equal(loaded[0].mask.numpy(), [1.0, 1.0, 1.0])
        assert loaded[0].mask.array.flags.writeable
        with pytest.raises(ModelFileError, match="width.*must be int"):
            structure = io.describe(model)
            structure["children"][0][1]["config"]["width"] = "3"
            io.save_model_state(tmp_path / "bad.safetensors", structure, {}, {})
            shenjing.load(tmp_path / "bad.safetensors")
    finally:
        shenjing.registry.unregister("ScaledIdentity")


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_paths_that_are_not_files_keep_their_os_errors(tmp_path, what) -> None:
    path = tmp_path / "nope.safetensors" if what == "missing" else tmp_path
    error = FileNotFoundError if what == "missing" else IsADirectoryError
    for loader in LOADERS.values():
        with pytest.raises(error):
            loader(path)


_values = st.none() | st.booleans() | st.integers(-(2**65), 2**65) | st.floats() | st.text(max_size=6) | st.lists(
    st.integers(-3, 10**9) | st.text(max_size=2), max_size=4
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(shenjing.registry.registered_names()),
    config=st.dictionaries(
        st.sampled_from(["in_features", "out_features", "bias", "p", "kernel_size", "stride", "padding", "dilation",
                         "groups", "num_features", "eps", "momentum", "normalized_shape", "dim", "start_dim",
                         "end_dim", "negative_slope", "in_channels", "out_channels", "output_size", "inplace",
                         "unflattened_size", "padding_mode", "affine", "device", "dtype", "ceil_mode", "alpha"]),
        _values,
        max_size=6,
    ),
)
def test_random_layer_arguments_give_only_clear_errors(tmp_path, name, config) -> None:
    path = tmp_path / "m.safetensors"
    spec = {"type": name, "config": config}
    if name in ("Sequential", "ModuleList", "ModuleDict"):
        spec = {"type": name, "children": [["0", {"type": "ReLU", "config": config}]]}
    model_file(path, spec, {"weight": np.zeros((2, 3), np.float32)})
    started = time.perf_counter()
    only_clear_errors(path, {"shenjing.load": LOADERS["shenjing.load"]})
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("shape", [[100000, 100000], [0], ["28"]])
def test_saving_refuses_what_loading_would_refuse(tmp_path, shape) -> None:
    with pytest.raises(ModelFileError, match="save .*m.safetensors.*input_shape"):
        shenjing.save(mlp(), tmp_path / "m.safetensors", input_shape=shape)
    deep: list = []
    for _ in range(600):
        deep = [deep]
    with pytest.raises(ValueError, match="nested"):
        io.save_checkpoint(tmp_path / "c.safetensors", mlp(), epoch=1, history=deep)
    assert not os.listdir(tmp_path)


def test_placeholders_are_only_made_for_the_thread_that_loads() -> None:
    import threading

    from shenjing import _building

    made = {}
    with _building.structure_only():
        inside = nn.Linear(4, 3)
        worker = threading.Thread(target=lambda: made.setdefault("layer", nn.Linear(4, 3)))
        worker.start()
        worker.join()
    assert not inside.weight.array.flags.writeable and inside.weight.array.strides == (0, 0)
    other = made["layer"]  # built meanwhile in another thread: real, initialised weights
    assert other.weight.array.flags.writeable and np.abs(other.weight.detach().numpy()).sum() > 0
    after = nn.Linear(4, 3)
    assert after.weight.array.flags.writeable and np.abs(after.weight.detach().numpy()).sum() > 0
    assert shenjing.backend.NUMPY.xp is np
