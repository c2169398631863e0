"""The array-module seam: every op, layer and loss runs on a backend whose arrays NumPy may not touch.

``tests/fake_cupy.py`` registers a stand-in "cuda" backend whose arrays raise if a NumPy function is applied
to them directly. Running the op registry and whole models on it proves that all math goes through ``xp``;
its numbers must equal the CPU's exactly (both are NumPy underneath).
"""

from __future__ import annotations

import numpy as np
import pytest
from fake_cupy import FakeGPUBackend, ndarray
from test_ops import OPS, inputs_of
from test_ops_math_more import SEAM_OPS

import shenjing
from shenjing import backend, nn


@pytest.fixture
def gpu():
    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    fake = FakeGPUBackend()
    backend.register_backend(fake)
    yield fake
    backend._backends.clear()
    backend._backends.update(saved_backends)
    backend._by_array_type.clear()
    backend._by_array_type.update(saved_types)


def _host(t: shenjing.Tensor) -> np.ndarray:
    return backend.backend_of(t.array).to_host(t.array)


def _run(fn, arrays: list, device: str) -> tuple:
    tensors = [shenjing.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(*tensors)
    outs = list(out) if isinstance(out, tuple | list) else [out]
    total = None
    for k, o in enumerate(outs):
        if o.requires_grad:
            w = shenjing.tensor(np.random.default_rng(k).standard_normal(o.shape), device=device)
            term = (o * w).sum()
            total = term if total is None else total + term
    total.backward()
    return [_host(o) for o in outs], [None if t.grad is None else _host(t.grad) for t in tensors]


@pytest.mark.parametrize("op", OPS + SEAM_OPS, ids=[op.name for op in OPS + SEAM_OPS])
def test_op_runs_through_the_seam(gpu, op) -> None:
    arrays = [np.asarray(x, dtype=np.float64) for x in inputs_of(op)]
    cpu_out, cpu_grads = _run(op.sj, arrays, "cpu")
    gpu_out, gpu_grads = _run(op.sj, arrays, "cuda")
    for a, b in zip(cpu_out, gpu_out):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(cpu_grads, gpu_grads):
        np.testing.assert_array_equal(a, b)


def test_fake_backend_rejects_numpy_math(gpu) -> None:
    t = shenjing.ones(3, device="cuda")
    assert isinstance(t.array, ndarray) and t.device == "cuda"
    with pytest.raises(TypeError, match="bypassed the backend seam"):
        np.exp(t.array)


def _mlp_step(device: str, loss_name: str) -> list:
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 16),
                          nn.Tanh(), nn.Linear(16, 16), nn.LeakyReLU(0.1), nn.Dropout(0.0), nn.Linear(16, 5),
                          nn.LogSoftmax(dim=1) if loss_name == "nll" else nn.Identity()).to(device)
    rng = np.random.default_rng(1)
    x = shenjing.tensor(rng.standard_normal((8, 20)).astype(np.float32), device=device)
    y = shenjing.tensor(rng.integers(0, 5, 8), device=device)
    out = model(x)
    losses = {
        "ce": lambda: nn.CrossEntropyLoss(label_smoothing=0.1)(out, y),
        "nll": lambda: nn.NLLLoss()(out, y),
        "mse": lambda: nn.MSELoss()(out, shenjing.zeros(8, 5, device=device)),
        "bce": lambda: nn.BCEWithLogitsLoss()(out, shenjing.ones(8, 5, device=device)),
        "softmax_bce": lambda: nn.BCELoss()(out.softmax(1), shenjing.ones(8, 5, device=device) * 0.2),
    }
    losses[loss_name]().backward()
    return [_host(p.grad) for p in model.parameters()]


@pytest.mark.parametrize("loss_name", ["ce", "nll", "mse", "bce", "softmax_bce"])
def test_mlp_gradients_equal_on_both_devices(gpu, loss_name: str) -> None:
    for a, b in zip(_mlp_step("cpu", loss_name), _mlp_step("cuda", loss_name)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_moving_tensors_between_devices(gpu) -> None:
    x = shenjing.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda" and isinstance(y.array, ndarray)
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert y.cpu().device == "cpu"
    with pytest.raises(RuntimeError, match="same device, got tensors on cpu and cuda"):
        shenjing.ones(2) + shenjing.ones(2, device="cuda")
    with pytest.raises(TypeError, match="Tensor.cpu"):
        shenjing.ones(2, device="cuda").numpy()


def test_module_to_device_and_state_dict_on_host(gpu) -> None:
    model = nn.Linear(3, 2).to("cuda")
    assert model.weight.device == "cuda"
    state = {k: _host(v) for k, v in model.state_dict().items()}
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(state)
    back = nn.Linear(3, 2).to("cuda")
    back.load_state_dict(fresh.state_dict())  # host arrays are copied onto the device
    np.testing.assert_array_equal(_host(back.weight), state["weight"])


def _train(device: str) -> tuple:
    from shenjing.data import TensorDataset
    from shenjing.train import Trainer

    shenjing.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 8, 8)).astype(np.float32)
    y = (x.reshape(64, -1).sum(1) > 0).astype(np.int64)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64, 2))  # no dropout: the devices draw different streams
    optimizer = shenjing.optim.Adam(model.parameters(), lr=1e-2)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, device=None if device == "cpu" else device,
                      verbose=0, seed=0, interrupt_checkpoint=None)
    history = trainer.fit(TensorDataset(x, y), TensorDataset(x[:16], y[:16]), epochs=2, batch_size=16)
    return history, [_host(p) for p in model.parameters()]


def test_trainer_and_cnn_run_on_the_device_through_the_seam(gpu) -> None:
    with shenjing.backends.mkldnn.flags(enabled=False):  # the same im2col products on both sides of the seam
        cpu_history, cpu_params = _train("cpu")
    gpu_history, gpu_params = _train("cuda")
    np.testing.assert_allclose(gpu_history.history["loss"], cpu_history.history["loss"], rtol=1e-5)
    for a, b in zip(cpu_params, gpu_params):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _sequence_models() -> list:
    from shenjing.nn.utils import rnn as rnn_utils

    def packed_lstm(x):
        lstm = nn.LSTM(5, 6, 2, bidirectional=True, dtype=shenjing.float64).to(x.device)
        out, (h, c) = lstm(rnn_utils.pack_padded_sequence(x, [4, 2, 1], enforce_sorted=False))
        return rnn_utils.pad_packed_sequence(out)[0], h, c

    return [
        ("gru", lambda x: nn.GRU(5, 6, 2, bidirectional=True, dtype=shenjing.float64).to(x.device)(x)[0]),
        ("rnn_relu", lambda x: nn.RNN(5, 6, nonlinearity="relu", dtype=shenjing.float64).to(x.device)(x)[1]),
        ("lstm_proj", lambda x: nn.LSTM(5, 6, proj_size=2, dtype=shenjing.float64).to(x.device)(x)[1][1]),
        ("packed_lstm", packed_lstm),
        ("mha", lambda x: nn.MultiheadAttention(5, 1, dtype=shenjing.float64).to(x.device)(
            x, x, x, key_padding_mask=shenjing.tensor([[False] * 3 + [True]] * 3, device=x.device))[0]),
        ("encoder", lambda x: nn.TransformerEncoder(nn.TransformerEncoderLayer(
            5, 1, 8, dropout=0.0, norm_first=True, dtype=shenjing.float64), 2).to(x.device)(
            x, mask=nn.Transformer.generate_square_subsequent_mask(4, device=x.device, dtype=shenjing.float64))),
        ("conv_transpose", lambda x: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1,
                                                        dtype=shenjing.float64).to(x.device)(x[None])),
        ("embedding_bag", lambda x: nn.EmbeddingBag(10, 3, mode="max", dtype=shenjing.float64).to(x.device)(
            shenjing.tensor([[1, 2], [3, 3]], device=x.device)) * x.sum()),
    ]


@pytest.mark.parametrize("name,fn", _sequence_models(), ids=[n for n, _ in _sequence_models()])
def test_recurrent_layers_run_through_the_seam(gpu, name, fn) -> None:
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    results = []
    for device in ("cpu", "cuda"):
        shenjing.manual_seed(0)
        results.append(_run(fn, [x], device))
    (cpu_out, cpu_grads), (gpu_out, gpu_grads) = results
    for a, b in zip(cpu_out + cpu_grads, gpu_out + gpu_grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
