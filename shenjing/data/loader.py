"""DataLoader: a data set in (shuffled) batches, in the main process or in worker processes; default_collate."""

from __future__ import annotations

import collections.abc
import itertools
import math
import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any

import numpy  # host-side index bookkeeping and stacking of host samples

from ..backend import NUMPY, backend_of, get_default_dtype
from ..tensor import Tensor
from . import worker as _worker
from .dataset import IterableDataset, tensor_source
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
    as_generator,
    batch_slices,
    epoch_indices,
    rng_of,
)

__all__ = [
    "DataLoader",
    "default_collate",
    "default_convert",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "as_generator",
]


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


def default_convert(data: Any) -> Any:
    """Arrays inside a sample as Tensors, the structure kept (the ``collate_fn`` when ``batch_size=None``).

    A NumPy array or scalar becomes a Tensor (no copy); dicts, namedtuples and sequences are converted element
    by element (a tuple becomes a list, as PyTorch); anything else is returned as is.
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, numpy.ndarray):
        return data if data.dtype.kind in "OSUV" else Tensor._wrap(data)
    if isinstance(data, numpy.generic) and not isinstance(data, numpy.str_ | numpy.bytes_):
        return Tensor._wrap(numpy.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, str | bytes):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


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
        dataset: a map-style data set (``ds[i]`` and ``len(ds)``) or an :class:`IterableDataset`.
        batch_size: samples per batch, B ≥ 1 (default 1); ``None`` turns batching off (each item of the
            sampler is one sample, converted by :func:`default_convert`).
        shuffle: visit the samples in a fresh random order every epoch (default ``None``: no).
        sampler: the order of sample indices instead (an iterable with a length; excludes ``shuffle``).
        batch_sampler: yields whole batches of indices (excludes batch_size, shuffle, sampler, drop_last).
        num_workers: 0 (default) loads in the main process; N > 0 starts N worker processes that each read
            and collate whole batches (tasks go round-robin; batches come back in order). Worth it when
            ``__getitem__`` is slow (files, decoding, augmentation); a TensorDataset is fastest in-process.
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        pin_memory: accepted for PyTorch programs; a no-op (shenjing copies batches to a GPU with ``.to``).
        drop_last: drop the last batch when it has fewer than B samples (default False).
        timeout: seconds to wait for a batch from the workers (0: no limit); then RuntimeError.
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding, before loading.
        multiprocessing_context: a start method (``"fork"``, ``"spawn"``, ``"forkserver"``) or a context of
            :mod:`multiprocessing` (default: its default). With spawn, the data set and functions must pickle.
        generator: for ``shuffle`` and the workers' base seed: ``None`` draws from the generator
            :func:`shenjing.manual_seed` seeds; a ``shenjing.Generator``, an int seed or a
            ``numpy.random.Generator`` gives the loader its own reproducible sequence of epochs.
        prefetch_factor: batches each worker loads ahead (default 2 with workers; only with workers).
        persistent_workers: keep the worker processes between epochs (only with workers).
        pin_memory_device: accepted and unused, as ``pin_memory``.
        in_order: hand out the workers' batches in sampler order (default True); False gives each batch as
            soon as it is ready (a slow sample then does not hold the others back).

    Each worker w is seeded with ``base_seed + w`` (shenjing's, Python's ``random`` and NumPy's global
    generators), where ``base_seed`` is drawn from ``generator`` at the start of each epoch; inside it,
    :func:`get_worker_info` gives its id, the number of workers, its seed and its copy of the data set. An
    exception in a worker is raised again in the main process, with the worker's traceback in its message.

    Example:
        >>> import numpy as np
        >>> from shenjing.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(np.zeros((10, 3), np.float32), np.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=0)
        >>> len(loader), [tuple(x.shape) for x, y in loader]
        (3, [(4, 3), (4, 3), (2, 3)])

    Differs from PyTorch: ``generator`` also takes a seed or a NumPy Generator (a ``torch.Generator`` cannot
    drive NumPy), and the random streams are NumPy's, so shuffled orders differ from PyTorch's.
    """

    _frozen = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")
    _initialized = False

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        iterable = isinstance(dataset, IterableDataset)
        if not iterable and not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(
                f"DataLoader: expected a data set with __getitem__ and __len__ (or an IterableDataset), got "
                f"{type(dataset).__name__}. Wrap arrays with shenjing.data.TensorDataset(X, y)."
            )
        if isinstance(num_workers, bool) or not isinstance(num_workers, int | numpy.integer) or num_workers < 0:
            raise ValueError(
                f"num_workers option should be non-negative; use num_workers=0 to disable multiprocessing. "
                f"Got num_workers={num_workers!r}"
            )
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative, got timeout={timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. Let num_workers > 0 to enable "
                f"multiprocessing, otherwise set prefetch_factor to None (got prefetch_factor={prefetch_factor})."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and (
            isinstance(prefetch_factor, bool) or not isinstance(prefetch_factor, int) or prefetch_factor < 1
        ):
            # NOTE: PyTorch asserts prefetch_factor > 0 only when the workers start; checked here at once
            raise ValueError(
                f"DataLoader: expected prefetch_factor to be a positive integer (batches loaded ahead per worker), "
                f"got prefetch_factor={prefetch_factor!r}"
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if iterable:
            if shuffle not in (None, False):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler option, but got "
                    f"batch_sampler={batch_sampler}"
                )
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle: shuffle in the sampler instead")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError(
                    "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
                )
        elif isinstance(batch_size, bool) or not isinstance(batch_size, int | numpy.integer) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, but got {batch_size!r}")
        generator = as_generator(generator, "DataLoader")
        if sampler is None and not iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))

        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.multiprocessing_context = multiprocessing_context
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterable = iterable
        self._iterator = None
        self._initialized = True

    # ---- PyTorch's attribute rules ----------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if self._initialized and name in self._frozen:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self) -> Any:
        return self._mp_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context: Any) -> None:
        if context is not None:
            if self.num_workers == 0:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading (num_workers > 0), but "
                    f"got num_workers={self.num_workers}"
                )
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(
                        f"multiprocessing_context option should specify a valid start method in {methods!r}, but "
                        f"got multiprocessing_context={context!r}"
                    )
                context = multiprocessing.get_context(context)
            elif not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError(
                    "multiprocessing_context option should be a valid context object or a string specifying the "
                    f"start method, but got multiprocessing_context={context!r}"
                )
        self._mp_context = context

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable_kind and self.batch_size is not None)

    @property
    def _iterable_kind(self) -> bool:
        return isinstance(self.dataset, IterableDataset)

    # ---- length and iteration ---------------------------------------------------------------------------
    def __len__(self) -> int:
        if self._iterable_kind:
            n = len(self.dataset)  # TypeError for an IterableDataset without __len__, as PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return self._single_process_iter()
        self._check_no_gpu_data()
        if self.persistent_workers:
            if self._iterator is None or self._iterator.closed:
                self._iterator = _worker.MultiProcessIter(self)
            else:
                self._iterator.reset(self)
            return self._iterator
        return _worker.MultiProcessIter(self)

    def _check_no_gpu_data(self) -> None:
        """Workers cannot read a TensorDataset held by CuPy: a CUDA context does not survive ``fork``."""
        source = None if self._iterable_kind else tensor_source(self.dataset)
        if source is None or getattr(backend_of(source[0][0]).xp, "__name__", "") != "cupy":
            return
        raise RuntimeError(
            f"DataLoader: expected the {type(self.dataset).__name__}'s tensors on the CPU for num_workers="
            f"{self.num_workers}, got tensors on the GPU. Worker processes cannot use the parent's CUDA context; "
            "use num_workers=0 (batches of GPU tensors are cut on the GPU, with no copy) or keep the data on the "
            "CPU and move each batch with .to('cuda')."
        )

    def _tasks(self) -> Iterator[Any]:
        """One epoch of work units: index arrays (batches), single indices, or batch sizes (IterableDataset)."""
        if self._iterable_kind:
            return itertools.repeat(self.batch_size)
        if self.batch_sampler is None:
            return iter(self.sampler)
        if type(self.batch_sampler) is BatchSampler:  # our own batching: slice one index array, no Python loop
            b = self.batch_sampler
            return batch_slices(epoch_indices(b.sampler), b.batch_size, b.drop_last)
        return iter(self.batch_sampler)

    def _single_process_iter(self) -> Iterator[Any]:
        if self._iterable_kind:
            return self._from_iterable()
        b = self.batch_sampler
        source = tensor_source(self.dataset) if self.collate_fn is default_collate else None
        if source is not None and type(b) is BatchSampler:
            order = epoch_indices(b.sampler)  # (N,) one epoch's sample indices
            return self._by_batch(source, order, b.batch_size, b.drop_last)
        return self._by_sample()

    def _by_batch(self, source: tuple, order: numpy.ndarray, batch_size: int, drop_last: bool) -> Iterator[list]:
        arrays, indices = source
        if indices is not None:
            order = indices[order]  # Subset: positions in the subset → rows of the tensors
        backend = backend_of(arrays[0])
        if backend is not NUMPY:
            order = backend.from_host(order)
        for idx in batch_slices(order, batch_size, drop_last):  # (B,) each
            yield [Tensor._wrap(a[idx]) for a in arrays]  # one gather per tensor: (B, …) each

    def _by_sample(self) -> Iterator[Any]:
        fetcher = _worker.MapFetcher(self.dataset, self._auto_collation, self.collate_fn, self.drop_last)
        for task in self._tasks():
            yield fetcher.fetch(task)

    def _from_iterable(self) -> Iterator[Any]:
        fetcher = _worker.IterableFetcher(self.dataset, self._auto_collation, self.collate_fn, self.drop_last)
        while True:
            try:
                batch = fetcher.fetch(self.batch_size)
            except StopIteration:
                return
            yield batch

    def _base_seed(self) -> int:
        return int(rng_of(self.generator).integers(0, 2**62))

    def __repr__(self) -> str:
        try:
            batches = f", {len(self)} batches"
        except TypeError:
            batches = ""
        try:
            size = f" of {len(self.dataset)}"
        except TypeError:
            size = ""
        sampler = "" if self.sampler is None else f", {type(self.sampler).__name__}"
        return (
            f"DataLoader({type(self.dataset).__name__}{size}, batch_size={self.batch_size}{sampler}, "
            f"drop_last={self.drop_last}, num_workers={self.num_workers}{batches})"
        )
