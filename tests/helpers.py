"""The one op-checking helper: the same inputs through shenjing and PyTorch, and central finite differences.

    check_torch(sj_fn, torch_fn, inputs)   forward values and every input's gradient vs torch 2.13 (f32 + f64)
    check_gradients(sj_fn, inputs)         analytic gradient vs central finite differences in float64
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import shenjing

TORCH_REASON = "the PyTorch parity checks need torch==2.13.0 (pip install -e .[test])"


class _MissingTorch:
    """Stands in for ``torch`` when it is not installed, so that the NumPy-only tests (finite differences, the
    textbook examples) still run: any use of it (a call, ``with``, iteration, a comparison) skips the test that
    needs it; module-level names such as ``torch.nn.functional`` resolve to further stand-ins."""

    def __init__(self, name: str = "torch") -> None:
        self._name = name

    def __getattr__(self, name: str) -> _MissingTorch:
        if name.startswith("__"):
            raise AttributeError(name)
        return _MissingTorch(f"{self._name}.{name}")

    def _skip(self, *args: Any, **kwargs: Any) -> Any:
        pytest.skip(f"{self._name}: {TORCH_REASON}", allow_module_level=True)

    __call__ = __enter__ = __iter__ = __bool__ = __eq__ = __hash__ = __getitem__ = _skip

    def __exit__(self, *args: Any) -> None: ...


try:
    import torch
except ImportError:  # NumPy-only tests run; the parity checks skip, saying why
    torch = _MissingTorch()
HAS_TORCH = not isinstance(torch, _MissingTorch)

TOLERANCES = {
    "float32": dict(fwd_atol=1e-6, fwd_rtol=1e-3, grad_atol=1e-4, grad_rtol=1e-3),
    "float64": dict(fwd_atol=1e-12, fwd_rtol=1e-10, grad_atol=1e-12, grad_rtol=1e-10),
}


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, tuple | list) else [out]


def _weights_for(out: np.ndarray, seed: int = 0) -> np.ndarray:
    """Random upstream gradients (so that a wrong gradient cannot hide behind a plain sum)."""
    return np.random.default_rng(seed).standard_normal(out.shape)


def check_torch(
    sj_fn: Callable,
    torch_fn: Callable,
    inputs: list[np.ndarray],
    dtypes: tuple = ("float32", "float64"),
    grad: bool = True,
    requires_grad: list[bool] | None = None,
    tol: dict | None = None,
) -> None:
    """Run the same NumPy ``inputs`` through shenjing and torch; compare outputs and input gradients.

    Floating inputs are cast to each dtype in ``dtypes``; integer inputs are passed as they are (no grad).
    The backward pass uses the same random upstream gradient for both libraries.
    """
    if not HAS_TORCH:
        pytest.skip(TORCH_REASON)
    for dtype in dtypes:
        tolerance = {**TOLERANCES[dtype], **(tol or {}).get(dtype, {})}
        sj_inputs, t_inputs = [], []
        for i, x in enumerate(inputs):
            x = np.asarray(x)
            floating = x.dtype.kind == "f"
            want_grad = grad and floating and (requires_grad is None or requires_grad[i])
            x = x.astype(dtype) if floating else x
            sj_inputs.append(shenjing.tensor(x, requires_grad=want_grad))
            t_inputs.append(torch.tensor(x, requires_grad=want_grad))
        sj_out = _as_list(sj_fn(*sj_inputs))
        t_out = _as_list(torch_fn(*t_inputs))
        assert len(sj_out) == len(t_out)
        for so, to in zip(sj_out, t_out):
            expected = to.detach().numpy()
            assert tuple(so.shape) == tuple(expected.shape), f"shape {so.shape} != torch {expected.shape}"
            assert so.dtype == expected.dtype, f"dtype {so.dtype} != torch {expected.dtype}"
            np.testing.assert_allclose(
                so.detach().numpy(), expected, atol=tolerance["fwd_atol"], rtol=tolerance["fwd_rtol"],
                err_msg=f"forward ({dtype})",
            )
        if not grad or not any(t.requires_grad for t in sj_inputs):
            continue
        sj_total, t_total = 0, 0
        for k, (so, to) in enumerate(zip(sj_out, t_out)):
            if not to.requires_grad:
                continue
            w = _weights_for(to.detach().numpy(), seed=k).astype(dtype)
            sj_total = sj_total + (so * shenjing.tensor(w)).sum()
            t_total = t_total + (to * torch.tensor(w)).sum()
        sj_total.backward()
        t_total.backward()
        for i, (si, ti) in enumerate(zip(sj_inputs, t_inputs)):
            if not ti.requires_grad:
                continue
            if ti.grad is None:
                assert si.grad is None or not np.any(si.grad.numpy()), f"input {i}: torch has no gradient"
                continue
            assert si.grad is not None, f"input {i}: no gradient from shenjing"
            assert si.grad.dtype == si.dtype, f"input {i}: gradient dtype {si.grad.dtype} != {si.dtype}"
            np.testing.assert_allclose(
                si.grad.numpy(), ti.grad.numpy(), atol=tolerance["grad_atol"], rtol=tolerance["grad_rtol"],
                err_msg=f"gradient of input {i} ({dtype})",
            )


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(x + ε) − f(x − ε)) / 2ε, element by element, in place on ``x``."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(sj_fn: Callable, inputs: list[np.ndarray], rtol: float = 1e-6, atol: float = 1e-8,
                    eps: float = 1e-6, requires_grad: list[bool] | None = None) -> None:
    """Analytic gradients of ``sum(w ⊙ sj_fn(*inputs))`` vs central finite differences, in float64.

    Passes when the relative error ‖g − g_fd‖ / max(‖g‖, ‖g_fd‖) is below ``rtol`` (or within ``atol``).
    """
    arrays = [np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x) for x in inputs]
    wants = [a.dtype.kind == "f" and (requires_grad is None or requires_grad[i]) for i, a in enumerate(arrays)]
    tensors = [shenjing.from_numpy(a).requires_grad_(w) if w else shenjing.from_numpy(a) for a, w in zip(arrays, wants)]
    outs = _as_list(sj_fn(*tensors))
    weights = [_weights_for(o.detach().numpy(), seed=k) for k, o in enumerate(outs)]

    def objective() -> float:
        with shenjing.no_grad():
            values = _as_list(sj_fn(*tensors))
        return float(sum((v.numpy() * w).sum() for v, w in zip(values, weights)))

    total = sum((o * shenjing.tensor(w)).sum() for o, w in zip(outs, weights) if o.requires_grad)
    total.backward()
    for i, (a, t, want) in enumerate(zip(arrays, tensors, wants)):
        if not want:
            continue
        analytic = t.grad.numpy() if t.grad is not None else np.zeros_like(a)
        numeric = numerical_gradient(objective, a, eps)
        scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
        error = np.linalg.norm(analytic - numeric)
        assert error <= atol or error / scale < rtol, (
            f"input {i}: relative error {error / scale:.3e} (analytic {analytic.ravel()[:6]}, "
            f"numeric {numeric.ravel()[:6]})"
        )
