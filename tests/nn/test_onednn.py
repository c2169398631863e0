"""oneDNN's convolutions (shenjing/nn/_onednn.py): float32 parity with PyTorch and with the im2col path for every
option, the switches (``shenjing.backends.mkldnn``, ``SHENJING_ONEDNN``), the fallbacks (float64, a forked child)
and the thread policy (one BLAS thread once oneDNN runs)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import torch

import shenjing
from shenjing import nn
from shenjing.backends import mkldnn
from shenjing.nn import _onednn

F = nn.functional
pytestmark = pytest.mark.skipif(not _onednn.available(), reason="oneDNN is not installed here "
                                "(pip install onednn-cpu-gomp; Linux x86-64 only): the im2col path runs instead")

# (function, input shape, weight shape, options): every option of Conv1d / Conv2d the plans take
CASES = {
    "plain": ("conv2d", (4, 3, 12, 11), (8, 3, 3, 3), {}),
    "stride_padding_groups": ("conv2d", (4, 6, 12, 11), (8, 3, 3, 2), {"stride": 2, "padding": 1, "groups": 2}),
    "dilation_uneven_padding": ("conv2d", (2, 4, 15, 15), (6, 4, 3, 3), {"dilation": 2, "padding": (2, 1)}),
    "same_even_kernel": ("conv2d", (2, 4, 9, 8), (5, 4, 4, 2), {"padding": "same"}),  # torch warns: a padded copy
    "depthwise": ("conv2d", (3, 16, 9, 9), (16, 1, 3, 3), {"groups": 16, "padding": 1}),
    "pointwise": ("conv2d", (4, 8, 10, 10), (4, 8, 1, 1), {}),
    "textbook_conv1": ("conv2d", (8, 1, 28, 28), (32, 1, 3, 3), {}),
    "textbook_conv2": ("conv2d", (8, 32, 26, 26), (64, 32, 3, 3), {}),
    "unbatched": ("conv2d", (3, 7, 7), (4, 3, 3, 3), {"padding": 1}),
    "conv1d": ("conv1d", (4, 5, 20), (7, 5, 4), {"stride": 2, "padding": 3}),
    "conv1d_dilation_groups": ("conv1d", (2, 6, 17), (9, 2, 3), {"dilation": 3, "groups": 3}),
}


def _draw(case: str) -> tuple:
    rng = np.random.default_rng(list(CASES).index(case))
    name, x_shape, w_shape, options = CASES[case]
    x = rng.standard_normal(x_shape).astype(np.float32)
    W = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    return name, x, W, b, options


def _run(lib, name: str, x, W, b, options: dict, seed: int = 0) -> list:
    """Output and the gradients of x, W, b for a fixed upstream gradient, as NumPy arrays."""
    tensors = [lib.tensor(a, requires_grad=True) if a is not None else None for a in (x, W, b)]
    out = getattr(lib.nn.functional, name)(*tensors, **options)
    g = np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * lib.tensor(g)).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in tensors if t is not None]


@pytest.fixture
def executions(monkeypatch):
    """Counts each oneDNN computation that runs (forward, backward data, backward weights)."""
    counts = {"forward": 0, "backward_data": 0, "backward_weights": 0}
    for method in counts:
        original = getattr(_onednn._Conv, method)

        def counted(self, *args, _method=method, _original=original, **kwargs):
            counts[_method] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(_onednn._Conv, method, counted)
    return counts


def _close(ours: list, reference: list, rtol: float) -> None:
    for a, r in zip(ours, reference):
        assert a.shape == r.shape and a.dtype == np.float32
        scale = max(np.abs(r).max(), 1e-30)
        assert np.abs(a - r).max() <= rtol * scale, (np.abs(a - r).max() / scale)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("case", list(CASES))
def test_float32_matches_torch_and_im2col(case: str, bias: bool, executions) -> None:
    name, x, W, b, options = _draw(case)
    b = b if bias else None
    ours = _run(shenjing, name, x, W, b, options)
    assert executions == {"forward": 1, "backward_data": 1, "backward_weights": 1}
    with mkldnn.flags(enabled=False):
        im2col = _run(shenjing, name, x, W, b, options)
    assert executions["forward"] == 1  # switched off: the im2col products ran
    _close(ours, im2col, 2e-6)
    _close(ours, _run(torch, name, x, W, b, options), 2e-6)


def test_only_the_needed_products_run(executions) -> None:
    _, x, W, b, _ = _draw("plain")
    x_t = shenjing.tensor(x)  # no gradient for the input (a first layer): no backward data
    W_t, b_t = shenjing.tensor(W, requires_grad=True), shenjing.tensor(b, requires_grad=True)
    F.conv2d(x_t, W_t, b_t).sum().backward()
    assert executions == {"forward": 1, "backward_data": 0, "backward_weights": 1}
    frozen = shenjing.tensor(W)  # frozen weights, trained bias and input: ∂L/∂b is Σ δ, no backward weights
    x_t, b_t = shenjing.tensor(x, requires_grad=True), shenjing.tensor(b, requires_grad=True)
    F.conv2d(x_t, frozen, b_t).sum().backward()
    assert executions == {"forward": 2, "backward_data": 1, "backward_weights": 1}
    np.testing.assert_allclose(b_t.grad.numpy(), np.full(8, 4 * 10 * 9, np.float32))  # N · H_out · W_out


def test_layouts_the_kernels_do_not_take_are_made_contiguous(executions) -> None:
    """A weight seen through a transpose and an input that is an NCHW slice give torch's answer."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 10, 12)).astype(np.float32)[:, :, 1:, ::2]
    W = np.ascontiguousarray(rng.standard_normal((3, 3, 4, 6)).astype(np.float32)).transpose(3, 2, 0, 1)
    ours = F.conv2d(shenjing.tensor(x), shenjing.tensor(W), padding=1).numpy()
    reference = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(np.ascontiguousarray(W)), padding=1)
    _close([ours], [reference.numpy()], 2e-6)
    assert executions["forward"] == 1


def test_float64_and_mixed_dtypes_stay_on_im2col(executions) -> None:
    _, x, W, b, _ = _draw("plain")
    out = F.conv2d(shenjing.tensor(x.astype(np.float64)), shenjing.tensor(W.astype(np.float64)))
    assert out.dtype == shenjing.float64 and executions["forward"] == 0
    reference = torch.nn.functional.conv2d(torch.tensor(x.astype(np.float64)), torch.tensor(W.astype(np.float64)))
    np.testing.assert_allclose(out.numpy(), reference.numpy(), rtol=1e-12, atol=1e-12)


def test_layers_use_it_and_the_switch_turns_it_off(executions) -> None:
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1))
    x = shenjing.randn(2, 1, 6, 6)
    on = model(x)
    assert executions["forward"] == 2
    mkldnn.enabled = False
    try:
        assert not _onednn.enabled() and mkldnn.is_available()
        off = model(x)
    finally:
        mkldnn.enabled = True
    assert executions["forward"] == 2
    _close([on.detach().numpy()], [off.detach().numpy()], 2e-6)


def test_flags_restores_and_verbose_traces(capfd) -> None:
    with mkldnn.flags(enabled=False, deterministic=True):
        assert (mkldnn.enabled, mkldnn.deterministic) == (False, True)
    assert (mkldnn.enabled, mkldnn.deterministic) == (True, False)
    x, W = shenjing.randn(2, 3, 5, 5), shenjing.randn(4, 3, 3, 3)
    with mkldnn.verbose(mkldnn.VERBOSE_ON):
        F.conv2d(x, W)
    F.conv2d(x, W)  # after the block: quiet again
    lines = [line for line in capfd.readouterr().out.splitlines() if ",exec," in line and "convolution" in line]
    assert len(lines) == 1 and "mb2_ic3oc4_ih5oh3kh3" in lines[0]
    with pytest.raises(ValueError, match="VERBOSE_OFF, VERBOSE_ON or VERBOSE_ON_CREATION"):
        mkldnn.verbose(7)


def test_environment_switch_leaves_it_unloaded() -> None:
    code = ("import shenjing; from shenjing.nn import _onednn; from shenjing.backends import mkldnn;"
            "x = shenjing.randn(1, 2, 5, 5); shenjing.nn.functional.conv2d(x, shenjing.randn(3, 2, 3, 3));"
            "print(mkldnn.is_available(), _onednn.in_use(), _onednn._state['library'] is None)")
    env = {**os.environ, "SHENJING_ONEDNN": "0"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True"]


def _forked_child(queue) -> None:
    x, W = np.ones((1, 2, 4, 4), np.float32), np.ones((3, 2, 3, 3), np.float32)
    out = F.conv2d(shenjing.tensor(x), shenjing.tensor(W)).numpy()
    queue.put((_onednn.in_use(), _onednn.available(), out.tolist()))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method: Linux")
def test_a_forked_child_falls_back_to_im2col() -> None:
    F.conv2d(shenjing.randn(1, 2, 4, 4), shenjing.randn(3, 2, 3, 3))  # the parent's OpenMP pool is started
    assert _onednn.in_use()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_forked_child, args=(queue,))
    child.start()
    in_use, available, out = queue.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0
    assert (in_use, available) == (False, False)
    np.testing.assert_array_equal(out, np.full((1, 3, 2, 2), 18.0))
    assert _onednn.in_use()  # the parent keeps it


def test_threads_one_blas_thread_once_onednn_runs() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    F.conv2d(shenjing.randn(1, 2, 4, 4), shenjing.randn(3, 2, 3, 3))
    before = shenjing.get_num_threads()
    try:
        shenjing.set_num_threads(2)
        assert shenjing.get_num_threads() == 2
        blas = [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
        assert blas and set(blas) == {1}
    finally:
        shenjing.set_num_threads(before)
