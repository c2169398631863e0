"""Data-parallel training with the Trainer: the same code on 1 or N processes, one switch (``mpiexec -n N``).

    mpiexec -n 4 shenjing train config.toml       # or: shenjing launch -n 4 train config.toml
    # in a script run under mpiexec:
    trainer = DistributedTrainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    trainer.fit((X, y), epochs=5, batch_size=128)  # 128 = the global batch: 32 samples a rank on 4 ranks

What changes on N ranks (``shenjing.distributed`` under MPI, a process group made on first use):
- the model's gradients are averaged over the ranks after every backward (:class:`~shenjing.nn.parallel.
  DistributedDataParallel`'s buckets, hooked onto the model itself, so checkpoints and model files keep the
  model's own keys); rank 0's initial weights go to every rank first;
- the training data is split by :class:`~shenjing.data.distributed.DistributedSampler` (shuffled with the
  trainer's seed and the epoch, the same permutation on every rank), ``batch_size`` per rank = global / N;
- each epoch's training loss and metrics are averaged over the ranks, so every rank logs, stops early and
  schedules the learning rate on the same numbers (validation runs whole on every rank: the models are equal);
- a nan/inf loss on any rank stops every rank at the same step (the usual restore of the last finite weights);
- only rank 0 prints, writes logs, checkpoints and model files (the other ranks' CSV/JSON loggers and
  ModelCheckpoint are muted; their saved state stays aligned for resuming); a resumed run loads the checkpoint
  on every rank, which works across a restart with the same world size.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .callbacks import Callback, CSVLogger, JSONLogger, ModelCheckpoint
from .trainer import Trainer

__all__ = ["DistributedTrainer", "launched_world_size", "trainer_class"]

_WRITERS = (CSVLogger, JSONLogger, ModelCheckpoint)


def launched_world_size() -> int:
    """The number of ranks an MPI launcher (mpiexec of MPICH or Open MPI, srun with PMI) started, else 1."""
    from ..distributed import _launched_size

    return _launched_size()


def trainer_class() -> type:
    """:class:`DistributedTrainer` when this process is one of several ranks (``mpiexec -n N``, N > 1), else
    :class:`Trainer`. For ``shenjing train``: the ranks other than 0 also stop printing to stdout."""
    if launched_world_size() <= 1:
        return Trainer
    from .. import distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    if dist.get_rank() != 0:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of this rank's life
    return DistributedTrainer


class _Muted(Callback):
    """A file-writing callback on a rank other than 0: does nothing, but keeps its place (and saved state)."""

    def __init__(self, inner: Callback) -> None:
        self.inner = inner

    def state_dict(self) -> dict:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.inner.load_state_dict(state)

    def __repr__(self) -> str:
        return f"_Muted({self.inner!r})"


class _AgreeingLoss:
    """The loss, made non-finite on every rank when it is non-finite on any (one tiny all-reduce a training step),
    so a nan on one rank stops all of them together instead of leaving the others waiting in backward."""

    def __init__(self, loss_fn: Any, group: Any, model: Any) -> None:
        self.loss_fn, self.group, self.model = loss_fn, group, model

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loss_fn, name)

    def __call__(self, output: Any, target: Any) -> Any:
        loss = self.loss_fn(output, target)
        if not self.model.training or self.group.size == 1:
            return loss
        from ..backend import backend_of

        xp = backend_of(loss.array).xp
        finite = xp.isfinite(loss.array).all().astype("float64").reshape(1)
        if float(self.group.all_reduce(finite, "min")[0]) < 1:
            return loss + float("nan")
        return loss


class DistributedTrainer(Trainer):
    """A :class:`Trainer` whose ``fit`` runs data-parallel over the default process group (see the module notes).

    Extra keyword arguments: ``bucket_cap_mb`` and ``find_unused_parameters`` (as DistributedDataParallel's) and
    ``process_group``. Everything else as :class:`Trainer`; ``batch_size`` in :meth:`fit` is the global batch.
    """

    def __init__(self, model: Any, loss_fn: Any, optimizer: Any, *, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, process_group: Any = None, **kwargs: Any) -> None:
        from .. import distributed as dist
        from ..nn.parallel import DistributedDataParallel

        if process_group is None and not dist.is_initialized():
            dist.init_process_group("gloo")
        self.group = dist._group(process_group, "DistributedTrainer")
        self.rank, self.world_size = self.group.rank, self.group.size
        self.is_main = self.rank == 0
        if not self.is_main:
            kwargs["verbose"] = 0
            kwargs["interrupt_checkpoint"] = None
            kwargs["callbacks"] = [_Muted(c) if isinstance(c, _WRITERS) else c for c in kwargs.get("callbacks", ())]
        super().__init__(model, loss_fn, optimizer, **kwargs)
        self.loss_fn = _AgreeingLoss(loss_fn, self.group, model)
        self.ddp = DistributedDataParallel(model, process_group=self.group, bucket_cap_mb=bucket_cap_mb,
                                           find_unused_parameters=find_unused_parameters)
        self._hooks = [model.register_forward_pre_hook(lambda module, args: self.ddp._before_forward()),
                       model.register_forward_hook(lambda module, args, out: self.ddp._after_forward(out))]
        self.sampler: Any = None

    def fit(self, train_data: Any, val_data: Any = None, epochs: int = 1, batch_size: int = 32, shuffle: bool = True,
            drop_last: bool = False, resume_from: str | os.PathLike | None = None) -> Any:
        """As :meth:`Trainer.fit`, with ``batch_size`` the global batch (``batch_size / world_size`` a rank).
        A DataLoader given as ``train_data`` is used as it is (give it a DistributedSampler yourself)."""
        from ..data import DataLoader, TensorDataset
        from ..data.distributed import DistributedSampler

        if not (isinstance(train_data, DataLoader) or hasattr(train_data, "batch_size")):
            if batch_size % self.world_size:
                raise ValueError(f"DistributedTrainer.fit: the global batch_size={batch_size} must be a multiple of "
                                 f"the world size {self.world_size} (each rank takes batch_size / world_size)")
            dataset = train_data
            if isinstance(dataset, tuple | list) and len(dataset) == 2 and all(hasattr(a, "shape") for a in dataset):
                dataset = TensorDataset(*dataset)
            self.sampler = DistributedSampler(dataset, self.world_size, self.rank, shuffle=shuffle,
                                              seed=0 if self.seed is None else self.seed, drop_last=drop_last)
            train_data = DataLoader(dataset, batch_size=batch_size // self.world_size, sampler=self.sampler,
                                    drop_last=drop_last)
        else:
            self.sampler = getattr(train_data, "sampler", None)
        return super().fit(train_data, val_data, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                           drop_last=drop_last, resume_from=resume_from)

    def train_epoch(self, loader: Any, epoch: int = 1, batch_callbacks: list | None = None) -> dict | None:
        """One epoch on this rank's share; the logs come back averaged over the ranks."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        logs = super().train_epoch(loader, epoch, batch_callbacks)
        if logs is None or self.world_size == 1:
            return logs
        from ..creation import tensor
        from ..distributed import ReduceOp

        keys = sorted(k for k, v in logs.items() if isinstance(v, int | float))
        values = tensor([float(logs[k]) for k in keys], dtype="float64")
        values.array = self.group.all_reduce(values.array, ReduceOp.AVG)
        logs.update(zip(keys, values.tolist()))
        return logs

    def say(self, message: str, always: bool = False) -> None:
        """Rank 0 prints (every rank holds the same weights and the averaged logs: one voice is enough)."""
        if self.is_main:
            super().say(message, always)

    # only rank 0 writes files
    def save_checkpoint(self, path: str | os.PathLike, background: bool = False) -> None:
        if self.is_main:
            super().save_checkpoint(path, background)

    def save_model(self, path: str | os.PathLike, background: bool = False) -> None:
        if self.is_main:
            super().save_model(path, background)
