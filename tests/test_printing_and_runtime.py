"""Printing (PyTorch's layout character for character, set_printoptions), ``out=``, the top-level forms of
nn.functional ops, and the process settings programs set at their first lines (threads, determinism, ...)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import shenjing


def _random_arrays() -> list:
    rng = np.random.default_rng(0)
    arrays = []
    for trial in range(250):
        shape = tuple(int(s) for s in rng.integers(1, 25, size=int(rng.integers(1, 4))))
        kind = trial % 5
        if kind == 0:
            a = rng.standard_normal(shape).astype("float32")
        elif kind == 1:
            a = np.abs(rng.standard_normal(shape)).astype("float32")
        elif kind == 2:
            a = rng.integers(-50, 500, shape)
        elif kind == 3:
            a = (rng.standard_normal(shape) * 1000).astype("float32")  # scientific notation
        else:
            a = np.round(rng.standard_normal(shape) * 3).astype("float32")  # integer-valued floats: "1."
        arrays.append(a)
    specials = [np.array([np.nan, 1.0, np.inf], "float32"), np.zeros(2, "float32"), np.array([-0.0, 1.5], "float32"),
                np.array([1e-5, 1.0], "float32"), np.array([1e9, 1.0], "float32"), np.array(2.5, "float32"),
                np.array(7), np.array([True, False]), rng.standard_normal((40, 40)).astype("float32"),
                rng.integers(0, 10, (3, 500)), np.zeros((2, 0), "float32"), np.zeros((0, 3), "int64"),
                rng.standard_normal((2, 3, 4, 5)).astype("float32"), rng.standard_normal(1001).astype("float32"),
                np.arange(2000).reshape(20, 100), rng.standard_normal((3, 4)).astype("float16")]
    return arrays + specials


def test_tensors_print_as_pytorch_prints_them() -> None:
    """Widths, 4 decimals, scientific notation, ``1.`` for integer-valued floats, 80-column wrapping, summaries of
    more than 1000 elements, the empty shapes: 266 tensors, each identical to torch 2.13's print."""
    mismatches = [(repr(torch.tensor(a)), repr(shenjing.tensor(a)).replace("shenjing.", "torch."))
                  for a in _random_arrays()]
    mismatches = [m for m in mismatches if m[0] != m[1]]
    assert not mismatches, mismatches[0]


def test_grad_fn_and_requires_grad_suffixes_print_as_pytorch() -> None:
    a = np.random.default_rng(1).standard_normal((3, 9)).astype("float32")
    ours, theirs = shenjing.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert repr(ours) == repr(theirs)
    assert repr(ours * 2) == repr(theirs * 2)
    assert repr(shenjing.nn.functional.relu(ours)) == repr(torch.nn.functional.relu(theirs))


def test_set_printoptions_as_torch() -> None:
    a = np.array([1.23456, 2.0, 1000.5], "float32")
    try:
        for options in ({"precision": 2}, {"sci_mode": True}, {"linewidth": 30}, {"profile": "short"},
                        {"threshold": 5, "edgeitems": 1}):
            shenjing.set_printoptions(**options)
            torch.set_printoptions(**options)
            for values in (a, np.arange(12.0, dtype="float32").reshape(3, 4)):
                assert repr(shenjing.tensor(values)) == repr(torch.tensor(values)), options
    finally:
        shenjing.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    with pytest.raises(ValueError, match="profile"):
        shenjing.set_printoptions(profile="long")


def test_out_writes_into_the_given_tensor() -> None:
    x = shenjing.ones(4, 4)
    out = shenjing.empty(4, 4)
    assert shenjing.matmul(x, x.T, out=out) is out and out.sum().item() == 64
    assert shenjing.mul(x, x, out=out) is out and out.sum().item() == 16
    small = shenjing.zeros(2)
    with pytest.warns(UserWarning, match="was resized since it had shape \\[2\\]"):
        shenjing.add(x, 1, out=small)
    assert small.shape == (4, 4) and small.sum().item() == 32
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        shenjing.add(x, 1, out=shenjing.zeros(4, 4, dtype=shenjing.int64))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        shenjing.exp(shenjing.ones(2, requires_grad=True), out=shenjing.zeros(2))
    values, indices = shenjing.zeros(4), shenjing.zeros(4, dtype=shenjing.int64)
    shenjing.max(shenjing.tensor([[1.0, 5, 2], [7, 0, 3], [1, 1, 9], [4, 8, 8]]), 1, out=(values, indices))
    assert values.tolist() == [5, 7, 9, 8] and indices.tolist() == [1, 0, 2, 1]


def test_top_level_arithmetic_and_pow() -> None:
    a, b = np.array([[1.5, -2.0], [3.0, 0.5]], "float32"), np.array([[2.0, 4.0], [-1.0, 8.0]], "float32")
    for name in ("add", "sub", "mul", "div"):
        got = getattr(shenjing, name)(shenjing.tensor(a), shenjing.tensor(b))
        np.testing.assert_array_equal(got.numpy(), getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy())
    np.testing.assert_array_equal(shenjing.add(shenjing.tensor(a), shenjing.tensor(b), alpha=2).numpy(),
                                  torch.add(torch.tensor(a), torch.tensor(b), alpha=2).numpy())
    got, want = shenjing.pow(2, shenjing.tensor([1.0, 3.0])), torch.pow(2, torch.tensor([1.0, 3.0]))
    assert got.tolist() == want.tolist() and str(got.dtype) == str(want.dtype).replace("torch", "shenjing")
    assert shenjing.pow(shenjing.tensor([3]), 2).tolist() == [9]
    with pytest.raises(TypeError, match="must be Tensor, not int"):
        shenjing.add(2, shenjing.ones(2))


def test_nn_functional_ops_at_the_top_level_take_torchs_arguments() -> None:
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    np.testing.assert_allclose(shenjing.conv2d(shenjing.tensor(x), shenjing.tensor(w), None, 1, 1).numpy(),
                               torch.conv2d(torch.tensor(x), torch.tensor(w), None, 1, 1).numpy(), rtol=1e-10)
    assert shenjing.dropout(shenjing.ones(5), 0.5, False).tolist() == [1.0] * 5  # (input, p, train)
    table, index = rng.standard_normal((5, 3)), np.array([4, 0, 4])
    np.testing.assert_array_equal(shenjing.embedding(shenjing.tensor(table), shenjing.tensor(index)).numpy(),
                                  torch.embedding(torch.tensor(table), torch.tensor(index)).numpy())
    mean, var, g, b = np.zeros(3), np.ones(3), rng.uniform(0.5, 1, 3), rng.standard_normal(3)
    ours = shenjing.batch_norm(*(shenjing.tensor(v) for v in (x, g, b, mean, var)), False, 0.1, 1e-5, False)
    want = torch.batch_norm(*(torch.tensor(v) for v in (x, g, b, mean, var)), False, 0.1, 1e-5, False)
    np.testing.assert_allclose(ours.numpy(), want.numpy(), rtol=1e-10)
    logits, target = rng.standard_normal(6), rng.uniform(0, 1, 6)
    for reduction in (0, 1, 2):
        assert shenjing.binary_cross_entropy_with_logits(shenjing.tensor(logits), shenjing.tensor(target),
                                                         reduction=reduction).numpy() == pytest.approx(
            torch.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(target),
                                                   reduction=reduction).numpy(), rel=1e-12)


def test_process_settings_as_torch() -> None:
    before = shenjing.get_num_threads()
    try:
        shenjing.set_num_threads(1)
        assert shenjing.get_num_threads() == 1
    finally:
        shenjing.set_num_threads(before)
    with pytest.raises(RuntimeError, match="set_num_threads expects a positive integer"):
        shenjing.set_num_threads(0)
    shenjing.use_deterministic_algorithms(True, warn_only=True)
    assert shenjing.are_deterministic_algorithms_enabled() and shenjing.get_deterministic_debug_mode() == 1
    shenjing.use_deterministic_algorithms(False)
    assert not shenjing.are_deterministic_algorithms_enabled() and shenjing.get_deterministic_debug_mode() == 0
    with pytest.raises(TypeError, match="must be bool"):
        shenjing.use_deterministic_algorithms("yes")
    shenjing.set_float32_matmul_precision("high")
    assert shenjing.get_float32_matmul_precision() == "high"
    with pytest.warns(UserWarning, match="low is not one of 'highest', 'high', or 'medium'"):
        shenjing.set_float32_matmul_precision("low")
    shenjing.set_float32_matmul_precision("highest")
    assert shenjing.set_flush_denormal(True) is False
    assert shenjing.typename(shenjing.ones(2)) == "shenjing.FloatTensor" and shenjing.typename(3) == "int"
