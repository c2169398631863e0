"""k-fold cross-validation: train a fresh model on each fold's training part, score it on the held-out part.

    results = cross_validate(lambda: make_model(), dataset, loss_fn=nn.CrossEntropyLoss(),
                             optimizer_fn=lambda params: optim.Adam(params, lr=1e-3, weight_decay=1e-4),
                             cv=5, labels=True, epochs=20, batch_size=32)
    results["mean"]["val_accuracy"], results["std"]["val_accuracy"]

The textbook's recipe: split the data into k folds; k times, train on k − 1 of them and validate on the one
left out; report the mean and spread of the k scores. Every sample is validated exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..backend import manual_seed
from .trainer import Trainer

__all__ = ["cross_validate"]


def cross_validate(
    model_fn: Callable[[], Any],
    dataset: Any,
    *,
    loss_fn: Any,
    optimizer_fn: Callable[[Any], Any],
    cv: Any = 5,
    labels: Any = None,
    epochs: int = 10,
    batch_size: int = 32,
    metrics: Any = None,
    seed: int | None = 0,
    verbose: int = 0,
    **trainer_options: Any,
) -> dict:
    """Train and validate one fresh model per fold; returns per-fold scores, their mean and standard deviation.

    Args:
        model_fn: builds a new, untrained model (called once per fold).
        dataset: a data set or ``(X, y)`` (see :func:`shenjing.data.kfold_indices`).
        loss_fn: the loss.
        optimizer_fn: builds the optimizer from ``model.parameters()``.
        cv: number of folds, a scikit-learn splitter (``StratifiedKFold(5, shuffle=True)``), or index pairs.
        labels: class labels for stratified folds, or ``True`` for the data set's own.
        epochs, batch_size, metrics: as in :meth:`Trainer.fit` / :class:`Trainer`.
        seed: seeds fold k with ``seed + k`` (initialisation, shuffling, dropout), so runs repeat exactly.
        verbose: 1 prints one line per fold.

    Returns:
        ``{"folds": [{"val_loss": …, "val_accuracy": …}, …], "mean": {…}, "std": {…}, "histories": [...]}``
        (``std`` is the population standard deviation over folds).
    """
    from ..data import kfold_indices

    folds = kfold_indices(dataset, cv=cv, labels=labels)
    scores, histories = [], []
    for k, (train, val) in enumerate(folds):
        if seed is not None:
            manual_seed(seed + k)
        model = model_fn()
        trainer = Trainer(
            model,
            loss_fn,
            optimizer_fn(model.parameters()),
            metrics=metrics,
            verbose=0,
            interrupt_checkpoint=None,
            **trainer_options,
        )
        history = trainer.fit(train, epochs=epochs, batch_size=batch_size)
        result = {"val_" + key: value for key, value in trainer.evaluate(val).items()}
        result.update({key: values[-1] for key, values in history.history.items() if values and key != "lr"})
        scores.append(result)
        histories.append(history)
        if verbose:
            print(f"fold {k + 1}/{len(folds)}: " + "  ".join(f"{key} {v:.4f}" for key, v in result.items()))
    keys = scores[0].keys() if scores else []
    mean = {key: sum(s[key] for s in scores) / len(scores) for key in keys}
    std = {key: math.sqrt(sum((s[key] - mean[key]) ** 2 for s in scores) / len(scores)) for key in keys}
    return {"folds": scores, "mean": mean, "std": std, "histories": histories}
