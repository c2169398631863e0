"""shenjing.sklearn: scikit-learn's own estimator checks, and the tools users reach for (GridSearchCV,
cross_val_score, Pipeline) on the bundled digits.

Checks that do not run here, and why: check_array_api_input (scikit-learn skips it unless SCIPY_ARRAY_API=1;
the estimators take NumPy arrays), check_classifier_data_not_an_array / check_regressor_data_not_an_array
(skipped by scikit-learn when pandas is not installed), and the sample-weight checks (the estimators take no
``sample_weight``, so scikit-learn does not run them)."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="shenjing.sklearn needs scikit-learn")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from shenjing.sklearn import ShenjingClassifier, ShenjingRegressor  # noqa: E402

SKIPPED_BY_SKLEARN = {
    "check_array_api_input",
    "check_classifier_data_not_an_array",
    "check_regressor_data_not_an_array",
}


@pytest.mark.parametrize(
    "estimator", [ShenjingClassifier(epochs=20), ShenjingRegressor(epochs=20)], ids=["classifier", "regressor"]
)
def test_check_estimator(estimator):
    results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert failed == []
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= SKIPPED_BY_SKLEARN
    assert len(results) > 45


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def test_classifier_learns_digits_and_repeats(digits):
    X, y = digits
    first = ShenjingClassifier(hidden_layer_sizes=(32,), epochs=15, lr=1e-2, random_state=0).fit(X[:450], y[:450])
    assert first.score(X[450:], y[450:]) > 0.85  # (measured 0.873; MLPClassifier((32,), max_iter=15): 0.43)
    proba = first.predict_proba(X[450:])
    assert proba.shape == (150, 10) and np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(first.predict(X[450:]), first.classes_[proba.argmax(axis=1)])
    assert np.allclose(np.exp(first.predict_log_proba(X[450:455])), proba[:5])
    again = ShenjingClassifier(hidden_layer_sizes=(32,), epochs=15, lr=1e-2, random_state=0).fit(X[:450], y[:450])
    assert np.array_equal(first.predict_proba(X[450:]), again.predict_proba(X[450:]))
    assert first.n_iter_ == 15 and len(first.loss_curve_) == 15 and first.loss_curve_[-1] < first.loss_curve_[0]


def test_string_labels_and_binary_decision(digits):
    X, y = digits
    labels = np.where(y % 2 == 0, "even", "odd")
    model = ShenjingClassifier(epochs=10, random_state=0).fit(X, labels)
    assert list(model.classes_) == ["even", "odd"]
    decision = model.decision_function(X[:20])
    assert decision.shape == (20,)
    assert np.array_equal(model.predict(X[:20]), np.where(decision > 0, "odd", "even"))


def test_grid_search_cross_val_score_and_pipeline(digits):
    X, y = digits
    grid = GridSearchCV(
        ShenjingClassifier(epochs=8, random_state=0), {"hidden_layer_sizes": [(16,), (32,)], "lr": [3e-3, 1e-2]}, cv=3
    )
    grid.fit(X, y)
    assert set(grid.best_params_) == {"hidden_layer_sizes", "lr"}
    assert grid.best_score_ == pytest.approx(max(grid.cv_results_["mean_test_score"]))
    assert grid.best_score_ > 0.85
    pipeline = make_pipeline(StandardScaler(), ShenjingClassifier(epochs=8, lr=1e-2, random_state=0))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8  # measured 0.865, 0.89, 0.82


def test_regressor_fits_a_linear_map():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    w = np.array([1.0, -2.0, 0.5, 3.0])
    y = X @ w + 0.01 * rng.normal(size=300)
    model = ShenjingRegressor(hidden_layer_sizes=(), epochs=100, lr=5e-2, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.99
    weight = model.model_[0].weight.array.ravel()
    assert np.allclose(weight, w, atol=0.05)
    two = ShenjingRegressor(epochs=5, random_state=0).fit(X, np.stack([y, -y], axis=1))
    assert two.predict(X[:7]).shape == (7, 2)


def test_custom_module_and_bad_parameters(digits):
    from shenjing import nn

    X, y = digits
    model = ShenjingClassifier(
        module=lambda n_in, n_out: nn.Sequential(nn.Linear(n_in, n_out)), epochs=5, random_state=0
    ).fit(X, y)
    assert isinstance(model.model_, nn.Sequential) and len(model.model_) == 1
    with pytest.raises(ValueError, match="activation: expected one of relu"):
        ShenjingClassifier(activation="swish").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes: expected positive integers"):
        ShenjingClassifier(hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ValueError, match="only one class"):
        ShenjingClassifier().fit(X[:5], np.zeros(5))
