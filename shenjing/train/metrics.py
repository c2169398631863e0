"""Metrics: accuracy, precision/recall/F1, confusion matrix, top-k accuracy; MSE, MAE, R² — and their running sums.

Functions take ``(y_true, y_pred)`` in scikit-learn's order and return Python floats. ``y_pred`` may be
class labels (N,) or class scores (N, C) — logits or probabilities — whose arg-max is the prediction.
Inputs may be Tensors, NumPy or CuPy arrays, or lists.

:class:`MetricAccumulator` collects the same quantities batch by batch (a confusion matrix for
classification, sums of errors for regression), so a training loop gets exact epoch metrics without
keeping every prediction and without a host sync per step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backend import NUMPY, backend_of
from ..tensor import Tensor

__all__ = [
    "accuracy",
    "top_k_accuracy",
    "confusion_matrix",
    "precision",
    "recall",
    "f1_score",
    "precision_recall_f1",
    "mean_squared_error",
    "mean_absolute_error",
    "r2_score",
    "MetricAccumulator",
    "METRICS",
    "metric_direction",
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
]


def _array(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.array
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return x
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        return x.detach().cpu().numpy()
    return NUMPY.xp.asarray(x)


def _labels(y_pred: Any) -> Any:
    """Predicted labels: the arg-max of scores (N, C), or ``y_pred`` itself when it already holds labels."""
    y_pred = _array(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return y_pred.argmax(1)
    return y_pred.reshape(-1)


def _pair(y_true: Any, y_pred: Any, name: str) -> tuple:
    y_true, y_pred = _array(y_true).reshape(-1), _labels(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: expected as many predictions as labels, got {y_pred.shape[0]} predictions for "
            f"{y_true.shape[0]} labels"
        )
    return y_true, y_pred


# ---- classification --------------------------------------------------------------------------------------------
def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of correct predictions: (1/N) Σₙ [ŷₙ = yₙ].

    Example:
        >>> accuracy([0, 1, 2, 1], [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4], [0.8, 0.1, 0.1]])
        0.75
    """
    y_true, y_pred = _pair(y_true, y_pred, "accuracy")
    return float((y_true == y_pred).mean()) if y_true.size else 0.0


def top_k_accuracy(y_true: Any, y_score: Any, k: int = 5) -> float:
    """Fraction of samples whose true class is among the k highest scores (scikit-learn's top_k_accuracy_score)."""
    y_true, scores = _array(y_true).reshape(-1), _array(y_score)
    if scores.ndim != 2:
        raise ValueError(f"top_k_accuracy: expected class scores of shape (N, C), got shape {tuple(scores.shape)}")
    return float(_top_k_hits(y_true, scores, k).sum() / max(y_true.shape[0], 1))


def _top_k_hits(y_true: Any, scores: Any, k: int) -> Any:
    xp = backend_of(scores).xp
    if k >= scores.shape[1]:
        return xp.ones(y_true.shape, dtype=bool)
    # NOTE: scikit-learn ranks by a stable sort reversed, so among tied scores the later class ranks first
    top = xp.argsort(scores, axis=1, kind="stable")[:, ::-1][:, :k]  # (N, k)
    return (top == y_true[:, None]).any(1)


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> Any:
    """C[i, j] = number of samples of true class i predicted as class j (rows: truth, as scikit-learn).

    Returns an int64 array (C, C), C = ``num_classes`` or 1 + the largest label seen.

    Example:
        >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2]).tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    y_true, y_pred = _pair(y_true, y_pred, "confusion_matrix")
    xp = backend_of(y_true).xp
    y_true, y_pred = y_true.astype("int64"), y_pred.astype("int64")
    if num_classes is None:
        num_classes = int(max(int(y_true.max(initial=-1)), int(y_pred.max(initial=-1)))) + 1
    C = int(num_classes)
    if y_true.size and (
        int(y_true.min()) < 0 or int(y_pred.min()) < 0 or int(y_true.max()) >= C or int(y_pred.max()) >= C
    ):
        raise ValueError(
            f"confusion_matrix: expected labels in [0, {C}), got labels from "
            f"{min(int(y_true.min()), int(y_pred.min()))} to {max(int(y_true.max()), int(y_pred.max()))}"
        )
    return xp.bincount(y_true * C + y_pred, minlength=C * C).reshape(C, C)


def _prf_from_confusion(cm: Any, average: str | None) -> tuple:
    """Precision, recall and F1 from a confusion matrix; a class with no samples and no predictions is skipped.

    precisionᶜ = TPᶜ/(TPᶜ + FPᶜ),  recallᶜ = TPᶜ/(TPᶜ + FNᶜ),  F1ᶜ = 2·P·R/(P + R)   (0 where a denominator is 0)
    macro: the unweighted mean over classes; weighted: weighted by each class's support; micro: from summed counts.
    """
    xp = backend_of(cm).xp
    cm = cm.astype("float64")
    tp = xp.diagonal(cm)
    predicted, actual = cm.sum(0), cm.sum(1)  # TP + FP, TP + FN
    if average == "micro":
        total_tp, total = tp.sum(), cm.sum()
        value = float(total_tp / total) if total else 0.0
        return value, value, value
    present = (predicted + actual) > 0  # as scikit-learn: labels seen in y_true or y_pred
    with_errstate = getattr(xp, "errstate", None)
    ctx = with_errstate(divide="ignore", invalid="ignore") if with_errstate else _Null()
    with ctx:
        p = xp.where(predicted > 0, tp / xp.where(predicted > 0, predicted, 1), 0.0)
        r = xp.where(actual > 0, tp / xp.where(actual > 0, actual, 1), 0.0)
        f = xp.where(p + r > 0, 2 * p * r / xp.where(p + r > 0, p + r, 1), 0.0)
    if average is None:
        return p, r, f
    if average == "weighted":
        weights = actual / actual.sum() if actual.sum() else actual
        return float((p * weights).sum()), float((r * weights).sum()), float((f * weights).sum())
    if average != "macro":
        raise ValueError(f"average: expected one of 'macro', 'micro', 'weighted', None, got {average!r}")
    n = int(present.sum())
    if n == 0:
        return 0.0, 0.0, 0.0
    return float(p[present].sum() / n), float(r[present].sum() / n), float(f[present].sum() / n)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def precision_recall_f1(y_true: Any, y_pred: Any, average: str | None = "macro") -> tuple:
    """(precision, recall, F1) averaged as ``average`` ("macro", "micro", "weighted" or None for per class)."""
    return _prf_from_confusion(confusion_matrix(y_true, y_pred), average)


def precision(y_true: Any, y_pred: Any, average: str | None = "macro") -> Any:
    """Of the samples predicted as class c, the fraction that are c: TP/(TP + FP), macro-averaged by default."""
    return precision_recall_f1(y_true, y_pred, average)[0]


def recall(y_true: Any, y_pred: Any, average: str | None = "macro") -> Any:
    """Of the samples of class c, the fraction predicted as c: TP/(TP + FN), macro-averaged by default."""
    return precision_recall_f1(y_true, y_pred, average)[1]


def f1_score(y_true: Any, y_pred: Any, average: str | None = "macro") -> Any:
    """Harmonic mean of precision and recall per class, 2PR/(P + R), macro-averaged by default."""
    return precision_recall_f1(y_true, y_pred, average)[2]


# ---- regression ----------------------------------------------------------------------------------------------------
def _regression_pair(y_true: Any, y_pred: Any, name: str) -> tuple:
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == 1 and y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred[:, 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: expected predictions of the targets' shape {tuple(y_true.shape)}, got {tuple(y_pred.shape)}"
        )
    return y_true.astype("float64"), y_pred.astype("float64")


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """MSE = (1/N) Σ (ŷ − y)², averaged over outputs too."""
    y_true, y_pred = _regression_pair(y_true, y_pred, "mean_squared_error")
    return float(((y_pred - y_true) ** 2).mean())


def mean_absolute_error(y_true: Any, y_pred: Any) -> float:
    """MAE = (1/N) Σ |ŷ − y|, averaged over outputs too."""
    y_true, y_pred = _regression_pair(y_true, y_pred, "mean_absolute_error")
    return float(abs(y_pred - y_true).mean())


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², averaged over outputs (as scikit-learn).

    1 is a perfect fit, 0 is no better than predicting the mean; a constant target scores 1 if predicted
    exactly, else 0 (scikit-learn's ``force_finite``).
    """
    y_true, y_pred = _regression_pair(y_true, y_pred, "r2_score")
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    ss_res = ((y_true - y_pred) ** 2).sum(0)
    ss_tot = ((y_true - y_true.mean(0)) ** 2).sum(0)
    return _r2(ss_res, ss_tot)


def _r2(ss_res: Any, ss_tot: Any) -> float:
    xp = backend_of(ss_res).xp
    safe = xp.where(ss_tot > 0, ss_tot, 1.0)
    scores = xp.where(ss_tot > 0, 1 - ss_res / safe, xp.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


# ---- names ---------------------------------------------------------------------------------------------------------
METRICS: dict[str, Callable] = {
    "accuracy": accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1_score,
    "top5_accuracy": lambda y, s: top_k_accuracy(y, s, 5),
    "top3_accuracy": lambda y, s: top_k_accuracy(y, s, 3),
    "mse": mean_squared_error,
    "mae": mean_absolute_error,
    "r2": r2_score,
}
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "top3_accuracy", "top5_accuracy")
REGRESSION_METRICS = ("mse", "mae", "r2")
_ALIASES = {
    "acc": "accuracy",
    "f1_score": "f1",
    "top_5_accuracy": "top5_accuracy",
    "r2_score": "r2",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
}


def canonical_metric(name: str) -> str:
    """The canonical name of a metric (``"acc"`` → ``"accuracy"``); a ValueError listing the known ones."""
    key = _ALIASES.get(name, name)
    if key not in METRICS:
        raise ValueError(f"unknown metric {name!r}: expected one of {', '.join(METRICS)}")
    return key


def metric_direction(name: str) -> str:
    """ "min" for losses and errors, "max" for scores: which way is better (for early stopping, checkpoints)."""
    base = name[4:] if name.startswith("val_") else name
    base = _ALIASES.get(base, base)
    return "min" if base in ("loss", "mse", "mae") or base.endswith("loss") or base.endswith("error") else "max"


class MetricAccumulator:
    """Exact epoch metrics from batches: a confusion matrix (classification) or sums of errors (regression).

    ``update(output, target)`` per batch does a few small array ops on the device (no host sync);
    ``result()`` turns the sums into ``{name: float}`` once per epoch.

    Args:
        names: metric names from :data:`METRICS` (all classification or all regression).
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = [canonical_metric(n) for n in names]
        self.classification = [n for n in self.names if n in CLASSIFICATION_METRICS]
        self.regression = [n for n in self.names if n in REGRESSION_METRICS]
        if self.classification and self.regression:
            raise ValueError(f"metrics: expected classification metrics or regression metrics, not both: {self.names}")
        self.ks = sorted({int(n[3]) for n in self.names if n.startswith("top")})
        self.accuracy_only = self.names == ["accuracy"]  # the common case: a count of hits, no confusion matrix
        self.reset()

    def reset(self) -> None:
        self.cm = None  # (C, C) summed confusion matrix
        self.top_k = {}  # k → hits
        self.sums = None  # regression: [Σe², Σ|e|, Σy, Σy², n] per output
        self.hits = None  # accuracy only: Σ [ŷ = y], kept on the device
        self.count = 0

    def update(self, output: Any, target: Any) -> None:
        if not self.names:
            return
        scores, y = _array(output), _array(target)
        if self.accuracy_only and scores.ndim == 2:
            hits = (scores.argmax(1) == y.reshape(-1)).sum()
            self.hits = hits if self.hits is None else self.hits + hits
            self.count += scores.shape[0]
        elif self.classification:
            self._update_classification(scores, y)
        else:
            self._update_regression(scores, y)

    def _update_classification(self, scores: Any, y: Any) -> None:
        xp = backend_of(scores).xp
        if scores.ndim != 2:
            raise ValueError(
                f"metrics {self.classification}: expected class scores of shape (N, C), got {tuple(scores.shape)}"
            )
        C = scores.shape[1]
        y = y.reshape(-1).astype("int64")
        pred = scores.argmax(1)  # (N,)
        counts = xp.bincount(y * C + pred, minlength=C * C)  # (C·C,)
        self.cm = counts if self.cm is None else self.cm + counts
        for k in self.ks:
            hits = _top_k_hits(y, scores, k).sum()
            self.top_k[k] = hits if k not in self.top_k else self.top_k[k] + hits

    def _update_regression(self, output: Any, y: Any) -> None:
        xp = backend_of(output).xp
        if y.ndim == 1 and output.ndim == 2 and output.shape[1] == 1:
            output = output[:, 0]
        output, y = output.astype("float64"), y.astype("float64")
        if y.ndim == 1:
            output, y = output[:, None], y[:, None]
        error = output - y
        sums = xp.stack([(error * error).sum(0), xp.abs(error).sum(0), y.sum(0), (y * y).sum(0)])  # (4, D)
        self.sums = sums if self.sums is None else self.sums + sums
        self.count += y.shape[0]

    def confusion_matrix(self) -> Any:
        """The summed confusion matrix (C, C) as a host array, or None before any update."""
        if self.cm is None:
            return None
        C = int(round(self.cm.shape[0] ** 0.5))
        return backend_of(self.cm).to_host(self.cm).reshape(C, C)

    def result(self) -> dict:
        out: dict = {}
        if self.accuracy_only and self.hits is not None:
            out = {"accuracy": float(self.hits) / self.count}
        elif self.classification and self.cm is not None:
            cm = self.confusion_matrix()
            total = cm.sum()
            p, r, f = _prf_from_confusion(cm, "macro")
            values = {"accuracy": float(cm.trace() / total) if total else 0.0, "precision": p, "recall": r, "f1": f}
            for k, hits in self.top_k.items():
                values[f"top{k}_accuracy"] = float(hits) / total if total else 0.0
            out = {n: values[n] for n in self.names}
        elif self.regression and self.sums is not None:
            sse, sae, sy, syy = (backend_of(self.sums).to_host(self.sums)[i] for i in range(4))
            n = self.count
            values = {
                "mse": float(sse.sum() / (n * sse.shape[0])),
                "mae": float(sae.sum() / (n * sae.shape[0])),
                "r2": _r2(sse, syy - sy * sy / n),
            }
            out = {name: values[name] for name in self.names}
        return out
