"""The further losses and the distances: PyTorch parity (float32 + float64), finite differences, options, errors."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from helpers import check_gradients, check_torch, torch

import shenjing
import shenjing.nn.functional as F
from shenjing import nn

tF = torch.nn.functional
rng = np.random.default_rng(11)
A, B = rng.standard_normal((9, 13)) * 2, rng.standard_normal((9, 13)) * 2
X1, X2, X3 = rng.standard_normal((8, 5)), rng.standard_normal((8, 5)), rng.standard_normal((8, 5))
CLASSES = rng.integers(0, 5, 8)
SIGN = np.where(rng.random(8) < 0.5, 1.0, -1.0)
SIGN_2D = np.where(rng.random((9, 13)) < 0.5, 1.0, -1.0)
LOGQ = np.log(rng.dirichlet(np.ones(6), 7))
P = rng.dirichlet(np.ones(6), 7)
P_ZEROS = np.where(rng.random((7, 6)) < 0.3, 0.0, P)
BIN = (rng.random((9, 13)) < 0.5).astype(float)
COUNTS = rng.poisson(3.0, (9, 13)).astype(float)
RATE = rng.uniform(0.5, 4.0, (9, 13))
VAR = rng.uniform(0.2, 2.0, (9, 13))
W13 = rng.uniform(0.5, 2.0, 13)
POS = np.abs(A) + 0.1


def pair(ours, theirs, inputs, grads=(True, True)):
    """One registry entry: (shenjing fn, torch fn, inputs, which inputs are differentiated)."""
    return ours, theirs, inputs, list(grads) + [False] * (len(inputs) - len(grads))


def both(name, inputs, grads=(True, True), ours_kw=None, **kw):
    ours = getattr(F, name)
    theirs = getattr(tF, name)
    return pair(lambda *a: ours(*a, **kw), lambda *a: theirs(*a, **kw), inputs, grads)


LOSSES = {
    "smooth_l1": both("smooth_l1_loss", [A, B]),
    "smooth_l1_beta_sum": both("smooth_l1_loss", [A, B], reduction="sum", beta=0.5),
    "smooth_l1_beta0_none": both("smooth_l1_loss", [A, B], reduction="none", beta=0.0),
    "smooth_l1_broadcast": pair(lambda a, y: F.smooth_l1_loss(a, y, beta=2.0),
                                lambda a, y: tF.smooth_l1_loss(a, y, beta=2.0), [A[:, :1], B]),
    "huber": both("huber_loss", [A, B]),
    "huber_delta_none": both("huber_loss", [A, B], reduction="none", delta=2.5),
    "huber_delta_sum": both("huber_loss", [A, B], reduction="sum", delta=0.3),
    "huber_weight": pair(lambda a, y, w: F.huber_loss(a, y, delta=0.5, weight=w),
                         lambda a, y, w: tF.huber_loss(a, y, delta=0.5, weight=w), [A, B, np.abs(B) + 0.1]),
    "kl_div_mean": both("kl_div", [LOGQ, P]),
    "kl_div_batchmean": both("kl_div", [LOGQ, P], reduction="batchmean"),
    "kl_div_zeros_sum": both("kl_div", [LOGQ, P_ZEROS], grads=(True, False), reduction="sum"),
    "kl_div_none": both("kl_div", [LOGQ, P], reduction="none"),
    "kl_div_log_target": both("kl_div", [LOGQ, np.log(P)], reduction="batchmean", log_target=True),
    "cosine_embedding": both("cosine_embedding_loss", [X1, X2, SIGN]),
    "cosine_embedding_margin_none": both("cosine_embedding_loss", [X1, X2, SIGN], margin=-0.2, reduction="none"),
    "cosine_embedding_1d": both("cosine_embedding_loss", [X1[0], X2[0], np.array(-1.0)], margin=-0.5),
    "margin_ranking": both("margin_ranking_loss", [X1[:, 0], X2[:, 0], SIGN]),
    "margin_ranking_margin_sum": both("margin_ranking_loss", [X1[:, 0], X2[:, 0], SIGN], margin=0.3, reduction="sum"),
    "hinge_embedding": both("hinge_embedding_loss", [A, SIGN_2D], grads=(True,)),
    "hinge_embedding_margin_none": both("hinge_embedding_loss", [A, SIGN_2D], grads=(True,), margin=2.0,
                                        reduction="none"),
    "soft_margin": both("soft_margin_loss", [A, SIGN_2D], grads=(True,)),
    "soft_margin_none": both("soft_margin_loss", [A, SIGN_2D], grads=(True,), reduction="none"),
    "multilabel_soft_margin": both("multilabel_soft_margin_loss", [A, BIN], grads=(True,)),
    "multilabel_soft_margin_weight_none": pair(
        lambda x, y, w: F.multilabel_soft_margin_loss(x, y, weight=w, reduction="none"),
        lambda x, y, w: tF.multilabel_soft_margin_loss(x, y, weight=w, reduction="none"), [A, BIN, W13], (True,)),
    "triplet": both("triplet_margin_loss", [X1, X2, X3], grads=(True, True, True)),
    "triplet_p1_swap_sum": both("triplet_margin_loss", [X1, X2, X3], grads=(True, True, True), margin=2.0, p=1,
                                swap=True, reduction="sum"),
    "triplet_p3_none": both("triplet_margin_loss", [X1, X2, X3], grads=(True, True, True), p=3, reduction="none"),
    "triplet_distance": both("triplet_margin_with_distance_loss", [X1, X2, X3], grads=(True, True, True)),
    "triplet_distance_cosine_swap_none": pair(
        lambda a, p, n: F.triplet_margin_with_distance_loss(
            a, p, n, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), margin=0.5, swap=True,
            reduction="none"),
        lambda a, p, n: tF.triplet_margin_with_distance_loss(
            a, p, n, distance_function=lambda u, v: 1 - tF.cosine_similarity(u, v), margin=0.5, swap=True,
            reduction="none"), [X1, X2, X3], (True, True, True)),
    "multi_margin": both("multi_margin_loss", [X1, CLASSES]),
    "multi_margin_p2_margin_sum": both("multi_margin_loss", [X1, CLASSES], p=2, margin=0.7, reduction="sum"),
    "multi_margin_weight_none": pair(lambda x, y, w: F.multi_margin_loss(x, y, weight=w, reduction="none"),
                                     lambda x, y, w: tF.multi_margin_loss(x, y, weight=w, reduction="none"),
                                     [X1, CLASSES, W13[:5]], (True,)),
    "multi_margin_unbatched": both("multi_margin_loss", [X1[0], np.array(CLASSES[0])]),
    "poisson_nll": both("poisson_nll_loss", [A * 0.3, COUNTS], grads=(True,)),
    "poisson_nll_full_sum": both("poisson_nll_loss", [A * 0.3, COUNTS], grads=(True,), full=True, reduction="sum"),
    "poisson_nll_rate": both("poisson_nll_loss", [RATE, COUNTS], grads=(True,), log_input=False),
    "poisson_nll_rate_full_none": both("poisson_nll_loss", [RATE, COUNTS], grads=(True,), log_input=False,
                                       full=True, reduction="none"),
    "gaussian_nll": both("gaussian_nll_loss", [A, B, VAR], grads=(True, True, True)),
    "gaussian_nll_full_sum": both("gaussian_nll_loss", [A, B, VAR], grads=(True, True, True), full=True,
                                  reduction="sum"),
    "gaussian_nll_per_sample_var": both("gaussian_nll_loss", [A, B, VAR[:, 0]], grads=(True, True, True)),
    "gaussian_nll_var_last_1_none": both("gaussian_nll_loss", [A, B, VAR[:, :1]], grads=(True, True, True),
                                         reduction="none"),
    "cosine_similarity": both("cosine_similarity", [X1, X2]),
    "cosine_similarity_dim0_eps": both("cosine_similarity", [X1, X2], dim=0, eps=1e-3),
    "cosine_similarity_broadcast": both("cosine_similarity", [X1, X2[:1]], dim=-1),
    "pairwise_distance": both("pairwise_distance", [X1, X2]),
    "pairwise_distance_p1_keepdim": both("pairwise_distance", [X1, X2], p=1.0, keepdim=True),
    "pairwise_distance_p3_eps": both("pairwise_distance", [X1, X2], p=3.0, eps=1e-2),
    "pairwise_distance_1d": both("pairwise_distance", [X1[0], X2[0]]),
    "normalize": both("normalize", [A], grads=(True,)),
    "normalize_p1_dim0": both("normalize", [A], grads=(True,), p=1.0, dim=0),
    "normalize_3d_last": both("normalize", [rng.standard_normal((3, 4, 5))], grads=(True,), dim=-1),
}


WARNS = {"kl_div_mean", "smooth_l1_broadcast"}  # torch's own warnings: 'mean' KL divergence, broadcast target


def _expect_warning(name: str):
    return pytest.warns(UserWarning) if name in WARNS else contextlib.nullcontext()


@pytest.mark.parametrize("name", LOSSES)
def test_matches_torch(name: str) -> None:
    ours, theirs, inputs, grads = LOSSES[name]
    with _expect_warning(name):
        check_torch(ours, theirs, inputs, requires_grad=grads)


@pytest.mark.parametrize("name", LOSSES)
def test_finite_differences(name: str) -> None:
    ours, _, inputs, grads = LOSSES[name]
    with _expect_warning(name):
        check_gradients(ours, inputs, requires_grad=grads)


MODULES = [
    (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), [A, B]),
    (nn.HuberLoss(delta=2.0), torch.nn.HuberLoss(delta=2.0), [A, B]),
    (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"), [LOGQ, P]),
    (nn.KLDivLoss(reduction="sum", log_target=True), torch.nn.KLDivLoss(reduction="sum", log_target=True),
     [LOGQ, np.log(P)]),
    (nn.CosineEmbeddingLoss(margin=0.1), torch.nn.CosineEmbeddingLoss(margin=0.1), [X1, X2, SIGN]),
    (nn.MarginRankingLoss(margin=0.2), torch.nn.MarginRankingLoss(margin=0.2), [X1[:, 0], X2[:, 0], SIGN]),
    (nn.HingeEmbeddingLoss(margin=0.5), torch.nn.HingeEmbeddingLoss(margin=0.5), [A, SIGN_2D]),
    (nn.SoftMarginLoss(), torch.nn.SoftMarginLoss(), [A, SIGN_2D]),
    (nn.MultiLabelSoftMarginLoss(weight=shenjing.tensor(W13)),
     torch.nn.MultiLabelSoftMarginLoss(weight=torch.tensor(W13)), [A, BIN]),
    (nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True), torch.nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True),
     [X1, X2, X3]),
    (nn.TripletMarginWithDistanceLoss(margin=0.5, swap=True),
     torch.nn.TripletMarginWithDistanceLoss(margin=0.5, swap=True), [X1, X2, X3]),
    (nn.MultiMarginLoss(p=2, margin=0.5, weight=shenjing.tensor(W13[:5])),
     torch.nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor(W13[:5])), [X1, CLASSES]),
    (nn.PoissonNLLLoss(log_input=False, full=True), torch.nn.PoissonNLLLoss(log_input=False, full=True),
     [RATE, COUNTS]),
    (nn.GaussianNLLLoss(full=True), torch.nn.GaussianNLLLoss(full=True), [A, B, VAR]),
    (nn.CosineSimilarity(dim=0), torch.nn.CosineSimilarity(dim=0), [X1, X2]),
    (nn.PairwiseDistance(p=1.0, keepdim=True), torch.nn.PairwiseDistance(p=1.0, keepdim=True), [X1, X2]),
]


@pytest.mark.parametrize("index", range(len(MODULES)))
def test_modules_match_torch(index: int) -> None:
    ours, theirs, inputs = MODULES[index]
    check_torch(ours, theirs, inputs, dtypes=("float64",), requires_grad=[True] + [False] * (len(inputs) - 1))
    assert ours.get_config()["reduction" if hasattr(ours, "reduction") else "eps"] is not None


def test_legacy_size_average_and_reduce() -> None:
    a, y = shenjing.tensor(A), shenjing.tensor(B)
    with pytest.warns(UserWarning, match="deprecated"):
        total = F.smooth_l1_loss(a, y, size_average=False)
    assert total.item() == pytest.approx(F.smooth_l1_loss(a, y, reduction="sum").item())
    with pytest.warns(UserWarning, match="deprecated"):
        assert tuple(nn.SoftMarginLoss(reduce=False)(a, shenjing.tensor(SIGN_2D)).shape) == A.shape


def test_soft_margin_is_finite_at_1e4() -> None:
    # NOTE: torch 2.13 computes log(1 + e^(1e4)) = inf here; ours is exact: max(u, 0) + log(1 + e^(−|u|))
    huge = np.where(rng.random((9, 13)) < 0.5, 1e4, -1e4)
    u = -SIGN_2D * huge
    x = shenjing.tensor(huge, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        loss = F.soft_margin_loss(x, shenjing.tensor(SIGN_2D))
        loss.backward()
    assert loss.item() == pytest.approx(np.maximum(u, 0).mean(), rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), -SIGN_2D * (u > 0) / u.size)


def test_gaussian_nll_var_checks() -> None:
    a = shenjing.tensor(A)
    with pytest.raises(ValueError, match="var of shape \\(9, 2\\) does not fit input of shape \\(9, 13\\)"):
        F.gaussian_nll_loss(a, a, shenjing.ones(9, 2))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(a, a, -shenjing.ones(9, 13, dtype=shenjing.float64))
    # a variance below eps is clamped in value but keeps its gradient, as torch
    tiny = np.full((9, 13), 1e-9)
    check_torch(F.gaussian_nll_loss, tF.gaussian_nll_loss, [A, B, tiny], dtypes=("float64",),
                requires_grad=[True, False, True])


def test_input_rank_errors() -> None:
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(shenjing.randn(3, 4), shenjing.randn(3, 4), shenjing.randn(4))
    with pytest.raises(RuntimeError, match="same dimension"):
        F.margin_ranking_loss(shenjing.randn(3), shenjing.randn(3), shenjing.randn(3, 1))
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.HuberLoss(reduction="avg")
