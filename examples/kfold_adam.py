"""The textbook's k-fold recipe with Adam and weight decay, on scikit-learn's 8×8 digits (offline, ~10 s).

Split the data into k = 5 folds (stratified: each fold keeps the ten classes' proportions); five times,
train a fresh MLP on four folds and validate on the fifth; report the mean and spread of the five scores.

    python examples/kfold_adam.py
"""

from sklearn.model_selection import StratifiedKFold

import shenjing
from shenjing import nn, optim
from shenjing.datasets import digits
from shenjing.train import cross_validate


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def main() -> None:
    data = digits(flatten=True)
    results = cross_validate(
        make_model,
        data,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer_fn=lambda params: optim.Adam(params, lr=1e-3, weight_decay=1e-4),  # L2: adds λ·w to the gradient
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=0),
        labels=True,
        epochs=30,
        batch_size=32,
        seed=0,
        verbose=1,
    )
    mean, std = results["mean"]["val_accuracy"], results["std"]["val_accuracy"]
    print(f"5-fold validation accuracy: {mean:.4f} ± {std:.4f}")


if __name__ == "__main__":
    shenjing.manual_seed(0)
    main()
