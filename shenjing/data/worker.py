"""DataLoader worker processes: what runs inside a worker, and the main process's side that feeds them.

A worker (``num_workers > 0``) is a process that receives tasks ``(task_number, indices)`` on its own index
queue, turns each into a batch (read the samples, collate them) and puts ``(task_number, batch)`` on the
result queue that all workers share; the main process puts batches back in task order. Inside a worker,
:func:`get_worker_info` says which worker it is (to shard an IterableDataset, say).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import random
import sys
import time
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy  # seeding NumPy's legacy global generator in each worker, as PyTorch does

from ..backend import NUMPY
from ..tensor import Tensor
from .dataset import tensor_source

if TYPE_CHECKING:
    from .loader import DataLoader

__all__ = ["WorkerInfo", "get_worker_info", "ExceptionWrapper", "worker_loop", "MultiProcessIter"]

STATUS_CHECK_INTERVAL = 0.5  # seconds between checks that the other side is still alive

_worker_info: WorkerInfo | None = None


class WorkerInfo:
    """Which worker this process is: ``id`` (0…num_workers − 1), ``num_workers``, its ``seed`` and its copy of
    the ``dataset``. Read-only, as PyTorch's."""

    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key: str, value: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")
        super().__setattr__(key, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={getattr(self, key)!r}" for key in self.__keys if key != "dataset")
        return f"{type(self).__name__}({fields}, dataset={type(self.dataset).__name__})"


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process: its :class:`WorkerInfo`; in the main process: ``None``.

    Example (an IterableDataset that gives each worker its own share)::

        def __iter__(self):
            info = get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(start, self.n, step))
    """
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, with its traceback as text, re-raised in the main process."""

    def __init__(self, exc_info: tuple | None = None, where: str = "in background") -> None:
        exc_info = exc_info or sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where
        try:
            pickle.dumps(self.exc_type)
        except Exception:  # noqa: BLE001 - a class defined in a function cannot travel: send its name only
            self.exc_msg = f"({self.exc_type.__qualname__}, which cannot be pickled) {self.exc_msg}"
            self.exc_type = RuntimeError

    def reraise(self) -> None:
        """Raise the worker's exception again, its class kept when it can be built from a message."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)  # NOTE: KeyError repr()s its message; this keeps the newlines readable
        try:
            exception = self.exc_type(msg)
        except Exception:  # noqa: BLE001 - an exception class that needs other arguments
            raise RuntimeError(msg) from None
        raise exception


class KeyErrorMessage(str):
    def __repr__(self) -> str:
        return self


class IterableDatasetStopIteration:
    """Sent by a worker whose IterableDataset iterator is exhausted."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


class ResumeIteration:
    """Sent to persistent workers at a new epoch: restart the data set's iterator; echoed back as the ack."""


# ---- fetching one batch --------------------------------------------------------------------------------------
class MapFetcher:
    """Batches of a map-style data set: ``collate_fn([dataset[i] for i in indices])``."""

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Any, drop_last: bool) -> None:
        from .loader import default_collate  # the loader imports this module

        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.source = tensor_source(dataset) if auto_collation and collate_fn is default_collate else None

    def fetch(self, index: Any) -> Any:
        if not self.auto_collation:
            return self.collate_fn(self.dataset[int(index) if isinstance(index, numpy.integer) else index])
        if self.source is not None:  # a TensorDataset: one fancy index per tensor, as in the main process
            arrays, rows = self.source
            index = numpy.asarray(index, dtype=numpy.int64)
            index = index if rows is None else rows[index]
            return [Tensor._wrap(a[index]) for a in arrays]
        indices = index.tolist() if isinstance(index, numpy.ndarray) else list(index)  # plain ints for data sets
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(indices) if getitems is not None else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)


class IterableFetcher:
    """Batches of an IterableDataset: the next ``batch_size`` items of its iterator (StopIteration at the end)."""

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Any, drop_last: bool) -> None:
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, batch_size: Any) -> Any:
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        items = []
        for item in self.iterator:
            items.append(item)
            if len(items) == batch_size:
                break
        else:
            self.ended = True
        if not items or (self.drop_last and len(items) < batch_size):
            raise StopIteration
        return self.collate_fn(items)


def send(data_queue: Any, number: Any, data: Any, where: str) -> None:
    """Put ``(number, data)`` on the result queue, pickled here so that a batch that cannot be pickled becomes
    an error the main process raises, instead of a batch lost in the queue's feeder thread (and a hang)."""
    try:
        payload = pickle.dumps((number, data), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001
        payload = pickle.dumps((number, ExceptionWrapper(where=f"{where} (sending the batch back)")))
    data_queue.put(payload)


def receive(payload: bytes) -> tuple:
    """The ``(number, data)`` a worker sent with :func:`send`."""
    return pickle.loads(payload)


def make_fetcher(iterable: bool, *args: Any) -> MapFetcher | IterableFetcher:
    return (IterableFetcher if iterable else MapFetcher)(*args)


# ---- the worker process --------------------------------------------------------------------------------------
def seed_worker(seed: int, worker_id: int) -> None:
    """Seed every generator a worker may draw from: shenjing's CPU one, Python's ``random``, NumPy's global one.

    Not the GPU's: a forked worker must not touch the CUDA context of its parent (PyTorch seeds it lazily).
    """
    NUMPY.seed(seed)
    random.seed(seed)
    numpy.random.seed(numpy.random.SeedSequence([worker_id, seed]).generate_state(1)[0])


def worker_loop(
    iterable: bool,
    dataset: Any,
    index_queue: Any,
    data_queue: Any,
    done_event: Any,
    auto_collation: bool,
    collate_fn: Any,
    drop_last: bool,
    base_seed: int,
    init_fn: Any,
    worker_id: int,
    num_workers: int,
) -> None:
    """The body of worker ``worker_id``: fetch the batch of each task until told to stop (``None``)."""
    global _worker_info
    where = f"in DataLoader worker process {worker_id}"
    # NOTE: the parent as seen at the start: the main process (fork, spawn) or the forkserver (which exits with
    # the main process); either way a change means nobody is left to read the results
    parent_pid = os.getppid()
    try:
        seed = base_seed + worker_id
        seed_worker(seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_error = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:  # noqa: BLE001 - sent to the main process, which raises it
            init_error = ExceptionWrapper(where=where)
        iteration_end = False
        while True:
            try:
                task = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid:  # orphaned: the main process is gone
                    break
                continue
            if isinstance(task, ResumeIteration):
                send(data_queue, task, None, where)
                iteration_end = False
                if init_error is None:
                    try:
                        fetcher = make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
                    except Exception:  # noqa: BLE001
                        init_error = ExceptionWrapper(where=where)
                continue
            if task is None:
                break
            if done_event.is_set() or iteration_end:
                continue  # draining: the main process is shutting down or this worker's data is over
            number, index = task
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not iterable:
                        data = ExceptionWrapper(where=where)
                    else:
                        data = IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:  # noqa: BLE001
                    data = ExceptionWrapper(where=where)
            send(data_queue, number, data, where)
            del data
    except KeyboardInterrupt:
        pass  # the main process handles Ctrl-C and shuts the workers down
    finally:
        if done_event.is_set():
            data_queue.cancel_join_thread()  # do not block exit on results nobody will read
        data_queue.close()


# ---- the main process's side: start the workers, hand out tasks, collect batches in order -------------------
class MultiProcessIter:
    """One epoch (or, with persistent workers, every epoch) of batches from ``num_workers`` worker processes.

    Task k goes to the next active worker in round-robin order; at most ``prefetch_factor × num_workers``
    tasks are outstanding. Results arrive in any order and are handed out in task order (early ones wait in
    ``task_info``), or as they come with ``in_order=False``. Workers stop when told (``None`` on their index
    queue), when the epoch ends (unless persistent), on an error, or when this iterator is garbage-collected.
    """

    def __init__(self, loader: DataLoader) -> None:
        # NOTE: no reference to the loader is kept (it holds this iterator when its workers persist, and the
        # cycle would keep the workers alive until a garbage collection): later epochs get it from reset()
        self.num_workers = loader.num_workers
        self.iterable = loader._iterable_kind
        self.persistent = loader.persistent_workers
        self.prefetch = loader.prefetch_factor * loader.num_workers
        self.timeout = loader.timeout
        self.in_order = loader.in_order
        try:
            self.length = len(loader)
        except TypeError:  # an IterableDataset without a length
            self.length = None
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self.closed = False
        self.result_queue = context.Queue()
        self.done_event = context.Event()
        self.index_queues = []
        self.workers = []
        tasks = loader._tasks()  # NOTE: before the base seed, so a shuffle draws what it draws in-process
        base_seed = loader._base_seed()
        try:
            for worker_id in range(self.num_workers):
                index_queue = context.Queue()
                index_queue.cancel_join_thread()
                process = context.Process(
                    target=worker_loop,
                    args=(self.iterable, loader.dataset, index_queue, self.result_queue, self.done_event,
                          loader._auto_collation, loader.collate_fn, loader.drop_last, base_seed,
                          loader.worker_init_fn, worker_id, self.num_workers),
                    daemon=True,  # NOTE: daemonic, so an interpreter that exits never waits on (or leaks) a worker
                )
                process.start()
                self.index_queues.append(index_queue)
                self.workers.append(process)
        except BaseException:
            self.shutdown()
            raise
        self._start(tasks, first=True)

    def reset(self, loader: DataLoader) -> None:
        """A new epoch on the same (persistent) workers: they restart, unfinished work is dropped."""
        self._start(loader._tasks(), first=False)

    def _start(self, tasks: Iterator[Any], first: bool) -> None:
        """Start an epoch: the task sequence, all workers active, the first tasks sent out."""
        self.tasks = tasks
        self.send_idx = 0  # the number of the next task to send
        self.rcvd_idx = 0  # the number of the next batch to hand out
        self.task_info: dict[int, tuple] = {}  # task number → (worker,) while pending, (worker, data) once in
        self.active = [True] * self.num_workers
        self.cycle = itertools.cycle(range(self.num_workers))
        if not first:  # persistent workers: restart their iterators, drop results of an unfinished epoch
            for index_queue in self.index_queues:
                index_queue.put(ResumeIteration())
            acks = self.num_workers
            while acks > 0:
                number, _ = self._get()
                if isinstance(number, ResumeIteration):
                    acks -= 1
        for _ in range(self.prefetch):
            self._put_task()

    def _put_task(self) -> None:
        try:
            task = next(self.tasks)
        except StopIteration:
            return
        for _ in range(self.num_workers):
            worker_id = next(self.cycle)
            if self.active[worker_id]:
                break
        else:
            return  # every worker's iterable data set is exhausted
        self.index_queues[worker_id].put((self.send_idx, task))
        self.task_info[self.send_idx] = (worker_id,)
        self.send_idx += 1

    def __iter__(self) -> MultiProcessIter:
        return self

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("this DataLoader's IterableDataset has no __len__")
        return self.length

    def __next__(self) -> Any:
        if self.closed:
            raise StopIteration
        while True:
            while self.rcvd_idx < self.send_idx:  # skip tasks handed out already or whose worker's data ran out
                info = self.task_info.get(self.rcvd_idx)
                if info is not None and (len(info) == 2 or self.active[info[0]]):
                    break
                self.task_info.pop(self.rcvd_idx, None)
                self.rcvd_idx += 1
            else:
                if not self.persistent:
                    self.shutdown()
                raise StopIteration
            if len(self.task_info[self.rcvd_idx]) == 2:  # arrived earlier, out of order
                data = self.task_info.pop(self.rcvd_idx)[1]
                self.rcvd_idx += 1
                return self._process(data)
            number, data = self._get()
            if isinstance(data, IterableDatasetStopIteration):
                self.active[data.worker_id] = False
                if not self.persistent:
                    self.index_queues[data.worker_id].put(None)
                self._put_task()
                continue
            if number != self.rcvd_idx:
                if not self.in_order:  # in_order=False: whichever batch is ready first
                    del self.task_info[number]
                    return self._process(data)
                self.task_info[number] += (data,)
                continue
            del self.task_info[number]
            self.rcvd_idx += 1
            return self._process(data)

    def _process(self, data: Any) -> Any:
        if isinstance(data, ExceptionWrapper):
            self.shutdown()
            data.reraise()
        self._put_task()
        return data

    def _get(self) -> tuple:
        """The next ``(task number, data)`` from any worker; RuntimeError on a timeout or a dead worker."""
        start = time.monotonic()
        while True:
            wait = STATUS_CHECK_INTERVAL
            if self.timeout > 0:
                wait = min(wait, max(self.timeout - (time.monotonic() - start), 0.0))
            try:
                return receive(self.result_queue.get(timeout=wait))
            except queue.Empty:
                dead = [w for w, active in zip(self.workers, self.active, strict=True) if active and not w.is_alive()]
                if dead:
                    codes = ", ".join(f"pid {w.pid} (exit code {w.exitcode})" for w in dead)
                    self.shutdown()
                    raise RuntimeError(
                        f"DataLoader worker ({codes}) exited unexpectedly. A worker killed by the system (out of "
                        "memory, a crash in native code) gives no traceback; try num_workers=0 to see the error."
                    ) from None
                if self.timeout > 0 and time.monotonic() - start >= self.timeout:
                    self.shutdown()
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds") from None

    def shutdown(self) -> None:
        """Stop and reap every worker (no zombies); safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        try:
            self.done_event.set()
            for index_queue in self.index_queues:
                try:
                    index_queue.put(None)
                except (OSError, ValueError):  # the queue is already closed
                    pass
            for process in self.workers:
                process.join(timeout=STATUS_CHECK_INTERVAL * 4)
                if process.is_alive():
                    process.terminate()
                    process.join()
            for index_queue in self.index_queues:
                index_queue.cancel_join_thread()
                index_queue.close()
            self.result_queue.cancel_join_thread()
            self.result_queue.close()
        finally:
            for process in self.workers:
                if process.exitcode is not None:
                    process.close()  # releases its resources; is_alive() is no longer needed

    def __del__(self) -> None:
        if hasattr(self, "workers"):
            try:
                self.shutdown()
            except Exception:  # noqa: BLE001 - at interpreter exit the queues may be half torn down already
                pass
