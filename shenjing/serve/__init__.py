"""Serving: a shenjing model behind an HTTP JSON API (FastAPI + uvicorn), batched, measured, hardened.

See :mod:`shenjing.serve.app` for the endpoints; ``shenjing serve MODEL`` starts it from the command line.
FastAPI is imported only when an app is created (``pip install shenjing[deploy]``).
"""

from .app import ClientError, Metrics, Predictor, ServeConfig, create_app, load_predictor

__all__ = ["create_app", "ServeConfig", "Predictor", "ClientError", "load_predictor", "Metrics"]
