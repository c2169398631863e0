"""The model server: answers, batching, metrics, docs, and a 4xx with a clear message for every client mistake."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import warnings

import numpy as np
import pytest

import shenjing
import shenjing.nn as nn

pytest.importorskip("fastapi", reason="serving tests need FastAPI (pip install shenjing[deploy])")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (pip install shenjing[deploy])")
PIL = pytest.importorskip("PIL.Image", reason="image requests need Pillow")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shenjing.serve import Predictor, create_app  # noqa: E402
from shenjing.serve.app import Batcher, Metrics, ServeConfig  # noqa: E402


def _mlp():
    shenjing.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 3))


def _cnn():
    shenjing.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32, 3))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    mlp, cnn = folder / "mlp.safetensors", folder / "cnn.safetensors"
    shenjing.save(_mlp(), mlp, input_shape=[64], class_names=["zero", "one", "two"])
    shenjing.save(_cnn(), cnn, input_shape=[1, 8, 8])
    return {"mlp": mlp, "cnn": cnn, "folder": folder}


@pytest.fixture(scope="module")
def client(files):
    with TestClient(create_app(files["mlp"], max_body_bytes=64 * 1024, max_pixels=10_000)) as c:
        yield c


def _ours(model, x):
    model.eval()
    with shenjing.no_grad():
        return model(shenjing.tensor(np.asarray(x, np.float32))).array


def _png(array, fmt="PNG"):
    buffer = io.BytesIO()
    PIL.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def _digit(size=40):
    img = np.zeros((size, size), np.uint8)
    img[size // 4 : 3 * size // 4, size // 2 - 3 : size // 2 + 3] = 255  # a "1"
    return img


def test_predict_one_and_batch(client):
    rng = np.random.default_rng(0)
    one = rng.standard_normal(64).round(4).tolist()
    r = client.post("/v1/predict", json={"inputs": one})
    assert r.status_code == 200
    body = r.json()
    np.testing.assert_allclose(body["outputs"], _ours(_mlp(), [one]), atol=1e-6)
    pred = body["predictions"][0]
    assert pred["label"] == ["zero", "one", "two"][pred["class"]]
    assert pred["class"] == int(np.argmax(body["outputs"][0]))
    assert abs(sum(t["probability"] for t in pred["top"]) - 1) < 1e-6 and len(pred["top"]) == 3
    batch = rng.standard_normal((5, 64)).round(4).tolist()
    r = client.post("/v1/predict", json={"inputs": batch, "top": 1})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["outputs"], _ours(_mlp(), batch), atol=1e-6)
    assert [len(p["top"]) for p in r.json()["predictions"]] == [1] * 5


def test_predict_images(files, client):
    from shenjing.train.inputs import prepare_image

    png = _png(_digit())
    expected = _ours(_mlp(), prepare_image(_digit() / 255.0, {"size": [8, 8], "box": 6, "flatten": True}))
    r = client.post("/v1/predict", content=png, headers={"content-type": "image/png"})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["outputs"], expected, atol=1e-5)
    jpeg = _png(_digit(), "JPEG")
    r = client.post("/v1/predict", json={"images": [base64.b64encode(png).decode(), base64.b64encode(jpeg).decode()]})
    assert r.status_code == 200 and len(r.json()["outputs"]) == 2
    with TestClient(create_app(files["cnn"])) as cnn:  # a (1, H, W) model takes images too
        r = cnn.post("/v1/predict", content=png, headers={"content-type": "image/png"})
        assert r.status_code == 200 and np.asarray(r.json()["outputs"]).shape == (1, 3)


def test_model_health_metrics_docs(client):
    info = client.get("/v1/model").json()
    assert info["input_shape"] == [64] and info["classes"] == ["zero", "one", "two"]
    assert info["parameters"] == 64 * 16 + 16 + 16 * 3 + 3
    assert info["structure"]["type"] == "Sequential" and info["version"]
    assert info["batching"]["max_batch_size"] == 32
    assert client.get("/health").json()["status"] == "ok"
    client.post("/v1/predict", json={"inputs": [0.0] * 64})
    client.post("/v1/predict", json={"inputs": [0.0] * 3})
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line and not line.startswith("#")}
    assert samples['shenjing_requests_total{method="POST",path="/v1/predict",status="200"}'] >= 1
    assert samples['shenjing_requests_total{method="POST",path="/v1/predict",status="422"}'] >= 1
    assert samples['shenjing_predict_latency_seconds_bucket{le="+Inf"}'] == samples["shenjing_predict_latency_seconds_count"]
    assert samples["shenjing_samples_total"] >= 1
    assert "# TYPE shenjing_batch_size histogram" in text
    spec = client.get("/openapi.json").json()
    assert "/v1/predict" in spec["paths"] and "image/png" in json.dumps(spec["paths"]["/v1/predict"])
    assert client.get("/docs").status_code == 200


MALFORMED = [
    # (description, request kwargs, status, words in the message)
    ("wrong shape", {"json": {"inputs": [1.0, 2.0]}}, 422, "shape (2,)"),
    ("wrong batch shape", {"json": {"inputs": [[1.0] * 63]}}, 422, "(N, 64)"),
    ("strings", {"json": {"inputs": ["a"] * 64}}, 422, "numbers only"),
    ("booleans", {"json": {"inputs": [True] * 64}}, 422, "numbers only"),
    ("null", {"json": {"inputs": [None] * 64}}, 422, "numbers only"),
    ("ragged", {"json": {"inputs": [[1.0] * 64, [1.0] * 3]}}, 422, "ragged"),
    ("too deep", {"json": {"inputs": [[[[[[1.0]]]]]]}}, 422, "deep"),
    ("not a list", {"json": {"inputs": 3}}, 422, "list"),
    ("empty batch", {"json": {"inputs": []}}, 422, "shape"),
    ("not an object", {"json": [1, 2, 3]}, 422, "object"),
    ("unknown field", {"json": {"input": [1.0] * 64}}, 422, "unknown field"),
    ("both fields", {"json": {"inputs": [1.0] * 64, "images": ["x"]}}, 422, "exactly one"),
    ("bad top", {"json": {"inputs": [1.0] * 64, "top": "3"}}, 422, "top"),
    ("NaN", {"content": b'{"inputs": [NaN]}', "headers": {"content-type": "application/json"}}, 400, "NaN"),
    ("huge number", {"content": b'{"inputs": [' + b"1e39," * 63 + b"1]}", "headers": {"content-type": "application/json"}},
     422, "float32"),
    ("huge integer", {"content": b'{"inputs": [' + b"9" * 400 + b"]}", "headers": {"content-type": "application/json"}},
     422, "too large"),
    ("infinity literal", {"content": b'{"inputs": [1e999]}', "headers": {"content-type": "application/json"}}, 422,
     "not finite"),
    ("not JSON", {"content": b"{inputs: 1", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
    ("not UTF-8", {"content": b"\xff\xfe\x00", "headers": {"content-type": "application/json"}}, 400, "JSON"),
    ("empty body", {"content": b"", "headers": {"content-type": "application/json"}}, 400, "empty"),
    ("deep JSON", {"content": b"[" * 100000 + b"]" * 100000, "headers": {"content-type": "application/json"}}, 413,
     "bytes"),
    ("nested JSON", {"content": b'{"inputs":' + b"[" * 5000 + b"]" * 5000 + b"}",
                     "headers": {"content-type": "application/json"}}, 400, "nested"),
    ("text/plain", {"content": b"1,2,3", "headers": {"content-type": "text/plain"}}, 415, "Content-Type"),
    ("not an image", {"content": b"hello", "headers": {"content-type": "image/png"}}, 400, "not an image"),
    ("truncated png", {"content": _png(_digit())[:60], "headers": {"content-type": "image/png"}}, 400, "image"),
    ("gif", {"content": b"", "headers": {"content-type": "image/gif"}}, 415, "Content-Type"),
    ("too many pixels", {"content": _png(np.zeros((200, 200), np.uint8)), "headers": {"content-type": "image/png"}},
     413, "pixels"),
    ("bad base64", {"json": {"images": ["***"]}}, 400, "base64"),
    ("images not strings", {"json": {"images": [1]}}, 422, "base64 strings"),
    ("too large", {"content": b" " * (65 * 1024), "headers": {"content-type": "application/json"}}, 413, "bytes"),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_client_mistakes_are_4xx_with_a_message(client, case):
    _, kwargs, status, words = case
    r = client.post("/v1/predict", **kwargs)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_other_mistakes(client):
    assert client.get("/v1/predict").status_code == 405
    assert "not allowed" in client.get("/v1/predict").json()["error"]
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and "/docs" in r.json()["error"]
    r = client.post("/v1/predict", content=b"{}", headers={"content-type": "application/json", "content-length": "x"})
    assert r.status_code == 400


def test_streamed_body_refused_while_reading(client):
    def chunks():
        for _ in range(100):
            yield b" " * 1024

    r = client.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "bytes accepted" in r.json()["error"]


def test_fuzz_never_5xx_and_still_answers(client):
    rng = random.Random(0)
    PNG = _png(_digit())  # noqa: N806 - cut in its first half: a truncated image
    good = [0.5] * 64
    kinds = [
        lambda: {"json": {"inputs": good[: rng.randrange(64)]}},
        lambda: {"json": {"inputs": [rng.choice([None, "x", [], {}, True, 1.0]) for _ in range(64)]}},
        lambda: {"content": bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))),
                 "headers": {"content-type": rng.choice(["application/json", "image/png", "image/jpeg", "x/y"])}},
        lambda: {"content": json.dumps({"inputs": good})[: rng.randrange(1, 200)].encode(),
                 "headers": {"content-type": "application/json"}},
        lambda: {"json": {rng.choice(["inputs", "images", "top", "z"]): rng.choice([1, "a", [1], None, {"a": 1}])}},
        lambda: {"content": PNG[: rng.randrange(1, len(PNG) // 2)], "headers": {"content-type": "image/png"}},
    ]
    for _ in range(600):
        request = rng.choice(kinds)()
        status = client.post("/v1/predict", **request).status_code
        assert 400 <= status < 500, (status, request)
    r = client.post("/v1/predict", json={"inputs": good})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["outputs"], _ours(_mlp(), [good]), atol=1e-6)


def test_concurrent_requests_are_batched():
    calls = []

    def fn(batch):
        calls.append(len(batch))
        return batch.sum(axis=1, keepdims=True) * np.ones((1, 2), np.float32)

    predictor = Predictor(fn, [3])
    metrics = Metrics()
    batcher = Batcher(predictor, ServeConfig(max_batch_size=8, max_wait_ms=200), metrics)

    async def main():
        xs = [np.full((1 if i % 2 else 2, 3), i, np.float32) for i in range(6)]  # 9 samples in all
        outs = await asyncio.gather(*(batcher.submit(x) for x in xs))
        await batcher.stop()
        return xs, outs

    xs, outs = asyncio.run(main())
    for x, out in zip(xs, outs, strict=True):
        np.testing.assert_allclose(out, np.repeat(x.sum(axis=1, keepdims=True), 2, axis=1))
    assert calls == [8, 1]  # size limit: 8 together, the rest in a second run
    assert metrics.batch["count"] == 2 and metrics.samples == 9


def test_wait_time_bounds_a_batch():
    calls = []
    predictor = Predictor(lambda b: calls.append(len(b)) or b, [2])
    batcher = Batcher(predictor, ServeConfig(max_batch_size=100, max_wait_ms=0), Metrics())

    async def main():
        a = await batcher.submit(np.ones((1, 2), np.float32))
        b = await batcher.submit(np.ones((3, 2), np.float32))
        await batcher.stop()
        return a, b

    a, b = asyncio.run(main())
    assert calls == [1, 3] and a.shape == (1, 2) and b.shape == (3, 2)


def test_model_failure_is_500_and_server_survives():
    state = {"fail": False}

    def fn(batch):
        if state["fail"]:
            raise RuntimeError("boom")
        return batch

    with TestClient(create_app(Predictor(fn, [2])), raise_server_exceptions=False) as c:
        state["fail"] = True
        assert c.post("/v1/predict", json={"inputs": [1.0, 2.0]}).status_code == 500
        state["fail"] = False
        assert c.post("/v1/predict", json={"inputs": [1.0, 2.0]}).json()["outputs"] == [[1.0, 2.0]]


def test_bad_models_refused_before_ready(files):
    from shenjing.io import ModelFileError

    bad = files["folder"] / "bad.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        create_app(bad)
    with pytest.raises(ValueError, match="not finite"):
        create_app(Predictor(lambda b: b * np.nan, [2]))
    with pytest.raises(ValueError, match="input shape"):
        create_app(nn.Sequential(nn.Conv2d(1, 1, 3)))
    with pytest.raises(TypeError, match="unknown setting"):
        create_app(Predictor(lambda b: b, [2]), max_batch=3)


def test_cli_serve_refuses_bad_file(files, capsys):
    from shenjing.cli import main

    bad = files["folder"] / "bad2.safetensors"
    bad.write_bytes(b"\x00" * 10)
    assert main(["serve", str(bad)]) == 2
    assert "shenjing serve: error" in capsys.readouterr().err
    assert main(["serve", str(files["folder"] / "missing.safetensors")]) == 2
    assert "no such model file" in capsys.readouterr().err
    assert main(["serve", str(files["mlp"]), "--workers", "0"]) == 2
