"""A sample-quality score for generated digits that needs no outside weights: our own MNIST classifier judges them.

For N generated images and the classifier's softmax p(c | x) and penultimate-layer features f(x):

- confident share = (1/N) · #{x : max_c p(c | x) ≥ 0.9}  (looks like some digit);
- class entropy H = −Σ_c h_c ln h_c with h_c the share of images whose argmax is c (ln 10 ≈ 2.303: all ten
  digits equally often; 0: a single digit, mode collapse);
- Fréchet distance FD = ‖μ_g − μ_r‖² + tr(Σ_g + Σ_r − 2 (Σ_g Σ_r)^½) between Gaussians fitted to the features of
  the generated and of the real (test) images (the FID recipe with our CNN in place of Inception; lower is better,
  0 for identical statistics).

The classifier is :func:`scorer_model` trained by :func:`train_mnist_scorer` (≥ 99 % test accuracy; measured in
its docstring) and cached in a model file, so both frameworks' GANs are scored by the same network.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import shenjing

from .. import nn
from ..backend import backend_of
from ..tensor import Tensor

__all__ = [
    "QualityScorer",
    "frechet_distance",
    "scorer_model",
    "train_mnist_scorer",
    "load_mnist_scorer",
    "to_scorer_input",
    "MNIST_MEAN",
    "MNIST_STD",
]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def scorer_model() -> nn.Sequential:
    """The scoring CNN: two 5×5 convolutions with max-pooling, a 128-unit penultimate layer, 10 logits.

    (N, 1, 28, 28) → Conv(1, 32, 5) → ReLU → MaxPool 2 → Conv(32, 64, 5) → ReLU → MaxPool 2 → Flatten (1024)
    → Linear(1024, 128) → ReLU [features] → Dropout(0.3) → Linear(128, 10). The input is standardised MNIST,
    (x − 0.1307) / 0.3081 with x in [0, 1].
    """
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(),
        nn.Dropout(0.3), nn.Linear(128, 10),
    )  # fmt: skip


def to_scorer_input(images: Any, value_range: tuple[float, float] = (-1.0, 1.0)) -> Tensor:
    """Generated images (N, 784), (N, 28, 28) or (N, 1, 28, 28) in ``value_range`` → the scorer's standardised
    (N, 1, 28, 28) input: x01 = clip((x − lo) / (hi − lo), 0, 1); (x01 − 0.1307) / 0.3081."""
    x = images if isinstance(images, Tensor) else shenjing.tensor(images)
    x = x.detach().reshape(x.shape[0], 1, 28, 28)
    low, high = value_range
    x01 = ((x - low) / (high - low)).clamp(0.0, 1.0)
    return (x01 - MNIST_MEAN) / MNIST_STD


def _host(array: Any) -> Any:
    return backend_of(array).to_host(array)


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½), the matrix square root by ``scipy.linalg.sqrtm`` (host arrays).

    A tiny imaginary part from round-off is dropped; a singular product gets ε·I added to both covariances.
    """
    try:
        from scipy import linalg
    except ImportError:
        raise ImportError(
            "the Fréchet distance needs scipy: pip install scipy (or pip install 'shenjing[gan]')"
        ) from None
    import numpy  # host-side: scipy's sqrtm takes NumPy arrays

    mu1, mu2, sigma1, sigma2 = (numpy.asarray(_host(a), dtype=numpy.float64) for a in (mu1, mu2, sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"frechet_distance: expected means (F,) and covariances (F, F) of one F, got {mu1.shape}, {sigma1.shape}, "
            f"{mu2.shape}, {sigma2.shape}"
        )
    diff = mu1 - mu2
    with warnings.catch_warnings():  # a ReLU unit that never fires makes Σ singular: harmless for the trace
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not numpy.isfinite(covmean).all():
            offset = numpy.eye(sigma1.shape[0]) * 1e-6
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if covmean.dtype.kind == "c":
        covmean = covmean.real
    return float(diff @ diff + sigma1.trace() + sigma2.trace() - 2.0 * covmean.trace())


class QualityScorer:
    """Scores generated images with a classifier ending in ``Linear`` logits (an ``nn.Sequential``).

    The penultimate features are the output of every layer but the last (in eval mode, so dropout is off).
    ``reference`` (real images, already in the classifier's input form) fixes the statistics the Fréchet
    distance compares against; :meth:`set_reference` sets them later.
    """

    def __init__(
        self, classifier: nn.Sequential, reference: Any = None, batch_size: int = 500, threshold: float = 0.9
    ) -> None:
        self.classifier = classifier
        self.body, self.head = classifier[:-1], classifier[-1]
        self.batch_size, self.threshold = int(batch_size), float(threshold)
        self.reference_stats: tuple[Any, Any] | None = None
        if reference is not None:
            self.set_reference(reference)

    def predict(self, inputs: Any) -> tuple[Any, Any]:
        """(probabilities (N, 10), features (N, F)) as backend arrays, batch by batch without gradients."""
        self.classifier.eval()
        x = inputs if isinstance(inputs, Tensor) else shenjing.tensor(inputs)
        probs, feats = [], []
        with shenjing.no_grad():
            for start in range(0, x.shape[0], self.batch_size):
                f = self.body(x[start : start + self.batch_size])
                probs.append(self.head(f).softmax(-1).array)
                feats.append(f.array)
        xp = backend_of(probs[0]).xp
        return xp.concatenate(probs), xp.concatenate(feats)

    @staticmethod
    def statistics(features: Any) -> tuple[Any, Any]:
        """μ (F,) and the unbiased covariance Σ (F, F) of the rows of ``features``, in float64."""
        xp = backend_of(features).xp
        f = features.astype(xp.float64)
        mu = f.mean(axis=0)
        centred = f - mu
        return mu, centred.T @ centred / max(f.shape[0] - 1, 1)

    def set_reference(self, inputs: Any) -> None:
        self.reference_stats = self.statistics(self.predict(inputs)[1])

    @staticmethod
    def entropy_of(probs: Any, classes: int | None = None) -> tuple[float, list]:
        """The class-histogram entropy (nats) of the argmax classes and the histogram (shares)."""
        xp = backend_of(probs).xp
        classes = probs.shape[1] if classes is None else classes
        counts = _host(xp.bincount(probs.argmax(axis=1), minlength=classes)).tolist()
        total = max(sum(counts), 1)
        shares = [c / total for c in counts]
        return 0.0 - sum(p * math.log(p) for p in shares if p > 0), shares

    def class_entropy(self, inputs: Any) -> float:
        return self.entropy_of(self.predict(inputs)[0])[0]

    def score(self, inputs: Any) -> dict:
        """``confident_share``, ``class_entropy``, ``class_histogram`` and (with reference statistics) ``fid``."""
        probs, feats = self.predict(inputs)
        entropy, shares = self.entropy_of(probs)
        result = {
            "n": int(probs.shape[0]),
            "confident_share": float((probs.max(axis=1) >= self.threshold).mean()),
            "class_entropy": entropy,
            "class_histogram": shares,
        }
        if self.reference_stats is not None:
            mu, sigma = self.statistics(feats)
            result["fid"] = frechet_distance(mu, sigma, *self.reference_stats)
        return result


def train_mnist_scorer(
    data: str | os.PathLike | None = None,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    limit: int | None = None,
) -> tuple[nn.Sequential, float]:
    """Train :func:`scorer_model` on MNIST with Adam and cross-entropy; returns (model in eval mode, test accuracy).

    ``data`` is the folder of the IDX files (default ``$SHENJING_DATA``); ``limit`` uses only the first N
    training images (for quick tests).
    """
    from ..data import DataLoader, Subset
    from ..datasets import mnist

    shenjing.manual_seed(seed)
    train = mnist(data, train=True, normalize=(MNIST_MEAN, MNIST_STD))
    test = mnist(data, train=False, normalize=(MNIST_MEAN, MNIST_STD))
    if limit:
        train = Subset(train, range(min(limit, len(train))))
    model = scorer_model()
    optimizer = shenjing.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(train, batch_size=batch_size, shuffle=True, generator=seed)
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    model.eval()
    correct = 0
    with shenjing.no_grad():
        for x, y in DataLoader(test, batch_size=1000):
            correct += int((model(x).argmax(-1) == y).sum().item())
    return model, correct / len(test)


def load_mnist_scorer(
    path: str | os.PathLike, data: str | os.PathLike | None = None, epochs: int = 3, reference: bool = True
) -> QualityScorer:
    """The scorer from the model file ``path``, trained there first (:func:`train_mnist_scorer`) when missing;
    with ``reference`` its Fréchet statistics are those of the 10 000 MNIST test images."""
    from ..datasets import mnist
    from ..io import load, save_model

    path = os.fspath(path)
    if os.path.exists(path):
        model = load(path)
    else:
        model, accuracy = train_mnist_scorer(data, epochs=epochs)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        save_model(model, path, test_accuracy=accuracy, input_shape=[1, 28, 28])
    scorer = QualityScorer(model)
    if reference:
        scorer.set_reference(mnist(data, train=False, normalize=(MNIST_MEAN, MNIST_STD)).tensors[0])
    return scorer
