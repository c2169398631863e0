"""Deployment benchmark: file size, accuracy and CPU latency of float32 / int8 / pruned / shrunk MLP and CNN on MNIST,
side by side with PyTorch's quantize_dynamic and torch.nn.utils.prune on the same weights; a sparsity-vs-accuracy
plot; and (--serve) a loopback load test of the HTTP server (shenjing vs the same model in PyTorch behind the same
server, 1 / 8 / 32 concurrent clients) plus a run of malformed requests (zero 5xx expected).

    SHENJING_DATA=/path/to/mnist python benchmarks/bench_deploy.py [--train-size 60000] [--epochs 2] [--serve]
        [--requests 400] [--malformed 10000] [--out runs/bench_deploy]

Measured on the 2-core development machine (shared with other jobs; one thread for NumPy, PyTorch and onnxruntime),
``--train-size 20000 --epochs 1 --serve --requests 300 --budget 15 --malformed 10000``, 10 000 test images:

    MLP 784-256-128-10                 accuracy   file (B)   latency, batch 1
      float32 shenjing / PyTorch        91.66 %    941,928    0.043 / 0.039 ms   (onnxruntime 0.018 ms)
      int8 shenjing (dynamic)           91.67 %    239,480    0.094 ms           3.93x smaller, +0.01 points
      int8 onnxruntime (MatMulInteger)  91.67 %    240,410    0.012 ms
      int8 PyTorch quantize_dynamic     91.65 %    240,895    0.098 ms           3.91x smaller
      pruned 80 % + 1 epoch fine-tune   92.72 %    (gzip 269,780)                the extra epoch helps a 1-epoch model
      shrunk 50 % neurons + fine-tune   91.74 %    438,880    0.034 ms           109,386 of 235,146 parameters
      shrunk 50 % + int8                91.77 %    112,368                       8.38x smaller
    CNN conv16-pool-conv32-pool-128-10
      float32 shenjing / PyTorch        92.74 %    829,856    0.201 / 0.151 ms   (onnxruntime 0.027 ms)
      int8 shenjing (static conv)       92.76 %    210,944    0.303 ms           3.93x smaller, +0.02 points
      int8 onnxruntime (ConvInteger)    92.76 %    211,815    0.152 ms
      int8 PyTorch quantize_dynamic     92.78 %    226,175    0.189 ms           3.67x smaller (Linear only)
      shrunk 50 % + fine-tune / + int8  94.02 % / 94.00 %    210,704 / 55,512   3.94x / 14.95x smaller
    global magnitude pruning without fine-tuning (shenjing = PyTorch prune, identical at every point):
      MLP 50/70/80/90/95/98 %: 91.60 / 91.24 / 89.50 / 82.72 / 61.15 / 23.85 %
      CNN 50/70/80/90/95/98 %: 92.92 / 92.93 / 93.32 / 92.82 / 90.52 / 51.95 %
    HTTP (JSON, one 784-value sample per request, batching 32 / 2 ms, server in its own process):
      MLP shenjing 1/8/32 clients: 170 / 480 / 128 req/s, p50 4.7 / 15.6 / 154 ms, p99 12 / 29 / 1041 ms
      MLP PyTorch  1/8/32 clients: 167 / 379 / 239 req/s, p50 5.1 / 19.5 / 88 ms,  p99 15 / 64 / 669 ms
      CNN shenjing 1/8/32 clients: 156 / 359 / 205 req/s, p50 5.4 / 17.7 / 103 ms, p99 21 / 74 / 865 ms
      CNN PyTorch  1/8/32 clients: 205 / 423 / 171 req/s, p50 4.4 / 16.5 / 149 ms, p99 10 / 46 / 725 ms
      (the load generator shares the two cores: at 32 clients it is the bottleneck)
      10 000 malformed requests of 13 kinds: 400 x5384, 415 x769, 422 x3847, zero 5xx; a good request after: 200
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gzip
import io
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy loads its BLAS
    os.environ.setdefault(_var, "1")  # one thread everywhere: BLAS threads on a busy machine make latency bimodal

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _mnist  # noqa: E402

import shenjing  # noqa: E402
from shenjing import nn, prune  # noqa: E402
from shenjing.quantize import quantize_dynamic, quantize_static  # noqa: E402


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def torch_twin(model):
    """The same architecture and weights in PyTorch."""
    import torch

    layers = []
    for m in model:
        kind = type(m).__name__
        if kind == "Linear":
            layers.append(torch.nn.Linear(m.in_features, m.out_features))
        elif kind == "Conv2d":
            layers.append(torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding))
        else:
            layers.append(getattr(torch.nn, kind)(**({"kernel_size": m.kernel_size} if "Pool" in kind else {})))
    twin = torch.nn.Sequential(*layers)
    twin.load_state_dict({k: torch.tensor(np.asarray(v.array)) for k, v in model.state_dict().items()})
    return twin.eval()


def train(model, x, y, epochs, lr=1e-3, batch=128, seed=0):
    rng = np.random.default_rng(seed)
    opt = shenjing.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            opt.zero_grad()
            loss = loss_fn(model(shenjing.tensor(x[idx])), shenjing.tensor(y[idx]))
            loss.backward()
            opt.step()
    model.eval()
    return model


def predict(fn, x, batch=1000):
    return np.concatenate([np.asarray(fn(x[i : i + batch])) for i in range(0, len(x), batch)])


def ours(model):
    def fn(x):
        with shenjing.no_grad():
            return model(shenjing.tensor(x)).array

    return fn


def theirs(model):
    import torch

    def fn(x):
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    return fn


def onnx_fn(path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"input": x})[0]


def latency_ms(fn, x, repeat=50):
    """Median milliseconds for one sample (batch 1)."""
    fn(x[:1])
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(x[i % len(x) : i % len(x) + 1])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def size_of(save, suffix):
    buffer = io.BytesIO()
    save(buffer)
    raw = buffer.getvalue()
    return len(raw), len(gzip.compress(raw, 6))


def shenjing_bytes(model):
    buffer = io.BytesIO()
    shenjing.save(model, buffer)
    return buffer.getvalue()


def torch_bytes(model):
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def row(table, name, fn, x_test, y_test, raw=None, note=""):
    acc = float((predict(fn, x_test).argmax(1) == y_test).mean() * 100)
    size = len(raw) if raw is not None else None
    zipped = len(gzip.compress(raw, 6)) if raw is not None else None
    table.append({"variant": name, "accuracy": round(acc, 2), "bytes": size, "gzip_bytes": zipped,
                  "latency_ms_batch1": round(latency_ms(fn, x_test), 3), "note": note})
    print(f"  {name:34s} acc {acc:6.2f} %  size {size or 0:>10,} B  gzip {zipped or 0:>10,} B  "
          f"latency {table[-1]['latency_ms_batch1']:7.3f} ms  {note}", flush=True)


def bench_model(name, make, data, args, out):
    import torch

    x_train, y_train, x_test, y_test = data
    shenjing.manual_seed(0)
    model = train(make(), x_train, y_train, args.epochs)
    table = []
    print(f"{name}: trained {args.epochs} epoch(s) on {len(x_train)} images", flush=True)
    row(table, "float32 shenjing", ours(model), x_test, y_test, shenjing_bytes(model))
    twin = torch_twin(model)
    row(table, "float32 PyTorch (same weights)", theirs(twin), x_test, y_test, torch_bytes(twin))
    from shenjing.onnx import export

    export(model, shenjing.tensor(x_test[:1]), out / f"{name}.onnx", dynamic_axes={"input": [0], "output": [0]})
    row(table, "float32 onnxruntime", onnx_fn(out / f"{name}.onnx"), x_test, y_test,
        (out / f"{name}.onnx").read_bytes())

    if name == "mlp":
        q = quantize_dynamic(model)
        note = "dynamic int8 Linear"
    else:
        q = quantize_static(model, [x_train[i : i + 256] for i in range(0, 1024, 256)])
        note = "static int8 Conv (calibrated on 1024 images) + dynamic Linear"
    row(table, "int8 shenjing", ours(q), x_test, y_test, shenjing_bytes(q), note)
    export(q, shenjing.tensor(x_test[:1]), out / f"{name}_int8.onnx", dynamic_axes={"input": [0], "output": [0]})
    row(table, "int8 onnxruntime (MatMul/ConvInteger)", onnx_fn(out / f"{name}_int8.onnx"), x_test, y_test,
        (out / f"{name}_int8.onnx").read_bytes())
    export(q, shenjing.tensor(x_test[:1]), out / f"{name}_qdq.onnx", dynamic_axes={"input": [0], "output": [0]},
           quant_format="QDQ")
    row(table, "int8 onnxruntime (QDQ)", onnx_fn(out / f"{name}_qdq.onnx"), x_test, y_test,
        (out / f"{name}_qdq.onnx").read_bytes())
    torch.backends.quantized.engine = "qnnpack" if "qnnpack" in torch.backends.quantized.supported_engines else \
        torch.backends.quantized.engine
    tq = torch.ao.quantization.quantize_dynamic(copy.deepcopy(twin), {torch.nn.Linear}, dtype=torch.qint8)
    row(table, "int8 PyTorch quantize_dynamic", theirs(tq), x_test, y_test, torch_bytes(tq), "Linear only")

    # pruning: global magnitude at several sparsities, without fine-tuning (the same masks as PyTorch)
    curve = []
    for amount in args.sparsities:
        pruned = copy.deepcopy(model)
        targets = [(m, "weight") for m in pruned if type(m).__name__ in ("Linear", "Conv2d")]
        prune.global_unstructured(targets, prune.L1Unstructured, amount=amount)
        acc = float((predict(ours(pruned), x_test).argmax(1) == y_test).mean() * 100)
        tw = copy.deepcopy(twin)
        import torch.nn.utils.prune as tprune

        tprune.global_unstructured([(m, "weight") for m in tw if hasattr(m, "weight")], tprune.L1Unstructured,
                                   amount=amount)
        tacc = float((predict(theirs(tw), x_test).argmax(1) == y_test).mean() * 100)
        curve.append({"sparsity": amount, "accuracy": round(acc, 2), "torch_accuracy": round(tacc, 2)})
        print(f"  global L1 {amount:4.0%}: acc {acc:6.2f} % (PyTorch prune: {tacc:6.2f} %)", flush=True)
    # 80 % unstructured + fine-tuning, then made permanent
    pruned = copy.deepcopy(model)
    targets = [(m, "weight") for m in pruned if type(m).__name__ in ("Linear", "Conv2d")]
    prune.global_unstructured(targets, prune.L1Unstructured, amount=0.8)
    train(pruned, x_train, y_train, 1, lr=3e-4, seed=1)
    for m, n in targets:
        prune.remove(m, n)
    row(table, "pruned 80 % + 1 epoch fine-tune", ours(pruned), x_test, y_test, shenjing_bytes(pruned),
        f"sparsity {prune.sparsity(pruned):.0%} (dense file; gzip shows the zeros)")
    pq = quantize_dynamic(pruned) if name == "mlp" else quantize_static(pruned, [x_train[:512]])
    row(table, "pruned 80 % + int8", ours(pq), x_test, y_test, shenjing_bytes(pq))
    # structured: half the neurons / filters, fine-tuned: a smaller dense model
    small = prune.shrink(model, 0.5)
    train(small, x_train, y_train, 1, lr=3e-4, seed=2)
    row(table, "shrunk 50 % neurons + fine-tune", ours(small), x_test, y_test, shenjing_bytes(small),
        f"{sum(p.numel() for p in small.parameters()):,} parameters (from "
        f"{sum(p.numel() for p in model.parameters()):,})")
    sq = quantize_dynamic(small) if name == "mlp" else quantize_static(small, [x_train[:512]])
    row(table, "shrunk 50 % + int8", ours(sq), x_test, y_test, shenjing_bytes(sq))
    return model, twin, table, curve


def plot(curves, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot([c["sparsity"] * 100 for c in curve], [c["accuracy"] for c in curve], "o-", label=f"{name} (shenjing)")
        ax.plot([c["sparsity"] * 100 for c in curve], [c["torch_accuracy"] for c in curve], "x--",
                label=f"{name} (PyTorch prune)")
    ax.set_xlabel("sparsity (%) — global magnitude pruning, no fine-tuning")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


# ---- the server under load -----------------------------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app in its own process (as in production: the load generator does not share the server's GIL)."""

    def __init__(self, framework, model_file, shape, **settings):
        self.port = free_port()
        self.command = [sys.executable, __file__, "--worker", framework, str(model_file), str(self.port),
                        ",".join(map(str, shape)), json.dumps(settings)]

    def __enter__(self):
        import subprocess

        import httpx

        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.process = subprocess.Popen(self.command, env=env)
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                time.sleep(0.2)
            if self.process.poll() is not None:
                break
        self.process.kill()
        raise RuntimeError(f"the server did not start: {self.command}")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)


def worker(framework, model_file, port, shape, settings):
    """``--worker``: serve the shenjing model file, or its PyTorch twin, behind the same FastAPI app."""
    import uvicorn

    from shenjing.serve import Predictor, create_app
    from shenjing.serve.app import load_predictor

    model = shenjing.load(model_file)
    shape = [int(v) for v in shape.split(",")]
    if framework == "pytorch":
        import torch

        torch.set_num_threads(1)
        predictor = Predictor(theirs(torch_twin(model)), shape)
    else:
        predictor = load_predictor(model, input_shape=shape)
    uvicorn.run(create_app(predictor, **json.loads(settings)), host="127.0.0.1", port=int(port), log_level="error")


async def load(url, body, clients, requests, budget_s):
    import httpx

    latencies = []
    deadline = time.perf_counter() + budget_s
    counter = iter(range(requests))

    async def worker(client):
        for _ in counter:
            if time.perf_counter() > deadline:
                return
            start = time.perf_counter()
            r = await client.post(url + "/v1/predict", content=body, headers={"content-type": "application/json"})
            r.raise_for_status()
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        wall = time.perf_counter() - start
    latencies.sort()
    return {"clients": clients, "requests": len(latencies), "throughput_rps": round(len(latencies) / wall, 1),
            "p50_ms": round(1000 * latencies[len(latencies) // 2], 2),
            "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2)}


def malformed_bodies(n, shape):
    rng = np.random.default_rng(0)
    width = int(np.prod(shape))
    good = json.dumps({"inputs": np.zeros(shape).tolist()}).encode()
    makers = [
        lambda: (b"{not json", "application/json"),
        lambda: (json.dumps({"inputs": [0.0] * int(rng.integers(0, width))}).encode(), "application/json"),
        lambda: (json.dumps({"inputs": ["x"] * width}).encode(), "application/json"),
        lambda: (json.dumps({"inputs": [[1.0], [1.0, 2.0]]}).encode(), "application/json"),
        lambda: (json.dumps({"wrong": 1}).encode(), "application/json"),
        lambda: (json.dumps([1, 2]).encode(), "application/json"),
        lambda: (b'{"inputs": [NaN]}', "application/json"),
        lambda: (bytes(rng.integers(0, 256, int(rng.integers(1, 300)), dtype=np.uint8)), "image/png"),
        lambda: (good[: int(rng.integers(1, len(good) - 1))], "application/json"),
        lambda: (b"1,2,3", "text/csv"),
        lambda: (b"[" * 3000 + b"]" * 3000, "application/json"),
        lambda: (json.dumps({"images": ["!!!"]}).encode(), "application/json"),
        lambda: (b"", "application/json"),
    ]
    return [makers[i % len(makers)]() for i in range(n)]


async def hammer(url, bodies, clients, budget_s):
    import httpx

    statuses = {}
    deadline = time.perf_counter() + budget_s
    queue = iter(bodies)

    async def worker(client):
        for body, kind in queue:
            if time.perf_counter() > deadline:
                return
            r = await client.post(url + "/v1/predict", content=body, headers={"content-type": kind})
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return statuses


def bench_serve(models, x_test, args, out):
    results = []
    for name, (model, _) in models.items():
        shape = list(x_test.shape[1:]) if name == "cnn" else [784]
        sample = x_test[:1].reshape([1, *shape])
        body = json.dumps({"inputs": sample[0].tolist()}).encode()
        shenjing.save(model, out / f"{name}.safetensors")
        for framework in ("shenjing", "pytorch"):
            with Server(framework, out / f"{name}.safetensors", shape, max_batch_size=32, max_wait_ms=2) as url:
                for clients in (1, 8, 32):
                    r = asyncio.run(load(url, body, clients, args.requests, args.budget))
                    r.update(model=name, framework=framework)
                    results.append(r)
                    print(f"  serve {name:3s} {framework:8s} {clients:2d} clients: {r['throughput_rps']:7.1f} req/s  "
                          f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  ({r['requests']} requests)",
                          flush=True)
    name = "mlp" if "mlp" in models else next(iter(models))
    shape = [784] if name == "mlp" else [1, 28, 28]
    with Server("shenjing", out / f"{name}.safetensors", shape, max_body_bytes=256 * 1024) as url:
        statuses = asyncio.run(hammer(url, malformed_bodies(args.malformed, shape), 32, args.budget * 4))
        import httpx

        after = httpx.post(url + "/v1/predict", json={"inputs": x_test[0].reshape(shape).tolist()})
    five = sum(n for s, n in statuses.items() if s >= 500)
    print(f"  malformed: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}, 5xx: {five}; "
          f"a good request after: {after.status_code}", flush=True)
    return results, {"statuses": statuses, "five_xx": five, "after": after.status_code}


def main():
    if sys.argv[1:2] == ["--worker"]:
        return worker(*sys.argv[2:7])
    import torch

    torch.set_num_threads(1)  # one thread, as onnxruntime here (intra_op_num_threads=1): a fair CPU comparison
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98])
    parser.add_argument("--serve", action="store_true", help="also run the HTTP load test")
    parser.add_argument("--requests", type=int, default=400, help="requests per load-test setting (upper bound)")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per load-test setting (upper bound)")
    parser.add_argument("--malformed", type=int, default=10000)
    parser.add_argument("--out", default="runs/bench_deploy")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report, curves, models = {}, {}, {}
    for name in args.models.split(","):
        flat = False
        x_train, y_train, x_test, y_test = _mnist.load(flat=flat)
        data = (x_train[: args.train_size], y_train[: args.train_size], x_test[: args.test_size],
                y_test[: args.test_size])
        model, twin, table, curve = bench_model(name, mlp if name == "mlp" else cnn, data, args, out)
        report[name], curves[name], models[name] = table, curve, (model, twin)
        base = table[0]
        for r in table[1:]:
            if r["bytes"]:
                print(f"    {r['variant']:34s} {base['bytes'] / r['bytes']:5.2f}× smaller, "
                      f"{r['accuracy'] - base['accuracy']:+.2f} points")
    plot(curves, out / "sparsity_accuracy.png")
    if args.serve:
        report["serve"], report["malformed"] = bench_serve(models, data[2], args, out)
    report["curves"] = curves
    (out / "bench_deploy.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {out / 'bench_deploy.json'}")


if __name__ == "__main__":
    main()
