"""DataLoader worker processes: same batches as in-process, order, worker info and seeds, errors, shutdown."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import time

import numpy as np
import pytest

import shenjing
from shenjing.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info


@pytest.fixture(autouse=True)
def _no_hang():
    """Fail (not hang) a test that waits on workers for more than 60 s."""

    def expire(signum, frame):
        raise TimeoutError("worker test took more than 60 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def no_workers_left():
    """Every worker process this test started has been joined (none alive, none a zombie)."""
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


class Squares(Dataset):
    """Sample i: (i as float32, i², the id of the worker that read it (-1 in the main process))."""

    def __init__(self, n=10, delay=None):
        self.n, self.delay = n, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.delay is not None and i in self.delay:
            time.sleep(self.delay[i])
        info = get_worker_info()
        return np.float32(i), i * i, -1 if info is None else info.id


def as_lists(loader):
    return [[part.tolist() if hasattr(part, "tolist") else part for part in batch] for batch in loader]


def test_workers_give_the_same_batches_as_the_main_process():
    ds = Squares(11)
    main = as_lists(DataLoader(ds, batch_size=3))
    work = as_lists(DataLoader(ds, batch_size=3, num_workers=2, timeout=20))
    assert [b[:2] for b in work] == [b[:2] for b in main]
    assert [b[2] for b in main] == [[-1] * 3, [-1] * 3, [-1] * 3, [-1] * 2]
    assert [b[2] for b in work] == [[0] * 3, [1] * 3, [0] * 3, [1] * 2]  # round-robin over the workers
    assert no_workers_left()


def test_tensor_dataset_shuffled_with_workers_matches_in_process():
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.arange(20)
    main = DataLoader(TensorDataset(X, y), batch_size=6, shuffle=True, generator=3, drop_last=True)
    work = DataLoader(TensorDataset(X, y), batch_size=6, shuffle=True, generator=3, drop_last=True, num_workers=2)
    a, b = as_lists(main), as_lists(work)
    assert a == b and len(a) == 3 == len(work)
    assert sorted(i for _, ys in a for i in ys) != list(range(18))  # shuffled, the last 2 samples dropped


def test_batches_come_back_in_order_when_a_worker_is_slow():
    ds = Squares(8, delay={0: 0.3})  # worker 0's first batch arrives after worker 1's
    batches = as_lists(DataLoader(ds, batch_size=2, num_workers=2, timeout=20))
    assert [b[0] for b in batches] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]


def test_no_batching_and_custom_collate_in_workers():
    ds = Squares(4)
    assert [x.item() for x, _, _ in DataLoader(ds, batch_size=None, num_workers=2)] == [0.0, 1.0, 2.0, 3.0]
    sizes = list(DataLoader(ds, batch_size=3, num_workers=2, collate_fn=len))
    assert sizes == [3, 1]


class Info(Dataset):
    """Returns what get_worker_info and the worker's generators say."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        draw = float(shenjing.rand(1).item())
        return {"id": info.id, "n": info.num_workers, "seed": info.seed, "same": info.dataset is not self,
                "draw": draw, "np": float(np.random.rand()), "init": os.environ.get("SJ_TEST_WORKER_INIT", "")}


def set_marker(worker_id):
    os.environ["SJ_TEST_WORKER_INIT"] = f"init {worker_id}"  # in the worker's own environment only


def test_worker_info_seeds_and_worker_init_fn():
    assert get_worker_info() is None
    loader = DataLoader(Info(), batch_size=None, num_workers=2, worker_init_fn=set_marker, generator=7)
    samples = list(loader)
    assert [s["id"] for s in samples] == [0, 1, 0, 1]
    assert {s["n"] for s in samples} == {2}
    assert samples[1]["seed"] == samples[0]["seed"] + 1  # base_seed + worker_id, as PyTorch
    assert [s["init"] for s in samples] == ["init 0", "init 1", "init 0", "init 1"]
    assert "SJ_TEST_WORKER_INIT" not in os.environ
    assert samples[0]["draw"] != samples[1]["draw"] and samples[0]["np"] != samples[1]["np"]  # seeded apart
    again = list(DataLoader(Info(), batch_size=None, num_workers=2, worker_init_fn=set_marker, generator=7))
    assert again == samples  # the same generator seed gives the same worker seeds and draws
    other = list(loader)  # a second epoch draws a new base seed from the loader's generator
    assert other[0]["seed"] != samples[0]["seed"]


class Stream(IterableDataset):
    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


def test_iterable_dataset_sharded_over_workers():
    batches = [b.tolist() for b in DataLoader(Stream(7), batch_size=2, num_workers=2)]
    assert batches == [[0, 2], [1, 3], [4, 6], [5]]  # PyTorch's interleaving of the two workers' batches
    assert sorted(i for b in batches for i in b) == list(range(7))
    # without sharding, every worker yields the whole stream (PyTorch's documented behaviour)
    items = list(DataLoader(Stream(3, shard=False), batch_size=None, num_workers=2))  # ints stay ints
    assert sorted(items) == [0, 0, 1, 1, 2, 2]
    dropped = [b.tolist() for b in DataLoader(Stream(7), batch_size=2, num_workers=2, drop_last=True)]
    assert dropped == [[0, 2], [1, 3], [4, 6]]


def test_iterable_dataset_against_torch():
    torch = pytest.importorskip("torch")

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            return iter(range(info.id, 7, info.num_workers))

    expected = [b.tolist() for b in torch.utils.data.DataLoader(TorchStream(), batch_size=2, num_workers=2)]
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=2, num_workers=2)] == expected


class Broken(Dataset):
    def __init__(self, error):
        self.error = error

    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise self.error
        return i


class NeedsTwo(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


def test_worker_errors_are_raised_in_the_main_process_naming_the_worker():
    loader = DataLoader(Broken(ValueError("bad sample 3")), batch_size=2, num_workers=2, timeout=20)
    with pytest.raises(ValueError, match=r"(?s)in DataLoader worker process 1.*bad sample 3"):
        list(loader)
    with pytest.raises(KeyError, match="worker process 1"):
        list(DataLoader(Broken(KeyError("k")), batch_size=2, num_workers=2))
    with pytest.raises(RuntimeError, match=r"(?s)Caught NeedsTwo in DataLoader worker process 1"):
        list(DataLoader(Broken(NeedsTwo(1, 2)), batch_size=2, num_workers=2))
    assert no_workers_left()


def failing_init(worker_id):
    raise OSError(f"cannot open the file in worker {worker_id}")


def test_worker_init_fn_error_is_raised():
    with pytest.raises(OSError, match="cannot open the file in worker 0"):
        list(DataLoader(Squares(4), batch_size=2, num_workers=2, worker_init_fn=failing_init))
    assert no_workers_left()


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


def test_a_worker_that_dies_is_reported():
    with pytest.raises(RuntimeError, match=r"exit code 3\)\) exited unexpectedly"):
        list(DataLoader(Dies(), batch_size=2, num_workers=1))
    assert no_workers_left()


def test_timeout():
    loader = DataLoader(Squares(4, delay={0: 1.5}), batch_size=2, num_workers=1, timeout=0.3)
    with pytest.raises(RuntimeError, match="timed out after 0.3 seconds"):
        next(iter(loader))
    assert no_workers_left()


def test_persistent_workers_survive_epochs_and_restart_iteration():
    loader = DataLoader(Squares(6), batch_size=2, num_workers=2, persistent_workers=True)
    first = as_lists(loader)
    pids = [w.pid for w in loader._iterator.workers]
    it = iter(loader)
    assert next(it)[0].tolist() == [0.0, 1.0]  # an unfinished epoch ...
    second = as_lists(loader)  # ... is dropped by the next one, which starts over
    assert first == second and [w.pid for w in loader._iterator.workers] == pids
    assert all(w.is_alive() for w in loader._iterator.workers)
    stream = DataLoader(Stream(5), batch_size=2, num_workers=2, persistent_workers=True)
    assert as_lists(stream) == as_lists(stream) == [[0, 2], [1, 3], [4]]
    del loader, it, stream
    assert no_workers_left()


def test_workers_stop_when_an_epoch_is_abandoned():
    it = iter(DataLoader(Squares(20), batch_size=2, num_workers=2))
    next(it)
    workers = list(it.workers)
    del it
    assert no_workers_left()
    assert all(w._closed or w.exitcode is not None for w in workers)


def test_multiprocessing_context_by_name():
    loader = DataLoader(Squares(4), batch_size=2, num_workers=2, multiprocessing_context="fork")
    assert loader.multiprocessing_context is multiprocessing.get_context("fork")
    assert [b[0].tolist() for b in loader] == [[0.0, 1.0], [2.0, 3.0]]


def test_unpicklable_batches_and_exceptions_are_errors_not_hangs():
    class Local(Exception):  # defined in a function: cannot be pickled back to the main process
        pass

    with pytest.raises(RuntimeError, match=r"(?s)Local, which cannot be pickled.*lost sample"):
        list(DataLoader(Broken(Local("lost sample")), batch_size=2, num_workers=2, timeout=20))
    unpicklable = DataLoader(Squares(4), batch_size=2, num_workers=1, collate_fn=lambda batch: lambda: batch)
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError), match="sending the batch back"):
        list(unpicklable)
    assert no_workers_left()


def test_in_order_false_hands_out_batches_as_they_come():
    ds = Squares(8, delay={0: 0.5})  # the first batch is the slowest
    batches = [b[0].tolist() for b in DataLoader(ds, batch_size=2, num_workers=2, in_order=False, timeout=20)]
    assert batches[0] != [0.0, 1.0]  # another worker's batch came first
    assert sorted(batches) == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]  # every batch once


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawn_and_forkserver_start_methods(method):
    """Workers that import shenjing afresh (the data set travels pickled) and idle before the first batch."""
    loader = DataLoader(TensorDataset(np.arange(6.0)), batch_size=4, num_workers=2, multiprocessing_context=method,
                        persistent_workers=True, timeout=60)
    assert [b[0].tolist() for b in loader] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]
    time.sleep(1.0)  # idle workers keep waiting (their parent is alive) ...
    assert [b[0].tolist() for b in loader] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]  # ... for the next epoch
    del loader
    assert no_workers_left()
