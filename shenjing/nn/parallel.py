"""``torch.nn.parallel.DistributedDataParallel``: the same model on every rank, each rank on its share of the batch.

    dist.init_process_group("mpi")
    model = nn.parallel.DistributedDataParallel(Net())       # rank 0's initial weights on every rank
    loader = DataLoader(data, batch_size=B // world, sampler=DistributedSampler(data))
    for x, y in loader:
        opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()   # gradients averaged over the ranks

Why the weights equal one process's with the global batch B: each rank's loss is the mean over its B/N samples,
so the average over ranks of the gradients is ∂/∂θ of the mean over all B samples. Every rank then applies the
same update to the same weights.

The gradients are all-reduced in buckets of about ``bucket_cap_mb`` MB (one message per bucket, not one per
parameter), in a fixed bucket order on every rank. A bucket is sent as soon as its last gradient is ready during
backward. NOTE: shenjing's engine hands the leaf gradients over together at the end of the graph walk, so there is
no compute left to overlap the messages with: the buckets cut the number of messages, not the wait.

``with model.no_sync():`` accumulates gradients locally (no messages); the first backward outside it averages the
accumulated sums, as PyTorch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..backend import backend_of
from ..tensor import Tensor
from .module import Module

__all__ = ["DistributedDataParallel", "DataParallel"]


def _reachable_leaves(outputs: Any) -> set:
    """ids of the leaf tensors that the autograd graph of ``outputs`` (tensors, nested in tuples/lists/dicts) uses."""
    roots = []
    stack = [outputs]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            roots.append(x)
        elif isinstance(x, list | tuple):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    found: set = set()
    seen: set = set()
    nodes = []
    for t in roots:
        if t.requires_grad:
            if t._ctx is None:
                found.add(id(t))
            else:
                nodes.append(t._ctx)
    while nodes:
        node = nodes.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node.next:
            if edge is None:
                continue
            target, nr = edge
            if nr < 0:
                found.add(id(target))
            elif id(target) not in seen:
                nodes.append(target)
    return found


class DistributedDataParallel(Module):
    """Data-parallel training over a process group (``shenjing.distributed``), as PyTorch's.

    Args (PyTorch's; the ones that only steer CUDA streams or devices are accepted and ignored):
        module: the model; reachable as ``.module``, so the state-dict keys are ``module.<name>`` as PyTorch's.
        broadcast_buffers: copy rank 0's buffers (BatchNorm running statistics) to every rank at each forward.
        process_group: the group (default: the one init_process_group made).
        bucket_cap_mb: the size of a gradient bucket in MB (default 25).
        find_unused_parameters: look at the graph after each forward and count the parameters it does not use
            as ready (their gradient is the average of the other ranks' contributions, zero here); without it an
            unused parameter is an error at the next forward, as PyTorch.
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False, delay_all_reduce_named_params: Any
                 = None, param_to_hook_all_reduce: Any = None, mixed_precision: Any = None,
                 device_mesh: Any = None) -> None:
        super().__init__()
        from .. import distributed as dist

        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        self.module = module
        self.dim = dim
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.process_group = dist._group(process_group, "DistributedDataParallel")
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self.require_backward_grad_sync = True
        self._params = [p for p in module.parameters() if p.requires_grad]
        if not self._params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter that "
                               "requires a gradient.")
        self._sync_module_states()
        self._buckets = self._make_buckets()
        self._bucket_of = {id(p): b for b, bucket in enumerate(self._buckets) for p in bucket}
        self._handles = [p.register_hook(self._make_hook(p)) for p in self._params]
        self._reset()
        self.communication_bytes = 0  # bytes of gradient all-reduced by this rank so far (the reported volume)
        self.communication_calls = 0

    # ---- set-up ------------------------------------------------------------------------------------------------
    def _sync_module_states(self) -> None:
        """Rank 0's parameters and buffers on every rank (the models start equal)."""
        group = self.process_group
        for t in list(self.module.parameters()) + [b for b in self.module.buffers() if b is not None]:
            t.array = group.broadcast(t.array, 0)

    def _make_buckets(self) -> list:
        """Parameters in reverse order (the order backward reaches them), cut into buckets of about the cap."""
        buckets: list = [[]]
        size = 0
        for p in reversed(self._params):
            nbytes = p.array.size * p.array.dtype.itemsize
            if buckets[-1] and size + nbytes > self.bucket_bytes_cap:
                buckets.append([])
                size = 0
            buckets[-1].append(p)
            size += nbytes
        return buckets

    def _reset(self) -> None:
        self._pending: dict = {}  # id(param) -> local gradient sum (array) waiting for its bucket
        self._ready = [0] * len(self._buckets)
        self._next_bucket = 0
        self._unused: set = set()

    # ---- the gradient path -------------------------------------------------------------------------------------
    def _make_hook(self, p: Any) -> Any:
        def hook(grad: Tensor) -> Any:
            if not self.require_backward_grad_sync:
                return None  # no_sync(): accumulate locally
            g = grad.array
            total = g if p.grad is None else p.grad.array + g.astype(p.grad.array.dtype, copy=False)
            self._mark_ready(p, total)
            return backend_of(g).xp.zeros_like(g)  # NOTE: p.grad holds (or will hold) the averaged sum: add nothing
        return hook

    def _mark_ready(self, p: Any, total: Any) -> None:
        key = id(p)
        if key in self._pending:
            raise RuntimeError(
                "DistributedDataParallel: a parameter received two gradients in one iteration (backward ran twice "
                "through the same forward, or a parameter is shared between two submodules): wrap each micro-batch "
                "but the last in no_sync(), or run forward again before the next backward."
            )
        self._pending[key] = total
        b = self._bucket_of[key]
        self._ready[b] += 1
        while self._next_bucket < len(self._buckets) and \
                self._ready[self._next_bucket] == len(self._buckets[self._next_bucket]):
            self._reduce_bucket(self._next_bucket)
            self._next_bucket += 1

    def _reduce_bucket(self, b: int) -> None:
        """One all-reduce for the bucket: flatten the local sums, average over the ranks, write them to .grad."""
        params = self._buckets[b]
        xp = None
        parts = []
        for p in params:
            total = self._pending.pop(id(p))
            if total is None:  # unused on this rank: contributes zeros
                xp = xp or backend_of(p.array).xp
                total = xp.zeros(p.array.shape, dtype=p.array.dtype)
            parts.append(total.reshape(-1))
        if xp is None:
            xp = backend_of(parts[0]).xp
        flat = xp.concatenate([x.astype(parts[0].dtype, copy=False) for x in parts]) if len(parts) > 1 else parts[0]
        flat = self.process_group.all_reduce(flat, "sum")
        flat = flat / self.process_group.size
        self.communication_bytes += flat.size * flat.dtype.itemsize
        self.communication_calls += 1
        start = 0
        for p in params:
            n = p.array.size
            value = flat[start:start + n].reshape(p.array.shape).astype(p.array.dtype, copy=False)
            start += n
            if p.grad is None:
                p.grad = Tensor._wrap(value)
            else:
                p.grad.array = value

    # ---- forward -----------------------------------------------------------------------------------------------
    def _before_forward(self) -> None:
        """Start an iteration: check that the previous one reduced every bucket, forget its state, and give every
        rank rank 0's buffers."""
        started = bool(self._pending) or self._next_bucket > 0
        if self.require_backward_grad_sync and started and self._next_bucket < len(self._buckets):
            missing = [name for name, p in self.module.named_parameters()
                       if p.requires_grad and id(p) not in self._pending
                       and self._bucket_of[id(p)] >= self._next_bucket][:5]
            self._reset()
            raise RuntimeError(
                "DistributedDataParallel: Expected to have finished reduction in the prior iteration before starting "
                "a new one: some parameters did not receive a gradient (e.g. "
                f"{', '.join(missing)}). Pass find_unused_parameters=True, or make every parameter take part in "
                "the loss."
            )
        if started:
            self._reset()
        if self.broadcast_buffers and self.module.training and self.process_group.size > 1:
            for buf in self.module.buffers():
                if buf is not None:
                    buf.array = self.process_group.broadcast(buf.array, 0)

    def _after_forward(self, out: Any) -> None:
        """With find_unused_parameters: the parameters the graph of ``out`` does not reach are ready now."""
        if self.find_unused_parameters and self.require_backward_grad_sync and self.module.training:
            used = _reachable_leaves(out)
            for p in self._params:
                if id(p) not in used:
                    self._mark_ready(p, None if p.grad is None else p.grad.array)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        self._before_forward()
        out = self.module(*inputs, **kwargs)
        self._after_forward(out)
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside: backward accumulates gradients locally, without messages. The first backward after it averages
        the sums of all the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def extra_repr(self) -> str:
        return f"world_size={self.process_group.size}, buckets={len(self._buckets)}"


class DataParallel(Module):
    """``nn.DataParallel`` on one process: runs the module as is (shenjing has one device a process; use
    :class:`DistributedDataParallel` with one process a device to train on several)."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0) -> None:
        super().__init__()
        self.module = module

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
