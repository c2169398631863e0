"""Metrics against scikit-learn's, and the running accumulator against the plain functions."""

import numpy as np
import pytest
from sklearn import metrics as skm

import shenjing
from shenjing.train import metrics as M

rng = np.random.default_rng(0)
N, C = 203, 7
y_true = rng.integers(0, C, N)
scores = rng.standard_normal((N, C)) + 2.0 * np.eye(C)[y_true]  # mostly right, not always
y_pred = scores.argmax(1)


def test_accuracy_matches_sklearn_for_labels_scores_and_tensors() -> None:
    expected = skm.accuracy_score(y_true, y_pred)
    assert M.accuracy(y_true, y_pred) == pytest.approx(expected, abs=1e-15)
    assert M.accuracy(y_true, scores) == pytest.approx(expected, abs=1e-15)
    assert M.accuracy(shenjing.tensor(y_true), shenjing.tensor(scores)) == pytest.approx(expected, abs=1e-15)
    assert M.accuracy([0, 1, 2, 1], [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4], [0.8, 0.1, 0.1]]) == 0.75


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_precision_recall_f1_match_sklearn(average: str) -> None:
    assert M.precision(y_true, scores, average) == pytest.approx(skm.precision_score(y_true, y_pred, average=average))
    assert M.recall(y_true, scores, average) == pytest.approx(skm.recall_score(y_true, y_pred, average=average))
    assert M.f1_score(y_true, scores, average) == pytest.approx(skm.f1_score(y_true, y_pred, average=average))


def test_per_class_scores_and_classes_never_predicted_match_sklearn() -> None:
    truth = np.array([0, 0, 1, 1, 2, 2, 3])
    guess = np.array([0, 1, 1, 1, 1, 0, 3])  # class 2 never predicted: precision 0 by scikit-learn's zero_division
    p, r, f = M.precision_recall_f1(truth, guess, average=None)
    np.testing.assert_allclose(p, skm.precision_score(truth, guess, average=None, zero_division=0))
    np.testing.assert_allclose(r, skm.recall_score(truth, guess, average=None, zero_division=0))
    np.testing.assert_allclose(f, skm.f1_score(truth, guess, average=None, zero_division=0))
    assert M.f1_score(truth, guess) == pytest.approx(skm.f1_score(truth, guess, average="macro", zero_division=0))


def test_confusion_matrix_matches_sklearn() -> None:
    np.testing.assert_array_equal(M.confusion_matrix(y_true, scores), skm.confusion_matrix(y_true, y_pred))
    cm = M.confusion_matrix([0, 1], [0, 1], num_classes=4)
    assert cm.shape == (4, 4) and cm.sum() == 2
    with pytest.raises(ValueError, match=r"labels in \[0, 2\)"):
        M.confusion_matrix([0, 3], [0, 1], num_classes=2)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy_matches_sklearn(k: int) -> None:
    expected = skm.top_k_accuracy_score(y_true, scores, k=k, labels=np.arange(C))
    assert M.top_k_accuracy(y_true, scores, k) == pytest.approx(expected)


def test_regression_metrics_match_sklearn() -> None:
    target = rng.standard_normal((50, 3))
    output = target + 0.3 * rng.standard_normal((50, 3))
    assert M.mean_squared_error(target, output) == pytest.approx(skm.mean_squared_error(target, output))
    assert M.mean_absolute_error(target, output) == pytest.approx(skm.mean_absolute_error(target, output))
    assert M.r2_score(target, output) == pytest.approx(skm.r2_score(target, output))
    assert M.r2_score(target[:, 0], output[:, :1]) == pytest.approx(skm.r2_score(target[:, 0], output[:, 0]))
    assert M.r2_score([1.0, 1.0], [1.0, 1.0]) == skm.r2_score([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert M.r2_score([1.0, 1.0], [1.0, 2.0]) == skm.r2_score([1.0, 1.0], [1.0, 2.0]) == 0.0


def test_accumulator_over_batches_equals_the_functions_on_everything() -> None:
    acc = M.MetricAccumulator(["accuracy", "precision", "recall", "f1", "top3_accuracy"])
    for start in range(0, N, 32):
        acc.update(scores[start : start + 32], y_true[start : start + 32])
    result = acc.result()
    assert result["accuracy"] == pytest.approx(M.accuracy(y_true, scores))
    assert result["precision"] == pytest.approx(M.precision(y_true, scores))
    assert result["recall"] == pytest.approx(M.recall(y_true, scores))
    assert result["f1"] == pytest.approx(M.f1_score(y_true, scores))
    assert result["top3_accuracy"] == pytest.approx(M.top_k_accuracy(y_true, scores, 3))
    np.testing.assert_array_equal(acc.confusion_matrix(), skm.confusion_matrix(y_true, y_pred))

    target = rng.standard_normal(90)
    output = (target + 0.5 * rng.standard_normal(90))[:, None]
    reg = M.MetricAccumulator(["mse", "mae", "r2"])
    for start in range(0, 90, 16):
        reg.update(output[start : start + 16], target[start : start + 16])
    result = reg.result()
    assert result["mse"] == pytest.approx(skm.mean_squared_error(target, output[:, 0]))
    assert result["mae"] == pytest.approx(skm.mean_absolute_error(target, output[:, 0]))
    assert result["r2"] == pytest.approx(skm.r2_score(target, output[:, 0]))


def test_unknown_metrics_and_mixed_kinds_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        M.MetricAccumulator(["acuracy"])
    with pytest.raises(ValueError, match="not both"):
        M.MetricAccumulator(["accuracy", "mse"])
    assert M.metric_direction("val_loss") == "min" and M.metric_direction("val_accuracy") == "max"


def test_accuracy_only_fast_path_counts_hits() -> None:
    acc = M.MetricAccumulator(["acc"])
    for start in range(0, N, 50):
        acc.update(shenjing.tensor(scores[start : start + 50]), y_true[start : start + 50])
    assert acc.result() == {"accuracy": pytest.approx(skm.accuracy_score(y_true, y_pred))}
