"""ConvTranspose2d / ConvTranspose1d against PyTorch 2.13 (every option, all gradients) and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing
from shenjing import nn
from shenjing.nn.conv_transpose import conv_transpose2d

CASES = [
    dict(),
    dict(stride=2),
    dict(stride=2, padding=1),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 0)),
    dict(stride=2, dilation=2, padding=3),
    dict(groups=2),
    dict(groups=2, stride=3, padding=2, output_padding=2),
    dict(padding=3),  # padding larger than k − 1: the dilated input is cropped
    dict(bias=False, stride=2),
    dict(dilation=3, output_padding=2),  # output_padding ≥ stride (dilation > stride): the dilate-then-conv route
    dict(stride=(1, 2), dilation=(2, 1), padding=(2, 0), groups=2),  # direct col2im, stride 1 along one axis
]


def pair(cls_name, dtype, cin=4, cout=6, k=3, **kw):
    t = getattr(torch.nn, cls_name)(cin, cout, k, **kw).to(getattr(torch, dtype))
    s = getattr(nn, cls_name)(cin, cout, k, dtype=getattr(shenjing, dtype), **kw)
    assert list(s.state_dict()) == list(t.state_dict())
    s.load_state_dict({k_: shenjing.tensor(v.detach().numpy()) for k_, v in t.state_dict().items()})
    return t, s


def run_both(t, s, x, **fkw):
    xt, xs = torch.tensor(x, requires_grad=True), shenjing.tensor(x, requires_grad=True)
    ot, os_ = t(xt, **fkw), s(xs, **fkw)
    assert tuple(os_.shape) == tuple(ot.shape)
    g = np.random.default_rng(1).standard_normal(tuple(ot.shape)).astype(x.dtype)
    (ot * torch.tensor(g)).sum().backward()
    (os_ * shenjing.tensor(g)).sum().backward()
    return (ot, xt), (os_, xs)


@pytest.mark.parametrize("kw", CASES, ids=[str(c) for c in CASES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_conv_transpose2d_matches_torch(kw, dtype):
    t, s = pair("ConvTranspose2d", dtype, **kw)
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 7)).astype(dtype)
    (ot, xt), (os_, xs) = run_both(t, s, x)
    tol = dict(rtol=1e-10, atol=1e-11) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), **tol)
    np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), **tol)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(s, name).grad.array, p.grad.numpy(), err_msg=name, **tol)


@pytest.mark.parametrize("kw", [dict(), dict(padding=1), dict(stride=2, dilation=2), dict(groups=2)], ids=str)
def test_conv_transpose2d_from_one_pixel_matches_torch(kw):
    # the DCGAN generator's first layer: (N, C_in, 1, 1) noise → a k × k image; the convolution's ∂x of one window
    t, s = pair("ConvTranspose2d", "float64", k=4, **kw)
    x = np.random.default_rng(2).standard_normal((3, 4, 1, 1))
    (ot, xt), (os_, xs) = run_both(t, s, x)
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s.weight.grad.array, t.weight.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1), dict(groups=2, dilation=2)],
                         ids=str)
def test_conv_transpose1d_matches_torch(kw):
    t, s = pair("ConvTranspose1d", "float64", **kw)
    x = np.random.default_rng(2).standard_normal((3, 4, 9))
    (ot, xt), (os_, xs) = run_both(t, s, x)
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(xs.grad.array, xt.grad.numpy(), rtol=1e-10, atol=1e-11)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(s, name).grad.array, p.grad.numpy(), rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("size", [(9, 13), (10, 14)])
def test_output_size_picks_the_output_padding(size):
    t, s = pair("ConvTranspose2d", "float64", stride=2, padding=1)
    x = np.random.default_rng(3).standard_normal((1, 4, 5, 7))
    (ot, _), (os_, _) = run_both(t, s, x, output_size=list(size))
    assert tuple(os_.shape[-2:]) == size
    np.testing.assert_allclose(os_.array, ot.detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="valid sizes"):
        s(shenjing.tensor(x), output_size=[20, 20])


def test_unbatched_input_and_dcgan_shapes():
    t, s = pair("ConvTranspose2d", "float64", cin=8, cout=3, k=4, stride=2, padding=1)
    x = np.random.default_rng(4).standard_normal((8, 7, 7))
    np.testing.assert_allclose(s(shenjing.tensor(x)).array, t(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    assert tuple(s(shenjing.tensor(x)).shape) == (3, 14, 14)  # the DCGAN upsampling step: 7 → 14


def test_finite_differences():
    rng = np.random.default_rng(5)
    check_gradients(lambda x, w, b: conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
                    [rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(2)])


def test_init_and_errors():
    layer = nn.ConvTranspose2d(16, 8, 3)
    bound = 1 / np.sqrt(8 * 9)  # fan_in = weight.size(1) · k_h · k_w, as PyTorch
    assert layer.weight.shape == (16, 8, 3, 3) and np.abs(layer.weight.array).max() <= bound
    with pytest.raises(RuntimeError, match="channels"):
        layer(shenjing.randn(1, 3, 4, 4))
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2)(shenjing.randn(1, 2, 4, 4))
    with pytest.raises(ValueError, match="zeros"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="divisible"):
        nn.ConvTranspose2d(3, 2, 3, groups=2)


def test_model_file_round_trip(tmp_path):
    model = nn.Sequential(nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, output_padding=0), nn.Tanh())
    shenjing.io.save_model(model, tmp_path / "g.safetensors")
    back = shenjing.io.load(tmp_path / "g.safetensors")
    x = shenjing.randn(1, 4, 3, 3)
    np.testing.assert_array_equal(back(x).array, model(x).array)
