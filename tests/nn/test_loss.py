"""Losses: PyTorch parity for every option, finite differences, stability at ±1e4, and clear label errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
import shenjing.nn.functional as F
from shenjing import nn

tF = torch.nn.functional
rng = np.random.default_rng(3)
N, C = 45, 7
LOGITS = rng.standard_normal((N, C)) * 2
LABELS = rng.integers(0, C, N)
LABELS_IGNORED = np.where(rng.random(N) < 0.2, -100, LABELS)
WEIGHT = rng.uniform(0.5, 2.0, C)
PROBS = rng.dirichlet(np.ones(C), N)
SPATIAL = rng.standard_normal((3, C, 4, 5))
SPATIAL_LABELS = rng.integers(0, C, (3, 4, 5))
PRED, TARGET = rng.standard_normal((45, 65)), rng.standard_normal((45, 65))
P01 = rng.uniform(0.05, 0.95, (20, 3))
Y01 = (rng.random((20, 3)) < 0.5).astype(float)


def _w(x):
    return x if isinstance(x, np.ndarray) else x


LOSSES = {
    "mse": (lambda a, y: F.mse_loss(a, y), lambda a, y: tF.mse_loss(a, y), [PRED, TARGET]),
    "mse_sum": (lambda a, y: F.mse_loss(a, y, reduction="sum"), lambda a, y: tF.mse_loss(a, y, reduction="sum"),
                [PRED, TARGET]),
    "mse_none": (lambda a, y: F.mse_loss(a, y, reduction="none"), lambda a, y: tF.mse_loss(a, y, reduction="none"),
                 [PRED, TARGET]),
    "l1": (lambda a, y: F.l1_loss(a, y), lambda a, y: tF.l1_loss(a, y), [PRED, TARGET]),
    "ce": (lambda z, y: F.cross_entropy(z, y), lambda z, y: tF.cross_entropy(z, y), [LOGITS, LABELS]),
    "ce_sum": (lambda z, y: F.cross_entropy(z, y, reduction="sum"),
               lambda z, y: tF.cross_entropy(z, y, reduction="sum"), [LOGITS, LABELS]),
    "ce_none": (lambda z, y: F.cross_entropy(z, y, reduction="none"),
                lambda z, y: tF.cross_entropy(z, y, reduction="none"), [LOGITS, LABELS]),
    "ce_weight": (lambda z, y, w: F.cross_entropy(z, y, weight=w), lambda z, y, w: tF.cross_entropy(z, y, weight=w),
                  [LOGITS, LABELS, WEIGHT]),
    "ce_ignore": (lambda z, y: F.cross_entropy(z, y), lambda z, y: tF.cross_entropy(z, y), [LOGITS, LABELS_IGNORED]),
    "ce_smooth": (lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1),
                  lambda z, y: tF.cross_entropy(z, y, label_smoothing=0.1), [LOGITS, LABELS]),
    "ce_smooth_weight_ignore": (
        lambda z, y, w: F.cross_entropy(z, y, weight=w, label_smoothing=0.2),
        lambda z, y, w: tF.cross_entropy(z, y, weight=w, label_smoothing=0.2), [LOGITS, LABELS_IGNORED, WEIGHT]),
    "ce_probs": (lambda z, p: F.cross_entropy(z, p), lambda z, p: tF.cross_entropy(z, p), [LOGITS, PROBS]),
    "ce_probs_smooth_weight": (
        lambda z, p, w: F.cross_entropy(z, p, weight=w, label_smoothing=0.1),
        lambda z, p, w: tF.cross_entropy(z, p, weight=w, label_smoothing=0.1), [LOGITS, PROBS, WEIGHT]),
    "ce_spatial": (lambda z, y: F.cross_entropy(z, y), lambda z, y: tF.cross_entropy(z, y), [SPATIAL, SPATIAL_LABELS]),
    "ce_spatial_none": (lambda z, y: F.cross_entropy(z, y, reduction="none"),
                        lambda z, y: tF.cross_entropy(z, y, reduction="none"), [SPATIAL, SPATIAL_LABELS]),
    "ce_unbatched": (lambda z, y: F.cross_entropy(z, y), lambda z, y: tF.cross_entropy(z, y),
                     [LOGITS[0], np.array(LABELS[0])]),
    "nll": (lambda z, y: F.nll_loss(F.log_softmax(z, 1), y), lambda z, y: tF.nll_loss(tF.log_softmax(z, 1), y),
            [LOGITS, LABELS]),
    "nll_weight_ignore": (
        lambda z, y, w: F.nll_loss(F.log_softmax(z, 1), y, weight=w, reduction="sum"),
        lambda z, y, w: tF.nll_loss(tF.log_softmax(z, 1), y, weight=w, reduction="sum"),
        [LOGITS, LABELS_IGNORED, WEIGHT]),
    "bce": (lambda p, y: F.binary_cross_entropy(p, y), lambda p, y: tF.binary_cross_entropy(p, y), [P01, Y01]),
    "bce_weight_sum": (lambda p, y, w: F.binary_cross_entropy(p, y, weight=w, reduction="sum"),
                       lambda p, y, w: tF.binary_cross_entropy(p, y, weight=w, reduction="sum"),
                       [P01, Y01, WEIGHT[:3]]),
    "bce_logits": (lambda z, y: F.binary_cross_entropy_with_logits(z, y),
                   lambda z, y: tF.binary_cross_entropy_with_logits(z, y), [PRED[:20, :3], Y01]),
    "bce_logits_pos_weight": (
        lambda z, y, pw: F.binary_cross_entropy_with_logits(z, y, pos_weight=pw, reduction="none"),
        lambda z, y, pw: tF.binary_cross_entropy_with_logits(z, y, pos_weight=pw, reduction="none"),
        [PRED[:20, :3], Y01, WEIGHT[:3]]),
}
# targets, labels and weights are constants: only the first input is differentiated
GRAD_ONLY_FIRST = {"requires_grad": [True, False, False]}


@pytest.mark.parametrize("name", LOSSES)
def test_matches_torch(name: str) -> None:
    ours, theirs, inputs = LOSSES[name]
    check_torch(ours, theirs, inputs, requires_grad=[True] + [name.startswith(("mse", "l1"))] + [False])


@pytest.mark.parametrize("name", LOSSES)
def test_finite_differences(name: str) -> None:
    ours, _, inputs = LOSSES[name]
    small = [x[:6] if x.ndim and x.shape[0] > 6 and i < 2 and x.ndim < 3 else x for i, x in enumerate(inputs)]
    check_gradients(ours, small, requires_grad=[True, False, False])


def test_cross_entropy_gradient_is_p_minus_onehot_over_n() -> None:
    z = shenjing.tensor(LOGITS, requires_grad=True)
    F.cross_entropy(z, shenjing.tensor(LABELS)).backward()
    p = np.exp(LOGITS - LOGITS.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = (p - np.eye(C)[LABELS]) / N
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["ce", "ce_smooth", "nll", "bce_logits"])
def test_stable_for_logits_of_1e4(name: str) -> None:
    ours, theirs, inputs = LOSSES[name]
    huge = inputs[0] * 0 + np.where(rng.random(inputs[0].shape) < 0.5, 1e4, -1e4)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        check_torch(ours, theirs, [huge] + inputs[1:], requires_grad=[True, False, False])


def test_textbook_half_squared_error_has_gradient_a_minus_y() -> None:
    a = shenjing.tensor([0.7, 0.2], dtype=shenjing.float64, requires_grad=True)
    y = shenjing.tensor([1.0, 0.0], dtype=shenjing.float64)
    loss = nn.HalfSquaredErrorLoss()(a, y)
    assert loss.item() == pytest.approx(0.5 * (0.09 + 0.04))
    loss.backward()
    np.testing.assert_allclose(a.grad.numpy(), [-0.3, 0.2])
    assert F.half_squared_error(a, y).item() == pytest.approx(0.5 * F.mse_loss(a, y, reduction="sum").item())


def test_float_labels_give_a_clear_error() -> None:
    z = shenjing.randn(3, 5)
    with pytest.raises(RuntimeError, match="expected integer class labels.*got float32 of shape \\(3,\\).*long"):
        nn.CrossEntropyLoss()(z, shenjing.tensor([1.0, 2.0, 3.0]))


def test_labels_out_of_range_give_a_clear_error() -> None:
    z = shenjing.randn(3, 5)
    with pytest.raises(IndexError, match="Target 7 is out of bounds.*\\[0, 4\\] for 5 classes"):
        nn.CrossEntropyLoss()(z, shenjing.tensor([0, 1, 7]))
    with pytest.raises(IndexError, match="Target -1"):
        nn.CrossEntropyLoss()(z, shenjing.tensor([0, -1, 2]))
    with pytest.raises(ValueError, match="expected labels of shape \\(3,\\)"):
        nn.CrossEntropyLoss()(z, shenjing.tensor([0, 1]))


def test_bce_rejects_values_outside_0_1() -> None:
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        nn.BCELoss()(shenjing.tensor([1.5]), shenjing.tensor([1.0]))


def test_bad_reduction_and_broadcast_warning() -> None:
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(shenjing.zeros(4, 1), shenjing.zeros(4))


def test_loss_modules_match_functional() -> None:
    z, y = shenjing.tensor(LOGITS), shenjing.tensor(LABELS)
    w = shenjing.tensor(WEIGHT)
    assert nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)(z, y).item() == pytest.approx(
        F.cross_entropy(z, y, weight=w, label_smoothing=0.1).item())
    assert nn.NLLLoss()(F.log_softmax(z, 1), y).item() == pytest.approx(F.cross_entropy(z, y).item())
    assert nn.BCEWithLogitsLoss()(shenjing.zeros(2), shenjing.ones(2)).item() == pytest.approx(np.log(2), rel=1e-6)
