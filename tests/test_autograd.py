"""The chain rule engine: order, accumulation, grad mode, freed graphs and error messages."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import shenjing
from shenjing import nn


def test_chain_of_ten_thousand_ops_backpropagates() -> None:
    x = shenjing.tensor(1.0, dtype=shenjing.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001**10_000, rtol=1e-9)


def test_reused_node_accumulates_in_topological_order() -> None:
    # micrograd PR #64: b is used twice; its gradient must be complete before it flows on to a.
    a = shenjing.tensor(3.0, dtype=shenjing.float64, requires_grad=True)
    b = a * a  # db/da = 2a
    c = b + b * b  # dc/db = 1 + 2b
    c.backward()
    assert a.grad.item() == pytest.approx((1 + 2 * 9) * 6)


def test_gradients_accumulate_across_backward_calls_like_torch() -> None:
    w = shenjing.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    (w * 4).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [7.0, 7.0])


def test_leaf_gradients_never_alias_each_other() -> None:
    a = shenjing.tensor([1.0, 2.0], requires_grad=True)
    b = shenjing.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_intermediate_grads_are_not_accumulated_twice() -> None:
    # micrograd #53: backward twice through a retained graph must not double intermediate gradients.
    x = shenjing.tensor([2.0], requires_grad=True)
    y = x * x
    z = y * 3
    z.sum().backward(retain_graph=True)
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 * 12.0])


def test_backward_twice_through_freed_graph_raises() -> None:
    x = shenjing.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_backward_on_non_scalar_without_gradient_raises() -> None:
    x = shenjing.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs.*shape \\(2,\\)"):
        (x * 2).backward()


def test_backward_with_explicit_gradient() -> None:
    x = shenjing.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(shenjing.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 40.0])
    with pytest.raises(RuntimeError, match="expected a gradient of shape \\(2,\\)"):
        (x * x).backward(shenjing.tensor([1.0]))


def test_backward_without_graph_raises() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        shenjing.tensor([1.0]).sum().backward()


def test_no_grad_records_nothing_and_restores_mode() -> None:
    x = shenjing.tensor([1.0], requires_grad=True)
    with shenjing.no_grad():
        y = x * 2
        assert not shenjing.is_grad_enabled()
    assert shenjing.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @shenjing.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_detach_cuts_the_graph() -> None:
    x = shenjing.tensor([3.0], requires_grad=True)
    y = x * x.detach()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0])


def test_retain_grad_keeps_intermediate_gradient() -> None:
    x = shenjing.tensor([3.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [12.0])
    np.testing.assert_array_equal(x.grad.numpy(), [24.0])


def test_gradient_keeps_parameter_dtype() -> None:
    w = shenjing.tensor([1.0, 2.0], dtype=shenjing.float32, requires_grad=True)
    (w * shenjing.tensor([1.0, 1.0], dtype=shenjing.float64)).sum().backward()
    assert w.grad.dtype == shenjing.float32


def test_memory_stays_flat_over_training_steps() -> None:
    # tinygrad #140/#242: saved activations must be freed after backward.
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    x, y = shenjing.randn(128, 64), shenjing.randint(0, 10, (128,))

    def step() -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        with shenjing.no_grad():
            for p in model.parameters():
                p -= 0.01 * p.grad

    for _ in range(5):
        step()
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(100):
        step()
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after - base < 200_000, f"memory grew by {after - base} bytes over 100 steps"


def test_mixed_devices_error_names_both() -> None:
    from shenjing.autograd import _raise_mixed_devices
    from shenjing.ops import Add

    a = shenjing.tensor([1.0])
    with pytest.raises(RuntimeError, match="same device, got tensors on cpu and cpu"):
        _raise_mixed_devices(Add, (a, a))


def test_backward_gradient_given_as_array_or_list() -> None:
    x = shenjing.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x * 2).backward(np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    (x * 2).backward([[1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(x.grad.numpy(), [[4.0, 2.0], [2.0, 4.0]])


def test_a_leaf_gradient_has_the_leaf_memory_layout() -> None:
    """PyTorch's layout contract: two transposed contributions summed (a weight used twice, as a siamese network's
    shared ResNet) still give a C-ordered .grad, so an optimizer's element-wise passes run on dense memory
    (the transposed sum made Adadelta 8× slower on ResNet-18's conv weights)."""
    w = nn.Parameter(shenjing.randn(30, 20, dtype=shenjing.float64))
    x = shenjing.randn(20, 30, dtype=shenjing.float64)
    for _ in range(2):  # first .grad, then accumulation into it
        ((w.t() * x).sum() + (w.t() * x * 2).sum()).backward()
        assert w.grad.array.flags["C_CONTIGUOUS"] and w.grad.array.strides == w.array.strides
    np.testing.assert_array_equal(w.grad.numpy(), 6 * x.numpy().T)
    conv = nn.Conv2d(8, 8, 3, padding=1)  # its weight gradient comes back in the (kh, kw, C, O) order: two calls
    for _ in range(2):
        (conv(shenjing.randn(2, 8, 6, 6)).sum() + conv(shenjing.randn(2, 8, 6, 6)).sum()).backward()
        assert conv.weight.grad.array.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("name", ["relu", "gelu", "leaky_relu", "silu", "cross_entropy", "nll", "mse", "bce",
                                  "bce_logits", "smooth_l1", "conv2d", "max_pool2d", "avg_pool2d", "batch_norm",
                                  "layer_norm", "linear", "linear_no_bias", "mm", "mv", "dot", "sum_dim", "view",
                                  "clamp", "max"])
def test_grad_fn_names_are_pytorchs(name: str) -> None:
    """What programs print as ``loss.grad_fn``: PyTorch's node names (NllLossBackward0, AddmmBackward0, ...)."""
    import torch

    def build(m):
        F = m.nn.functional
        x = m.ones(4, 3, requires_grad=True)
        img = m.ones(2, 3, 6, 6, requires_grad=True)
        label = m.tensor([0, 1, 2, 1])
        return {
            "relu": lambda: F.relu(x), "gelu": lambda: F.gelu(x), "leaky_relu": lambda: F.leaky_relu(x),
            "silu": lambda: F.silu(x), "cross_entropy": lambda: F.cross_entropy(x, label),
            "nll": lambda: F.nll_loss(x, label), "mse": lambda: F.mse_loss(x, m.zeros(4, 3)),
            "bce": lambda: F.binary_cross_entropy(m.sigmoid(x), m.zeros(4, 3)),
            "bce_logits": lambda: F.binary_cross_entropy_with_logits(x, m.zeros(4, 3)),
            "smooth_l1": lambda: F.smooth_l1_loss(x, m.zeros(4, 3)), "conv2d": lambda: F.conv2d(img, m.ones(2, 3, 3, 3)),
            "max_pool2d": lambda: F.max_pool2d(img, 2), "avg_pool2d": lambda: F.avg_pool2d(img, 2),
            "batch_norm": lambda: F.batch_norm(img, m.zeros(3), m.ones(3), training=True),
            "layer_norm": lambda: F.layer_norm(x, (3,)), "linear": lambda: F.linear(x, m.ones(2, 3), m.ones(2)),
            "linear_no_bias": lambda: F.linear(x, m.ones(2, 3)), "mm": lambda: x @ m.ones(3, 2),
            "mv": lambda: x @ m.ones(3), "dot": lambda: x[0] @ m.ones(3), "sum_dim": lambda: x.sum(0),
            "view": lambda: x.view(12), "clamp": lambda: x.clamp(-1, 1), "max": lambda: x.max(),
        }[name]()

    assert build(shenjing).grad_fn.name() == type(build(torch).grad_fn).__name__


def test_linear_next_functions_are_pytorchs_graph() -> None:
    """F.linear's node lists (bias, input, TBackward0(weight)) as PyTorch's AddmmBackward0 (MmBackward0 without a
    bias: (input, TBackward0(weight))), so walking ``grad_fn.next_functions`` reads as in PyTorch's tutorials."""
    import torch

    def walk(m):
        x = m.ones(2, 3, requires_grad=True)
        with_bias = m.nn.Linear(3, 2)(x.relu())
        names = [type(f).__name__ if m is torch else getattr(f, "name", lambda: type(f).__name__)()
                 for f, _ in with_bias.grad_fn.next_functions]
        transposed = with_bias.grad_fn.next_functions[2][0].next_functions[0][0]
        no_bias = m.nn.functional.linear(x, m.ones(2, 3, requires_grad=True))
        return names, type(transposed).__name__, len(no_bias.grad_fn.next_functions), transposed.variable.shape

    ours, theirs = walk(shenjing), walk(torch)
    assert ours[:3] == theirs[:3] == (["AccumulateGrad", "ReluBackward0", "TBackward0"], "AccumulateGrad", 2)
    assert tuple(ours[3]) == tuple(theirs[3]) == (2, 3)
