"""``shenjing serve MODEL``: the model server (see :mod:`shenjing.serve.app`) under uvicorn.

    shenjing serve runs/mnist_cnn/model.safetensors --port 8000 --workers 2 --max-batch-size 32 --max-wait-ms 5
    curl -s localhost:8000/v1/predict -H 'content-type: image/png' --data-binary @examples/digit.png

The model file is loaded and dry-run before uvicorn starts (a bad file is one error line, exit code 2); each
worker process then loads it once for itself.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

__all__ = ["add_parser", "run", "app_from_env"]

_ENV = "SHENJING_SERVE"  # the settings, as JSON, for worker processes (uvicorn imports the app by name)


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser("serve", parents=[common], help="serve a model file over HTTP (JSON API, /docs)")
    serve.add_argument("model", help="a model file (model.safetensors)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes, each with its own copy of the model")
    serve.add_argument("--max-batch-size", type=int, default=32, help="samples run together at most (default 32)")
    serve.add_argument("--max-wait-ms", type=float, default=5.0, help="wait for more requests, at most (default 5)")
    serve.add_argument("--max-body-bytes", type=int, default=8 * 1024 * 1024, help="larger bodies get 413")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))


def _settings(args: argparse.Namespace) -> dict:
    return {
        "model": os.path.abspath(args.model),
        "max_batch_size": args.max_batch_size,
        "max_wait_ms": args.max_wait_ms,
        "max_body_bytes": args.max_body_bytes,
    }


def app_from_env() -> Any:
    """The app for one uvicorn worker, from the settings ``run`` left in the environment."""
    from .app import create_app

    settings = json.loads(os.environ[_ENV])
    return create_app(settings.pop("model"), **settings)


def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError, _require_file

    try:
        import uvicorn
    except ImportError:
        raise ImportError("serving needs FastAPI and uvicorn: pip install shenjing[deploy]") from None
    _require_file(args.model, "model file")
    if args.workers < 1 or not 0 < args.port < 65536 or args.max_batch_size < 1 or args.max_body_bytes < 1:
        raise UsageError("--workers, --max-batch-size and --max-body-bytes must be positive, --port 1-65535")
    settings = _settings(args)
    from .app import create_app

    try:  # validate the file (load + dry run) before saying anything is ready
        create_app(settings["model"], **{k: v for k, v in settings.items() if k != "model"})
    except RuntimeError as error:
        raise UsageError(f"{args.model}: the model does not run on its declared input: {error}") from None
    os.environ[_ENV] = json.dumps(settings)
    uvicorn.run("shenjing.serve.cli:app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level)
    return 0
