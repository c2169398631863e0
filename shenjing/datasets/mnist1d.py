"""MNIST-1D (Greydanus 2020): 1-D signals of 40 samples made from 10 digit templates, generated offline.

Built on the ``mnist1d`` package (``pip install shenjing[seq]``), which generates the data deterministically from a
seed (padding, shear, translation, correlated and i.i.d. noise); no download. 4 000 training and 1 000 test
signals by default, as the paper. A small benchmark where model families differ clearly: the paper reports about
32 % for logistic regression, 68 % for an MLP, 94 % for a 1-D CNN and 91 % for a GRU.
"""

from __future__ import annotations

from typing import Any

import numpy

from ..backend import get_default_dtype
from ..data.dataset import TensorDataset

__all__ = ["mnist1d"]


def mnist1d(train: bool = True, num_samples: int = 5000, seed: int = 42, train_split: float = 0.8,
            channels: bool = False, **overrides: Any) -> TensorDataset:
    """The MNIST-1D split: x (N, 40) float32 (or (N, 1, 40) with ``channels=True``, for Conv1d), y (N,) int64.

    ``overrides`` go to the package's dataset arguments (e.g. ``iid_noise_scale=0.0``, ``shuffle_seq=True``).
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as error:
        raise ImportError("mnist1d() needs the mnist1d package: pip install 'shenjing[seq]' (or pip install "
                          f"mnist1d) ({error})") from None
    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = int(num_samples), int(seed), float(train_split)
    for key, value in overrides.items():
        if not hasattr(args, key):
            raise TypeError(f"mnist1d: unknown dataset argument {key!r}")
        setattr(args, key, value)
    state = numpy.random.get_state()  # NOTE: the package seeds NumPy's global RNG; leave the caller's alone
    try:
        data = make_dataset(args)
    finally:
        numpy.random.set_state(state)
    x = numpy.asarray(data["x"] if train else data["x_test"], dtype=get_default_dtype())
    y = numpy.asarray(data["y"] if train else data["y_test"], dtype=numpy.int64)
    if channels:
        x = x[:, None, :]
    dataset = TensorDataset(x, y)
    dataset.classes = [str(i) for i in range(10)]
    return dataset
