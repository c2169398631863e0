"""Splits of a data set into Subsets: random_split, train/validation/test, and k-fold through scikit-learn splitters."""

from __future__ import annotations

import math
from typing import Any

import numpy  # host-side index bookkeeping

from ..backend import backend_of
from ..tensor import Tensor
from .dataset import Subset, TensorDataset
from .sampler import _permutation, as_generator, rng_of

__all__ = ["random_split", "train_val_test_split", "kfold_indices"]


def _sklearn_model_selection(where: str) -> Any:
    try:
        from sklearn import model_selection
    except ImportError:
        raise ImportError(
            f"{where} needs scikit-learn for this option. Install it with `pip install scikit-learn` "
            "(or `pip install shenjing[train]`)."
        ) from None
    return model_selection


def _as_dataset(data: Any, where: str) -> Any:
    """A data set as is; an array, a Tensor or a tuple of them as a TensorDataset."""
    if isinstance(data, tuple | list):
        return TensorDataset(*data)
    if isinstance(data, Tensor) or (hasattr(data, "shape") and hasattr(data, "dtype")):
        return TensorDataset(data)
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        return data
    raise TypeError(f"{where}: expected a data set, an array or a tuple of arrays, got {type(data).__name__}")


def _host(values: Any) -> numpy.ndarray:
    if isinstance(values, Tensor):
        values = values.array
    if hasattr(values, "dtype") and not isinstance(values, numpy.ndarray):
        return backend_of(values).to_host(values)
    return numpy.asarray(values)


def _labels(dataset: Any, labels: Any, where: str) -> numpy.ndarray | None:
    """Class labels for stratification: given, or ``True`` for the data set's own (``.targets`` or last tensor)."""
    if labels is None or labels is False:
        return None
    if labels is True:
        if hasattr(dataset, "targets"):
            labels = dataset.targets
        elif isinstance(dataset, TensorDataset) and len(dataset.tensors) > 1:
            labels = dataset.tensors[-1]
        else:
            raise ValueError(
                f"{where}: stratify=True takes the labels from the data set's .targets or the last tensor of a "
                f"TensorDataset; {type(dataset).__name__} has neither. Pass the labels array instead."
            )
    labels = _host(labels)
    if labels.ndim != 1 or len(labels) != len(dataset):
        raise ValueError(
            f"{where}: expected one label per sample, shape ({len(dataset)},), got labels of shape {labels.shape}"
        )
    return labels


def random_split(dataset: Any, lengths: Any, generator: Any = None) -> list[Subset]:
    """Split a data set into non-overlapping random Subsets of the given lengths, as ``torch.utils.data``.

    Args:
        dataset: the data set to split.
        lengths: sample counts that sum to ``len(dataset)``, or fractions that sum to 1. Fractions give
            ⌊f·N⌋ samples each and the remaining samples go one each to the first subsets, as PyTorch.
        generator: ``None`` (the generator :func:`shenjing.manual_seed` seeds), an int seed or a NumPy Generator.

    Example:
        >>> import numpy as np
        >>> from shenjing.data import TensorDataset, random_split
        >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], generator=0)
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1) and sum(lengths) != n:
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not float(k).is_integer() or k < 0 for k in lengths) or sum(lengths) != n:
        raise ValueError(
            f"random_split: expected lengths that sum to the data set's {n} samples or fractions that sum to 1, "
            f"got {lengths}"
        )
    order = _permutation(n, as_generator(generator, "random_split"))
    bounds = numpy.cumsum([0, *map(int, lengths)])
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def _count(size: float, n: int, name: str) -> int:
    """A split size given as a fraction of n (rounded up, as scikit-learn's test_size) or as a count."""
    if isinstance(size, bool) or size < 0:
        raise ValueError(f"train_val_test_split: expected {name} ≥ 0 (a fraction or a count), got {size!r}")
    if isinstance(size, int | numpy.integer):
        return int(size)
    if size >= 1:
        raise ValueError(f"train_val_test_split: expected {name} as a fraction in [0, 1) or an int count, got {size!r}")
    return math.ceil(round(size * n, 6))  # round first: 0.7 · 100 is 70.00000000000001 in floating point


def train_val_test_split(
    data: Any, val: float = 0.1, test: float = 0.1, stratify: Any = None, seed: Any = 0
) -> tuple[Subset, Subset, Subset]:
    """Split into training, validation and test Subsets at random, optionally keeping class proportions.

    Args:
        data: a data set, or an array / Tensor / tuple of them (wrapped in a :class:`TensorDataset`).
        val: size of the validation set: a fraction of N (rounded up) or a count; 0 gives an empty set.
        test: size of the test set, the same way. The training set gets the remaining samples.
        stratify: ``None`` (plain random split), the class label of every sample (N,), or ``True`` for the data
            set's own labels (its ``.targets`` or the last tensor of a TensorDataset). Stratified splits keep
            each class's share in all three sets (scikit-learn's ``train_test_split(stratify=)``; needs
            scikit-learn).
        seed: an int seed (default 0, so the split is the same every run), ``None`` for shenjing's global
            generator, or a NumPy Generator.

    Returns:
        ``(train, val, test)``, three disjoint Subsets that together hold every sample.

    Example:
        >>> import numpy as np
        >>> from shenjing.data import train_val_test_split
        >>> train, val, test = train_val_test_split((np.zeros((100, 2)), np.arange(100) % 2), val=0.2, test=0.1)
        >>> len(train), len(val), len(test)
        (70, 20, 10)
    """
    where = "train_val_test_split"
    dataset = _as_dataset(data, where)
    n = len(dataset)
    n_val, n_test = _count(val, n, "val"), _count(test, n, "test")
    if n_val + n_test > n:
        raise ValueError(f"{where}: val ({n_val}) and test ({n_test}) samples exceed the data set's {n} samples")
    labels = _labels(dataset, stratify, where)
    rng = as_generator(seed, where)
    if labels is None:
        order = _permutation(n, rng)
        parts = order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]
    else:
        model_selection = _sklearn_model_selection(f"{where}(stratify=...)")
        state = seed if isinstance(seed, int) else int(rng_of(rng).integers(2**31))

        def cut(indices: numpy.ndarray, size: int) -> tuple[numpy.ndarray, numpy.ndarray]:
            if size == 0:
                return indices, indices[:0]
            return model_selection.train_test_split(
                indices, test_size=size, stratify=labels[indices], random_state=state
            )

        rest, test_idx = cut(numpy.arange(n), n_test)
        train_idx, val_idx = cut(rest, n_val)
        parts = train_idx, val_idx, test_idx
    return tuple(Subset(dataset, part) for part in parts)


def kfold_indices(dataset: Any, cv: Any = 5, labels: Any = None, groups: Any = None) -> list[tuple[Subset, Subset]]:
    """K-fold cross-validation splits: a list of ``(train, val)`` Subsets, one pair per fold.

    The folds come from a scikit-learn splitter, so every scheme it offers works here:
    ``KFold(5, shuffle=True, random_state=0)``, ``StratifiedKFold``, ``GroupKFold``, ``ShuffleSplit``, …
    An int ``cv`` means what it means in scikit-learn (``check_cv``): ``StratifiedKFold(cv)`` when ``labels``
    are given and are class labels, else ``KFold(cv)``, both without shuffling.

    Contract (what :func:`shenjing.train.cross_validate` builds on): each fold's ``train`` and ``val`` are
    disjoint :class:`Subset` s of ``dataset``, with the sample indices in ``.indices``; over the folds of a
    K-fold splitter every sample is in exactly one ``val``. The number of folds is
    ``splitter.get_n_splits()`` = ``len(folds)``. The folds are computed at the call, so a bad ``cv`` or
    missing labels fail here, not at the first fold.

    Args:
        dataset: a data set, or an array / Tensor / tuple of them (wrapped in a :class:`TensorDataset`).
        cv: the number of folds K (default 5), a scikit-learn splitter, or an iterable of
            ``(train_indices, val_indices)`` pairs.
        labels: class labels (N,) for stratified splitters, or ``True`` for the data set's own (see
            :func:`train_val_test_split`).
        groups: group labels (N,) for group splitters (``GroupKFold``).

    Example:
        >>> import numpy as np
        >>> from shenjing.data import kfold_indices
        >>> [(len(train), len(val)) for train, val in kfold_indices(np.arange(10.0), cv=5)]
        [(8, 2), (8, 2), (8, 2), (8, 2), (8, 2)]

    Needs scikit-learn (``pip install scikit-learn``).
    """
    where = "kfold_indices"
    dataset = _as_dataset(dataset, where)
    y = _labels(dataset, labels, where)
    model_selection = _sklearn_model_selection(where)
    splitter = model_selection.check_cv(cv, y, classifier=y is not None)
    # scikit-learn splitters only look at len(X); a placeholder avoids materialising the data set
    placeholder = numpy.zeros((len(dataset), 1), dtype=numpy.int8)
    group_array = None if groups is None else _host(groups)
    if y is None and "Stratified" in type(splitter).__name__:
        raise ValueError(
            f"{where}: {type(splitter).__name__} needs class labels; pass labels=<one label per sample> or "
            "labels=True for the data set's own."
        )
    return [
        (Subset(dataset, train), Subset(dataset, val)) for train, val in splitter.split(placeholder, y, group_array)
    ]
