"""Samplers: the order in which a DataLoader visits sample indices, as ``torch.utils.data.sampler``.

Every sampler is an iterable of indices with a length. The ones here also have ``indices()``, one epoch's
indices as a NumPy int64 array, which the loader slices into batches without a Python loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy  # host-side index bookkeeping only: indices always live on the host

from ..backend import NUMPY, backend_of
from ..tensor import Tensor

__all__ = [
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "as_generator",
    "rng_of",
]


# ---- random generators -----------------------------------------------------------------------------------------
def as_generator(generator: Any, where: str) -> Any:
    """Check a ``generator=`` argument: ``None``, a ``shenjing.Generator`` (anything with a NumPy Generator in
    ``.rng``), a ``numpy.random.Generator`` or an int seed (made into a NumPy Generator once, here).

    Returns the generator object itself (not its ``.rng``), so a later ``g.manual_seed(s)`` still takes effect.
    """
    if generator is None or isinstance(generator, numpy.random.Generator):
        return generator
    if isinstance(getattr(generator, "rng", None), numpy.random.Generator):
        return generator
    if isinstance(generator, int | numpy.integer) and not isinstance(generator, bool):
        return numpy.random.default_rng(int(generator))
    raise TypeError(
        f"{where}: expected generator to be None, a shenjing.Generator, an int seed or a numpy.random.Generator, "
        f"got {type(generator).__name__}. A torch.Generator cannot drive shenjing; pass a seed instead."
    )


def rng_of(generator: Any) -> numpy.random.Generator:
    """The NumPy Generator to draw from: the global one :func:`shenjing.manual_seed` seeds when ``None``."""
    if generator is None:
        return NUMPY.generator
    rng = getattr(generator, "rng", None)
    return generator if rng is None else rng


def _permutation(n: int, generator: Any) -> numpy.ndarray:
    # NOTE: with no generator of its own, shuffling draws from the generator that shenjing.manual_seed seeds,
    # so a seeded script shuffles the same way every run (as PyTorch's global generator does)
    return rng_of(generator).permutation(n)


def _check_num_samples(num_samples: Any) -> None:
    if isinstance(num_samples, bool) or not isinstance(num_samples, int | numpy.integer) or num_samples <= 0:
        raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")


def _check_replacement(replacement: Any, error: type = TypeError) -> None:
    if not isinstance(replacement, bool):  # NOTE: PyTorch's RandomSampler raises TypeError, its Weighted… ValueError
        raise error(f"replacement should be a boolean value, but got replacement={replacement}")


def _host_array(values: Any, dtype: Any) -> numpy.ndarray:
    if isinstance(values, Tensor):
        values = backend_of(values.array).to_host(values.array)
    return numpy.asarray(values, dtype=dtype)


# ---- samplers ---------------------------------------------------------------------------------------------------
class Sampler:
    """An iterable of sample indices with a length, as ``torch.utils.data.Sampler``.

    Subclasses define ``__iter__`` and ``__len__``; they may instead define ``indices()`` returning one epoch's
    indices as a NumPy int64 array (``__iter__`` then iterates over it), which the loader uses without
    iterating in Python.
    """

    def __init__(self, data_source: Any = None) -> None:
        pass  # NOTE: PyTorch's Sampler takes (and ignores) a data_source too

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__}: samplers must define __len__")

    def indices(self) -> numpy.ndarray:
        raise NotImplementedError(f"{type(self).__name__}: samplers must define __iter__ or indices()")


class SequentialSampler(Sampler):
    """Indices 0, 1, …, N − 1 in order.

    Example:
        >>> from shenjing.utils.data import SequentialSampler
        >>> list(SequentialSampler(range(3)))
        [0, 1, 2]
    """

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __len__(self) -> int:
        return len(self.data_source)

    def indices(self) -> numpy.ndarray:
        return numpy.arange(len(self.data_source), dtype=numpy.int64)


class RandomSampler(Sampler):
    """Random indices: a fresh permutation of 0…N − 1 every epoch, or draws with replacement.

    Args:
        data_source: the data set (only its length N is used).
        replacement: draw ``num_samples`` indices uniformly with replacement (default False: permutations).
        num_samples: indices per epoch (default N). Without replacement and above N, whole permutations are
            chained and the last one cut, as PyTorch.
        generator: ``None`` (draw from the generator :func:`shenjing.manual_seed` seeds), a ``shenjing.Generator``,
            a ``numpy.random.Generator`` or an int seed (a private generator made once, so successive epochs
            differ but the whole sequence repeats).

    Example:
        >>> from shenjing.utils.data import RandomSampler
        >>> sorted(RandomSampler(range(4), generator=0))
        [0, 1, 2, 3]
        >>> len(RandomSampler(range(4), replacement=True, num_samples=10))
        10
    """

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None) -> None:
        _check_replacement(replacement)
        if num_samples is not None:
            _check_num_samples(num_samples)
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = None if num_samples is None else int(num_samples)
        self.generator = as_generator(generator, "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __len__(self) -> int:
        return self.num_samples

    def indices(self) -> numpy.ndarray:
        n, k = len(self.data_source), self.num_samples
        rng = rng_of(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=numpy.int64)
        if k == n:
            return rng.permutation(n)
        parts = [rng.permutation(n) for _ in range(k // n)]
        return numpy.concatenate([*parts, rng.permutation(n)[: k % n]]).astype(numpy.int64)


class SubsetRandomSampler(Sampler):
    """The given indices in a fresh random order every epoch (a validation fold, say).

    Args:
        indices: the sample indices (a list, range, NumPy array or int Tensor).
        generator: as :class:`RandomSampler`'s.
    """

    def __init__(self, indices: Any, generator: Any = None) -> None:
        self.subset = _host_array(indices, numpy.int64)
        self.generator = as_generator(generator, "SubsetRandomSampler")

    def __len__(self) -> int:
        return len(self.subset)

    def indices(self) -> numpy.ndarray:
        return self.subset[_permutation(len(self.subset), self.generator)]


class WeightedRandomSampler(Sampler):
    """Indices 0…len(weights) − 1 drawn with probabilities proportional to ``weights`` (class rebalancing).

    Args:
        weights: one non-negative weight per sample (they need not sum to 1).
        num_samples: indices per epoch.
        replacement: draw with replacement (default True); without, each index at most once per epoch.
        generator: as :class:`RandomSampler`'s.

    Example:
        >>> from shenjing.utils.data import WeightedRandomSampler
        >>> list(WeightedRandomSampler([0.0, 0.0, 1.0], 3, generator=0))
        [2, 2, 2]
    """

    def __init__(self, weights: Any, num_samples: int, replacement: bool = True, generator: Any = None) -> None:
        _check_num_samples(num_samples)
        _check_replacement(replacement, ValueError)
        weights = _host_array(weights, numpy.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights.shape)}")
        self.weights = weights
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = as_generator(generator, "WeightedRandomSampler")

    def __len__(self) -> int:
        return self.num_samples

    def indices(self) -> numpy.ndarray:
        w, k = self.weights, self.num_samples
        # NOTE: checked when drawing, as torch.multinomial does (the sampler itself accepts any 1-d weights)
        if not numpy.all(numpy.isfinite(w)) or (w < 0).any():
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution (encountering probability "
                               f"entry < 0 or not finite) in weights of shape {w.shape}")
        if w.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement and k > numpy.count_nonzero(w):
            raise RuntimeError(
                f"WeightedRandomSampler: cannot sample num_samples={k} indices without replacement from "
                f"{numpy.count_nonzero(w)} non-zero weights (of {len(w)})"
            )
        return rng_of(self.generator).choice(len(w), size=k, replace=self.replacement, p=w / w.sum()).astype(
            numpy.int64
        )


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (the last one shorter unless ``drop_last``).

    Example:
        >>> from shenjing.utils.data import BatchSampler, SequentialSampler
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | numpy.integer) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        for batch in batch_slices(epoch_indices(self.sampler), self.batch_size, self.drop_last):
            yield batch.tolist()

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size


def epoch_indices(sampler: Any) -> numpy.ndarray:
    """One epoch of a sampler's indices as a NumPy int64 array (without a Python loop where it can)."""
    if isinstance(sampler, Sampler) and type(sampler).__iter__ is Sampler.__iter__:
        return numpy.asarray(sampler.indices(), dtype=numpy.int64)
    return numpy.fromiter((int(i) for i in sampler), dtype=numpy.int64)


def batch_slices(order: numpy.ndarray, batch_size: int, drop_last: bool) -> Iterator[numpy.ndarray]:
    """Consecutive slices of ``batch_size`` indices; the last shorter one dropped with ``drop_last``."""
    stop = len(order) - len(order) % batch_size if drop_last else len(order)
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]
