"""The volumetric layers (Conv3d, MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, BatchNorm3d, InstanceNorm3d,
Dropout3d): PyTorch parity with gradients in float64 for every option, finite differences, a small video-style
network's training step, model files, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing
from shenjing import nn

F = nn.functional
rng = np.random.default_rng(13)


def _parity(ours, theirs, *arrays, tol: float = 1e-10) -> None:
    sj = [shenjing.tensor(a, requires_grad=True) for a in arrays]
    th = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, want = ours(*sj), theirs(*th)
    assert out.shape == tuple(want.shape)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(want.shape))
    out.backward(shenjing.tensor(g))
    want.backward(torch.tensor(g))
    for s, t in zip(sj, th):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


CONV = [{}, {"stride": 2}, {"padding": 1}, {"padding": (1, 0, 2), "stride": (2, 1, 2), "dilation": (1, 2, 1)},
        {"padding": "same"}, {"groups": 2}]


@pytest.mark.parametrize("options", CONV, ids=[str(o) for o in CONV])
def test_conv3d_matches_torch(options: dict) -> None:
    x, w, b = rng.standard_normal((2, 4, 5, 6, 7)), rng.standard_normal((6, 4 // options.get("groups", 1), 3, 2, 3)), \
        rng.standard_normal(6)
    _parity(lambda *t: F.conv3d(*t, **options), lambda *t: torch.nn.functional.conv3d(*t, **options), x, w, b)


def test_conv3d_unbatched_and_finite_differences() -> None:
    x, w = rng.standard_normal((3, 4, 4, 5)), rng.standard_normal((2, 3, 2, 3, 2))
    _parity(F.conv3d, torch.nn.functional.conv3d, x, w)
    check_gradients(lambda a, k: F.conv3d(a, k, padding=1, stride=(2, 1, 1)), [x[None], w])


TRANSPOSED = [{}, {"stride": 2}, {"stride": 2, "padding": 1, "output_padding": 1},
              {"stride": (2, 1, 3), "padding": (1, 0, 1), "dilation": (2, 1, 1), "output_padding": (1, 0, 2)},
              {"groups": 2, "stride": 2}, {"padding": (2, 1, 1)}]


@pytest.mark.parametrize("options", TRANSPOSED, ids=[str(o) for o in TRANSPOSED])
def test_conv_transpose3d_matches_torch(options: dict) -> None:
    groups = options.get("groups", 1)
    x, w, b = rng.standard_normal((2, 4, 3, 4, 5)), rng.standard_normal((4, 6 // groups, 3, 2, 3)), \
        rng.standard_normal(6)
    _parity(lambda *t: F.conv_transpose3d(*t, **options),
            lambda *t: torch.nn.functional.conv_transpose3d(*t, **options), x, w, b)


def test_conv_transpose3d_finite_differences_and_the_module() -> None:
    check_gradients(lambda a, k: F.conv_transpose3d(a, k, stride=2, padding=1),
                    [rng.standard_normal((1, 2, 2, 3, 2)), rng.standard_normal((2, 3, 3, 2, 2))])
    layer = nn.ConvTranspose3d(4, 8, 3, stride=2)
    assert repr(layer) == repr(torch.nn.ConvTranspose3d(4, 8, 3, stride=2))
    assert layer(shenjing.zeros(1, 4, 3, 3, 3)).shape == (1, 8, 7, 7, 7)


POOL = [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": (2, 3, 2), "stride": (1, 2, 2)}, {"kernel_size": 3, "stride": 2, "ceil_mode": True}]


@pytest.mark.parametrize("options", POOL + [{"kernel_size": (2, 3, 2), "dilation": (2, 1, 1)}],
                         ids=[str(o) for o in POOL] + ["dilation"])
def test_max_pool3d_matches_torch_with_ties(options: dict) -> None:
    x = rng.permutation(2 * 3 * 7 * 6 * 9).reshape(2, 3, 7, 6, 9).astype(float)
    x[:, :, :2] = 5.0  # ties across depth and within each slice: the first maximum in (d, h, w) order gets it
    _parity(lambda t: F.max_pool3d(t, **options), lambda t: torch.nn.functional.max_pool3d(t, **options), x)


@pytest.mark.parametrize("options", POOL + [{"kernel_size": (2, 3, 2), "dilation": (2, 1, 1)}],
                         ids=[str(o) for o in POOL] + ["dilation"])
def test_max_pool3d_indices_and_max_unpool3d_match_torch(options: dict) -> None:
    x = rng.permutation(2 * 3 * 7 * 6 * 9).reshape(2, 3, 7, 6, 9).astype(float)
    x[:, :, :2] = 5.0  # ties: the first maximum in (d, h, w) order, as PyTorch
    values, where = F.max_pool3d(shenjing.tensor(x), return_indices=True, **options)
    want_values, want_where = torch.nn.functional.max_pool3d(torch.tensor(x), return_indices=True, **options)
    np.testing.assert_array_equal(values.numpy(), want_values.numpy())
    np.testing.assert_array_equal(where.numpy(), want_where.numpy())
    np.testing.assert_array_equal(nn.MaxPool3d(return_indices=True, **options)(shenjing.tensor(x))[1].numpy(),
                                  want_where.numpy())
    if "dilation" in options or options.get("ceil_mode"):
        return
    kept = {k: v for k, v in options.items() if k in ("kernel_size", "stride", "padding")}
    a = want_values.numpy()
    _parity(lambda t: F.max_unpool3d(t, shenjing.tensor(want_where.numpy()), output_size=x.shape[2:], **kept),
            lambda t: torch.nn.functional.max_unpool3d(t, want_where, output_size=x.shape[2:], **kept), a)
    assert repr(nn.MaxUnpool3d(2)) == repr(torch.nn.MaxUnpool3d(2))


@pytest.mark.parametrize("options", POOL + [{"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
                                            {"kernel_size": 2, "divisor_override": 3},
                                            {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                                             "count_include_pad": False}],
                         ids=lambda o: str(o))
def test_avg_pool3d_matches_torch(options: dict) -> None:
    x = rng.standard_normal((2, 3, 5, 6, 7))
    _parity(lambda t: F.avg_pool3d(t, **options), lambda t: torch.nn.functional.avg_pool3d(t, **options), x)


@pytest.mark.parametrize("size", [(2, 3, 4), 1, (None, 2, 3), (3, 5, 5)], ids=str)
def test_adaptive_avg_pool3d_matches_torch(size) -> None:
    x = rng.standard_normal((2, 3, 5, 6, 7))
    _parity(lambda t: F.adaptive_avg_pool3d(t, size), lambda t: torch.nn.functional.adaptive_avg_pool3d(t, size), x)


def test_normalisations_and_dropout_match_torch() -> None:
    x = rng.standard_normal((2, 4, 3, 5, 6))
    for ours, theirs in ((nn.BatchNorm3d(4), torch.nn.BatchNorm3d(4)),
                         (nn.InstanceNorm3d(4, affine=True), torch.nn.InstanceNorm3d(4, affine=True))):
        ours, theirs = ours.double(), theirs.double()
        _parity(ours, theirs, x)
        np.testing.assert_allclose(ours.running_mean.numpy() if ours.running_mean is not None else 0,
                                   theirs.running_mean.numpy() if theirs.running_mean is not None else 0, rtol=1e-12)
    drop = nn.Dropout3d(0.5)
    out = drop(shenjing.ones(4, 8, 2, 3, 3)).numpy()
    per_channel = out.reshape(4, 8, -1)
    assert set(np.unique(per_channel)) <= {0.0, 2.0} and (per_channel.min(-1) == per_channel.max(-1)).all()
    assert drop.eval()(shenjing.ones(8, 2, 3, 3)).numpy().sum() == 8 * 18
    for layer in (nn.Conv3d(4, 8, 3, padding=1), nn.MaxPool3d(2), nn.AvgPool3d(2), nn.Dropout3d(),
                  nn.AdaptiveAvgPool3d((1, 1, 1)), nn.BatchNorm3d(3), nn.InstanceNorm3d(3)):
        name = type(layer).__name__
        args = {"Conv3d": (4, 8, 3), "MaxPool3d": (2,), "AvgPool3d": (2,), "AdaptiveAvgPool3d": ((1, 1, 1),),
                "BatchNorm3d": (3,), "InstanceNorm3d": (3,)}.get(name, ())
        kwargs = {"padding": 1} if name == "Conv3d" else {}
        assert repr(layer) == repr(getattr(torch.nn, name)(*args, **kwargs)), name


def test_a_small_video_network_trains_saves_and_loads(tmp_path) -> None:
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2),
                          nn.Conv3d(4, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool3d(1), nn.Flatten(),
                          nn.Linear(8, 2))
    x = shenjing.randn(6, 1, 4, 8, 8)
    y = shenjing.tensor([0, 1, 0, 1, 0, 1])
    x.array[y.numpy() == 1] += 1.0  # class 1 is brighter
    opt = shenjing.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    shenjing.save(model, tmp_path / "video.safetensors")
    loaded = shenjing.load(tmp_path / "video.safetensors")
    np.testing.assert_allclose(loaded(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-6)


def test_errors_name_the_layer_and_the_shapes() -> None:
    with pytest.raises(RuntimeError, match=r"conv3d: input has 3 channels \(input shape \(1, 3, 4, 4, 4\)\), "
                                           r"expected 2"):
        F.conv3d(shenjing.zeros(1, 3, 4, 4, 4), shenjing.zeros(2, 2, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"expected a 5-D input \(N, C, D, H, W\).*\(2, 3, 4\)"):
        nn.MaxPool3d(2)(shenjing.zeros(2, 3, 4))
    with pytest.raises(RuntimeError, match="padded depth 2 is smaller than the dilated kernel 3"):
        F.conv3d(shenjing.zeros(1, 1, 2, 5, 5), shenjing.zeros(1, 1, 3, 3, 3))


def test_the_volumetric_ops_run_through_the_seam() -> None:
    """On the fake-CuPy device (NumPy math on its arrays raises): the same numbers and gradients as the CPU."""
    from fake_cupy import FakeGPUBackend

    from shenjing import backend

    x, w = rng.standard_normal((2, 2, 5, 6, 6)), rng.standard_normal((3, 2, 3, 3, 3))

    def run(device: str) -> list:
        a, k = shenjing.tensor(x, device=device, requires_grad=True), shenjing.tensor(w, device=device,
                                                                                      requires_grad=True)
        outs = [F.conv3d(a, k, padding=1), F.max_pool3d(a, 3, 2, 1), F.avg_pool3d(a, 3, 2, 1, ceil_mode=True,
                                                                                  count_include_pad=False),
                F.adaptive_avg_pool3d(a, (2, 3, 3))]
        sum((o * o).sum() for o in outs).backward()
        return [backend.backend_of(t.array).to_host(t.array) for t in outs + [a.grad, k.grad]]

    saved_backends, saved_types = dict(backend._backends), dict(backend._by_array_type)
    backend.register_backend(FakeGPUBackend())
    try:
        cpu, gpu = run("cpu"), run("cuda")
    finally:
        backend._backends.clear()
        backend._backends.update(saved_backends)
        backend._by_array_type.clear()
        backend._by_array_type.update(saved_types)
    for a, b in zip(cpu, gpu):
        np.testing.assert_array_equal(a, b)
