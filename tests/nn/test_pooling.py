"""Pooling: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, MaxPool1d against torch (f32 + f64) and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
from shenjing import nn

F = nn.functional
TF = torch.nn.functional
rng = np.random.default_rng(3)


def distinct(*shape: int) -> np.ndarray:
    """Spread-out values without ties, so every window has one maximum and finite differences are clean."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape) / n


MAX_CASES = {
    "k2": ((2, 3, 8, 8), dict(kernel_size=2)),
    "k2_odd_input": ((2, 3, 7, 9), dict(kernel_size=2)),
    "k3_s2": ((2, 3, 9, 8), dict(kernel_size=3, stride=2)),
    "k3_s1_overlap": ((1, 2, 6, 7), dict(kernel_size=3, stride=1)),
    "non_square": ((2, 2, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1))),
    "padding": ((2, 3, 7, 7), dict(kernel_size=3, stride=2, padding=1)),
    "padding_tuple": ((2, 2, 6, 7), dict(kernel_size=(2, 3), stride=2, padding=(1, 1))),
    "dilation": ((2, 2, 9, 9), dict(kernel_size=2, stride=1, dilation=2)),
    "ceil_mode": ((2, 3, 7, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    "ceil_mode_padding": ((1, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    "batch1": ((1, 1, 4, 4), dict(kernel_size=2)),
    "unbatched": ((3, 6, 6), dict(kernel_size=2)),
}


@pytest.mark.parametrize("case", list(MAX_CASES))
def test_max_pool2d_matches_torch_and_finite_differences(case: str) -> None:
    shape, options = MAX_CASES[case]
    x = distinct(*shape)
    check_torch(lambda a: F.max_pool2d(a, **options), lambda a: TF.max_pool2d(a, **options), [x])
    check_gradients(lambda a: F.max_pool2d(a, **options), [x], eps=1e-7)


def test_max_pool2d_ties_and_relu_zeros_route_like_torch() -> None:
    """All-zero windows (after a ReLU) and equal values: the gradient goes to the first maximum, as torch."""
    x = np.array([[[[0, 0, 1, 1], [0, 0, 1, 0], [2, 0, 3, 3], [0, 2, 3, 3]]]], dtype=np.float64)
    check_torch(lambda a: F.max_pool2d(a, 2), lambda a: TF.max_pool2d(a, 2), [x])
    check_torch(lambda a: F.max_pool2d(a, 2, stride=1), lambda a: TF.max_pool2d(a, 2, stride=1), [x])


@pytest.mark.parametrize("options", [dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=2, stride=1)])
def test_max_pool2d_nan_and_ties_route_like_torch(options: dict) -> None:
    x = np.array([[[[1.0, np.nan, 0.0, 5.0], [2.0, 3.0, 4.0, 1.0], [7.0, 7.0, np.nan, 2.0], [0.0, 7.0, 1.0, 1.0]]]])
    xs, xt = shenjing.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = F.max_pool2d(xs, **options), TF.max_pool2d(xt, **options)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(xs.grad.numpy(), xt.grad.numpy())


AVG_CASES = {
    "k2": ((2, 3, 8, 8), dict(kernel_size=2)),
    "k3_s2_odd": ((2, 3, 9, 7), dict(kernel_size=3, stride=2)),
    "overlap": ((1, 2, 6, 7), dict(kernel_size=(3, 2), stride=1)),
    "padding_include": ((2, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1)),
    "padding_exclude": ((2, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    "ceil_mode_include": ((2, 2, 7, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    "ceil_mode_exclude": (
        (2, 2, 7, 8),
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    ),
    "ceil_mode_no_pad": ((1, 2, 7, 7), dict(kernel_size=2, ceil_mode=True)),
    "divisor_override": ((1, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, divisor_override=4)),
    "unbatched": ((3, 6, 6), dict(kernel_size=2)),
}


@pytest.mark.parametrize("case", list(AVG_CASES))
def test_avg_pool2d_matches_torch_and_finite_differences(case: str) -> None:
    shape, options = AVG_CASES[case]
    x = rng.standard_normal(shape)
    check_torch(lambda a: F.avg_pool2d(a, **options), lambda a: TF.avg_pool2d(a, **options), [x])
    check_gradients(lambda a: F.avg_pool2d(a, **options), [x])


@pytest.mark.parametrize(
    "shape, size",
    [((2, 3, 8, 8), 4), ((2, 3, 8, 9), (5, 7)), ((1, 2, 7, 5), (3, None)), ((2, 4, 6, 6), 1), ((3, 5, 5), (2, 3))],
)
def test_adaptive_avg_pool2d_matches_torch_and_finite_differences(shape: tuple, size) -> None:
    x = rng.standard_normal(shape)
    check_torch(lambda a: F.adaptive_avg_pool2d(a, size), lambda a: TF.adaptive_avg_pool2d(a, size), [x])
    check_gradients(lambda a: F.adaptive_avg_pool2d(a, size), [x])


@pytest.mark.parametrize(
    "shape, options",
    [
        ((2, 3, 10), dict(kernel_size=2)),
        ((2, 3, 11), dict(kernel_size=3, stride=2, padding=1)),
        ((1, 2, 9), dict(kernel_size=2, dilation=2, ceil_mode=True)),
        ((3, 8), dict(kernel_size=3)),
    ],
)
def test_max_pool1d_matches_torch_and_finite_differences(shape: tuple, options: dict) -> None:
    x = distinct(*shape)
    check_torch(lambda a: F.max_pool1d(a, **options), lambda a: TF.max_pool1d(a, **options), [x])
    check_gradients(lambda a: F.max_pool1d(a, **options), [x], eps=1e-7)
    module = nn.MaxPool1d(**options)
    np.testing.assert_allclose(module(shenjing.tensor(x)).numpy(), TF.max_pool1d(torch.tensor(x), **options).numpy())


def test_pooling_after_a_channels_last_convolution() -> None:
    """A conv's output is an NCHW view of channels-last memory; pooling it must give torch's values."""
    conv = nn.Conv2d(2, 4, 3, dtype=shenjing.float64)
    tconv = torch.nn.Conv2d(2, 4, 3).double()
    conv.load_state_dict({k: v.numpy() for k, v in tconv.state_dict().items()})
    x = rng.standard_normal((2, 2, 9, 9))
    for ours, theirs in [
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
        (nn.AdaptiveAvgPool2d(3), torch.nn.AdaptiveAvgPool2d(3)),
    ]:
        check_torch(lambda a, m=ours: m(conv(a)), lambda a, m=theirs: m(tconv(a)), [x], dtypes=("float64",))


@pytest.mark.parametrize(
    "make",
    [
        (lambda m: m.MaxPool2d(2)),
        (lambda m: m.MaxPool2d((3, 2), stride=1, padding=1, dilation=2, ceil_mode=True)),
        (lambda m: m.MaxPool1d(3, 2)),
        (lambda m: m.AvgPool2d(3, stride=2, padding=1)),
        (lambda m: m.AvgPool2d(2, ceil_mode=True, count_include_pad=False)),
        (lambda m: m.AdaptiveAvgPool2d((5, 7))),
        (lambda m: m.AdaptiveAvgPool2d(1)),
    ],
)
def test_repr_and_config_match_torch(make) -> None:
    layer = make(nn)
    assert repr(layer) == repr(make(torch.nn))
    assert repr(type(layer)(**layer.get_config())) == repr(layer)


def test_pooling_errors() -> None:
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        nn.MaxPool2d(2, padding=2)(shenjing.zeros(1, 1, 8, 8))
    with pytest.raises(RuntimeError):
        torch.nn.MaxPool2d(2, padding=2)(torch.zeros(1, 1, 8, 8))
    with pytest.raises(RuntimeError, match=r"MaxPool2d\(kernel_size=3.*input shape \(1, 1, 2, 2\).*too small"):
        nn.MaxPool2d(3)(shenjing.zeros(1, 1, 2, 2))
    with pytest.raises(RuntimeError):
        torch.nn.MaxPool2d(3)(torch.zeros(1, 1, 2, 2))
    with pytest.raises(RuntimeError, match=r"AvgPool2d.*got a 5-D input of shape \(1, 1, 1, 4, 4\)"):
        nn.AvgPool2d(2)(shenjing.zeros(1, 1, 1, 4, 4))
    with pytest.raises(RuntimeError, match="AdaptiveAvgPool2d"):
        nn.AdaptiveAvgPool2d(2)(shenjing.zeros(4, 4))


def test_max_pool_without_grad_keeps_no_indices() -> None:
    x = shenjing.tensor(distinct(2, 3, 8, 8))
    out = nn.MaxPool2d(2)(x)
    assert not out.requires_grad
    expected = x.numpy().reshape(2, 3, 4, 2, 4, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(out.numpy(), expected)
