"""max_pool*(return_indices=True) and MaxUnpool1d/2d: indices equal to PyTorch's for every pooling option, the
unpooled maps and their gradients equal to PyTorch's, a SegNet-style encoder–decoder step, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing
from shenjing import nn

F = nn.functional
rng = np.random.default_rng(5)

POOL2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=(2, 3), stride=(1, 2)),
          dict(kernel_size=2, dilation=2), dict(kernel_size=3, stride=2, ceil_mode=True)]


@pytest.mark.parametrize("options", POOL2D, ids=[str(o) for o in POOL2D])
@pytest.mark.parametrize("unbatched", [False, True])
def test_max_pool2d_indices_equal_torch(options: dict, unbatched: bool) -> None:
    x = rng.standard_normal((3, 7, 9) if unbatched else (2, 3, 7, 9))
    x[..., 0, :2] = x[..., 1, :2] = 5.0  # ties: the first maximum in row-major window order, as PyTorch
    values, where = F.max_pool2d(shenjing.tensor(x), return_indices=True, **options)
    want_values, want_where = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **options)
    np.testing.assert_array_equal(values.numpy(), want_values.numpy())
    np.testing.assert_array_equal(where.numpy(), want_where.numpy())
    assert where.dtype == shenjing.int64 and not where.requires_grad
    module = nn.MaxPool2d(return_indices=True, **options)
    np.testing.assert_array_equal(module(shenjing.tensor(x))[1].numpy(), want_where.numpy())


def test_max_pool1d_indices_and_the_with_indices_names() -> None:
    x = rng.standard_normal((2, 4, 11))
    got = F.max_pool1d_with_indices(shenjing.tensor(x), 3, 2, 1)
    want = torch.nn.functional.max_pool1d_with_indices(torch.tensor(x), 3, 2, 1)
    np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    np.testing.assert_array_equal(nn.MaxPool1d(3, 2, 1, return_indices=True)(shenjing.tensor(x))[1].numpy(),
                                  want[1].numpy())
    np.testing.assert_array_equal(F.max_pool2d_with_indices(shenjing.tensor(x[:, None]), 2)[1].numpy(),
                                  torch.nn.functional.max_pool2d_with_indices(torch.tensor(x[:, None]), 2)[1].numpy())


@pytest.mark.parametrize("shape,options,output_size", [
    ((2, 3, 8, 10), dict(kernel_size=2), None),  # the default size (H − 1)·s − 2p + k gives the input's back
    ((2, 3, 7, 9), dict(kernel_size=2), (7, 9)),  # an odd size pools to the same: output_size picks it
    ((2, 3, 7, 9), dict(kernel_size=3, stride=2, padding=1), None),
    ((2, 3, 8, 10), dict(kernel_size=3, stride=2, padding=1), (2, 3, 8, 10))])
def test_max_unpool2d_and_its_gradient_equal_torch(shape: tuple, options: dict, output_size) -> None:
    x = rng.standard_normal(shape)
    pooled, where = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **options)
    a = pooled.detach().numpy()
    ours = shenjing.tensor(a, requires_grad=True)
    theirs = torch.tensor(a, requires_grad=True)
    out = F.max_unpool2d(ours, shenjing.tensor(where.numpy()), output_size=output_size, **options)
    want = torch.nn.functional.max_unpool2d(theirs, where, output_size=output_size, **options)
    np.testing.assert_array_equal(out.detach().numpy(), want.detach().numpy())
    g = rng.standard_normal(tuple(want.shape))
    out.backward(shenjing.tensor(g))
    want.backward(torch.tensor(g))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    if options["kernel_size"] == 2:  # (overlapping windows may share a maximum: one value wins the place, and
        # finite differences see only that one; PyTorch's gradient, as ours, reads the place for both)
        check_gradients(lambda t: F.max_unpool2d(t, shenjing.tensor(where.numpy()), output_size=output_size,
                                                 **options), [a])


def test_unpool_of_pool_keeps_each_maximum_in_place_1d_and_2d() -> None:
    x = shenjing.tensor(rng.standard_normal((2, 3, 8, 6)))
    back = nn.MaxUnpool2d(2)(*nn.MaxPool2d(2, return_indices=True)(x))
    kept = back.numpy() != 0
    assert kept.reshape(2, 3, 4, 2, 3, 2).sum(axis=(3, 5)).max() == 1  # one survivor per 2 × 2 window
    np.testing.assert_array_equal(back.numpy()[kept], x.numpy()[kept])
    seq = shenjing.tensor(rng.standard_normal((3, 10)))  # unbatched (C, L)
    values, where = F.max_pool1d(seq, 2, return_indices=True)
    want = torch.nn.functional.max_unpool1d(*torch.nn.functional.max_pool1d(torch.tensor(seq.numpy()), 2,
                                                                             return_indices=True), 2)
    np.testing.assert_array_equal(nn.MaxUnpool1d(2)(values, where).numpy(), want.numpy())


def test_a_segnet_style_encoder_decoder_trains() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc, self.pool = nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2, return_indices=True)
            self.unpool, self.dec = nn.MaxUnpool2d(2), nn.Conv2d(4, 1, 3, padding=1)

        def forward(self, x):
            y, where = self.pool(nn.functional.relu(self.enc(x)))
            return self.dec(self.unpool(y, where, output_size=x.size()))

    shenjing.manual_seed(0)
    net, x = Net(), shenjing.randn(8, 1, 9, 9)
    opt = shenjing.optim.Adam(net.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(x), x)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert net(x).shape == (8, 1, 9, 9) and losses[-1] < 0.5 * losses[0]


def test_errors_as_torch() -> None:
    a = shenjing.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match=r'invalid output_size "\[9, 4\]" \(dim 0 must be between 2 and 6\)'):
        F.max_unpool2d(a, shenjing.zeros(1, 1, 2, 2, dtype=shenjing.int64), 2, output_size=(9, 4))
    with pytest.raises(RuntimeError, match=r"Found an invalid max index: 16 \(output volumes are of size 4x4\)"):
        F.max_unpool2d(a, shenjing.tensor([[[[0, 1], [2, 16]]]]), 2)
    with pytest.raises(RuntimeError, match=r"indices of the input's shape \(1, 1, 2, 2\)"):
        F.max_unpool2d(a, shenjing.zeros(1, 1, 2, 1, dtype=shenjing.int64), 2)
    with pytest.raises(RuntimeError, match="integer indices"):
        F.max_unpool2d(a, shenjing.zeros(1, 1, 2, 2), 2)


def test_indices_and_unpooling_run_through_the_seam() -> None:
    """On the fake-CuPy device (NumPy math on its arrays raises): the same indices, maps and gradients."""
    from fake_cupy import FakeGPUBackend

    from shenjing import backend

    x = rng.standard_normal((2, 3, 8, 6))

    def run(device: str) -> list:
        t = shenjing.tensor(x, device=device, requires_grad=True)
        values, where = F.max_pool2d(t, 3, 2, 1, return_indices=True)
        back = F.max_unpool2d(values, where, 3, 2, 1, output_size=(8, 6))
        (back * back).sum().backward()
        return [backend.backend_of(a.array).to_host(a.array) for a in (values, where, back, t.grad)]

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
