"""The sample-quality score: Fréchet distance, confident share, class-histogram entropy, the MNIST scorer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import MNIST_HINT, mnist_dir

import shenjing
from shenjing import nn
from shenjing.gan.images import make_grid, write_png
from shenjing.gan.quality import QualityScorer, frechet_distance, scorer_model, to_scorer_input, train_mnist_scorer

pytest.importorskip("scipy", reason="the Fréchet distance's matrix square root is scipy.linalg.sqrtm")


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    sigma = a @ a.T + np.eye(6)
    mu = rng.standard_normal(6)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)
    # diagonal covariances: ‖μ1 − μ2‖² + Σ (√a_i − √b_i)²
    va, vb = rng.uniform(0.5, 2, 6), rng.uniform(0.5, 2, 6)
    mu2 = mu + 0.5
    expected = float(((mu - mu2) ** 2).sum() + ((np.sqrt(va) - np.sqrt(vb)) ** 2).sum())
    assert frechet_distance(mu, np.diag(va), mu2, np.diag(vb)) == pytest.approx(expected, rel=1e-10)
    # a general pair against the eigen-decomposition form tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½)
    b = rng.standard_normal((6, 6))
    sigma2 = b @ b.T + 0.1 * np.eye(6)
    w, v = np.linalg.eigh(sigma)
    root1 = v @ np.diag(np.sqrt(w)) @ v.T
    w2 = np.linalg.eigvalsh(root1 @ sigma2 @ root1)
    expected = float(((mu - mu2) ** 2).sum() + np.trace(sigma) + np.trace(sigma2) - 2 * np.sqrt(w2).sum())
    assert frechet_distance(mu, sigma, mu2, sigma2) == pytest.approx(expected, rel=1e-8)
    with pytest.raises(ValueError, match=r"\(F,\) and covariances"):
        frechet_distance(mu, sigma, mu[:3], sigma2)


def _identity_classifier():
    """features = x (10 numbers); logits = 10·x: the class is argmax x, confidence known in closed form."""
    body = nn.Linear(10, 10, bias=False)
    head = nn.Linear(10, 10, bias=False)
    with shenjing.no_grad():
        body.weight.copy_(shenjing.eye(10))
        head.weight.copy_(10 * shenjing.eye(10))
    return nn.Sequential(body, head)


def test_scorer_share_entropy_and_fid():
    # 30 inputs: 20 one-hot on classes 0..3 (confident), 10 flat (softmax 0.1 each: not confident, argmax 0)
    x = np.zeros((30, 10), np.float32)
    for i in range(20):
        x[i, i % 4] = 1.0
    scorer = QualityScorer(_identity_classifier(), reference=x, batch_size=7)
    result = scorer.score(x)
    assert result["n"] == 30
    assert result["confident_share"] == pytest.approx(20 / 30)  # softmax(10·e_k) has max 0.9995 ≥ 0.9
    shares = [15 / 30, 5 / 30, 5 / 30, 5 / 30] + [0.0] * 6
    assert result["class_histogram"] == pytest.approx(shares)
    assert result["class_entropy"] == pytest.approx(-sum(p * math.log(p) for p in shares if p))
    assert result["fid"] == pytest.approx(0.0, abs=1e-6)  # the same images as the reference
    # the FD of other images equals frechet_distance of the two feature sets' mean and unbiased covariance
    y = x[::-1].copy() * 0.5 + 0.1
    expected = frechet_distance(
        y.mean(0), np.cov(y.astype(np.float64), rowvar=False), x.mean(0), np.cov(x.astype(np.float64), rowvar=False)
    )
    assert scorer.score(y)["fid"] == pytest.approx(expected, rel=1e-5)
    all_ten = np.eye(10, dtype=np.float32)
    assert scorer.class_entropy(all_ten) == pytest.approx(math.log(10))


def test_to_scorer_input_maps_tanh_range_to_standardised_mnist():
    images = shenjing.tensor(np.array([[-1.0] * 392 + [1.0] * 391 + [3.0]], np.float32))
    x = to_scorer_input(images)
    assert x.shape == (1, 1, 28, 28)
    flat = x.reshape(-1).array
    assert flat[0] == pytest.approx((0 - 0.1307) / 0.3081) and flat[-1] == pytest.approx((1 - 0.1307) / 0.3081)


def test_scorer_model_shapes():
    model = scorer_model()
    assert model(shenjing.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert model[:-1](shenjing.zeros(2, 1, 28, 28)).shape == (2, 128)  # the penultimate features


def test_mnist_scorer_learns_quickly():
    folder = mnist_dir()
    if not (folder / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(MNIST_HINT)
    model, accuracy = train_mnist_scorer(folder, epochs=1, limit=3000, batch_size=100)
    assert accuracy > 0.85  # 3 000 images, one epoch (the full recipe: ≥ 99 %)


def test_make_grid_layout_and_png_round_trip(tmp_path):
    images = np.linspace(-1, 1, 5 * 3 * 2).reshape(5, 1, 3, 2)
    grid = make_grid(images, nrow=2, padding=1)
    assert grid.shape == (3 * 4 + 1, 2 * 3 + 1) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[5:8, 4:6], np.round((images[3, 0] + 1) / 2 * 255))  # row 1, column 1
    assert grid[0].max() == 0 and grid[9:12, 4:6].max() == 0  # padding and the empty last cell
    PIL = pytest.importorskip("PIL.Image", reason="reading the PNG back")
    path = write_png(tmp_path / "g.png", grid)
    np.testing.assert_array_equal(np.asarray(PIL.open(path)), grid)
    rgb = make_grid(np.zeros((2, 3, 4, 4)), value_range=(0, 1))
    assert rgb.shape == (2 + 4 + 2, 2 + 2 * 6, 3)
    np.testing.assert_array_equal(np.asarray(PIL.open(write_png(tmp_path / "c.png", rgb))), rgb)
    with pytest.raises(ValueError, match=r"\(N, 1\|3, H, W\)"):
        make_grid(np.zeros((2, 2, 4, 4)))
