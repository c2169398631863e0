"""``nn.SyncBatchNorm``: BatchNorm whose batch statistics are those of the global batch, over all the ranks.

Forward (training), per channel, with Σ over the local positions and [·] an all-reduce (sum) over the ranks:
    M = [Σ 1],  μ = [Σ x] / M,  σ² = [Σ (x − μ)²] / M,  x̂ = (x − μ)/√(σ² + ε),  y = γ x̂ + β
Backward, with g = ∂L_r/∂y this rank's gradient:
    ∂L/∂β = Σ g,  ∂L/∂γ = Σ g x̂  (local: DistributedDataParallel averages them, as every parameter's)
    ∂L/∂x = γ/√(σ² + ε) · (g − [Σ g]/M − x̂ [Σ g x̂]/M)
So N ranks with batches of B/N compute the same statistics, running averages and gradients as one process with
the batch B. Without a process group of more than one rank (or in eval mode) it is plain BatchNorm.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from .module import Module
from .norm import _BatchNorm, _channel_sum, _data

__all__ = ["SyncBatchNorm", "SyncBatchNormFunction"]


class SyncBatchNormFunction(Function):
    """y = γ x̂ + β with μ, σ² per channel over every rank's batch (see the module notes for both formulas)."""

    def forward(self, x: Any, gamma: Any, beta: Any, running_mean: Any = None, running_var: Any = None,
                momentum: float = 0.1, eps: float = 1e-5, group: Any = None) -> Any:
        xp = self.xp
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        C = x.shape[1]
        count = xp.full((1,), x.size // C, dtype=x.dtype)
        stats = group.all_reduce(xp.concatenate([_channel_sum(xp, x).reshape(-1), count]), "sum")
        M = float(stats[C])
        if M <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel when training, got {M:g} over "
                             f"all ranks (this rank's input has shape {tuple(x.shape)})")
        mean = (stats[:C] / M).reshape(shape)
        x_hat = x - mean  # x − μ, normalised in place below
        var = (group.all_reduce(_channel_sum(xp, x_hat, x_hat).reshape(-1), "sum") / M).reshape(shape)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean.reshape(-1)
            running_var *= 1 - momentum
            running_var += (momentum * M / (M - 1)) * var.reshape(-1)  # NOTE: unbiased, as PyTorch
        inv_std = 1 / xp.sqrt(var + eps)
        x_hat *= inv_std
        self.x_hat, self.inv_std, self.M, self.group = x_hat, inv_std, M, group
        self.gamma = None if gamma is None else gamma.reshape(shape)
        y = x_hat if gamma is None else x_hat * self.gamma
        return y if beta is None else y + beta.reshape(shape)

    def backward(self, g: Any) -> tuple:
        need_x, need_gamma, need_beta = self.needs_input_grad[:3]
        xp, C = self.xp, g.shape[1]
        grad_beta = _channel_sum(xp, g).reshape(-1)  # Σ g (local)
        grad_gamma = _channel_sum(xp, g, self.x_hat).reshape(-1)  # Σ g x̂ (local)
        grad_x = None
        if need_x:  # the rule of norm._normalize_backward, with the sums over every rank
            sums = self.group.all_reduce(xp.concatenate([grad_beta, grad_gamma]), "sum")
            shape = self.inv_std.shape
            scale = self.inv_std if self.gamma is None else self.gamma * self.inv_std
            grad_x = self.x_hat * (-sums[C:].reshape(shape) / self.M)
            grad_x += g
            grad_x -= sums[:C].reshape(shape) / self.M
            grad_x *= scale
        return (grad_x, grad_gamma if need_gamma else None, grad_beta if need_beta else None) + \
            (None,) * (len(self.needs_input_grad) - 3)


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over inputs (N, C, *) with the statistics of all the ranks' batches together, as PyTorch's."""

    _dims = (2, 3, 4, 5)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group: Any = None, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input(self, input: Any) -> None:  # noqa: A002
        if getattr(input, "ndim", 0) < 2:
            raise ValueError(f"expected at least 2D input (got {getattr(input, 'ndim', 0)}D input)")
        super()._check_input(input)

    def _group(self) -> Any:
        from .. import distributed as dist

        if self.process_group is not None:
            return self.process_group
        return dist._default_group

    def forward(self, input: Any) -> Any:  # noqa: A002
        group = self._group()
        if not self.training or group is None or group.size == 1:
            return super().forward(input)
        self._check_input(input)
        momentum = self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.array += 1
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.array)
        track = self.track_running_stats
        return SyncBatchNormFunction.apply(
            input, self.weight, self.bias, _data(self.running_mean) if track else None,
            _data(self.running_var) if track else None, momentum=0.0 if momentum is None else momentum,
            eps=self.eps, group=group,
        )

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every BatchNorm*d replaced by a SyncBatchNorm holding the same weights and buffers."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            dtype = module.weight.dtype if module.weight is not None else (
                module.running_mean.dtype if module.running_mean is not None else None)
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group, dtype=dtype)
            if module.affine:
                out.weight.array = module.weight.array.copy()
                if module.bias is not None:
                    out.bias.array = module.bias.array.copy()
                else:
                    out.register_parameter("bias", None)
            if module.track_running_stats:
                out.running_mean.array = module.running_mean.array.copy()
                out.running_var.array = module.running_var.array.copy()
                out.num_batches_tracked.array = module.num_batches_tracked.array.copy()
            out.train(module.training)
        for name, child in list(module._modules.items()):
            if child is not None:
                converted = cls.convert_sync_batchnorm(child, process_group)
                if converted is not child:
                    out._modules[name] = converted  # in place: Sequential keeps its order
        return out

