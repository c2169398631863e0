"""scikit-learn-compatible estimators: a shenjing MLP (or any network you build) trained by the shenjing Trainer,
usable in ``GridSearchCV``, ``cross_val_score`` and ``Pipeline``.

    from sklearn.model_selection import GridSearchCV
    from shenjing.sklearn import ShenjingClassifier

    search = GridSearchCV(ShenjingClassifier(epochs=30), {"hidden_layer_sizes": [(32,), (64,)], "lr": [1e-3, 1e-2]})
    search.fit(X, y).best_params_

Both estimators pass :func:`sklearn.utils.estimator_checks.check_estimator` (tests/search/test_sklearn.py runs it);
they take no ``sample_weight`` (so the sample-weight checks do not apply). Networks train in float32 and predict
in float64 (a copy of the trained weights), so a sample's prediction does not depend on the rest of its batch.

Args (both):
    hidden_layer_sizes: widths of the hidden layers (``()`` for a linear model), as in ``MLPClassifier``.
    activation: ``"relu"`` | ``"tanh"`` | ``"sigmoid"`` | ``"gelu"`` | ``"identity"``.
    optimizer: ``"adam"`` | ``"adamw"`` | ``"sgd"`` | ``"rmsprop"`` | ``"adagrad"``.
    lr, weight_decay: the optimizer's learning rate and weight decay.
    epochs, batch_size: passes over the data, samples per update.
    dropout: dropout probability after every hidden activation.
    module: a callable ``module(n_features, n_outputs) -> nn.Module`` replacing the MLP (e.g. a CNN on reshaped
        inputs); hidden_layer_sizes, activation and dropout are then unused.
    random_state: an int seeds initialisation, shuffling and dropout (``fit`` repeats exactly); None draws a seed.
    verbose: 0 silent, 2 one line per epoch.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy  # host-side: input checking, label encoding, the argmax of predictions

__all__ = ["ShenjingClassifier", "ShenjingRegressor"]

_ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "identity")
_OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def _sklearn() -> Any:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ImportError("shenjing.sklearn needs scikit-learn: pip install scikit-learn") from None
    from sklearn import base

    return base


_base = _sklearn()


class _ShenjingEstimator(_base.BaseEstimator):
    _loss: str = ""

    def __init__(
        self,
        hidden_layer_sizes: Any = (64,),
        activation: str = "relu",
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        epochs: int = 50,
        batch_size: int = 32,
        dropout: float = 0.0,
        module: Any = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.dropout = dropout
        self.module = module
        self.random_state = random_state
        self.verbose = verbose

    # ---- building ------------------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation: expected one of {', '.join(_ACTIVATIONS)}, got {self.activation!r}")
        if str(self.optimizer).lower() not in _OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {', '.join(_OPTIMIZERS)}, got {self.optimizer!r}")
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, int) else tuple(sizes)
        if any(not isinstance(s, int | numpy.integer) or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes: expected positive integers, got {self.hidden_layer_sizes!r}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int | numpy.integer) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive number, got {self.lr!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {self.dropout!r}")

    def _build(self, n_features: int, n_outputs: int) -> Any:
        from . import nn

        if self.module is not None:
            return self.module(n_features, n_outputs)
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, int) else tuple(int(s) for s in sizes)
        activation = {
            "relu": nn.ReLU,
            "tanh": nn.Tanh,
            "sigmoid": nn.Sigmoid,
            "gelu": nn.GELU,
            "identity": nn.Identity,
        }[self.activation]
        layers: list = []
        width = n_features
        for size in sizes:
            layers += [nn.Linear(width, size), activation()]
            if self.dropout:
                layers.append(nn.Dropout(self.dropout))
            width = size
        layers.append(nn.Linear(width, n_outputs))
        return nn.Sequential(*layers)

    def _train(self, X: Any, y: Any, n_outputs: int) -> None:
        from . import nn, optim
        from .backend import manual_seed
        from .creation import as_tensor
        from .train.trainer import Trainer

        self._check_params()
        if isinstance(self.random_state, int | numpy.integer):
            seed = int(self.random_state)
        else:
            seed = int(_sklearn_random_state(self.random_state).randint(2**31 - 1))
        manual_seed(seed)
        model = self._build(X.shape[1], n_outputs)
        optimizer = getattr(optim, _OPTIMIZERS[str(self.optimizer).lower()])(
            model.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )
        loss = nn.CrossEntropyLoss() if self._loss == "cross_entropy" else nn.MSELoss()
        trainer = Trainer(model, loss, optimizer, metrics=[], verbose=self.verbose or 0, interrupt_checkpoint=None)
        history = trainer.fit(
            (as_tensor(X), as_tensor(y)), epochs=int(self.epochs), batch_size=int(min(self.batch_size, len(X)))
        )
        self.model_ = model
        # predictions in float64 (a copy of the trained float32 weights), so that a sample's prediction does not
        # depend on the other samples of its batch (float32 matrix products round differently per batch size)
        self._predictor = copy.deepcopy(model).double().eval()
        self.loss_curve_ = list(history["loss"]) if "loss" in history else []
        self.n_iter_ = len(history)

    def _outputs(self, X: Any) -> Any:
        from sklearn.utils.validation import check_is_fitted, validate_data

        from .train.trainer import predict

        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=numpy.float64)
        return predict(self._predictor, X).array

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _sklearn_random_state(state: Any) -> Any:
    from sklearn.utils import check_random_state

    return check_random_state(state)


class ShenjingClassifier(_base.ClassifierMixin, _ShenjingEstimator):
    """A neural-network classifier: softmax outputs, cross-entropy loss; ``classes_`` holds the labels."""

    _loss = "cross_entropy"

    def fit(self, X: Any, y: Any) -> ShenjingClassifier:
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, X, y, dtype=numpy.float32)
        check_classification_targets(y)
        self.classes_, codes = numpy.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"ShenjingClassifier needs samples of at least 2 classes in the data, but the data contains only one "
                f"class: {self.classes_[0]!r}"
            )
        self._train(X, codes.astype(numpy.int64), len(self.classes_))
        return self

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, (n_samples, n_classes), in the order of ``classes_``."""
        scores = self._outputs(X).astype(numpy.float64)
        scores -= scores.max(axis=1, keepdims=True)
        exp = numpy.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> Any:
        scores = self._outputs(X).astype(numpy.float64)
        scores -= scores.max(axis=1, keepdims=True)
        return scores - numpy.log(numpy.exp(scores).sum(axis=1, keepdims=True))

    def decision_function(self, X: Any) -> Any:
        """The network's outputs (logits); for two classes, the second logit minus the first, as scikit-learn
        expects of a binary decision function."""
        scores = self._outputs(X).astype(numpy.float64)
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict(self, X: Any) -> Any:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "model_")
        return self.classes_[numpy.argmax(self._outputs(X), axis=1)]


class ShenjingRegressor(_base.RegressorMixin, _ShenjingEstimator):
    """A neural-network regressor: mean squared error; one output per target column (1-D ``y``: 1-D predictions)."""

    _loss = "mse"

    def fit(self, X: Any, y: Any) -> ShenjingRegressor:
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, X, y, dtype=numpy.float32, multi_output=True, y_numeric=True)
        y = numpy.asarray(y, dtype=numpy.float32)
        self._y_1d = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        self._train(X, y2, y2.shape[1])
        return self

    def predict(self, X: Any) -> Any:
        out = self._outputs(X).astype(numpy.float64)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
