"""oneDNN beyond the convolutions (shenjing/nn/_onednn.py): max pooling, ReLU's backward and the Linear layer's
products, each checked against the NumPy path it replaces (exactly, where the arithmetic is the same) and against
PyTorch, with the inputs where oneDNN and PyTorch differ (NaN, windows of −∞) sent back to NumPy; and Adam's
update piece by piece, equal to the whole-array update."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import shenjing
from shenjing import nn
from shenjing.backends import mkldnn
from shenjing.nn import _onednn
from shenjing.optim import adam as adam_module

F = nn.functional
pytestmark = pytest.mark.skipif(not _onednn.available(), reason="oneDNN is not installed here "
                                "(pip install onednn-cpu-gomp; Linux x86-64 only): NumPy's paths run instead")


@pytest.fixture
def calls(monkeypatch):
    """Counts the oneDNN computations that run."""
    counts = {}
    for cls, method in ((_onednn._MaxPool, "forward"), (_onednn._MaxPool, "backward"), (_onednn._ReLU, "backward")):
        key = f"{cls.__name__.strip('_').lower()}.{method}"
        counts[key] = 0
        original = getattr(cls, method)

        def counted(self, *args, _key=key, _original=original, **kwargs):
            counts[_key] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, counted)
    counts["matmul"] = 0
    original_matmul = _onednn.matmul

    def counted_matmul(*args):
        out = original_matmul(*args)
        counts["matmul"] += out is not None
        return out

    monkeypatch.setattr(_onednn, "matmul", counted_matmul)
    return counts


def _start_onednn() -> None:
    F.conv2d(shenjing.randn(1, 1, 3, 3), shenjing.randn(1, 1, 2, 2))  # oneDNN in use from here on
    assert _onednn.in_use()


def _pool(lib, x: np.ndarray, g_seed: int = 1, **options) -> list:
    t = lib.tensor(x, requires_grad=True)
    out = lib.nn.functional.max_pool2d(t, **options)
    g = np.random.default_rng(g_seed).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * lib.tensor(g)).sum().backward()
    return [out.detach().numpy(), t.grad.numpy()]


POOLS = {
    "textbook": ((8, 16, 24, 24), dict(kernel_size=2)),
    "3x3_stride2_padding1": ((4, 8, 13, 11), dict(kernel_size=3, stride=2, padding=1)),
    "ceil_mode": ((4, 8, 13, 11), dict(kernel_size=2, ceil_mode=True)),
    "odd_size_floor": ((2, 4, 25, 23), dict(kernel_size=2)),  # the last row and column in no window
    "padding_whole_plane": ((2, 3, 8, 8), dict(kernel_size=3, padding=1, stride=3)),
    "dilation": ((2, 8, 15, 15), dict(kernel_size=3, stride=1, dilation=2)),
    "rectangular": ((2, 5, 12, 9), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0))),
    "unbatched": ((6, 10, 10), dict(kernel_size=2)),
}


@pytest.mark.parametrize("layout", ["channels_last", "nchw"])
@pytest.mark.parametrize("case", list(POOLS))
def test_max_pool_matches_numpy_exactly_and_torch(case: str, layout: str, calls) -> None:
    shape, options = POOLS[case]
    rng = np.random.default_rng(list(POOLS).index(case))
    x = np.maximum(rng.standard_normal(shape).astype(np.float32), 0)  # after a ReLU: windows of tied zeros
    x[..., :2, :2] = 0.5  # and windows of tied positive values
    if layout == "channels_last" and x.ndim == 4:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # a convolution's output
    ours = _pool(shenjing, x, **options)
    ran = 0 if case == "dilation" else 1  # oneDNN has only its reference kernel for dilated pooling: NumPy's
    assert calls["maxpool.forward"] == calls["maxpool.backward"] == ran
    with mkldnn.flags(enabled=False):
        numpy_path = _pool(shenjing, x, **options)
    assert calls["maxpool.forward"] == ran
    reference = _pool(torch, x, **options)
    for a in (ours[0], numpy_path[0]):
        np.testing.assert_array_equal(a, reference[0])  # the same maximum
    kernel, stride = options["kernel_size"], options.get("stride", options["kernel_size"])
    if kernel == stride:  # windows apart: each gradient lands on its window's first maximum, nothing summed
        np.testing.assert_array_equal(ours[1], reference[1])
        np.testing.assert_array_equal(numpy_path[1], reference[1])
    else:  # overlapping windows sum their gradients in each library's own order
        np.testing.assert_allclose(ours[1], reference[1], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(numpy_path[1], reference[1], rtol=1e-6, atol=1e-6)
        assert np.array_equal(ours[1] != 0, reference[1] != 0)  # the same maxima chosen


def test_max_pool_nan_and_minus_infinity_windows_go_to_numpy(calls) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    x[0, 1, 0, 1] = np.nan  # PyTorch's max is NaN; oneDNN's kernel would skip it
    ours = _pool(shenjing, x, kernel_size=2)
    assert calls["maxpool.forward"] == 0
    for a, r in zip(ours, _pool(torch, x, kernel_size=2)):
        np.testing.assert_array_equal(a, r)
    x = np.full((1, 2, 4, 4), -np.inf, np.float32)  # oneDNN gives the lowest finite float for these windows
    x[0, 0, 3, 3] = 1.0
    ours = _pool(shenjing, x, kernel_size=2)
    assert calls["maxpool.forward"] == 1  # ran, its answer was refused and NumPy's kept
    for a, r in zip(ours, _pool(torch, x, kernel_size=2)):
        np.testing.assert_array_equal(a, r)
    assert ours[0][0, 0, 0, 0] == -np.inf


def test_max_pool_indices_float64_and_strided_inputs_stay_on_numpy(calls) -> None:
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    out, where = F.max_pool2d(shenjing.tensor(x), 2, return_indices=True)
    t_out, t_where = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(where.numpy(), t_where.numpy())
    F.max_pool2d(shenjing.tensor(x.astype(np.float64)), 2)
    F.max_pool2d(shenjing.tensor(x)[:, :, :, ::2], 2)
    strided = shenjing.tensor(x)[:, :, :, ::2]  # a strided view: not one block of memory
    assert _onednn._dense_strides(strided.array) is None
    assert calls["maxpool.forward"] == 0
    np.testing.assert_array_equal(F.max_pool2d(strided, 2).numpy(),
                                  torch.nn.functional.max_pool2d(torch.tensor(x[:, :, :, ::2]), 2).numpy())


def _relu_grad(lib, x: np.ndarray, g: np.ndarray) -> list:
    t = lib.tensor(x, requires_grad=True)
    out = lib.nn.functional.relu(t)
    (out * lib.tensor(g)).sum().backward()
    return [out.detach().numpy(), t.grad.numpy()]


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_relu_backward_matches_numpy_exactly_and_torch(layout: str, calls) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 16, 24, 24)).astype(np.float32)  # 73 728 numbers: above the threshold
    x[0, 0, 0, :4] = [0.0, -0.0, 1e-45, -1e-45]  # ReLU′(0) = 0 either sign; the smallest subnormals
    g = rng.standard_normal(x.shape).astype(np.float32)
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    ours = _relu_grad(shenjing, x, g)
    assert calls["relu.backward"] == 1
    with mkldnn.flags(enabled=False):
        numpy_path = _relu_grad(shenjing, x, g)
    assert calls["relu.backward"] == 1
    for a, b, r in zip(ours, numpy_path, _relu_grad(torch, x, g)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, r)
    assert ours[1][0, 0, 0, :4].tolist() == [0.0, 0.0, g[0, 0, 0, 2], 0.0]


def test_relu_small_mismatched_and_float64_stay_on_numpy(calls) -> None:
    rng = np.random.default_rng(3)
    small = rng.standard_normal((4, 100)).astype(np.float32)
    _relu_grad(shenjing, small, np.ones_like(small))
    x = rng.standard_normal((8, 16, 24, 24)).astype(np.float32)
    g = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # another layout than the output's
    mixed = _relu_grad(shenjing, x, g)
    _relu_grad(shenjing, x.astype(np.float64), g.astype(np.float64))
    assert calls["relu.backward"] == 0
    np.testing.assert_array_equal(mixed[1], np.where(x > 0, g, 0))


def test_linear_products_run_on_onednn_once_it_is_in_use(calls) -> None:
    _start_onednn()
    rng = np.random.default_rng(4)
    a = rng.standard_normal((64, 1152)).astype(np.float32)
    W = (rng.standard_normal((128, 1152)) / 34).astype(np.float32)
    b = rng.standard_normal(128).astype(np.float32)
    g = rng.standard_normal((64, 128)).astype(np.float32)
    results = []
    for lib in (shenjing, torch):
        tensors = [lib.tensor(v, requires_grad=True) for v in (a, W, b)]
        (lib.nn.functional.linear(*tensors) * lib.tensor(g)).sum().backward()
        results.append([lib.nn.functional.linear(*tensors).detach().numpy()] + [t.grad.numpy() for t in tensors])
    assert calls["matmul"] == 1 + 2 + 1  # forward, ∂x and ∂W, then the second forward
    for ours, reference in zip(*results):
        scale = np.abs(reference).max()
        assert np.abs(ours - reference).max() <= 2e-6 * scale
    np.testing.assert_allclose(results[0][0], a @ W.T + b, rtol=1e-5, atol=1e-5)


def test_matmul_declines_what_it_does_not_take() -> None:
    _start_onednn()
    xp = np
    big = np.ones((128, 128), np.float32)
    assert _onednn.matmul(xp, big, big) is not None
    assert _onednn.matmul(xp, np.ones((8, 8), np.float32), np.ones((8, 8), np.float32)) is None  # small
    assert _onednn.matmul(xp, big.astype(np.float64), big.astype(np.float64)) is None
    assert _onednn.matmul(xp, np.ones((128, 256), np.float32)[:, ::2], big) is None  # strided
    np.testing.assert_array_equal(_onednn.matmul(xp, big, big.T), np.full((128, 128), 128, np.float32))
    with mkldnn.flags(enabled=False):
        assert _onednn.matmul(xp, big, big) is None


@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.1}, {"amsgrad": True, "maximize": True},
                                     {"weight_decay": 0.05, "decoupled_weight_decay": True}])
def test_adam_in_pieces_equals_the_whole_array_update(options: dict, monkeypatch) -> None:
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((300, 250)).astype(np.float32)  # 75 000 numbers: three pieces, the last short
    grads = [rng.standard_normal(w0.shape).astype(np.float32) for _ in range(3)]

    def run() -> np.ndarray:
        w = nn.Parameter(shenjing.tensor(w0.copy()))
        opt = shenjing.optim.Adam([w], lr=1e-2, **options)
        for g in grads:
            w.grad = shenjing.tensor(g)
            opt.step()
        return w.detach().numpy()

    pieces = run()
    monkeypatch.setattr(adam_module, "_PIECE", 10**9)
    whole = run()
    np.testing.assert_array_equal(pieces, whole)
    t_options = {k: v for k, v in options.items() if k != "decoupled_weight_decay"}
    w = torch.nn.Parameter(torch.tensor(w0.copy()))
    opt = (torch.optim.AdamW if options.get("decoupled_weight_decay") else torch.optim.Adam)([w], lr=1e-2,
                                                                                              **t_options)
    for g in grads:
        w.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(pieces, w.detach().numpy(), rtol=1e-6, atol=1e-6)


TRANSPOSED = {
    "upsample_stride2": ((4, 8, 7, 7), (8, 4, 4, 4), dict(stride=2, padding=1)),
    "output_padding": ((2, 6, 5, 6), (6, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    "groups_dilation": ((2, 6, 6, 5), (6, 2, 3, 2), dict(groups=3, dilation=2)),
    "dcgan_first": ((8, 16, 1, 1), (16, 8, 4, 4), dict()),
}


def _transposed(lib, x, W, b, options) -> list:
    tensors = [lib.tensor(v, requires_grad=True) for v in (x, W, b)]
    out = lib.nn.functional.conv_transpose2d(*tensors, **options)
    g = np.random.default_rng(9).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * lib.tensor(g)).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("case", list(TRANSPOSED))
def test_conv_transpose2d_forward_on_onednn_matches_col2im_and_torch(case: str, monkeypatch) -> None:
    x_shape, w_shape, options = TRANSPOSED[case]
    rng = np.random.default_rng(list(TRANSPOSED).index(case))
    x = rng.standard_normal(x_shape).astype(np.float32)
    W = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    b = rng.standard_normal(w_shape[1] * options.get("groups", 1)).astype(np.float32)
    ran = []
    original = _onednn._Conv.backward_data
    monkeypatch.setattr(_onednn._Conv, "backward_data", lambda self, *a: ran.append(1) or original(self, *a))
    ours = _transposed(shenjing, x, W, b, options)
    assert ran  # the forward (and the backward's products) ran on oneDNN
    with mkldnn.flags(enabled=False):
        col2im = _transposed(shenjing, x, W, b, options)
    for a, c, r in zip(ours, col2im, _transposed(torch, x, W, b, options)):
        scale = np.abs(r).max()
        assert np.abs(a - c).max() <= 2e-6 * scale and np.abs(a - r).max() <= 2e-6 * scale
