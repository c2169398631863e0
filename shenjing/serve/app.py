"""The HTTP model server: a FastAPI app around one model, with request batching, metrics and strict input checks.

    from shenjing.serve import create_app
    app = create_app("runs/mnist_cnn/model.safetensors", max_batch_size=32, max_wait_ms=5)
    # uvicorn.run(app)  — or on the command line:  shenjing serve runs/mnist_cnn/model.safetensors --port 8000

Endpoints:
    POST /v1/predict   JSON {"inputs": one sample or a batch of samples (nested lists of numbers)}, or one image as
                       the raw body (Content-Type image/png or image/jpeg), or JSON {"images": [base64 PNG/JPEG, …]}.
                       → {"outputs": [[…], …], "predictions": [{"class", "label", "probability"}, …] (classifiers)}
    GET  /v1/model     structure, input shape, classes, parameters, versions, batching settings
    GET  /health       {"status": "ok"} once the model is loaded and has answered a dry run
    GET  /metrics      Prometheus text format: requests by endpoint and status, latency and batch-size histograms
    GET  /docs         OpenAPI (Swagger UI); /openapi.json

Batching: requests wait in a queue; one worker takes up to ``max_batch_size`` samples, waiting at most
``max_wait_ms`` after the first for more, runs the model once on them all (in a thread, so the event loop keeps
accepting), and answers each request with its rows.

Client mistakes are 4xx with a message saying what was wrong: 400 not JSON / not an image / bad base64, 413 body
too large (refused from Content-Length before reading, or as soon as a streamed body passes the limit) or too many
pixels, 415 unsupported Content-Type, 422 wrong shape, wrong dtype, non-finite numbers, too many samples. Only a
failure of the server itself is a 500.
"""


import asyncio
import base64
import binascii
import io
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy  # request decoding and response encoding on the host (the model's math goes through shenjing)

__all__ = ["create_app", "ServeConfig", "Predictor", "ClientError", "load_predictor", "Metrics"]


@dataclass
class ServeConfig:
    max_batch_size: int = 32  # samples run together at most
    max_wait_ms: float = 5.0  # how long the first queued request waits for company
    max_body_bytes: int = 8 * 1024 * 1024  # larger bodies: 413, before they are read
    max_samples_per_request: int = 1024
    max_pixels: int = 4_000_000  # larger images: 413, from the header, before decoding
    max_json_depth: int = 16


class ClientError(Exception):
    """A request the client got wrong: answered with ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Predictor:
    """A model behind a plain function: float32 batch (N, *input_shape) → outputs (N, …) as a NumPy array.

    ``fn`` may be any callable (a PyTorch model for comparisons, an onnxruntime session); :func:`load_predictor`
    makes one from a shenjing model or model file.
    """

    def __init__(
        self,
        fn: Callable[[numpy.ndarray], numpy.ndarray],
        input_shape: list[int],
        class_names: list[str] | None = None,
        task: str = "classification",
        preprocessing: dict | None = None,
        description: dict | None = None,
    ) -> None:
        self.fn, self.input_shape = fn, [int(s) for s in input_shape]
        self.class_names, self.task = class_names, task
        self.preprocessing, self.description = preprocessing, description or {}

    def __call__(self, batch: numpy.ndarray) -> numpy.ndarray:
        return numpy.asarray(self.fn(batch))

    def check(self) -> None:
        """A dry run on zeros: a model that cannot answer is found before the server says it is ready."""
        out = self(numpy.zeros([1, *self.input_shape], dtype=numpy.float32))
        if out.ndim < 1 or out.shape[0] != 1:
            raise ValueError(f"the model answered a batch of 1 with shape {out.shape}: expected (1, …)")
        if not numpy.isfinite(out).all():
            raise ValueError("the model's output on zeros is not finite (NaN or inf): check the weights")


def _first_leaf(model: Any) -> Any:
    return next((m for _, m in model.named_modules() if not any(True for _ in m.children())), None)


def load_predictor(model: Any, input_shape: list[int] | None = None, **metadata: Any) -> Predictor:
    """A :class:`Predictor` for a shenjing model or model file (loaded once, eval mode, no autograd)."""
    from .. import __version__
    from ..autograd import no_grad
    from ..creation import tensor
    from ..io import describe, load

    document: dict = {"metadata": dict(metadata)}
    source = None
    if not hasattr(model, "forward"):
        source = str(model)
        model, document = load(model, with_metadata=True)
    meta = dict(document.get("metadata") or {})
    model.eval()
    shape = input_shape or meta.get("input_shape")
    if not shape:
        first = _first_leaf(model)
        if type(first).__name__ != "Linear":
            raise ValueError("the model does not record its input shape: save it with input_shape=[…]")
        shape = [first.in_features]
    lock = threading.Lock()

    def run(batch: numpy.ndarray) -> numpy.ndarray:
        with lock, no_grad():  # grad mode is per thread: set it in the thread that runs the model
            out = model(tensor(batch))
        array = out.array
        return array.get() if hasattr(array, "get") else numpy.asarray(array)

    try:
        structure = describe(model)
    except Exception:  # noqa: BLE001 - a custom layer: describe it by its repr
        structure = {"repr": repr(model)}
    description = {
        "name": type(model).__name__,
        "file": source,
        "structure": structure,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "framework": "shenjing",
        "version": meta.get("version") or document.get("shenjing_version") or __version__,
        "summary": repr(model),
    }
    return Predictor(
        run, list(shape), meta.get("class_names"), meta.get("task", "classification"), meta.get("preprocessing"),
        description,
    )


# ---- metrics (Prometheus text format 0.0.4, no client library needed) ----------------------------------------------
class Metrics:
    LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
    BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency = self._histogram(self.LATENCY_BUCKETS)
        self.batch = self._histogram(self.BATCH_BUCKETS)
        self.samples = 0
        self.queue = 0
        self.started = time.time()

    @staticmethod
    def _histogram(buckets: tuple) -> dict:
        return {"buckets": buckets, "counts": [0] * len(buckets), "sum": 0.0, "count": 0}

    @staticmethod
    def _observe(h: dict, value: float) -> None:
        for i, edge in enumerate(h["buckets"]):
            if value <= edge:
                h["counts"][i] += 1
        h["sum"] += value
        h["count"] += 1

    def request(self, method: str, path: str, status: int, seconds: float) -> None:
        with self.lock:
            key = (method, path, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            if path == "/v1/predict":
                self._observe(self.latency, seconds)

    def batch_run(self, size: int) -> None:
        with self.lock:
            self._observe(self.batch, size)
            self.samples += size

    def text(self) -> str:
        lines = [
            "# HELP shenjing_requests_total HTTP requests by method, path and status code.",
            "# TYPE shenjing_requests_total counter",
        ]
        with self.lock:
            for (method, path, status), n in sorted(self.requests.items()):
                lines.append(f'shenjing_requests_total{{method="{method}",path="{path}",status="{status}"}} {n}')
            lines += self._histogram_lines(
                "shenjing_predict_latency_seconds", "Time from receiving a /v1/predict request to answering it.",
                self.latency,
            )
            lines += self._histogram_lines("shenjing_batch_size", "Samples per model run.", self.batch)
            lines += [
                "# HELP shenjing_samples_total Samples run through the model.",
                "# TYPE shenjing_samples_total counter",
                f"shenjing_samples_total {self.samples}",
                "# HELP shenjing_queue_samples Samples waiting for the model now.",
                "# TYPE shenjing_queue_samples gauge",
                f"shenjing_queue_samples {self.queue}",
                "# HELP shenjing_uptime_seconds Seconds since the server started.",
                "# TYPE shenjing_uptime_seconds gauge",
                f"shenjing_uptime_seconds {time.time() - self.started:.3f}",
            ]
        return "\n".join(lines) + "\n"

    @staticmethod
    def _histogram_lines(name: str, help_text: str, h: dict) -> list[str]:
        lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        for edge, n in zip(h["buckets"], h["counts"], strict=True):
            lines.append(f'{name}_bucket{{le="{edge}"}} {n}')
        lines += [f'{name}_bucket{{le="+Inf"}} {h["count"]}', f"{name}_sum {h['sum']:.6f}", f"{name}_count {h['count']}"]
        return lines


# ---- batching ---------------------------------------------------------------------------------------------------------
class Batcher:
    """Collects queued requests into batches of at most max_batch_size samples and runs the model on each."""

    def __init__(self, predictor: Predictor, config: ServeConfig, metrics: Metrics) -> None:
        self.predictor, self.config, self.metrics = predictor, config, metrics
        self.queue: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shenjing-model")

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.queue = asyncio.Queue()
            self.task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
            self.task = None

    async def submit(self, x: numpy.ndarray) -> numpy.ndarray:
        self.start()
        future = asyncio.get_running_loop().create_future()
        self.metrics.queue += len(x)
        await self.queue.put((x, future))
        return await future

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        pending: tuple | None = None
        while True:
            first = pending or await self.queue.get()
            pending = None
            items, count = [first], len(first[0])
            deadline = loop.time() + self.config.max_wait_ms / 1000
            while count < self.config.max_batch_size:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                if count + len(item[0]) > self.config.max_batch_size:
                    pending = item  # starts the next batch
                    break
                items.append(item)
                count += len(item[0])
            self.metrics.queue -= count
            batch = numpy.concatenate([x for x, _ in items]) if len(items) > 1 else items[0][0]
            try:
                out = await loop.run_in_executor(self.executor, self.predictor, batch)
                if out.shape[:1] != (len(batch),):
                    raise RuntimeError(f"the model answered {len(batch)} samples with shape {out.shape}")
            except Exception as error:  # noqa: BLE001 - the model failed: every waiting request learns it
                for _, future in items:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.metrics.batch_run(len(batch))
            start = 0
            for x, future in items:
                if not future.done():
                    future.set_result(out[start : start + len(x)])
                start += len(x)


# ---- request decoding ---------------------------------------------------------------------------------------------------
def _depth(value: Any, limit: int) -> int:
    """Nesting depth of lists, stopping at limit + 1 (no recursion: a hostile body cannot blow the stack)."""
    depth, level = 0, [value]
    while level and depth <= limit:
        lists = [v for v in level if isinstance(v, list)]
        if not lists:
            break
        depth += 1
        level = [item for v in lists for item in v]
    return depth


def decode_array(value: Any, input_shape: list[int], config: ServeConfig, what: str = "inputs") -> numpy.ndarray:
    """JSON numbers (one sample shaped input_shape, or a batch of them) → float32 (N, *input_shape)."""
    if not isinstance(value, list):
        raise ClientError(422, f"'{what}' must be a list of numbers (one sample) or a list of samples, got "
                               f"{type(value).__name__}")
    depth = _depth(value, config.max_json_depth)
    if depth > len(input_shape) + 1:
        raise ClientError(422, f"'{what}' is nested {depth if depth <= config.max_json_depth else 'too'} deep; "
                               f"a sample has shape {tuple(input_shape)}, a batch (N, {', '.join(map(str, input_shape))})")
    try:
        raw = numpy.array(value, dtype=object)
    except ValueError as error:
        raise ClientError(422, f"'{what}' is ragged (rows of different lengths): {error}") from None
    flat = raw.reshape(-1) if raw.ndim else raw.reshape(1)
    if raw.ndim != depth or any(isinstance(v, list) for v in flat[:1]):
        raise ClientError(422, f"'{what}' is ragged: every row must have the same length")
    bad = [v for v in flat if isinstance(v, bool) or not isinstance(v, int | float)][:1]
    if bad:
        bad = bad[0]
        raise ClientError(422, f"'{what}' must hold numbers only, found {type(bad).__name__} {json.dumps(bad)[:40]}")
    try:
        array = raw.astype(numpy.float64)
    except (OverflowError, ValueError, TypeError):  # an integer of hundreds of digits
        raise ClientError(422, f"'{what}' holds a number too large for float32") from None
    if not numpy.isfinite(array).all():
        raise ClientError(422, f"'{what}' holds a number that is not finite (NaN or infinity)")
    if numpy.abs(array).max(initial=0) > numpy.finfo(numpy.float32).max:
        raise ClientError(422, f"'{what}' holds a number too large for float32")
    shape = tuple(input_shape)
    if array.shape == shape:
        array = array[None]
    elif array.shape[1:] != shape:
        raise ClientError(
            422,
            f"'{what}' has shape {array.shape}; the model takes one sample of shape {shape} or a batch of shape "
            f"(N, {', '.join(map(str, shape))})",
        )
    if len(array) == 0:
        raise ClientError(422, f"'{what}' is an empty batch")
    if len(array) > config.max_samples_per_request:
        raise ClientError(422, f"'{what}' has {len(array)} samples, more than the {config.max_samples_per_request} "
                               "accepted per request: split it")
    return array.astype(numpy.float32)


def decode_image(data: bytes, predictor: Predictor, config: ServeConfig, what: str = "the body") -> numpy.ndarray:
    """PNG/JPEG bytes → one model input (1, *input_shape), preprocessed as in training (grey, centred, scaled)."""
    import warnings

    from PIL import Image

    from ..train.inputs import prepare_image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # the header only: the size is known before decoding
                if image.format not in ("PNG", "JPEG"):
                    raise ClientError(415, f"{what}: a {image.format} image; PNG and JPEG are accepted")
                width, height = image.size
                if width * height > config.max_pixels:
                    raise ClientError(413, f"{what}: the image is {width}×{height} = {width * height:,} pixels, more "
                                           f"than the {config.max_pixels:,} accepted: scale it down")
                grey = numpy.asarray(image.convert("L"), dtype=numpy.float64) / 255.0
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ClientError(413, f"{what}: refused, too many pixels ({error})") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ClientError(400, f"{what}: not an image that can be read ({error}); send a PNG or JPEG") from None
    if grey.ndim != 2 or grey.size == 0:
        raise ClientError(400, f"{what}: an empty image")
    shape = predictor.input_shape
    preprocessing = dict(predictor.preprocessing or {})
    if not preprocessing:
        if len(shape) == 1:
            side = int(round(shape[0] ** 0.5))
            if side * side != shape[0]:
                raise ClientError(415, f"this model takes {shape[0]} features, not images: send JSON {{\"inputs\"}}")
            size = [side, side]
        elif len(shape) == 3 and shape[0] == 1:
            size = shape[1:]
        else:
            raise ClientError(415, f"this model takes inputs of shape {tuple(shape)}, not grey images: send JSON")
        preprocessing = {"kind": "image", "size": size, "box": round(min(size) * 20 / 28), "flatten": len(shape) == 1}
    x = prepare_image(grey, preprocessing)
    if list(x.shape[1:]) != shape:
        raise ClientError(415, f"images become shape {x.shape[1:]}, the model takes {tuple(shape)}: send JSON")
    return x.astype(numpy.float32)


def _softmax_rows(out: numpy.ndarray) -> numpy.ndarray:
    z = out - out.max(axis=1, keepdims=True)
    e = numpy.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def encode_outputs(out: numpy.ndarray, predictor: Predictor, top: int) -> dict:
    result: dict = {"outputs": out.astype(numpy.float64).tolist()}
    if predictor.task == "classification" and out.ndim == 2 and out.shape[1] > 1:
        probs = _softmax_rows(out.astype(numpy.float64))
        names = predictor.class_names
        predictions = []
        for p in probs:
            order = numpy.argsort(-p, kind="stable")
            label = lambda c: names[c] if names and c < len(names) else str(c)  # noqa: E731
            predictions.append({
                "class": int(order[0]),
                "label": label(int(order[0])),
                "probability": float(p[order[0]]),
                "top": [{"class": int(c), "label": label(int(c)), "probability": float(p[c])} for c in order[:top]],
            })
        result["predictions"] = predictions
    return result


# ---- the body-size guard (pure ASGI, before FastAPI reads anything) ------------------------------------------------------
_KNOWN = {"/v1/predict", "/v1/model", "/health", "/metrics", "/docs", "/openapi.json"}


class BodyLimit:
    """Refuse bodies over ``limit`` bytes: from Content-Length before reading, or once a streamed body passes it.

    Also counts every answered request (method, path, status, time) in ``metrics``.
    """

    def __init__(self, app: Any, limit: int, metrics: Metrics | None = None) -> None:
        self.app, self.limit, self.metrics = app, limit, metrics

    async def _refuse(self, scope: dict, send: Callable, status: int, message: str) -> None:
        if self.metrics is not None:
            self.metrics.request(scope.get("method", "?"), "refused", status, 0.0)
        await _plain(send, status, message)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = None
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await self._refuse(scope, send, 400, "Content-Length is not a number")
                    return
        if length is not None and length > self.limit:
            await self._refuse(scope, send, 413, f"the body is {length:,} bytes, more than the {self.limit:,} accepted")
            return
        received = 0
        started = False

        async def guarded_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:  # a streamed (chunked) body: stop reading, answer 413
                    raise ClientError(413, f"the body is more than the {self.limit:,} bytes accepted")
            return message

        status = 500
        clock = time.perf_counter()

        async def tracking_send(message: dict) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except ClientError as error:  # raised from receive outside the app's handlers
            if not started:
                await self._refuse(scope, send, error.status, error.message)
            return
        finally:
            if self.metrics is not None and started:
                path = scope.get("path", "")
                self.metrics.request(scope.get("method", "?"), path if path in _KNOWN else "other", status,
                                     time.perf_counter() - clock)


async def _plain(send: Callable, status: int, message: str) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ---- the app --------------------------------------------------------------------------------------------------------------
def create_app(model: Any, config: ServeConfig | None = None, **settings: Any) -> Any:
    """A FastAPI app serving ``model`` (a model file path, a shenjing Module, or a :class:`Predictor`).

    The model is loaded and dry-run here, once per worker process: a bad file fails before the server is ready.
    ``settings`` override :class:`ServeConfig` fields (max_batch_size, max_wait_ms, max_body_bytes, …).
    """
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    config = config or ServeConfig()
    for key, value in settings.items():
        if not hasattr(config, key):
            raise TypeError(f"create_app: unknown setting {key!r}")
        setattr(config, key, value)
    if config.max_batch_size < 1 or config.max_wait_ms < 0 or config.max_body_bytes < 1:
        raise ValueError("max_batch_size and max_body_bytes must be positive and max_wait_ms not negative")
    predictor = model if isinstance(model, Predictor) else load_predictor(model)
    predictor.check()
    metrics = Metrics()
    batcher = Batcher(predictor, config, metrics)

    @asynccontextmanager
    async def lifespan(app: Any):  # noqa: ANN202
        batcher.start()
        yield
        await batcher.stop()

    from .. import __version__

    app = FastAPI(
        title="shenjing model server",
        version=__version__,
        description="Predictions from one shenjing model, batched. POST /v1/predict with JSON {\"inputs\": …} or a "
        "PNG/JPEG body.",
        lifespan=lifespan,
    )
    app.state.predictor, app.state.config, app.state.metrics = predictor, config, metrics

    def error(status: int, message: str) -> Any:
        return JSONResponse({"error": message, "status": status}, status_code=status)

    @app.exception_handler(ClientError)
    async def client_error(request: Request, exc: ClientError) -> Any:
        return error(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        messages = {404: f"no endpoint {request.url.path}; see /docs", 405: f"{request.method} is not allowed on "
                    f"{request.url.path}"}
        return error(exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Any:
        return error(422, f"invalid request: {exc.errors()[:3]}")

    @app.get("/health", summary="Liveness and readiness")
    async def health() -> dict:
        return {"status": "ok", "model": predictor.description.get("name")}

    @app.get("/v1/model", summary="The served model: structure, input shape, classes, version")
    async def model_info() -> dict:
        return {
            **predictor.description,
            "input_shape": predictor.input_shape,
            "task": predictor.task,
            "classes": predictor.class_names,
            "server_version": __version__,
            "batching": {"max_batch_size": config.max_batch_size, "max_wait_ms": config.max_wait_ms},
            "limits": {"max_body_bytes": config.max_body_bytes, "max_pixels": config.max_pixels,
                       "max_samples_per_request": config.max_samples_per_request},
        }

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus() -> Any:
        return PlainTextResponse(metrics.text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.post(
        "/v1/predict",
        summary="Predict for one sample or a batch",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "inputs": {"description": "one sample (nested lists of numbers shaped like the input) or a "
                                   "batch of them"},
                        "images": {"type": "array", "items": {"type": "string", "format": "byte"},
                                   "description": "base64 PNG/JPEG images"},
                        "top": {"type": "integer", "default": 3}}}},
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
    )
    async def predict(request: Request) -> Any:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        top = 3
        if kind in ("image/png", "image/jpeg", "image/jpg"):
            x = decode_image(body, predictor, config)
        elif kind in ("application/json", ""):
            if not body:
                raise ClientError(400, "the body is empty: send JSON {\"inputs\": [...]} or a PNG/JPEG image")
            try:
                payload = json.loads(body, parse_constant=_no_constant)
            except RecursionError:
                raise ClientError(400, "the JSON is nested too deeply") from None
            except (ValueError, UnicodeDecodeError) as exc:
                raise ClientError(400, f"the body is not valid JSON ({exc})") from None
            if not isinstance(payload, dict):
                raise ClientError(422, f"the JSON must be an object like {{\"inputs\": [...]}}, got "
                                       f"{type(payload).__name__}")
            unknown = set(payload) - {"inputs", "images", "top"}
            if unknown:
                raise ClientError(422, f"unknown field(s) {sorted(unknown)}; expected 'inputs' or 'images' (and 'top')")
            top = payload.get("top", 3)
            if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 1000:
                raise ClientError(422, f"'top' must be an integer from 1 to 1000, got {json.dumps(top)[:40]}")
            if ("inputs" in payload) == ("images" in payload):
                raise ClientError(422, "send exactly one of 'inputs' (numbers) or 'images' (base64 PNG/JPEG)")
            if "inputs" in payload:
                x = decode_array(payload["inputs"], predictor.input_shape, config)
            else:
                images = payload["images"]
                if not isinstance(images, list) or not images or not all(isinstance(s, str) for s in images):
                    raise ClientError(422, "'images' must be a non-empty list of base64 strings")
                if len(images) > config.max_samples_per_request:
                    raise ClientError(422, f"{len(images)} images, more than the {config.max_samples_per_request} "
                                           "accepted per request")
                decoded = []
                for i, text in enumerate(images):
                    try:
                        data = base64.b64decode(text, validate=True)
                    except (binascii.Error, ValueError):
                        raise ClientError(400, f"images[{i}] is not valid base64") from None
                    decoded.append(decode_image(data, predictor, config, f"images[{i}]"))
                x = numpy.concatenate(decoded)
        else:
            raise ClientError(415, f"Content-Type {kind!r} is not accepted: send application/json, image/png or "
                                   "image/jpeg")
        out = await batcher.submit(x)
        return encode_outputs(out, predictor, top)

    app.add_middleware(BodyLimit, limit=config.max_body_bytes, metrics=metrics)  # outermost: before any reading
    return app


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")

