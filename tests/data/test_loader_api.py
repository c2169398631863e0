"""DataLoader's PyTorch signature: argument checks with torch's exception classes, batch_sampler, no batching,
IterableDataset in the main process, default_convert, len; and ``shenjing.utils.data`` as torch.utils.data."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch.utils.data as tud

import shenjing
import shenjing.utils.data as sud


class Ten:
    """A map-style data set both libraries accept."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return float(i)


class Count(sud.IterableDataset):
    def __init__(self, n=5):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


class TorchCount(tud.IterableDataset):
    def __iter__(self):
        return iter(range(5))


BAD_ARGUMENTS = [
    dict(num_workers=-1),
    dict(timeout=-1),
    dict(prefetch_factor=2),
    dict(persistent_workers=True),
    dict(batch_sampler=[[0, 1]], batch_size=2),
    dict(batch_sampler=[[0, 1]], shuffle=True),
    dict(batch_sampler=[[0, 1]], sampler=[0, 1]),
    dict(batch_sampler=[[0, 1]], drop_last=True),
    dict(sampler=[0, 1], shuffle=True),
    dict(batch_size=None, drop_last=True),
    dict(batch_size=0),
    dict(multiprocessing_context="fork"),
    dict(num_workers=1, multiprocessing_context="no-such-method"),
    dict(num_workers=1, multiprocessing_context=3),
]


@pytest.mark.parametrize("kwargs", BAD_ARGUMENTS, ids=lambda kw: ",".join(kw))
def test_argument_errors_are_torchs(kwargs):
    with pytest.raises(Exception) as theirs:
        tud.DataLoader(Ten(), **kwargs)
    with pytest.raises(theirs.type):
        sud.DataLoader(Ten(), **kwargs)


@pytest.mark.parametrize("kwargs", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])],
                         ids=lambda kw: ",".join(kw))
def test_iterable_dataset_argument_errors_are_torchs(kwargs):
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified"):
        tud.DataLoader(TorchCount(), **kwargs)
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified"):
        sud.DataLoader(Count(), **kwargs)


def test_full_signature_accepted_and_stored():
    loader = sud.DataLoader(Ten(), 4, False, None, None, 0, None, True, True, 0, None, None, None,
                            pin_memory_device="cuda")
    assert (loader.batch_size, loader.drop_last, loader.pin_memory, loader.num_workers) == (4, True, True, 0)
    assert loader.prefetch_factor is None and loader.persistent_workers is False
    assert sud.DataLoader(Ten(), num_workers=2).prefetch_factor == tud.DataLoader(Ten(), num_workers=2).prefetch_factor
    assert [b.tolist() for b in loader] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]  # pin_memory: a no-op


def test_prefetch_factor_must_be_positive():
    with pytest.raises(ValueError, match="prefetch_factor to be a positive integer"):
        sud.DataLoader(Ten(), num_workers=1, prefetch_factor=0)
    assert [b.tolist() for b in sud.DataLoader(Ten(), batch_size=5, num_workers=1, prefetch_factor=1)] == [
        [0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0]]


def test_attributes_frozen_after_init_as_torch():
    loader = sud.DataLoader(Ten(), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3
    loader.num_workers = 0  # others stay settable, as PyTorch


def test_batch_sampler_and_no_batching_match_torch():
    batches = [[3, 1], [0], [9, 8, 7]]
    ours = [b.tolist() for b in sud.DataLoader(Ten(), batch_sampler=batches)]
    assert ours == [b.tolist() for b in tud.DataLoader(Ten(), batch_sampler=batches)]
    assert len(sud.DataLoader(Ten(), batch_sampler=batches)) == 3
    loader = sud.DataLoader(Ten(), batch_size=None)
    assert list(loader) == list(tud.DataLoader(Ten(), batch_size=None)) and len(loader) == 10
    arrays = sud.DataLoader(sud.TensorDataset(np.arange(4)), batch_size=None)
    assert [x[0].item() for x in arrays] == [0, 1, 2, 3]
    custom = sud.BatchSampler(sud.SequentialSampler(range(10)), 4, True)
    assert [b.tolist() for b in sud.DataLoader(Ten(), batch_sampler=custom)] == [[0.0, 1.0, 2.0, 3.0],
                                                                              [4.0, 5.0, 6.0, 7.0]]


def test_iterable_dataset_in_the_main_process_matches_torch():
    for kwargs in [dict(batch_size=2), dict(batch_size=2, drop_last=True), dict(batch_size=None)]:
        ours = [b.tolist() if hasattr(b, "tolist") else b for b in sud.DataLoader(Count(), **kwargs)]
        theirs = [b.tolist() if hasattr(b, "tolist") else b for b in tud.DataLoader(TorchCount(), **kwargs)]
        assert ours == theirs
    with pytest.raises(TypeError):
        len(sud.DataLoader(Count()))
    chained = Count(2) + Count(3)
    assert isinstance(chained, sud.ChainDataset) and list(chained) == [0, 1, 0, 1, 2]
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        sud.ConcatDataset([Count()])


def test_getitems_is_used_for_whole_batches():
    class Batched(Ten):
        def __getitems__(self, indices):
            return [float(-i) for i in indices]

    assert [b.tolist() for b in sud.DataLoader(Batched(), batch_size=5)] == [[0.0, -1.0, -2.0, -3.0, -4.0],
                                                                             [-5.0, -6.0, -7.0, -8.0, -9.0]]


def test_default_convert_as_torch():
    sample = {"x": np.arange(3), "y": (np.float32(2.0), "s"), "n": 4}
    ours = sud.default_convert(sample)
    theirs = tud.default_convert(sample)
    assert isinstance(ours["x"], shenjing.Tensor) and ours["x"].tolist() == theirs["x"].tolist()
    assert isinstance(ours["y"], list) and isinstance(theirs["y"], list)
    assert ours["y"][0].item() == theirs["y"][0].item() and ours["y"][1] == "s" and ours["n"] == 4


def test_utils_data_is_shenjing_data():
    from shenjing.utils.data import DataLoader, Dataset, TensorDataset, random_split
    from shenjing.utils.data.dataloader import DataLoader as FromDataloader
    from shenjing.utils.data.dataset import Dataset as FromDataset
    from shenjing.utils.data.dataset import Subset
    from shenjing.utils.data.sampler import BatchSampler, WeightedRandomSampler

    assert DataLoader is FromDataloader is shenjing.data.DataLoader is shenjing.utils.data.DataLoader
    assert Dataset is FromDataset is shenjing.data.Dataset and Subset is shenjing.data.Subset
    assert TensorDataset is shenjing.data.TensorDataset and random_split is shenjing.data.random_split
    assert BatchSampler is shenjing.data.BatchSampler and WeightedRandomSampler is shenjing.data.WeightedRandomSampler
    for name in ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
                 "StackDataset",
                 "DataLoader", "default_collate", "default_convert", "get_worker_info", "random_split", "Sampler",
                 "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
                 "BatchSampler"]:
        assert hasattr(tud, name), name  # a name torch.utils.data has ...
        assert getattr(sud, name) is getattr(shenjing.data, name), name  # ... is shenjing.data's object
    assert importlib.import_module("shenjing.utils.data") is sud


def test_random_split_fractions_and_generator_as_torch():
    parts = sud.random_split(range(10), [0.5, 0.3, 0.2], generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [len(p) for p in tud.random_split(range(10), [0.5, 0.3, 0.2])]
    assert sorted(i for p in parts for i in p.indices) == list(range(10))
    again = sud.random_split(range(10), [5, 3, 2], generator=np.random.default_rng(0))
    assert [p.indices.tolist() for p in again] == [p.indices.tolist() for p in parts]


def test_a_ported_training_loop():
    """The shape of every PyTorch tutorial's data code, `torch` renamed to `shenjing`."""
    X = shenjing.randn(32, 3)
    y = (X.sum(1) > 0).long()
    train, val = sud.random_split(sud.TensorDataset(X, y), [0.75, 0.25])
    loader = shenjing.utils.data.DataLoader(train, batch_size=8, shuffle=True, num_workers=2, pin_memory=True,
                                            persistent_workers=True, drop_last=True)
    model = shenjing.nn.Linear(3, 2)
    opt = shenjing.optim.SGD(model.parameters(), lr=0.1)
    device = shenjing.device("cuda:0" if shenjing.cuda.is_available() else "cpu")
    for _ in range(2):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = shenjing.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert len(loader) == 3 and np.isfinite(loss.item())
    assert len(list(sud.DataLoader(val, batch_size=4))) == 2


def test_stack_dataset_as_torch():
    images, labels = [np.float32(0.5), np.float32(1.5)], [3, 4]
    for ours, theirs in [(sud.StackDataset(images, labels), tud.StackDataset(images, labels)),
                         (sud.StackDataset(x=images, y=labels), tud.StackDataset(x=images, y=labels))]:
        assert len(ours) == len(theirs) == 2 and ours[1] == theirs[1]
    batch = next(iter(sud.DataLoader(sud.StackDataset(x=images, y=labels), batch_size=2)))
    assert batch["x"].tolist() == [0.5, 1.5] and batch["y"].tolist() == [3, 4]
    for args, kwargs in [((images, [1]), {}), ((images,), {"y": labels}), ((), {})]:
        with pytest.raises(ValueError):
            tud.StackDataset(*args, **kwargs)
        with pytest.raises(ValueError, match="StackDataset: expected"):
            sud.StackDataset(*args, **kwargs)


class SeededLike:
    """What shenjing.Generator offers the data code: a NumPy Generator in ``.rng``."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)


def test_loader_and_random_split_take_a_generator_object():
    ds = sud.TensorDataset(np.arange(12))
    orders = [[int(i) for b in sud.DataLoader(ds, batch_size=5, shuffle=True, generator=SeededLike(2)) for i in b[0]]
              for _ in range(2)]
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(12)) and orders[0] != list(range(12))
    splits = [[p.indices.tolist() for p in sud.random_split(ds, [0.5, 0.5], generator=SeededLike(1))]
              for _ in range(2)]
    assert splits[0] == splits[1]
    workers = [int(i) for b in sud.DataLoader(ds, batch_size=5, shuffle=True, generator=SeededLike(2),
                                              num_workers=2) for i in b[0]]
    assert workers == orders[0]  # the first epoch shuffles the same way with workers


def test_gpu_tensor_dataset_with_workers_is_refused(monkeypatch):
    fake = sud.TensorDataset(np.arange(4))
    monkeypatch.setattr(np, "__name__", "cupy")  # the data's array module now claims to be CuPy
    with pytest.raises(RuntimeError, match="expected the TensorDataset's tensors on the CPU for num_workers=2"):
        iter(sud.DataLoader(fake, num_workers=2))
