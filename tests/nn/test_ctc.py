"""CTCLoss: PyTorch parity of the loss and of log_probs' gradient (every reduction, zero_infinity, padded and
concatenated targets, unbatched, another blank, float32), finite differences through log_softmax, a model that
learns to emit a sequence, the seam, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, torch

import shenjing
from shenjing import nn

F = nn.functional
rng = np.random.default_rng(23)
T, N, C = 12, 4, 6
TARGETS = np.array([[1, 2, 2, 3], [4, 4, 0, 0], [5, 1, 3, 0], [2, 0, 0, 0]])  # repeats need a blank between
TARGET_LENGTHS, INPUT_LENGTHS = np.array([4, 2, 3, 1]), np.array([12, 10, 7, 3])


def _both(logits, targets, input_lengths, target_lengths, dtype="float64", **options) -> tuple:
    sx = shenjing.tensor(logits.astype(dtype), requires_grad=True)
    tx = torch.tensor(logits.astype(dtype), requires_grad=True)
    slp, tlp = F.log_softmax(sx, -1), torch.nn.functional.log_softmax(tx, -1)
    slp.retain_grad()
    tlp.retain_grad()
    ours = F.ctc_loss(slp, shenjing.tensor(targets), shenjing.tensor(input_lengths), shenjing.tensor(target_lengths),
                      **options)
    theirs = torch.nn.functional.ctc_loss(tlp, torch.tensor(targets), torch.tensor(input_lengths),
                                          torch.tensor(target_lengths), **options)
    ours.sum().backward()
    theirs.sum().backward()
    return (ours, slp, sx), (theirs, tlp, tx)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_matches_torch_loss_and_gradients(reduction: str, zero_infinity: bool) -> None:
    logits = rng.standard_normal((T, N, C))
    (ours, slp, sx), (theirs, tlp, tx) = _both(logits, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS,
                                               reduction=reduction, zero_infinity=zero_infinity)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(slp.grad.numpy(), tlp.grad.numpy(), rtol=1e-10, atol=1e-12)  # PyTorch's convention
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_concatenated_targets_impossible_alignments_and_zero_infinity() -> None:
    logits = rng.standard_normal((T, N, C))
    flat, lengths = np.array([1, 2, 2, 3, 4, 4, 5, 1, 3, 2]), np.array([12, 2, 7, 3])  # 4, 4 cannot fit in 2 steps
    (ours, _, sx), (theirs, _, tx) = _both(logits, flat, lengths, TARGET_LENGTHS, reduction="none")
    assert np.isinf(ours.detach().numpy()[1]) and np.isinf(theirs.detach().numpy()[1])
    (ours, _, sx), (theirs, _, tx) = _both(logits, flat, lengths, TARGET_LENGTHS, reduction="none",
                                           zero_infinity=True)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.isfinite(sx.grad.numpy()).all()


def test_unbatched_float32_and_another_blank() -> None:
    logits = rng.standard_normal((9, C))
    (ours, _, sx), (theirs, _, tx) = _both(logits, np.array([0, 3, 3]), 9, 3, dtype="float32", blank=5)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_finite_differences_through_log_softmax() -> None:
    targets, inputs, lengths = shenjing.tensor(TARGETS[:2]), shenjing.tensor([6, 5]), shenjing.tensor([4, 2])
    logits = rng.standard_normal((6, 2, C))
    for reduction in ("mean", "sum"):
        check_gradients(lambda x, reduction=reduction: F.ctc_loss(F.log_softmax(x, -1), targets, inputs,
                                             lengths, reduction=reduction), [logits])


def test_a_model_learns_to_emit_a_sequence() -> None:
    shenjing.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 5))
    x = shenjing.randn(10, 2, 3)  # (T, N, features)
    targets, inputs, lengths = shenjing.tensor([[1, 2, 3], [4, 4, 0]]), shenjing.tensor([10, 8]), shenjing.tensor([3, 2])
    opt = shenjing.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.CTCLoss()
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn(model(x).log_softmax(-1), targets, inputs, lengths)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    best = model(x).argmax(-1)[:, 0].tolist()  # greedy decoding of sequence 0: collapse repeats, drop blanks
    decoded = [c for i, c in enumerate(best) if c != 0 and (i == 0 or c != best[i - 1])]
    assert decoded == [1, 2, 3]


def test_ctc_runs_through_the_seam() -> None:
    from fake_cupy import FakeGPUBackend

    from shenjing import backend

    logits = rng.standard_normal((T, N, C))

    def run(device: str) -> list:
        x = shenjing.tensor(logits, device=device, requires_grad=True)
        loss = F.ctc_loss(F.log_softmax(x, -1), shenjing.tensor(TARGETS, device=device),
                          shenjing.tensor(INPUT_LENGTHS, device=device), shenjing.tensor(TARGET_LENGTHS, device=device))
        loss.backward()
        return [backend.backend_of(t.array).to_host(t.array) for t in (loss, x.grad)]

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


def test_errors() -> None:
    lp = shenjing.zeros(5, 2, 4)
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(lp, shenjing.tensor([[1], [2]]), [5, 5], [1, 1], blank=4)
    with pytest.raises(RuntimeError, match=r"input_lengths must be in \[1, 5\]"):
        F.ctc_loss(lp, shenjing.tensor([[1], [2]]), [6, 5], [1, 1])
    with pytest.raises(RuntimeError, match="one length per sequence"):
        F.ctc_loss(lp, shenjing.tensor([[1], [2]]), [5], [1, 1])
    with pytest.raises(RuntimeError, match=r"target labels must be in \[0, 4\)"):
        F.ctc_loss(lp, shenjing.tensor([[1], [7]]), [5, 5], [1, 1])
    with pytest.raises(RuntimeError, match="input_lengths must be integral"):
        F.ctc_loss(lp, shenjing.tensor([[1], [2]]), [5.5, 5], [1, 1])
    with pytest.raises(RuntimeError, match="sum\\(target_lengths\\) = 3"):
        F.ctc_loss(lp, shenjing.tensor([1, 2]), [5, 5], [1, 2])
