"""ONNX export: every supported layer passes onnx.checker and runs in onnxruntime within 1e-5 of shenjing."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing
import shenjing.nn as nn

onnx = pytest.importorskip("onnx", reason="ONNX export tests need the onnx package (pip install shenjing[onnx])")
ort = pytest.importorskip("onnxruntime", reason="ONNX parity tests need onnxruntime (pip install shenjing[onnx])")

from shenjing.onnx import UnsupportedLayerError, export, to_model  # noqa: E402


def _ours(model, x):
    model.eval()
    with shenjing.no_grad():
        return model(shenjing.tensor(x)).array


def _theirs(path, x, name="input"):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: x})[0]


def _roundtrip(tmp_path, model, shape, batch_sizes=(2, 5), tol=1e-5):
    rng = np.random.default_rng(0)
    path = tmp_path / "m.onnx"
    export(model, shenjing.tensor(rng.standard_normal(shape).astype(np.float32)), path,
           dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    for n in batch_sizes:
        x = rng.standard_normal((n,) + tuple(shape[1:])).astype(np.float32) * 2
        expected, got = _ours(model, x), _theirs(path, x)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=tol, rtol=tol)
    return path


LAYERS = {
    "linear": (lambda: nn.Linear(7, 5), (3, 7)),
    "linear_nobias": (lambda: nn.Linear(7, 5, bias=False), (3, 7)),
    "linear_3d": (lambda: nn.Linear(7, 5), (3, 4, 7)),
    "relu": (nn.ReLU, (3, 6)),
    "sigmoid": (nn.Sigmoid, (3, 6)),
    "tanh": (nn.Tanh, (3, 6)),
    "leaky": (lambda: nn.LeakyReLU(0.2), (3, 6)),
    "elu": (lambda: nn.ELU(0.7), (3, 6)),
    "celu": (lambda: nn.CELU(1.3), (3, 6)),
    "selu": (nn.SELU, (3, 6)),
    "silu": (nn.SiLU, (3, 6)),
    "softplus": (lambda: nn.Softplus(2.0, 3.0), (3, 6)),
    "mish": (nn.Mish, (3, 6)),
    "gelu": (nn.GELU, (3, 6)),
    "gelu_tanh": (lambda: nn.GELU(approximate="tanh"), (3, 6)),
    "hardtanh": (lambda: nn.Hardtanh(-0.5, 1.5), (3, 6)),
    "relu6": (nn.ReLU6, (3, 6)),
    "hardsigmoid": (nn.Hardsigmoid, (3, 6)),
    "hardswish": (nn.Hardswish, (3, 6)),
    "logsigmoid": (nn.LogSigmoid, (3, 6)),
    "softsign": (nn.Softsign, (3, 6)),
    "prelu": (lambda: nn.PReLU(4), (3, 4, 5)),
    "softmax": (lambda: nn.Softmax(dim=1), (3, 6)),
    "logsoftmax": (lambda: nn.LogSoftmax(dim=-1), (3, 2, 6)),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3), (2, 3, 9, 9)),
    "conv2d_opts": (lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
                    (2, 4, 9, 9)),
    "conv2d_same": (lambda: nn.Conv2d(2, 3, 4, padding="same", bias=False), (2, 2, 7, 7)),
    "conv2d_reflect": (lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), (2, 2, 6, 6)),
    "conv2d_replicate": (lambda: nn.Conv2d(2, 3, 3, padding=2, padding_mode="replicate"), (2, 2, 6, 6)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 11)),
    "convT2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), (2, 3, 5, 5)),
    "convT1d": (lambda: nn.ConvTranspose1d(3, 2, 4, stride=3), (2, 3, 5)),
    "maxpool2d": (lambda: nn.MaxPool2d(2), (2, 3, 8, 8)),
    "maxpool2d_opts": (lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 8, 8)),
    "maxpool2d_dilated": (lambda: nn.MaxPool2d(2, stride=1, dilation=2), (2, 3, 7, 7)),
    "maxpool1d": (lambda: nn.MaxPool1d(3, stride=2), (2, 3, 10)),
    "avgpool2d": (lambda: nn.AvgPool2d(2), (2, 3, 8, 8)),
    "avgpool2d_pad": (lambda: nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 8, 8)),
    "avgpool2d_nopadcount": (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 8, 8)),
    "avgpool1d": (lambda: nn.AvgPool1d(2), (2, 3, 10)),
    "adaptiveavg_global": (lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 7)),
    "adaptiveavg_divides": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 4, 9)),
    "adaptivemax_global": (lambda: nn.AdaptiveMaxPool2d(1), (2, 3, 5, 7)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(3), (2, 3, 4, 4)),
    "batchnorm1d": (lambda: nn.BatchNorm1d(5), (3, 5)),
    "batchnorm1d_3d": (lambda: nn.BatchNorm1d(3, affine=False), (2, 3, 6)),
    "layernorm": (lambda: nn.LayerNorm(6), (3, 6)),
    "layernorm_2d": (lambda: nn.LayerNorm((4, 6), elementwise_affine=False), (3, 4, 6)),
    "layernorm_nobias": (lambda: nn.LayerNorm(6, bias=False), (3, 2, 6)),
    "dropout": (lambda: nn.Dropout(0.5), (3, 6)),
    "dropout2d": (lambda: nn.Dropout2d(0.5), (3, 2, 4, 4)),
    "identity": (nn.Identity, (3, 6)),
    "flatten": (nn.Flatten, (2, 3, 4, 5)),
    "flatten_middle": (lambda: nn.Flatten(1, 2), (2, 3, 4, 5)),
    "flatten_tail": (lambda: nn.Flatten(2), (2, 3, 4, 5)),
}


def _randomise(model):
    """Non-trivial BatchNorm statistics and norm affine parameters (defaults are 0/1)."""
    rng = np.random.default_rng(1)
    for name, buf in model.named_buffers():
        if name.endswith(("running_mean", "running_var")):
            value = rng.uniform(0.5, 2.0, buf.shape) if name.endswith("var") else rng.standard_normal(buf.shape)
            buf.array[...] = value
    for _, p in model.named_parameters():
        if p.ndim == 1:
            p.array[...] = rng.uniform(0.5, 1.5, p.shape)
    return model


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_parity(tmp_path, name):
    shenjing.manual_seed(0)
    make, shape = LAYERS[name]
    _roundtrip(tmp_path, _randomise(nn.Sequential(make())), shape)


def test_mlp_and_cnn_parity(tmp_path):
    shenjing.manual_seed(0)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))
    _roundtrip(tmp_path, mlp, (4, 1, 28, 28), batch_sizes=(1, 7))
    cnn = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Sequential(nn.Linear(16 * 7 * 7, 32), nn.LayerNorm(32), nn.GELU()), nn.Linear(32, 10), nn.Softmax(dim=1),
    )
    _roundtrip(tmp_path, _randomise(cnn), (2, 1, 28, 28), batch_sizes=(1, 3))


def test_names_opset_and_static_shape(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3))
    path = tmp_path / "named.onnx"
    export(model, shenjing.zeros(2, 4), path, input_names=["features"], output_names=["logits"])
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["features"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert proto.opset_import[0].version == 17
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [2, 4]  # no dynamic_axes: the example's shape, as PyTorch
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(_theirs(path, x, "features"), _ours(model, x), atol=1e-6)


def test_dynamic_axes_named(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3))
    proto = to_model(model, shenjing.zeros(2, 4), dynamic_axes={"input": {0: "batch"}})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    proto = to_model(model, shenjing.zeros(2, 4), dynamic_axes={"input": [0]})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "input_dim0"


def test_float64_export(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh()).double()
    path = tmp_path / "f64.onnx"
    export(model, shenjing.zeros(2, 4, dtype=shenjing.float64), path)
    x = np.random.default_rng(0).standard_normal((2, 4))
    np.testing.assert_allclose(_theirs(path, x), _ours(model, x), atol=1e-12)


def test_training_mode_restored(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    model.train()
    export(model, shenjing.zeros(1, 4), tmp_path / "m.onnx")
    assert model.training and model[1].training


class MyBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x) + x


class MyLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


class Cumulative(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x).cumprod(1)


def test_custom_modules_traced(tmp_path):
    """A module with its own forward (or a subclass that changes forward) is traced, not refused."""
    shenjing.manual_seed(0)
    _roundtrip(tmp_path, nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), MyBlock())), (2, 3))
    proto = _roundtrip(tmp_path, nn.Sequential(MyLinear(3, 3)), (2, 3))
    assert "Mul" in {n.op_type for n in onnx.load(str(proto)).graph.node}  # the subclass's × 2 is there


def test_unsupported_op_named(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), Cumulative()))
    with pytest.raises(UnsupportedLayerError, match=r"model\.1\.1 to ONNX: its forward calls the op Cumprod"):
        export(model, shenjing.zeros(1, 3), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
    assert isinstance(UnsupportedLayerError("x"), RuntimeError)


def test_unsupported_options_named(tmp_path):
    cases = [
        (nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular"), (1, 1, 5, 5), "circular"),
        (nn.AvgPool2d(2, divisor_override=3), (1, 1, 4, 4), "divisor_override"),
        (nn.BatchNorm1d(3, track_running_stats=False), (2, 3), "track_running_stats"),
        (nn.AdaptiveAvgPool2d(3), (1, 1, 5, 5), "divide"),
        (nn.Conv2d(1, 1, 3), (1, 5, 5), "batched"),
    ]
    for layer, shape, words in cases:
        with pytest.raises(UnsupportedLayerError, match=words) as info:
            export(nn.Sequential(layer), shenjing.zeros(*shape), tmp_path / "x.onnx")
        assert type(layer).__name__ in str(info.value)


def test_bad_arguments(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3))
    with pytest.raises(ValueError, match="not among inputs"):
        export(model, shenjing.zeros(1, 3), tmp_path / "x.onnx", dynamic_axes={"nope": [0]})
    with pytest.raises(ValueError, match="out of range"):
        export(model, shenjing.zeros(1, 3), tmp_path / "x.onnx", dynamic_axes={"input": [5]})
    with pytest.raises(ValueError, match="opset"):
        export(model, shenjing.zeros(1, 3), tmp_path / "x.onnx", opset_version=11)
    with pytest.raises(TypeError, match="float32 or float64"):
        export(model, shenjing.zeros(1, 3, dtype=shenjing.int64), tmp_path / "x.onnx")


def test_cli_export(tmp_path, capsys):
    from shenjing.cli import main

    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 4))
    shenjing.save(model, tmp_path / "m.safetensors", input_shape=[1, 8, 8])
    out = tmp_path / "m.onnx"
    assert main(["export", str(tmp_path / "m.safetensors"), "--onnx", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(_theirs(out, x), _ours(model, x), atol=1e-5)
    # no shape recorded, first layer a Conv: a clear one-line error asking for --input-shape
    shenjing.save(model, tmp_path / "bare.safetensors")
    assert main(["export", str(tmp_path / "bare.safetensors"), "--onnx", str(out)]) == 2
    assert "--input-shape" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "bare.safetensors"), "--onnx", str(out), "--input-shape", "1,9,9"]) == 2
    assert "does not run on input of shape (1, 1, 9, 9)" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.safetensors"), "--onnx", str(out)]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_import_stays_light():
    import subprocess
    import sys

    code = "import sys, shenjing; shenjing.onnx, shenjing.quantize, shenjing.prune; import shenjing.serve; " \
           "print(sorted(m for m in ('onnx', 'onnxruntime', 'fastapi', 'uvicorn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
