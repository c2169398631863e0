"""``torch.utils.data.distributed``: the same object as :mod:`shenjing.data.distributed`."""

from ...data.distributed import DistributedSampler

__all__ = ["DistributedSampler"]
