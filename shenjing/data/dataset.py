"""Data sets: a sample by index (``ds[i]``) and a length, as ``torch.utils.data``; tensors, subsets, concatenations."""

from __future__ import annotations

import bisect
from typing import Any

import numpy  # host-side index bookkeeping only: indices always live on the host

from ..backend import backend_of
from ..tensor import Tensor, tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "Subset", "ConcatDataset", "ChainDataset"]


class Dataset:
    """A map-style data set: ``ds[i]`` is sample i, ``len(ds)`` the number of samples.

    Subclass it and define ``__getitem__`` and ``__len__``, as ``torch.utils.data.Dataset``. A sample can be
    anything :func:`shenjing.data.default_collate` batches: a Tensor, a NumPy array, a number, or a tuple or
    dict of those. ``ds1 + ds2`` is their :class:`ConcatDataset`.

    Example:
        >>> from shenjing.data import Dataset
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return float(i), float(i * i)
        >>> Squares()[3]
        (3.0, 9.0)
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset must define __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A data set read as a stream: ``iter(ds)`` yields the samples (lines of a file, a generator, …).

    Subclass it and define ``__iter__`` (and ``__len__`` if the length is known). In a DataLoader with
    workers, every worker iterates its own copy, so split the stream with
    :func:`shenjing.utils.data.get_worker_info` or each sample comes once per worker. ``ds1 + ds2`` is their
    :class:`ChainDataset`.

    Example:
        >>> from shenjing.utils.data import DataLoader, IterableDataset
        >>> class Count(IterableDataset):
        ...     def __iter__(self):
        ...         return iter(range(5))
        >>> [b.tolist() for b in DataLoader(Count(), batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __iter__(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: subclasses of IterableDataset must define __iter__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: an IterableDataset is read with iter(), not by index")

    def __len__(self) -> int:
        # NOTE: a TypeError, as len() of an object without __len__ (PyTorch's IterableDataset has none)
        raise TypeError(f"object of type '{type(self).__name__}' has no len(): define __len__ if the length is known")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several IterableDatasets one after the other, chained lazily (a stream of streams).

    Example:
        >>> from shenjing.utils.data import ChainDataset, IterableDataset
        >>> class Count(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n))
        >>> list(ChainDataset([Count(2), Count(3)]))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Any) -> None:
        self.datasets = datasets

    def __iter__(self) -> Any:
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise AssertionError(
                    f"ChainDataset only supports IterableDataset, got {type(dataset).__name__}; use ConcatDataset "
                    "for map-style data sets"
                )
            yield from dataset

    def __len__(self) -> int:
        total = 0
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise AssertionError(f"ChainDataset only supports IterableDataset, got {type(dataset).__name__}")
            total += len(dataset)
        return total


def _as_tensor(value: Any, position: int) -> Tensor:
    """A Tensor around ``value`` without copying arrays (their dtype kept, as ``torch.from_numpy``)."""
    if isinstance(value, Tensor):
        return value.detach()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        backend_of(value)  # a TypeError naming the type for array-likes shenjing cannot hold
        return Tensor._wrap(value)
    if isinstance(value, list | tuple):
        return tensor(value)
    raise TypeError(
        f"TensorDataset: expected Tensors, NumPy arrays or lists, got {type(value).__name__} at position {position}"
    )


class TensorDataset(Dataset):
    """Samples are rows of tensors that share their first dimension: ``ds[i] = (X[i], y[i], …)``.

    The :class:`~shenjing.data.DataLoader` recognises it (and a :class:`Subset` of it) and cuts whole batches
    with one fancy index per tensor instead of collating samples one by one.

    Args:
        *tensors: Tensors or NumPy arrays with equal first dimension N. Arrays are wrapped without a copy and
            keep their dtype (a float64 array stays float64, as ``torch.from_numpy``); convert first,
            ``X.astype("float32")``, to match float32 layers. Lists go through :func:`shenjing.tensor`.

    Attributes:
        tensors: the tuple of Tensors.

    Shape:
        tensors (N, …) each; a sample is a tuple of their rows.

    Example:
        >>> import numpy as np
        >>> from shenjing.data import TensorDataset
        >>> ds = TensorDataset(np.zeros((5, 3), np.float32), np.arange(5))
        >>> len(ds), ds[2][0].shape, ds[2][1].item()
        (5, (3,), 2)
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor, got none")
        self.tensors = tuple(_as_tensor(t, i) for i, t in enumerate(tensors))
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
            raise ValueError(
                f"TensorDataset: expected tensors with the same first dimension (one row per sample), got shapes "
                f"{shapes}. Check that features and labels have the same number of samples."
            )

    def __getitem__(self, index: Any) -> tuple:
        # NOTE: `a[i, ...]` keeps a 0-d array where `a[i]` of a 1-d NumPy array would give a NumPy scalar
        return tuple(Tensor._wrap(t.array[index, ...]) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in self.tensors)
        return f"{type(self).__name__}({shapes})"


class StackDataset(Dataset):
    """Several data sets of one length side by side: sample i is ``(a[i], b[i], …)``, or a dict with keywords.

    Example:
        >>> from shenjing.utils.data import StackDataset
        >>> StackDataset(["x0", "x1"], [10, 11])[1], StackDataset(image=["x0", "x1"], label=[10, 11])[0]
        (('x1', 11), {'image': 'x0', 'label': 10})
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError(
                "StackDataset: expected data sets either as positional arguments (samples are tuples) or as "
                "keywords (samples are dicts), got both"
            )
        if not args and not kwargs:
            raise ValueError("StackDataset: expected at least one data set, got none")
        self.datasets = args or kwargs
        parts = args or tuple(kwargs.values())
        lengths = [len(part) for part in parts]
        if len(set(lengths)) != 1:
            raise ValueError(f"StackDataset: expected data sets of one length, got lengths {lengths}")
        self._length = lengths[0]

    def __getitem__(self, index: int) -> tuple | dict:
        if isinstance(self.datasets, dict):
            return {key: part[index] for key, part in self.datasets.items()}
        return tuple(part[index] for part in self.datasets)

    def __len__(self) -> int:
        return self._length


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``Subset(ds, idx)[k] = ds[idx[k]]``.

    Args:
        dataset: the data set to take samples from.
        indices: sample indices (a list, range, NumPy array or int Tensor); negative indices count from the end.

    Attributes:
        dataset: the underlying data set.
        indices: the indices, as a NumPy int64 array.

    Example:
        >>> import numpy as np
        >>> from shenjing.data import Subset, TensorDataset
        >>> sub = Subset(TensorDataset(np.arange(10) * 10), [7, 2])
        >>> len(sub), sub[0][0].item()
        (2, 70)
    """

    def __init__(self, dataset: Any, indices: Any) -> None:
        if isinstance(indices, Tensor):
            indices = backend_of(indices.array).to_host(indices.array)
        indices = numpy.asarray(indices)
        if indices.size == 0:
            indices = indices.astype(numpy.int64)
        if indices.ndim != 1 or indices.dtype.kind not in "iu":
            raise TypeError(
                f"Subset: expected a 1-d sequence of integer indices, got an array of shape {indices.shape} and "
                f"dtype {indices.dtype}. Use numpy.flatnonzero(mask) to turn a boolean mask into indices."
            )
        n = len(dataset)
        if indices.size and (indices.max() >= n or indices.min() < -n):
            bad = indices.max() if indices.max() >= n else indices.min()
            raise IndexError(f"Subset: index {bad} is out of range for a data set of {n} samples")
        self.dataset = dataset
        self.indices = numpy.where(indices < 0, indices + n, indices).astype(numpy.int64)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return [self.dataset[int(i)] for i in self.indices[index]]
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {len(self.dataset)} samples of {type(self.dataset).__name__})"


class ConcatDataset(Dataset):
    """Several data sets one after the other: samples 0…len(a)−1 from ``a``, then ``b``'s, and so on.

    Args:
        datasets: the data sets to chain (a list or other iterable).

    Attributes:
        datasets: the list of data sets; ``cumulative_sizes``: their running lengths.

    Example:
        >>> import numpy as np
        >>> from shenjing.data import ConcatDataset, TensorDataset
        >>> both = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
        >>> len(both), both[3][0].item()
        (5, 10)
    """

    def __init__(self, datasets: Any) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one data set, got an empty list")
        for ds in self.datasets:
            if isinstance(ds, IterableDataset):
                raise AssertionError(
                    f"ConcatDataset does not support IterableDataset ({type(ds).__name__}); use ChainDataset"
                )
        self.cumulative_sizes = []
        total = 0
        for ds in self.datasets:
            total += len(ds)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def tensor_source(dataset: Any) -> tuple[tuple, Any] | None:
    """The arrays behind a TensorDataset (or Subsets of one) and the indices into them, else ``None``.

    Returns ``(arrays, indices)``: ``dataset[k]`` is ``tuple(a[indices[k]] for a in arrays)``; ``indices`` is
    ``None`` for the TensorDataset itself (sample k is row k). Subclasses that override ``__getitem__`` (to
    transform samples, say) are not recognised, so the loader never skips their code.
    """
    kind = type(dataset)
    if isinstance(dataset, TensorDataset) and kind.__getitem__ is TensorDataset.__getitem__:
        return tuple(t.array for t in dataset.tensors), None
    if isinstance(dataset, Subset) and kind.__getitem__ is Subset.__getitem__:
        inner = tensor_source(dataset.dataset)
        if inner is None:
            return None
        arrays, indices = inner
        return arrays, dataset.indices if indices is None else indices[dataset.indices]
    return None
