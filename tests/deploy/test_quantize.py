"""int8 quantization: the formulas, closeness to float, PyTorch's quantize_dynamic, save/load, ONNX int8 parity."""

from __future__ import annotations

import numpy as np
import pytest

import shenjing
import shenjing.nn as nn
from shenjing.quantize import (
    QuantizedConv2d,
    QuantizedLinear,
    dynamic_qparams,
    model_size_bytes,
    quantize_dynamic,
    quantize_static,
    quantize_weight,
)


def _run(model, x):
    with shenjing.no_grad():
        return model(shenjing.tensor(np.asarray(x, np.float32))).array


def _mlp():
    shenjing.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5)).eval()


def _cnn():
    shenjing.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding="same"), nn.ReLU(),
        nn.Flatten(), nn.Linear(6 * 4 * 4, 5),
    ).eval()


def test_weight_quantization_per_channel():
    w = np.array([[0.5, -1.0, 0.25], [2.0, 0.1, -0.3], [0.0, 0.0, 0.0]], np.float32)
    q, s = quantize_weight(np, w)
    assert q.dtype == np.int8 and s.dtype == np.float32
    np.testing.assert_allclose(s, [1 / 127, 2 / 127, 1.0])  # an all-zero row keeps scale 1
    np.testing.assert_array_equal(q[0], [64, -127, 32])  # round-half-even of 63.5 is 64
    assert np.abs(q * s[:, None] - w).max() <= s.max() / 2 + 1e-7


def test_dynamic_qparams_as_onnx_dynamicquantizelinear():
    onnx = pytest.importorskip("onnx", reason="needs onnx")
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    h = onnx.helper
    graph = h.make_graph(
        [h.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])], "g",
        [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None])],
        [h.make_tensor_value_info(n, t, s) for n, t, s in
         [("y", onnx.TensorProto.UINT8, [None]), ("s", onnx.TensorProto.FLOAT, []), ("z", onnx.TensorProto.UINT8, [])]],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    model.ir_version = 9
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for x in [np.array([-1.0, 0.5, 3.0]), np.array([0.2, 0.9]), np.array([-2.5, -0.1]),
              np.random.default_rng(0).standard_normal(50)]:
        x = x.astype(np.float32)
        _, s, z = session.run(None, {"x": x})
        ours_s, ours_z = dynamic_qparams(np, x)
        assert np.float32(ours_s) == s and int(ours_z) == int(z)


def test_quantized_linear_formula():
    model = _mlp()
    q = quantize_dynamic(model)
    assert [type(m).__name__ for m in q] == ["QuantizedLinear", "ReLU", "QuantizedLinear"]
    assert type(model[0]).__name__ == "Linear"  # not in place by default
    x = np.random.default_rng(1).standard_normal((4, 20)).astype(np.float32)
    layer = q[0]
    s, z = dynamic_qparams(np, x)
    xq = np.clip(np.rint(x / s) + z, 0, 255) - z
    expected = (xq.astype(np.float64) @ layer.weight.array.T.astype(np.float64)) * (s * layer.weight_scale.array)
    expected += layer.bias.array
    np.testing.assert_allclose(_run(layer, x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_close_to_float_and_to_torch():
    torch = pytest.importorskip("torch", reason="comparison with torch.ao.quantization.quantize_dynamic")
    model = _mlp()
    x = np.random.default_rng(2).standard_normal((64, 20)).astype(np.float32)
    exact = _run(model, x)
    ours = _run(quantize_dynamic(model), x)
    tm = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
    tm.load_state_dict({k: torch.tensor(np.asarray(v.array)) for k, v in model.state_dict().items()})
    theirs = torch.ao.quantization.quantize_dynamic(tm, {torch.nn.Linear}, dtype=torch.qint8)(torch.tensor(x))
    theirs = theirs.detach().numpy()
    spread = np.abs(exact).max()
    ours_error, their_error = np.abs(ours - exact).max(), np.abs(theirs - exact).max()
    assert ours_error < 0.02 * spread
    assert ours_error <= 1.5 * their_error + 1e-6  # per-channel weights: at least as close as PyTorch's per-tensor
    assert (ours.argmax(1) == exact.argmax(1)).mean() >= 0.95


def test_static_conv_calibration_and_size():
    model = _cnn()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((8, 1, 8, 8)).astype(np.float32) for _ in range(3)]
    q = quantize_static(model, [(b, None) for b in batches])
    kinds = [type(m).__name__ for m in q]
    assert kinds[0] == kinds[3] == "QuantizedConv2d" and kinds[-1] == "QuantizedLinear"
    first = q[0]
    low, high = min(b.min() for b in batches), max(b.max() for b in batches)
    s, z = dynamic_qparams(np, np.array([low, high], np.float32))
    assert first.input_scale.array[0] == s and first.input_zero_point.array[0] == z
    x = rng.standard_normal((16, 1, 8, 8)).astype(np.float32)
    exact, approx = _run(model, x), _run(q, x)
    assert np.abs(approx - exact).max() < 0.05 * np.abs(exact).max()  # 4-6 channels: few values to average over
    weights = sum(p.array.nbytes for n, p in model.state_dict().items() if n.endswith("weight"))
    q_weights = sum(p.array.nbytes for n, p in q.state_dict().items() if n.endswith("weight"))
    assert q_weights * 4 == weights
    assert model_size_bytes(q) < model_size_bytes(model) / 2.5


def test_save_load_roundtrip(tmp_path):
    model = _cnn()
    x = np.random.default_rng(4).standard_normal((4, 1, 8, 8)).astype(np.float32)
    q = quantize_static(model, [x])
    shenjing.save(q, tmp_path / "q.safetensors", input_shape=[1, 8, 8])
    back = shenjing.load(tmp_path / "q.safetensors")
    assert isinstance(back[0], QuantizedConv2d) and isinstance(back[-1], QuantizedLinear)
    assert back[0].weight.array.dtype == np.int8
    np.testing.assert_array_equal(_run(back, x), _run(q, x))
    shenjing.manual_seed(0)
    big = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    shenjing.save(big, tmp_path / "f.safetensors")
    shenjing.save(quantize_dynamic(big), tmp_path / "q8.safetensors")
    ratio = (tmp_path / "f.safetensors").stat().st_size / (tmp_path / "q8.safetensors").stat().st_size
    assert 3.8 < ratio < 4.0  # int8 weights; float32 biases and scales


def test_onnx_int8_parity(tmp_path):
    onnx = pytest.importorskip("onnx", reason="needs onnx")
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    from shenjing.onnx import export

    x = np.random.default_rng(5).standard_normal((6, 1, 8, 8)).astype(np.float32)
    for q in (quantize_static(_cnn(), [x]), quantize_dynamic(nn.Sequential(nn.Flatten(), _mlp()[0]))):
        shape = (6, 1, 8, 8) if isinstance(q[0], QuantizedConv2d) else (6, 1, 4, 5)
        xi = x.reshape(-1)[: np.prod(shape)].reshape(shape)
        path = tmp_path / "q.onnx"
        export(q, shenjing.tensor(xi), path, dynamic_axes={"input": [0]})
        ops = {n.op_type for n in onnx.load(str(path)).graph.node}
        assert ops & {"MatMulInteger", "ConvInteger"}
        got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": xi})[0]
        np.testing.assert_allclose(got, _run(q, xi), rtol=1e-5, atol=1e-5)


def test_onnx_qdq_parity(tmp_path):
    """quant_format="QDQ": Quantize/DequantizeLinear around float MatMul/Conv, per-channel weight scales; onnxruntime
    agrees with ours within one quantization step of the output (in fact within float rounding)."""
    onnx = pytest.importorskip("onnx", reason="needs onnx")
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    from shenjing.onnx import export

    x = np.random.default_rng(5).standard_normal((6, 1, 8, 8)).astype(np.float32)

    class Head(nn.Module):  # a custom module: traced, its quantized Linear converted in QDQ form
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(), _mlp()[0], nn.ReLU())
            self.out = nn.Linear(32, 5)

        def forward(self, x):
            return self.out(self.body(x)) * 0.5

    for q, shape in ((quantize_static(_cnn(), [x]), (6, 1, 8, 8)), (quantize_dynamic(Head()), (6, 1, 4, 5))):
        xi = x.reshape(-1)[: np.prod(shape)].reshape(shape)
        path = tmp_path / "qdq.onnx"
        export(q, shenjing.tensor(xi), path, dynamic_axes={"input": [0]}, quant_format="QDQ")
        proto = onnx.load(str(path))
        ops = [n.op_type for n in proto.graph.node]
        assert "DequantizeLinear" in ops and not {"MatMulInteger", "ConvInteger"} & set(ops)
        assert ops.count("DequantizeLinear") >= 2 * sum(isinstance(m, (QuantizedConv2d, QuantizedLinear))
                                                        for m in q.modules())
        weights = [n for n in proto.graph.node if n.op_type == "DequantizeLinear" and n.input[0].endswith("weight")]
        init = {i.name: i for i in proto.graph.initializer}
        for node in weights:  # int8 weights stored as uint8 + 128 (zero point 128), one scale per output channel
            assert init[node.input[0]].data_type == onnx.TensorProto.UINT8
            assert len(init[node.input[1]].dims) == 1 and init[node.input[1]].dims[0] > 1
            assert set(onnx.numpy_helper.to_array(init[node.input[2]]).tolist()) == {128}
        layers = [m for m in q.modules() if isinstance(m, (QuantizedConv2d, QuantizedLinear))]
        stored = sorted(onnx.numpy_helper.to_array(init[n.input[0]]).astype(int).sum() for n in weights)
        assert stored == sorted(int(m.weight.numpy().astype(int).sum()) + 128 * m.weight.numel() for m in layers)
        got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": xi})[0]
        ours = _run(q, xi)
        step = np.abs(ours).max() / 127  # one int8 step of the output's range
        assert np.abs(got - ours).max() < step
        np.testing.assert_allclose(got, ours, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="quant_format"):
        export(q, shenjing.tensor(xi), path, quant_format="int8")


def test_errors():
    with pytest.raises(ValueError, match="empty"):
        quantize_static(_cnn(), [])
    with pytest.raises(ValueError, match="qint8"):
        quantize_dynamic(_mlp(), dtype="float16")
    with pytest.raises(ValueError, match="Linear layers only"):
        quantize_dynamic(_mlp(), {nn.Conv2d})
    with pytest.raises(NotImplementedError, match="padding_mode"):
        quantize_static(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")), [np.zeros((1, 1, 4, 4), np.float32)])
    with pytest.raises(RuntimeError, match="expected 20"):
        quantize_dynamic(_mlp())(shenjing.zeros(2, 3))


def test_fake_quantize_as_torch():
    torch = pytest.importorskip("torch", reason="compared with torch.fake_quantize_per_*_affine")
    from shenjing.quantize import fake_quantize

    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 5)).astype(np.float32) * 3
    scale = np.array([0.02, 0.05, 0.1, 0.01], np.float32)
    grad = rng.standard_normal((4, 5)).astype(np.float32)
    t = shenjing.tensor(x, requires_grad=True)
    y = fake_quantize(t, scale, np.zeros(4, np.float32), -127, 127, axis=0)
    (y * shenjing.tensor(grad)).sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    ty = torch.fake_quantize_per_channel_affine(tt, torch.tensor(scale), torch.zeros(4, dtype=torch.int32), 0, -127, 127)
    (ty * torch.tensor(grad)).sum().backward()
    np.testing.assert_allclose(y.array, ty.detach().numpy(), atol=1e-6)
    np.testing.assert_array_equal(t.grad.array, tt.grad.numpy())
    t = shenjing.tensor(x, requires_grad=True)
    y = fake_quantize(t, 0.03, 100.0, 0, 255)
    (y * shenjing.tensor(grad)).sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    ty = torch.fake_quantize_per_tensor_affine(tt, 0.03, 100, 0, 255)
    (ty * torch.tensor(grad)).sum().backward()
    np.testing.assert_allclose(y.array, ty.detach().numpy(), atol=1e-6)
    np.testing.assert_array_equal(t.grad.array, tt.grad.numpy())


def test_quantization_aware_fine_tuning():
    from shenjing.quantize import QATConv2d, QATLinear, convert, prepare_qat

    model = _cnn()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((32, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 5, 32)
    qat = prepare_qat(model, calibration=[x])
    assert isinstance(qat[0], QATConv2d) and isinstance(qat[-1], QATLinear)
    assert float(qat[0].input_min.array) == x.min() and float(qat[0].input_max.array) == x.max()
    params = list(qat.parameters())
    assert len(params) == len(list(model.parameters()))
    opt = shenjing.optim.Adam(params, lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    qat.train()
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = loss_fn(qat(shenjing.tensor(x)), shenjing.tensor(y))
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert losses[-1] < losses[0] * 0.8  # gradients flow through the fake quantizers
    int8 = convert(qat)
    assert isinstance(int8[0], QuantizedConv2d) and isinstance(int8[-1], QuantizedLinear)
    qat.eval()
    with shenjing.no_grad():
        simulated = qat(shenjing.tensor(x)).array
    # the int8 model computes what the fake-quantized model trained on (up to float32 rounding of the sums)
    np.testing.assert_allclose(_run(int8, x), simulated, atol=1e-3 * np.abs(simulated).max())
