"""Model files and checkpoints: round trips, every kind of bad file, the no-pickle/no-import rule, atomic writes."""

from __future__ import annotations

import builtins
import json
import os
import pickle
import struct
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

import shenjing
from shenjing import io, nn, optim
from shenjing.io import ModelFileError


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 3), nn.LogSoftmax(dim=1))


def outputs(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    with shenjing.no_grad():
        return model(shenjing.tensor(x)).numpy()


X = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)


def test_save_load_rebuilds_the_model_without_the_script(tmp_path) -> None:
    model = mlp()
    path = tmp_path / "m.safetensors"
    shenjing.save(model, path, input_shape=[6], class_names=["a", "b", "c"])
    loaded, document = shenjing.load(path, with_metadata=True)
    assert repr(loaded) == repr(model) and not loaded.training
    np.testing.assert_array_equal(outputs(loaded, X), outputs(model, X))
    assert document["format"] == "shenjing.model" and document["format_version"] == io.FORMAT_VERSION
    assert document["shenjing_version"] == shenjing.__version__ and document["dtype"] == "float32"
    assert document["metadata"] == {"input_shape": [6], "class_names": ["a", "b", "c"]}
    assert document["structure"]["children"][2] == ["2", {"type": "Dropout", "config": {"p": 0.25}}]
    # a fresh interpreter that never saw this test file rebuilds and predicts the same
    code = (
        f"import shenjing, numpy as np; m = shenjing.load({str(path)!r}); "
        f"print(m(shenjing.tensor(np.load({str(tmp_path / 'x.npy')!r}))).detach().numpy().tolist())"
    )
    np.save(tmp_path / "x.npy", X)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    np.testing.assert_array_equal(np.array(json.loads(out.stdout), dtype=np.float32), outputs(model, X))


def test_float64_models_and_nested_containers_round_trip(tmp_path) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(6, 4), nn.Tanh()), nn.Linear(4, 2)).double()
    shenjing.save(model, tmp_path / "m.safetensors")
    loaded = shenjing.load(tmp_path / "m.safetensors")
    assert loaded[1][0].weight.dtype == shenjing.float64
    np.testing.assert_array_equal(outputs(loaded, X.astype(np.float64)), outputs(model, X.astype(np.float64)))


@pytest.mark.parametrize("name", shenjing.registry.registered_names())
def test_every_registered_builtin_layer_rebuilds_from_its_config(name: str) -> None:
    klass = shenjing.registry.get_module_class(name)
    examples = {
        "Linear": (3, 2),
        "Unflatten": (1, (2, 3)),
        "Conv1d": (2, 3, 3),
        "Conv2d": (2, 3, 3),
        "MaxPool1d": (2,),
        "MaxPool2d": (2,),
        "AvgPool1d": (2,),
        "AvgPool2d": (2,),
        "AdaptiveAvgPool2d": ((1, 1),),
        "AdaptiveAvgPool1d": (1,),
        "BatchNorm1d": (4,),
        "BatchNorm2d": (4,),
        "LayerNorm": (4,),
        "GroupNorm": (2, 4),
        "Embedding": (5, 3),
    }
    if name in ("ParameterList", "ParameterDict", "DataParallel"):  # weights-only: a clear error, not a file
        with pytest.raises(TypeError, match=f"cannot save model \\({name}\\): {name} is not saved as structure"):
            io.describe(klass() if name != "DataParallel" else klass(nn.Linear(2, 2)))
        return
    if name in ("Sequential", "ModuleList", "ModuleDict"):
        layer = klass()
    else:
        try:
            layer = klass(*examples.get(name, ()))
        except TypeError:
            pytest.skip(f"{name}: no example constructor arguments in this test")
    rebuilt = io.build(json.loads(json.dumps(io.describe(layer))))
    assert type(rebuilt) is klass and repr(rebuilt) == repr(layer)


def test_state_dicts_and_plain_safetensors_files_load_as_tensors(tmp_path) -> None:
    from safetensors.numpy import save_file

    model = mlp()
    shenjing.save(model.state_dict(), tmp_path / "w.safetensors")
    weights = shenjing.load(tmp_path / "w.safetensors")
    assert list(weights) == list(model.state_dict())
    save_file({"0.weight": np.ones((2, 2), np.float32)}, str(tmp_path / "plain.safetensors"))
    plain = shenjing.load(tmp_path / "plain.safetensors")
    assert isinstance(plain["0.weight"], shenjing.Tensor) and plain["0.weight"].data.sum() == 4
    assert io.info(tmp_path / "plain.safetensors") == {"format": "safetensors", "tensors": {"0.weight": [2, 2]}}


def test_custom_layers_rebuild_once_registered(tmp_path) -> None:
    @nn.register_module("ScaledBlock")
    class ScaledBlock(nn.Module):
        def __init__(self, width: int, scale: float = 2.0) -> None:
            super().__init__()
            self.width, self.scale = width, scale
            self.linear = nn.Linear(width, width)

        def forward(self, x):
            return self.linear(x) * self.scale

        def get_config(self) -> dict:
            return {"width": self.width, "scale": self.scale}

    try:
        model = nn.Sequential(ScaledBlock(6, scale=0.5), nn.ReLU())
        shenjing.save(model, tmp_path / "c.safetensors")
        loaded = shenjing.load(tmp_path / "c.safetensors")
        assert isinstance(loaded[0], ScaledBlock) and loaded[0].scale == 0.5
        np.testing.assert_array_equal(outputs(loaded, X), outputs(model, X))
        with pytest.raises(ValueError, match="already registered"):
            nn.register_module("ScaledBlock", type("Other", (nn.Module,), {}))
    finally:
        shenjing.registry.unregister("ScaledBlock")
    with pytest.raises(ModelFileError, match="unknown layer type 'ScaledBlock'.*register_module"):
        shenjing.load(tmp_path / "c.safetensors")


def test_unregistered_layers_cannot_be_saved_as_models_but_their_weights_can(tmp_path) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

    with pytest.raises(TypeError, match=r"cannot save model.1: Net is not a registered layer.*register_module"):
        shenjing.save(nn.Sequential(nn.ReLU(), Net()), tmp_path / "n.safetensors")
    shenjing.save(Net().state_dict(), tmp_path / "n.safetensors")
    assert list(shenjing.load(tmp_path / "n.safetensors")) == ["fc.weight", "fc.bias"]


# ---- bad files -----------------------------------------------------------------------------------------------------
def _rewrite_document(path, change, keep_checksum: bool = False) -> None:
    """Change the document of a file as another writer would (without shenjing's checksum, unless kept)."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    document = json.loads(header["__metadata__"]["shenjing"])
    if not keep_checksum:
        document["format_version"] = 1  # checksums are required from format version 2 on
    change(document)
    header["__metadata__"]["shenjing"] = json.dumps(document)
    if not keep_checksum:
        header["__metadata__"].pop("shenjing_sha256", None)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])


def test_truncated_files_give_a_clear_error(tmp_path) -> None:
    path = tmp_path / "m.safetensors"
    shenjing.save(mlp(), path)
    data = path.read_bytes()
    for cut in (len(data) - 7, len(data) // 2, 20, 5, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="truncated"):
            shenjing.load(path)


def test_corrupted_files_give_a_clear_error(tmp_path) -> None:
    path = tmp_path / "m.safetensors"
    shenjing.save(mlp(), path)
    data = bytearray(path.read_bytes())
    data[12:20] = b"\xff\xfe{{}}!!"  # garbage inside the JSON header
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupted"):
        shenjing.load(path)
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(ModelFileError, match="implausible"):
        shenjing.load(path)
    shenjing.save(mlp(), path)
    _rewrite_document(path, lambda d: d["structure"]["children"][0][1].update(config={"in_features": 6}))
    with pytest.raises(ModelFileError, match=r"model.0: could not build Linear"):
        shenjing.load(path)


def test_a_file_from_a_future_format_version_is_refused(tmp_path) -> None:
    path = tmp_path / "m.safetensors"
    shenjing.save(mlp(), path)
    _rewrite_document(path, lambda d: d.update(format_version=io.FORMAT_VERSION + 1, shenjing_version="9.0"))
    version = io.FORMAT_VERSION + 1
    with pytest.raises(ModelFileError, match=rf"format version {version} \(by shenjing 9.0\).*Upgrade shenjing"):
        shenjing.load(path)


def test_unknown_layer_names_are_refused_listing_the_known_ones(tmp_path) -> None:
    path = tmp_path / "m.safetensors"
    shenjing.save(mlp(), path)
    _rewrite_document(path, lambda d: d["structure"]["children"][1][1].update(type="Swish"))
    with pytest.raises(ModelFileError, match=r"model.1: unknown layer type 'Swish'. Known layer types: .*Linear"):
        shenjing.load(path)


def test_module_paths_and_functions_in_a_file_are_never_imported_or_called(tmp_path, monkeypatch) -> None:
    """A crafted file naming modules and functions (the Keras CVE-2025-1550 / -9906 pattern) imports nothing."""
    path = tmp_path / "evil.safetensors"
    shenjing.save(nn.Sequential(nn.ReLU()), path)
    marker = tmp_path / "pwned"
    payloads = [
        {"type": "os.system", "config": {"command": f"touch {marker}"}},
        {"type": "subprocess.Popen", "config": {"args": ["touch", str(marker)]}},
        {"type": "builtins.eval", "config": {}},
        {"type": "Lambda", "config": {"function": "lambda x: __import__('os').system('touch pwned')"}},
        {"module": "os", "class_name": "system", "type": "__import__", "config": {"name": "os"}},
    ]
    imported = []
    real_import = builtins.__import__

    def spy(name, *args, **kwargs):
        imported.append(name)
        return real_import(name, *args, **kwargs)

    for payload in payloads:
        _rewrite_document(path, lambda d, p=payload: d.update(structure={"type": "Sequential", "children": [["0", p]]}))
        monkeypatch.setattr(builtins, "__import__", spy)
        try:
            with pytest.raises(ModelFileError, match="unknown layer type"):
                shenjing.load(path)
        finally:
            monkeypatch.setattr(builtins, "__import__", real_import)
        assert not marker.exists()
    assert not [name for name in imported if name.split(".")[0] in ("os", "subprocess", "builtins", "importlib")]


def test_pickle_and_torch_files_are_refused_without_unpickling(tmp_path) -> None:
    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ModelFileError, match="never unpickles"):
        shenjing.load(path)
    assert not (tmp_path / "pwned").exists()
    (tmp_path / "zip.pt").write_bytes(b"PK\x03\x04" + b"\0" * 64)  # torch.save's zip format
    with pytest.raises(ModelFileError, match="never unpickles"):
        shenjing.load(tmp_path / "zip.pt")


# ---- atomic writes ---------------------------------------------------------------------------------------------------
def test_a_crash_mid_write_leaves_the_previous_file_intact(tmp_path, monkeypatch) -> None:
    path = tmp_path / "ckpt.safetensors"
    model = mlp()
    io.save_checkpoint(path, model, epoch=1)
    before = path.read_bytes()

    def half_then_crash(f, data):
        f.write(data[: len(data) // 2])
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(io, "_write_all", half_then_crash)
    with pytest.raises(OSError, match="simulated"):
        io.save_checkpoint(path, mlp(), epoch=2)
    assert path.read_bytes() == before
    assert io.load_checkpoint(path, mlp())["epoch"] == 1
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # the temporary file is cleaned up


def test_a_process_killed_mid_write_leaves_the_previous_file_intact(tmp_path) -> None:
    path = tmp_path / "model.safetensors"
    shenjing.save(mlp(), path)
    before = path.read_bytes()
    code = (
        "import os, shenjing\nfrom shenjing import io, nn\n"
        "def die(f, data):\n    f.write(data[:len(data) // 3]); f.flush(); os._exit(9)\n"
        f"io._write_all = die\nshenjing.save(nn.Sequential(nn.Linear(6, 8)), {str(path)!r})\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path)
    assert result.returncode == 9
    assert path.read_bytes() == before
    assert repr(shenjing.load(path)) == repr(mlp())


# ---- checkpoints -----------------------------------------------------------------------------------------------------
def test_checkpoints_restore_optimizer_scheduler_and_rng_exactly(tmp_path) -> None:
    model = mlp()
    optimizer = optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.9))
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    x, y = shenjing.tensor(X), shenjing.tensor(np.array([0, 1, 2, 0, 1]))
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.nll_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    io.save_checkpoint(tmp_path / "c.safetensors", model, optimizer, scheduler, epoch=3, note={"k": (1, 2)})
    expected_draw = shenjing.rand(3).numpy()

    shenjing.manual_seed(123)
    model2 = mlp()
    optimizer2 = optim.Adam(model2.parameters(), lr=0.5)
    scheduler2 = optim.lr_scheduler.StepLR(optimizer2, step_size=1, gamma=0.5)
    state = io.load_checkpoint(tmp_path / "c.safetensors", model2, optimizer2, scheduler2)
    assert state["epoch"] == 3 and state["extra"] == {"note": {"k": (1, 2)}}
    np.testing.assert_array_equal(shenjing.rand(3).numpy(), expected_draw)
    assert optimizer2.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"] == 0.01 * 0.5**3
    assert optimizer2.param_groups[0]["betas"] == (0.8, 0.9)
    assert scheduler2.last_epoch == scheduler.last_epoch == 3
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.array, q.array)
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(optimizer.state[p][key], optimizer2.state[q][key])
    rebuilt = io.load_checkpoint(tmp_path / "c.safetensors")["model"]
    assert repr(rebuilt) == repr(model)
    assert repr(shenjing.load(tmp_path / "c.safetensors")) == repr(model)


def test_encode_state_round_trips_every_kind_of_value() -> None:
    value = {
        "a": 1,
        "b": 2.5,
        "c": None,
        "d": [1, (2, 3)],
        4: "int key",
        "t": shenjing.tensor([1.0, 2.0]),
        "n": np.arange(3),
        "s": np.float32(0.1),
        "inf": float("inf"),
        "dt": np.dtype("int16"),
        "__x": {"nested": True},
    }
    arrays: dict = {}
    encoded = json.loads(json.dumps(io.encode_state(value, "v", arrays)))
    decoded = io.decode_state(encoded, arrays)
    assert decoded.keys() == value.keys() and decoded[4] == "int key" and decoded["d"] == [1, (2, 3)]
    assert decoded["s"] == np.float32(0.1) and decoded["s"].dtype == np.float32 and decoded["inf"] == float("inf")
    assert isinstance(decoded["t"], shenjing.Tensor) and decoded["t"].tolist() == [1.0, 2.0]
    np.testing.assert_array_equal(decoded["n"], np.arange(3))
    assert decoded["dt"] == np.dtype("int16") and decoded["__x"] == {"nested": True}
    with pytest.raises(TypeError, match="never pickled"):
        io.encode_state({"f": lambda: 0}, "v", {})


# ---- PyTorch -------------------------------------------------------------------------------------------------------
def test_pytorch_weights_load_into_the_equivalent_model_and_back() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    t_model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    io.load_torch_state_dict(model, t_model.state_dict())
    with torch.no_grad():
        expected = t_model(torch.tensor(X)).numpy()
    np.testing.assert_allclose(outputs(model, X), expected, rtol=1e-6, atol=1e-6)

    for p in model.parameters():
        p.array *= 2
    t_model.load_state_dict(io.to_torch_state_dict(model))
    with torch.no_grad():
        np.testing.assert_allclose(t_model(torch.tensor(X)).numpy(), outputs(model, X), rtol=1e-6, atol=1e-6)
    with pytest.raises(RuntimeError, match="Missing key"):
        io.load_torch_state_dict(model, OrderedDict(list(t_model.state_dict().items())[:2]))
