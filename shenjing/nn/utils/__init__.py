"""``shenjing.nn.utils``, as ``torch.nn.utils``: gradient clipping and the variable-length sequence helpers (``rnn``)."""

from . import rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "rnn"]
