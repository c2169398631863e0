"""Conv2d and Conv1d: PyTorch parity (f32 + f64) and finite differences for every option, layout, init, errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
from shenjing import nn

F = nn.functional
rng = np.random.default_rng(7)


def randn(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


# (input shape, weight shape, has bias, options): every option, odd sizes, non-square kernels, batch 1, unbatched
CONV2D_CASES = {
    "plain": ((2, 3, 7, 8), (4, 3, 3, 3), True, {}),
    "no_bias_batch1": ((1, 3, 6, 5), (5, 3, 3, 3), False, {}),
    "non_square_kernel": ((2, 2, 7, 9), (3, 2, 2, 4), True, {}),
    "kernel_1x1": ((2, 5, 4, 4), (3, 5, 1, 1), True, {}),
    "stride2": ((2, 3, 9, 8), (4, 3, 3, 3), True, {"stride": 2}),
    "stride_tuple": ((2, 3, 9, 8), (4, 3, 3, 2), True, {"stride": (2, 3)}),
    "padding_int": ((2, 3, 5, 6), (4, 3, 3, 3), True, {"padding": 1}),
    "padding_tuple": ((2, 3, 5, 6), (4, 3, 3, 3), True, {"padding": (2, 1)}),
    "padding_same_odd": ((2, 3, 6, 7), (4, 3, 3, 5), True, {"padding": "same"}),
    "padding_same_even": ((2, 3, 6, 7), (4, 3, 4, 2), True, {"padding": "same"}),
    "padding_same_dilated": ((1, 2, 8, 8), (3, 2, 3, 3), True, {"padding": "same", "dilation": 2}),
    "padding_valid": ((2, 3, 6, 7), (4, 3, 3, 3), True, {"padding": "valid"}),
    "dilation": ((2, 3, 9, 9), (4, 3, 3, 3), True, {"dilation": 2}),
    "dilation_tuple_stride_pad": ((2, 3, 9, 10), (4, 3, 3, 2), True, {"dilation": (2, 1), "stride": 2, "padding": 1}),
    "groups2": ((2, 4, 6, 6), (6, 2, 3, 3), True, {"groups": 2}),
    "groups_stride_pad": ((2, 6, 7, 7), (9, 2, 3, 3), True, {"groups": 3, "stride": 2, "padding": 1}),
    "depthwise": ((2, 4, 7, 6), (4, 1, 3, 3), True, {"groups": 4, "padding": 1}),
    "depthwise_multiplier": ((2, 3, 6, 6), (6, 1, 3, 2), False, {"groups": 3}),
    "unbatched": ((3, 6, 7), (4, 3, 3, 3), True, {"padding": 1}),
    "many_channels": ((2, 16, 6, 6), (8, 16, 3, 3), True, {}),
    "one_window": ((2, 3, 4, 5), (4, 3, 4, 5), True, {}),  # a 1×1 output: ∂x is one product
    "one_window_dilated_padded": ((2, 3, 3, 3), (4, 3, 3, 3), True, {"dilation": 2, "padding": 1}),
    "one_window_stride_leftover": ((2, 3, 4, 4), (4, 3, 3, 3), False, {"stride": 2}),  # a row the window skips
}


def _conv2d_inputs(case: str) -> tuple:
    x_shape, w_shape, bias, options = CONV2D_CASES[case]
    inputs = [randn(*x_shape), randn(*w_shape)] + ([randn(w_shape[0])] if bias else [])
    return inputs, options


@pytest.mark.parametrize("case", list(CONV2D_CASES))
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv2d_matches_torch(case: str) -> None:
    inputs, options = _conv2d_inputs(case)
    check_torch(
        lambda *a: F.conv2d(*a, **options),
        lambda *a: torch.nn.functional.conv2d(*a, **options),
        inputs,
    )


@pytest.mark.parametrize("case", list(CONV2D_CASES))
def test_conv2d_finite_differences(case: str) -> None:
    inputs, options = _conv2d_inputs(case)
    if inputs[0].ndim == 4:
        inputs[0] = inputs[0][:1]  # one image is enough for the float64 check
    check_gradients(lambda *a: F.conv2d(*a, **options), inputs)


CONV1D_CASES = {
    "plain": ((2, 3, 10), (4, 3, 3), True, {}),
    "stride_padding": ((2, 3, 11), (4, 3, 3), True, {"stride": 2, "padding": 1}),
    "same_even_dilated": ((2, 4, 10), (4, 2, 4), True, {"padding": "same", "dilation": 2, "groups": 2}),
    "depthwise_no_bias": ((1, 4, 9), (4, 1, 5), False, {"groups": 4}),
    "unbatched": ((3, 8), (2, 3, 3), True, {}),
}


@pytest.mark.parametrize("case", list(CONV1D_CASES))
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv1d_matches_torch_and_finite_differences(case: str) -> None:
    x_shape, w_shape, bias, options = CONV1D_CASES[case]
    inputs = [randn(*x_shape), randn(*w_shape)] + ([randn(w_shape[0])] if bias else [])
    check_torch(lambda *a: F.conv1d(*a, **options), lambda *a: torch.nn.functional.conv1d(*a, **options), inputs)
    check_gradients(lambda *a: F.conv1d(*a, **options), inputs)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("dims", [1, 2])
def test_padding_modes_match_torch(mode: str, dims: int) -> None:
    ours_cls, theirs_cls = (nn.Conv2d, torch.nn.Conv2d) if dims == 2 else (nn.Conv1d, torch.nn.Conv1d)
    kwargs = dict(padding=(2, 1) if dims == 2 else 2, padding_mode=mode)
    theirs = theirs_cls(3, 4, 3, **kwargs).double()
    ours = ours_cls(3, 4, 3, dtype=shenjing.float64, **kwargs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = randn(2, 3, 5, 6) if dims == 2 else randn(2, 3, 7)
    check_torch(ours, theirs, [x], dtypes=("float64",))
    assert repr(ours) == repr(theirs)
    check_gradients(ours, [x[:1]])


def test_module_matches_torch_and_weights_copy_both_ways() -> None:
    theirs = torch.nn.Conv2d(3, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=3).double()
    ours = nn.Conv2d(3, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=3, dtype=shenjing.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = randn(4, 3, 9, 8)
    xs, xt = shenjing.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ys, yt = ours(xs), theirs(xt)
    np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = randn(*yt.shape)
    (ys * shenjing.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    back = torch.nn.Conv2d(3, 6, (3, 2), groups=3).double()
    back.load_state_dict({k: torch.from_numpy(np.asarray(v.numpy())) for k, v in ours.state_dict().items()})
    np.testing.assert_array_equal(back.weight.detach().numpy(), ours.weight.detach().numpy())


def test_textbook_cnn_forward_and_gradients_match_torch() -> None:
    """Channels-last outputs flow conv → ReLU → conv → ReLU → max-pool → flatten → linear as torch's NCHW."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 4 * 4, 10),
    ).double()
    ours = nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 10),
    ).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = randn(5, 1, 12, 12)
    y = rng.integers(0, 10, 5)
    loss_s = F.cross_entropy(ours(shenjing.tensor(x)), shenjing.tensor(y))
    loss_t = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    assert loss_s.item() == pytest.approx(loss_t.item(), rel=1e-12)
    loss_s.backward()
    loss_t.backward()
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-13, err_msg=name)


def test_default_init_matches_torch_bounds() -> None:
    layer = nn.Conv2d(32, 64, 3)
    assert layer.weight.shape == (64, 32, 3, 3) and layer.bias.shape == (64,)
    assert layer.weight.dtype == shenjing.float32
    bound = 1 / np.sqrt(32 * 9)  # U(±1/√fan_in), fan_in = C/g · k_h · k_w
    w = layer.weight.detach().numpy()
    assert bound * 0.99 < np.abs(w).max() <= bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.03)
    assert np.abs(layer.bias.detach().numpy()).max() <= bound
    depthwise = nn.Conv2d(8, 8, 3, groups=8).weight.detach().numpy()
    assert depthwise.shape == (8, 1, 3, 3) and np.abs(depthwise).max() <= 1 / 3


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((1, 32, 3), {}),
        ((3, 6, (3, 2)), {"stride": 2, "padding": 1, "bias": False}),
        ((3, 6, 3), {"stride": 2, "padding": 1, "bias": False}),
        ((4, 8, 3), {"padding": "same", "dilation": 2, "groups": 2}),
        ((4, 8, 3), {"padding": "valid", "padding_mode": "reflect"}),
        ((2, 2, 5), {"padding": 2, "padding_mode": "circular"}),
    ],
)
def test_repr_and_config_match_torch(args: tuple, kwargs: dict) -> None:
    pairs = [(nn.Conv2d, torch.nn.Conv2d)] + ([(nn.Conv1d, torch.nn.Conv1d)] if isinstance(args[2], int) else [])
    for ours_cls, theirs_cls in pairs:
        ours, theirs = ours_cls(*args, **kwargs), theirs_cls(*args, **kwargs)
        assert repr(ours) == repr(theirs)
        rebuilt = ours_cls(**ours.get_config())
        assert repr(rebuilt) == repr(ours)


def test_same_padding_keeps_size_and_unbatched_input_is_one_image() -> None:
    layer = nn.Conv2d(3, 5, (4, 3), padding="same")
    assert layer(shenjing.zeros(2, 3, 9, 7)).shape == (2, 5, 9, 7)
    image = shenjing.randn(3, 9, 7)
    np.testing.assert_allclose(layer(image).detach().numpy(), layer(image.unsqueeze(0))[0].detach().numpy(), rtol=1e-6)


def test_errors_name_the_layer_and_shapes() -> None:
    layer = nn.Conv2d(1, 32, 3)
    with pytest.raises(RuntimeError) as err:
        layer(shenjing.zeros(64, 3, 28, 28))
    assert str(err.value).startswith(
        "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1)): input has 3 channels (input shape (64, 3, 28, 28)), "
        "expected 1"
    )
    with pytest.raises(RuntimeError, match=r"expected a 3-D \(unbatched\) or 4-D \(batched\) input .* \(28, 28\)"):
        layer(shenjing.zeros(28, 28))
    with pytest.raises(RuntimeError, match=r"got a 5-D input of shape \(1, 1, 1, 28, 28\)"):
        layer(shenjing.zeros(1, 1, 1, 28, 28))
    with pytest.raises(RuntimeError, match=r"padded input size per channel \(2, 2\).*kernel size \(3, 3\)"):
        layer(shenjing.zeros(1, 1, 2, 2))
    with pytest.raises(RuntimeError, match="input dtype float64 does not match the weight's float32"):
        layer(shenjing.zeros(1, 1, 5, 5, dtype=shenjing.float64))
    with pytest.raises(RuntimeError, match="input has 3 channels"):
        nn.Conv1d(2, 4, 3)(shenjing.zeros(1, 3, 10))
    with pytest.raises(RuntimeError, match=r"input has 64 channels .* single-channel inputs use x\.unsqueeze\(1\)"):
        layer(shenjing.zeros(64, 28, 28))
    # torch raises the same classes for the same mistakes
    with pytest.raises(RuntimeError):
        torch.nn.Conv2d(1, 32, 3)(torch.zeros(64, 3, 28, 28))
    with pytest.raises(RuntimeError):
        torch.nn.Conv2d(1, 32, 3)(torch.zeros(1, 1, 2, 2))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"groups": 0}, "groups must be a positive integer"),
        ({"groups": 4}, "in_channels must be divisible by groups"),
        ({"padding": "full"}, "Invalid padding string 'full'"),
        ({"padding": "same", "stride": 2}, "padding='same' is not supported for strided convolutions"),
        ({"padding_mode": "mirror"}, "padding_mode must be one of"),
    ],
)
def test_constructor_errors_are_value_errors_as_torch(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(6, 6, 3, **kwargs) if kwargs.get("groups") != 4 else nn.Conv2d(6, 8, 3, **kwargs)
    with pytest.raises(ValueError):
        torch.nn.Conv2d(6, 6, 3, **kwargs) if kwargs.get("groups") != 4 else torch.nn.Conv2d(6, 8, 3, **kwargs)


def test_gradient_only_where_needed_and_no_grad() -> None:
    layer = nn.Conv2d(2, 3, 3)
    x = shenjing.randn(2, 2, 5, 5)  # an input that needs no gradient (the first layer's images)
    layer(x).sum().backward()
    assert x.grad is None and layer.weight.grad is not None and layer.bias.grad is not None
    with shenjing.no_grad():
        out = layer(x)
    assert not out.requires_grad


@pytest.mark.parametrize("frozen", ["weight", "bias"])
def test_frozen_weight_or_bias_gradients_match_torch(frozen: str) -> None:
    theirs = torch.nn.Conv2d(3, 4, 3, padding=1).double()
    ours = nn.Conv2d(3, 4, 3, padding=1, dtype=shenjing.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    getattr(ours, frozen).requires_grad_(False)
    getattr(theirs, frozen).requires_grad_(False)
    x = randn(2, 3, 5, 5)
    xs, xt = shenjing.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours(xs).square().sum().backward()
    theirs(xt).square().sum().backward()
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    assert getattr(ours, frozen).grad is None
    trained = "bias" if frozen == "weight" else "weight"
    np.testing.assert_allclose(getattr(ours, trained).grad.numpy(), getattr(theirs, trained).grad.numpy(), rtol=1e-10)


def _cnn_layers_step(device: str) -> list:
    """Every layer of this family on one device: outputs and parameter gradients, returned on the host."""
    shenjing.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect"),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 6, (3, 2), stride=2, padding="valid", groups=2),
        nn.MaxPool2d(2, stride=1, padding=1),
        nn.Dropout2d(0.3),
        nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
        nn.AdaptiveAvgPool2d((2, 3)),
        nn.LayerNorm((2, 3)),
        nn.Flatten(),
        nn.Unflatten(1, (6, 6)),
        nn.Conv1d(6, 4, 3, padding="same"),
        nn.MaxPool1d(2),
        nn.BatchNorm1d(4),
        nn.Flatten(),
        nn.Linear(12, 3),
    ).to(device)
    x = shenjing.tensor(np.random.default_rng(2).standard_normal((3, 2, 9, 8)), device=device)
    model.double()
    shenjing.manual_seed(1)  # the same dropout mask on both devices' generators
    out = model(x)
    out.square().sum().backward()
    host = backend_of_host()
    return [host(out.array)] + [host(p.grad.array) for p in model.parameters()]


def backend_of_host():
    from shenjing.backend import backend_of

    return lambda a: backend_of(a).to_host(a)


def test_every_layer_runs_through_the_backend_seam() -> None:
    """The fake GPU backend rejects NumPy math on its arrays: all of it must go through ``xp``."""
    from fake_cupy import FakeGPUBackend

    from shenjing import backend

    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    backend.register_backend(FakeGPUBackend())
    try:
        cpu, gpu = _cnn_layers_step("cpu"), _cnn_layers_step("cuda")
    finally:
        backend._backends.clear()
        backend._backends.update(saved_backends)
        backend._by_array_type.clear()
        backend._by_array_type.update(saved_types)
    assert len(cpu) == len(gpu) > 10
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("x_shape, w_shape", [((5, 1, 200, 200), (4, 1, 3, 3)), ((3, 8, 70, 70), (6, 8, 3, 3))])
def test_several_batch_blocks_with_a_partial_last_one(x_shape: tuple, w_shape: tuple) -> None:
    """Images large enough that the batch is cut into cache-sized blocks, the last one smaller."""
    inputs = [randn(*x_shape), randn(*w_shape), randn(w_shape[0])]
    check_torch(lambda *a: F.conv2d(*a), lambda *a: torch.nn.functional.conv2d(*a), inputs, dtypes=("float64",))


@pytest.mark.parametrize(
    "make, fan_in",
    [
        (lambda: nn.Conv2d(3, 4000, (5, 3)), 3 * 5 * 3),
        (lambda: nn.Conv2d(4, 4000, 3, groups=2), 2 * 3 * 3),  # C/g, not C
        (lambda: nn.Conv2d(6, 3000, 1, groups=3), 2),
        (lambda: nn.Conv2d(1, 4000, 2, stride=2, dilation=3), 4),  # stride and dilation change nothing
        (lambda: nn.Conv2d(64, 3000, 3), 64 * 9),  # fan_out = 27 000 would give a bound 7x smaller
        (lambda: nn.Conv1d(2, 4000, 7), 14),
        (lambda: nn.Conv1d(8, 4000, 3, groups=4), 6),
    ],
)
def test_bias_is_uniform_within_one_over_root_fan_in(make, fan_in: int) -> None:
    """PyTorch: b ~ U(−1/√fan_in, 1/√fan_in), fan_in = in_channels / groups · ∏ kernel_size (the weight's fan-in)."""
    layer = make()
    bound = 1 / np.sqrt(fan_in)
    b = layer.bias.detach().numpy().astype(np.float64)
    n = b.size
    assert np.abs(b).max() <= bound * (1 + 1e-6)
    assert np.abs(b).max() > bound * (1 - 10 / n)  # the largest of n uniforms is this close to the bound
    assert b.std() == pytest.approx(bound / np.sqrt(3), rel=0.06)  # uniform, not normal or one-sided
    assert abs(b.mean()) < 4 * bound / np.sqrt(3 * n)
    w = layer.weight.detach().numpy()
    assert np.abs(w).max() <= bound * (1 + 1e-6)  # the weight's bound, kaiming_uniform_(a=√5): the same 1/√fan_in


def _dead_tap_cases() -> list:
    """Small maps with padding, where some kernel taps read only zeros (all configurations below, drawn once)."""
    draw = np.random.default_rng(11)
    cases = [((3, 4, 1, 1), (5, 4, 3, 3), {"padding": 1}),  # ResNet's last stage on MNIST: the centre tap only
             ((3, 4, 2, 2), (5, 4, 3, 3), {"padding": 1, "stride": 2}),  # its strided first conv: 2 × 2 taps
             ((2, 3, 1, 6), (4, 3, 3, 3), {"padding": 1}),  # one axis cut, the other whole
             ((2, 4, 2, 3), (4, 2, 5, 3), {"padding": (2, 1), "groups": 2})]
    while len(cases) < 16:
        H, W_ = (int(v) for v in draw.integers(1, 4, size=2))
        kh, kw = (int(v) for v in draw.integers(1, 6, size=2))
        ph, pw = int(draw.integers(0, kh)), int(draw.integers(0, kw))
        sh, sw, dh = int(draw.integers(1, 3)), int(draw.integers(1, 3)), int(draw.integers(1, 3))
        if H + 2 * ph < dh * (kh - 1) + 1 or W_ + 2 * pw < kw:
            continue
        cases.append(((2, 3, H, W_), (4, 3, kh, kw), {"padding": (ph, pw), "stride": (sh, sw), "dilation": (dh, 1)}))
    return cases


@pytest.mark.parametrize("x_shape,w_shape,options", _dead_tap_cases())
def test_taps_that_read_only_padding_are_cut_and_results_equal_torch(x_shape, w_shape, options) -> None:
    """The kernel-crop fast path (``conv._live_taps``) gives torch's output and gradients, dead taps' ∂L/∂W = 0."""
    x, w, b = randn(*x_shape), randn(*w_shape), randn(w_shape[0])
    sx, sw, sb = (shenjing.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out, want = F.conv2d(sx, sw, sb, **options), torch.nn.functional.conv2d(tx, tw, tb, **options)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = randn(*want.shape)
    out.backward(shenjing.tensor(g))
    want.backward(torch.tensor(g))
    for mine, theirs in ((sx, tx), (sw, tw), (sb, tb)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_three_by_three_kernel_on_a_one_by_one_map_computes_the_centre_tap_only() -> None:
    from shenjing.nn.conv import _live_taps

    assert _live_taps((1, 1), (3, 3), (1, 1, 1, 1), (1, 1), (1, 1)) == ((1, 2, 1, 2), (0, 0, 0, 0))
    assert _live_taps((2, 2), (3, 3), (1, 1, 1, 1), (2, 2), (1, 1)) == ((1, 3, 1, 3), (0, 0, 0, 0))
    assert _live_taps((2, 2), (3, 3), (1, 1, 1, 1), (1, 1), (1, 1)) is None  # every tap feeds some output
    assert _live_taps((28, 28), (7, 7), (3, 3, 3, 3), (2, 2), (1, 1)) is None
