"""DataLoader: a data set in (shuffled) batches, the samplers that order it and default_collate that stacks samples."""

from __future__ import annotations

import collections.abc
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy  # host-side index bookkeeping and stacking of host samples

from ..backend import NUMPY, backend_of, get_default_dtype
from ..tensor import Tensor
from .dataset import tensor_source

__all__ = [
    "DataLoader",
    "default_collate",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "as_generator",
]


def as_generator(generator: Any, where: str) -> numpy.random.Generator | None:
    """``None`` (use shenjing's global generator), an int seed or a NumPy Generator, as a Generator or ``None``."""
    if generator is None or isinstance(generator, numpy.random.Generator):
        return generator
    if isinstance(generator, int | numpy.integer) and not isinstance(generator, bool):
        return numpy.random.default_rng(int(generator))
    raise TypeError(
        f"{where}: expected generator to be None, an int seed or a numpy.random.Generator, got "
        f"{type(generator).__name__}. A torch.Generator cannot drive shenjing; pass a seed instead."
    )


def _permutation(n: int, generator: numpy.random.Generator | None) -> numpy.ndarray:
    # NOTE: with no generator of its own, shuffling draws from the generator that shenjing.manual_seed seeds,
    # so a seeded script shuffles the same way every run (as PyTorch's global generator does)
    return (generator or NUMPY.generator).permutation(n)


# ---- samplers: the order in which a loader visits sample indices ---------------------------------------------
class Sampler:
    """An iterable of sample indices with a length, as ``torch.utils.data.Sampler``.

    Subclasses define ``__iter__`` and ``__len__``; they may define ``indices()`` returning one epoch's
    indices as a NumPy int64 array, which the loader then uses without iterating in Python.
    """

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__}: samplers must define __len__")

    def indices(self) -> numpy.ndarray:
        raise NotImplementedError(f"{type(self).__name__}: samplers must define __iter__ or indices()")


class SequentialSampler(Sampler):
    """Indices 0, 1, …, N − 1 in order."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __len__(self) -> int:
        return len(self.data_source)

    def indices(self) -> numpy.ndarray:
        return numpy.arange(len(self.data_source), dtype=numpy.int64)


class RandomSampler(Sampler):
    """A fresh random permutation of 0…N − 1 every epoch (sampling without replacement).

    Args:
        data_source: the data set (only its length is used).
        generator: ``None`` (draw from the generator :func:`shenjing.manual_seed` seeds), an int seed (a private
            generator made once, so successive epochs differ but the whole sequence repeats) or a
            ``numpy.random.Generator``.
    """

    def __init__(self, data_source: Any, generator: Any = None) -> None:
        self.data_source = data_source
        self.generator = as_generator(generator, "RandomSampler")

    def __len__(self) -> int:
        return len(self.data_source)

    def indices(self) -> numpy.ndarray:
        return _permutation(len(self.data_source), self.generator)


class SubsetRandomSampler(Sampler):
    """The given indices in a fresh random order every epoch (a validation fold, say)."""

    def __init__(self, indices: Any, generator: Any = None) -> None:
        self.subset = numpy.asarray(indices, dtype=numpy.int64)
        self.generator = as_generator(generator, "SubsetRandomSampler")

    def __len__(self) -> int:
        return len(self.subset)

    def indices(self) -> numpy.ndarray:
        return self.subset[_permutation(len(self.subset), self.generator)]


def _epoch_indices(sampler: Any) -> numpy.ndarray:
    if isinstance(sampler, Sampler) and type(sampler).__iter__ is Sampler.__iter__:
        return numpy.asarray(sampler.indices(), dtype=numpy.int64)
    return numpy.fromiter((int(i) for i in sampler), dtype=numpy.int64)


# ---- collation: a list of samples → one batch ------------------------------------------------------------------
def _stack(arrays: list, example: Any) -> Tensor:
    try:
        return Tensor._wrap(backend_of(arrays[0]).xp.stack(arrays))
    except ValueError:
        shapes = sorted({tuple(a.shape) for a in arrays})
        raise RuntimeError(
            f"default_collate: expected every sample's {type(example).__name__} to have the same shape, got "
            f"shapes {', '.join(map(str, shapes))} in one batch. Pad the samples to one shape or pass a collate_fn."
        ) from None


def default_collate(batch: list) -> Any:
    """Stack a list of samples into one batch, keeping the samples' structure.

    ============================  =====================================================================
    each sample is                the batch is
    ============================  =====================================================================
    Tensor or NumPy array (…)     a Tensor (B, …), dtype kept
    Python float / int / bool     a Tensor (B,) of the default float dtype (float32) / int64 / bool
    NumPy scalar                  a Tensor (B,) of its dtype
    str or bytes                  the list of them
    dict                          a dict of batches, key by key
    tuple / list / namedtuple     a list / list / namedtuple of batches, position by position
    ============================  =====================================================================

    Differs from PyTorch: Python floats become float32 (shenjing's default dtype), not float64.

    Example:
        >>> from shenjing.data import default_collate
        >>> x, y = default_collate([(0.5, 1), (1.5, 0)])
        >>> x.tolist(), y.tolist(), str(y.dtype)
        ([0.5, 1.5], [1, 0], 'int64')
    """
    if not isinstance(batch, list | tuple) or not batch:
        raise TypeError(f"default_collate: expected a non-empty list of samples, got {batch!r:.80}")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([sample.array for sample in batch], elem)
    if isinstance(elem, numpy.ndarray) or hasattr(elem, "__cuda_array_interface__"):
        return _stack(list(batch), elem)
    if isinstance(elem, numpy.generic):
        return Tensor._wrap(numpy.array(batch, dtype=elem.dtype))
    if isinstance(elem, bool):
        return Tensor._wrap(numpy.array(batch, dtype=bool))
    if isinstance(elem, int):
        return Tensor._wrap(numpy.array(batch, dtype=numpy.int64))
    if isinstance(elem, float):
        return Tensor._wrap(numpy.array(batch, dtype=get_default_dtype()))
    if isinstance(elem, str | bytes):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError(
                f"default_collate: expected every sample to have {len(elem)} elements like the first, got lengths "
                f"{sorted({len(sample) for sample in batch})}"
            )
        # NOTE: a tuple sample gives a list of batches, as PyTorch's default_collate does
        return [default_collate(list(field)) for field in zip(*batch, strict=True)]
    raise TypeError(
        f"default_collate: expected samples made of Tensors, NumPy arrays, numbers, strings, dicts or "
        f"tuples, got {type(elem).__name__}. Convert the samples in the data set or pass a collate_fn."
    )


# ---- the loader ---------------------------------------------------------------------------------------------
class DataLoader:
    """Iterate over a data set in batches, shuffled or in order, as ``torch.utils.data.DataLoader``.

    One epoch visits every sample once (the last, smaller batch dropped with ``drop_last=True``). The
    textbook's three ways to update the weights are one argument, B = ``batch_size``:

        batch_size = 1            online (stochastic) gradient descent: an update after every sample
        batch_size = B            mini-batch gradient descent: an update after every B samples
        batch_size = len(dataset) full-batch (batch) gradient descent: one update per epoch

        updates per epoch = len(loader) = ⌈N / B⌉   (⌊N / B⌋ with drop_last=True),   N = len(dataset)

    A :class:`TensorDataset` (and a :class:`Subset` of one) is cut into batches with one fancy index per
    tensor, ``X[idx]`` for a whole batch ``idx``; other data sets are read sample by sample and stacked by
    ``collate_fn``. Both give the same batches.

    Args:
        dataset: a map-style data set (``ds[i]`` and ``len(ds)``).
        batch_size: samples per batch, B ≥ 1 (default 1).
        shuffle: visit the samples in a fresh random order every epoch (default False).
        sampler: the order of sample indices instead (an iterable with a length; excludes ``shuffle``).
        num_workers: only 0: samples load in the main process.
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        drop_last: drop the last batch when it has fewer than B samples (default False).
        generator: for ``shuffle``: ``None`` draws from the generator :func:`shenjing.manual_seed` seeds; an int
            seed or a ``numpy.random.Generator`` gives the loader its own reproducible sequence of epochs.

    Example:
        >>> import numpy as np
        >>> from shenjing.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(np.zeros((10, 3), np.float32), np.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=0)
        >>> len(loader), [tuple(x.shape) for x, y in loader]
        (3, [(4, 3), (4, 3), (2, 3)])

    Differs from PyTorch: ``batch_size=None`` (no batching) is not supported, and ``generator`` takes a seed or
    a NumPy Generator rather than a ``torch.Generator``.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        drop_last: bool = False,
        generator: Any = None,
    ) -> None:
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(
                f"DataLoader: expected a data set with __getitem__ and __len__, got {type(dataset).__name__}. "
                "Wrap arrays with shenjing.data.TensorDataset(X, y)."
            )
        if batch_size is None:
            raise ValueError(
                "DataLoader: batch_size=None (no batching) is not supported. Use batch_size=1 for online "
                f"learning or batch_size=len(dataset)={len(dataset)} for full-batch learning."
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | numpy.integer) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, but got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle; shuffle in the sampler")
        if num_workers != 0:
            raise ValueError(
                f"DataLoader: expected num_workers=0, got {num_workers}. shenjing loads in the main process; "
                "a TensorDataset is already batched with one fancy index per tensor."
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.drop_last = drop_last
        self.num_workers = 0
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.generator = as_generator(generator, "DataLoader")
        if sampler is None:
            sampler = RandomSampler(dataset, self.generator) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        order = _epoch_indices(self.sampler)  # (N,) one epoch's sample indices
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        source = tensor_source(self.dataset) if self.collate_fn is default_collate else None
        if source is None:
            return self._by_sample(order, stop)
        return self._by_batch(source, order, stop)

    def _by_batch(self, source: tuple, order: numpy.ndarray, stop: int) -> Iterator[list]:
        arrays, indices = source
        if indices is not None:
            order = indices[order]  # Subset: positions in the subset → rows of the tensors
        backend = backend_of(arrays[0])
        if backend is not NUMPY:
            order = backend.from_host(order)
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]  # (B,)
            yield [Tensor._wrap(a[idx]) for a in arrays]  # one gather per tensor: (B, …) each

    def _by_sample(self, order: numpy.ndarray, stop: int) -> Iterator[Any]:
        order = order.tolist()  # Python ints, so data sets see plain int indices
        for start in range(0, stop, self.batch_size):
            yield self.collate_fn([self.dataset[i] for i in order[start : start + self.batch_size]])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
            f"{type(self.sampler).__name__}, drop_last={self.drop_last}, {len(self)} batches)"
        )
